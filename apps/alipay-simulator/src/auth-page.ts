import type { ServerResponse } from 'node:http';
import type { AppRecord } from './apps';
import { SimulatorInputError } from './errors';
import { newAuthAppId, newUserId } from './ids';
import type { AuthorizationState } from './state';

export const AUTH_PAGE_PATH = '/oauth2/appToAppAuth.htm';
export const BATCH_AUTH_PAGE_PATH = '/oauth2/appToAppBatchAuth.htm';

export interface AuthPageContext {
  apps: Map<string, AppRecord>;
  state: AuthorizationState;
}

interface LinkParams {
  app: AppRecord;
  redirectUri: string;
  state?: string;
  applicationType?: string;
  batch: boolean;
}

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(title: string, inner: string): string {
  return `<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>${esc(title)} - 支付宝开放平台 (simulator)</title>
<style>body{font-family:sans-serif;max-width:34rem;margin:3rem auto;color:#333}h1{font-size:1.3rem}
label{display:block;margin:.6rem 0}input{width:100%;padding:.3rem}button{margin:1rem .5rem 0 0;padding:.5rem 1.2rem}
#authorize{background:#1677ff;color:#fff;border:0}.note{color:#888;font-size:.8rem}</style></head>
<body><p class="note">Alipay simulator — not the real Alipay</p>${inner}</body></html>`;
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'content-type': 'text/html;charset=utf-8', 'content-length': Buffer.byteLength(html) }).end(html);
}

function errorPage(res: ServerResponse, message: string): void {
  sendHtml(res, 400, page('授权失败', `<h1 id="error">授权失败</h1><p>${esc(message)}</p>`));
}

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Checks the link's parameters the way the page does: a known ISV app and an acceptable redirect_uri. */
function readLink(p: URLSearchParams, batch: boolean, ctx: AuthPageContext): LinkParams {
  const appId = p.get('app_id') ?? '';
  const app = ctx.apps.get(appId);
  if (!app) throw new SimulatorInputError(`应用 ${appId || '(缺少 app_id)'} 不存在`);
  const redirectUri = p.get('redirect_uri') ?? '';
  if (!isHttpUrl(redirectUri)) throw new SimulatorInputError('redirect_uri 缺失或不是有效的 http(s) 地址');
  if (app.redirectUris && !app.redirectUris.has(redirectUri)) throw new SimulatorInputError('redirect_uri 与应用配置的授权回调地址不一致');
  return {
    app,
    redirectUri,
    state: p.get('state') || undefined,
    applicationType: batch ? p.get('application_type') || undefined : undefined,
    batch,
  };
}

function hidden(name: string, value: string | undefined): string {
  return value === undefined ? '' : `<input type="hidden" name="${name}" value="${esc(value)}">`;
}

function renderForm(path: string, link: LinkParams): string {
  const types = link.applicationType ? link.applicationType.split(',').filter(Boolean) : [];
  const merchantField = link.batch
    ? `<label>商家应用 auth_app_ids（逗号分隔）<input id="auth_app_ids" name="auth_app_ids" value="${esc(
        Array.from({ length: Math.max(types.length, 2) }, newAuthAppId).join(','),
      )}"></label>`
    : `<label>商家应用 auth_app_id<input id="auth_app_id" name="auth_app_id" value="${newAuthAppId()}"></label>`;
  return page(
    '第三方应用授权',
    `<h1>应用 <span id="isv-app-id">${esc(link.app.appId)}</span> 请求获得你的授权</h1>
<p>授权后，该第三方应用将可代你调用已授权的接口。${link.applicationType ? `应用类型：${esc(link.applicationType)}` : ''}</p>
<form method="post" action="${path}">
${hidden('app_id', link.app.appId)}${hidden('redirect_uri', link.redirectUri)}${hidden('state', link.state)}${hidden('application_type', link.applicationType)}
${merchantField}
<label>商家 user_id<input id="user_id" name="user_id" value="${newUserId()}"></label>
<button type="submit" id="authorize" name="action" value="authorize">确认授权 (Authorize)</button>
<button type="submit" id="cancel" name="action" value="cancel">取消 (Cancel)</button>
</form>`,
  );
}

/** redirect_uri plus the callback parameters (appended with & when it already has a query; fragment kept last). */
export function callbackLocation(link: LinkParams, code: string): string {
  const hashAt = link.redirectUri.indexOf('#');
  const base = hashAt >= 0 ? link.redirectUri.slice(0, hashAt) : link.redirectUri;
  const fragment = hashAt >= 0 ? link.redirectUri.slice(hashAt) : '';
  const q = new URLSearchParams();
  q.append('app_id', link.app.appId);
  q.append('source', 'alipay_app_auth');
  q.append('app_auth_code', code);
  if (link.state !== undefined) q.append('state', link.state);
  if (link.applicationType !== undefined) q.append('application_type', link.applicationType);
  const sep = !base.includes('?') ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&';
  return `${base}${sep}${q.toString()}${fragment}`;
}

/** GET renders the consent page; POST (form) approves (302 to the callback) or cancels. */
export function handleAuthPage(
  method: string,
  path: string,
  query: URLSearchParams,
  formBody: string,
  res: ServerResponse,
  ctx: AuthPageContext,
): void {
  const batch = path === BATCH_AUTH_PAGE_PATH;
  try {
    if (method === 'GET' || method === 'HEAD') {
      sendHtml(res, 200, renderForm(path, readLink(query, batch, ctx)));
      return;
    }
    if (method !== 'POST') {
      errorPage(res, `不支持的请求方法 ${method}`);
      return;
    }
    const form = new URLSearchParams(formBody);
    const link = readLink(form, batch, ctx);
    if (form.get('action') === 'cancel') {
      // UNSURE: what Alipay shows when the merchant declines; no callback is made here.
      sendHtml(res, 200, page('已取消', '<h1 id="cancelled">你已取消授权</h1>'));
      return;
    }
    const ids = batch
      ? (form.get('auth_app_ids') ?? '').split(',').map((s) => s.trim()).filter(Boolean)
      : [(form.get('auth_app_id') ?? '').trim()];
    const code = ctx.state.mintCode(link.app.appId, {
      authAppIds: ids.length && ids[0] ? ids : undefined,
      userId: form.get('user_id')?.trim() || undefined,
    });
    res.writeHead(302, { location: callbackLocation(link, code.code), 'content-length': 0 }).end();
  } catch (e) {
    if (e instanceof SimulatorInputError) errorPage(res, e.message);
    else throw e;
  }
}
