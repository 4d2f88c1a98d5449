import { BATCH_AUTH_PAGE_PATH } from 'nestjs-alipay-auth/protocol';
import type { ServerResponse } from 'node:http';
import type { AppRecord } from './apps';
import { SimulatorInputError } from './errors';
import { newAuthAppId, newUserId } from './ids';
import type { AuthorizationState } from './state';

export interface AuthPageContext {
  apps: Map<string, AppRecord>;
  state: AuthorizationState;
}

export interface LinkParams {
  app: AppRecord;
  redirectUri: string;
  state?: string;
  applicationType?: string;
  batch: boolean;
}

/** A page error in both languages; `back` is a vetted URL of the ISV to return to, when one is known. */
export class PageError extends SimulatorInputError {
  constructor(
    readonly zh: string,
    readonly en: string,
    readonly back?: string,
  ) {
    super(`${zh} / ${en}`);
  }
}

export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Alipay blue, system fonts, one centred card: readable at 390 px without zoom, and plainly not the real Alipay. */
const STYLE = `*{box-sizing:border-box}body{margin:0;font:15px/1.5 -apple-system,BlinkMacSystemFont,"PingFang SC","Microsoft YaHei","Segoe UI",Roboto,sans-serif;color:#1f1f1f;background:#f5f6f8}
.bar{display:flex;align-items:center;gap:.5rem;padding:.7rem 1rem;background:#0958d9;color:#fff;font-weight:600}
.logo{display:inline-grid;place-items:center;width:1.8rem;height:1.8rem;border-radius:.45rem;background:#fff;color:#0958d9;font-weight:700}
.sim{margin-left:auto;padding:.1rem .5rem;border-radius:1rem;background:#ad4e00;color:#fff;font-size:.75rem;font-weight:600;letter-spacing:.02em;white-space:nowrap}
.banner{margin:0;padding:.45rem 1rem;background:#fff7e6;color:#ad4e00;font-size:.8rem;border-bottom:1px solid #ffd591}
main{max-width:30rem;margin:0 auto;padding:1rem}.card{background:#fff;border-radius:.75rem;padding:1.25rem;box-shadow:0 1px 3px rgba(0,0,0,.06)}
h1{font-size:1.2rem;margin:.25rem 0 .1rem}.en{display:block;color:#5c626b;font-size:.85rem;font-weight:400}
.pair{display:flex;align-items:center;justify-content:center;gap:.75rem;margin:.5rem 0 1rem}.icon{display:grid;place-items:center;width:3rem;height:3rem;border-radius:.75rem;background:#e6f4ff;color:#0958d9;font-weight:700;font-size:.8rem}.icon.m{background:#f6ffed;color:#237804}.arrow{color:#767c85}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
ul.scopes{margin:.75rem 0;padding:0;list-style:none;border-top:1px solid #f0f0f0}ul.scopes li{padding:.55rem 0 .55rem 1.5rem;border-bottom:1px solid #f0f0f0;position:relative}ul.scopes li:before{content:"✓";position:absolute;left:.2rem;color:#0958d9}
label{display:block;margin:.8rem 0 0;font-size:.85rem;color:#595959}input[type=text]{display:block;width:100%;margin-top:.25rem;padding:.6rem .7rem;font:inherit;border:1px solid #d9d9d9;border-radius:.5rem;background:#fafafa}input[type=text]:focus{outline:2px solid #91caff;border-color:#0958d9;background:#fff}
.chips{display:flex;flex-wrap:wrap;gap:.35rem;margin:.25rem 0}.chip{padding:.1rem .55rem;border-radius:1rem;background:#f0f5ff;color:#1d39c4;font-size:.8rem}
.actions{display:flex;flex-direction:column;gap:.6rem;margin-top:1.25rem}.btn{display:block;width:100%;padding:.75rem;border-radius:.5rem;border:1px solid #d9d9d9;background:#fff;color:#1f1f1f;font:inherit;font-weight:600;text-align:center;text-decoration:none;cursor:pointer}.btn.primary{background:#0958d9;border-color:#0958d9;color:#fff}
.result{text-align:center}.big{display:inline-grid;place-items:center;width:3.5rem;height:3.5rem;border-radius:50%;font-size:1.8rem;font-weight:700;margin:.5rem auto}.big.warn{background:#fff7e6;color:#ad4e00}.big.err{background:#fff1f0;color:#cf1322}
.note{color:#5c626b;font-size:.8rem;margin:1rem 0 0}
ul.apps{list-style:none;margin:.5rem 0;padding:0}ul.apps label{display:flex;align-items:center;gap:.7rem;margin:.45rem 0;padding:.7rem .8rem;border:1px solid #d9d9d9;border-radius:.6rem;background:#fff;color:#1f1f1f;font-size:.95rem;cursor:pointer}ul.apps label:has(input:checked){border-color:#0958d9;background:#f0f7ff}ul.apps input{width:1.15rem;height:1.15rem;accent-color:#0958d9;flex:none}ul.apps .meta{display:block;color:#5c626b;font-size:.78rem}
details{margin-top:.75rem;font-size:.85rem;color:#595959}summary{cursor:pointer}
@media (min-width:640px){main{padding:2.5rem 1rem}.card{padding:2rem}.actions{flex-direction:row-reverse}.actions .btn{flex:1}}`;

export function page(titleZh: string, titleEn: string, inner: string): string {
  return `<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(titleZh)} · ${esc(titleEn)} — 支付宝开放平台 (simulator)</title><style>${STYLE}</style></head>
<body><header class="bar"><span class="logo">支</span><span>支付宝 · 开放平台</span><span class="sim" id="simulator-badge">模拟器 SIMULATOR</span></header>
<p class="banner">本地模拟器，不是真实的支付宝。This is a local Alipay simulator, not the real Alipay.</p>
<main>${inner}</main></body></html>`;
}

export function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'content-type': 'text/html;charset=utf-8', 'content-length': Buffer.byteLength(html) }).end(html);
}

/** Origin of the ISV's callback: where "back to the service provider" goes, without inventing callback parameters. */
export const isvHome = (redirectUri: string): string => `${new URL(redirectUri).origin}/`;

export function backButtons(back: string | undefined, primary: boolean): string {
  const host = back ? new URL(back).host : '';
  return `${back ? `<a class="btn${primary ? ' primary' : ''}" id="back-to-isv" href="${esc(back)}">返回服务商 · Back to ${esc(host)}</a>` : ''}
<button type="button" class="btn" id="go-back" onclick="history.back()">返回上一页 · Go back</button>`;
}

export function errorPage(res: ServerResponse, e: PageError): void {
  sendHtml(
    res,
    400,
    page(
      '授权失败',
      'Authorization failed',
      `<div class="card result"><div class="big err">!</div>
<h1 id="error">授权失败<span class="en">Authorization failed</span></h1>
<p id="error-message">${esc(e.zh)}<span class="en">${esc(e.en)}</span></p>
<div class="actions">${backButtons(e.back, true)}</div></div>`,
    ),
  );
}

export function isHttpUrl(value: string): boolean {
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
  if (!app) throw new PageError(`应用 ${appId || '(缺少 app_id)'} 不存在`, `App ${appId || '(no app_id)'} does not exist`);
  // Back links go only to a URL the app registered, never to an unchecked redirect_uri (no open redirect).
  const registered = app.redirectUris ? [...app.redirectUris][0] : undefined;
  const back = registered ? isvHome(registered) : undefined;
  const redirectUri = p.get('redirect_uri') ?? '';
  if (!isHttpUrl(redirectUri)) throw new PageError('redirect_uri 缺失或不是有效的 http(s) 地址', 'redirect_uri is missing or not an http(s) URL', back);
  if (app.redirectUris && !app.redirectUris.has(redirectUri)) {
    throw new PageError('redirect_uri 与应用配置的授权回调地址不一致', "redirect_uri does not match the app's registered callback URL", back);
  }
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
    ? `<label for="auth_app_ids">商家应用 auth_app_ids（逗号分隔）<span class="en">Merchant apps, comma-separated</span><input type="text" id="auth_app_ids" name="auth_app_ids" value="${esc(
        Array.from({ length: Math.max(types.length, 2) }, newAuthAppId).join(','),
      )}" class="mono" autocomplete="off"></label>`
    : `<label for="auth_app_id">商家应用 auth_app_id<span class="en">Merchant app id</span><input type="text" id="auth_app_id" name="auth_app_id" value="${newAuthAppId()}" class="mono" autocomplete="off"></label>`;
  const chips = types.length ? `<div class="chips" id="application-types">${types.map((t) => `<span class="chip">${esc(t)}</span>`).join('')}</div>` : '';
  return page(
    link.batch ? '批量授权第三方应用' : '第三方应用授权',
    link.batch ? 'Authorize several apps' : 'Authorize a third-party app',
    `<div class="card">
<div class="pair" aria-hidden="true"><span class="icon">ISV</span><span class="arrow">⇄</span><span class="icon m">商家</span></div>
<h1>${link.batch ? '批量授权给第三方应用' : '授权给第三方应用'}<span class="en">${link.batch ? 'Authorize several of your apps' : 'Authorize a third-party app'}</span></h1>
<p>第三方应用 <b class="mono" id="isv-app-id">${esc(link.app.appId)}</b> 请求获得你的授权<span class="en">The service provider's app is asking for access.</span></p>
${chips}
<ul class="scopes"><li>代你调用已授权的接口<span class="en">Call the granted APIs on your behalf</span></li><li>查询授权状态，你可随时取消授权<span class="en">You can cancel this authorization at any time</span></li></ul>
<form method="post" action="${path}">
${hidden('app_id', link.app.appId)}${hidden('redirect_uri', link.redirectUri)}${hidden('state', link.state)}${hidden('application_type', link.applicationType)}
${merchantField}
<label for="user_id">商家 user_id<span class="en">Merchant's Alipay user id</span><input type="text" id="user_id" name="user_id" value="${newUserId()}" class="mono" autocomplete="off"></label>
<div class="actions"><button type="submit" class="btn primary" id="authorize" name="action" value="authorize">确认授权 · Authorize</button>
<button type="submit" class="btn" id="cancel" name="action" value="cancel">取消 · Cancel</button></div>
</form>
<p class="note">授权后将跳转回 <span class="mono">${esc(new URL(link.redirectUri).host)}</span>。<span class="en">After approval you return to ${esc(new URL(link.redirectUri).host)}.</span></p>
</div>`,
  );
}

/**
 * What the merchant sees after "Cancel". UNCONFIRMED: Alipay's own behaviour was not found in any source
 * (no callback is documented for a refusal), so the simulator makes no callback and offers the way back to
 * the ISV's site (the origin of the checked redirect_uri) and to the page the merchant came from.
 */
function cancelledPage(path: string, link: LinkParams): string {
  const again = new URLSearchParams({ app_id: link.app.appId, redirect_uri: link.redirectUri });
  if (link.state !== undefined) again.set('state', link.state);
  if (link.applicationType !== undefined) again.set('application_type', link.applicationType);
  return page(
    '已取消授权',
    'Authorization cancelled',
    `<div class="card result"><div class="big warn">×</div>
<h1 id="cancelled">你已取消授权<span class="en">You cancelled the authorization</span></h1>
<p>第三方应用 <b class="mono">${esc(link.app.appId)}</b> 未获得授权。<span class="en">The service provider's app was not authorized.</span></p>
<div class="actions">${backButtons(isvHome(link.redirectUri), true)}
<a class="btn" id="authorize-again" href="${path}?${esc(again.toString())}">重新授权 · Authorize again</a></div></div>`,
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
export function handleAuthPage(method: string, path: string, query: URLSearchParams, formBody: string, res: ServerResponse, ctx: AuthPageContext): void {
  const batch = path === BATCH_AUTH_PAGE_PATH;
  let back: string | undefined;
  try {
    if (method === 'GET' || method === 'HEAD') {
      sendHtml(res, 200, renderForm(path, readLink(query, batch, ctx)));
      return;
    }
    if (method !== 'POST') throw new PageError(`不支持的请求方法 ${method}`, `Method ${method} is not supported`);
    const form = new URLSearchParams(formBody);
    const link = readLink(form, batch, ctx);
    back = isvHome(link.redirectUri);
    if (form.get('action') === 'cancel') {
      sendHtml(res, 200, cancelledPage(path, link));
      return;
    }
    const ids = batch
      ? (form.get('auth_app_ids') ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [(form.get('auth_app_id') ?? '').trim()];
    const code = ctx.state.mintCode(link.app.appId, {
      authAppIds: ids.length && ids[0] ? ids : undefined,
      userId: form.get('user_id')?.trim() || undefined,
      batch,
      applicationType: link.applicationType,
    });
    res.writeHead(302, { location: callbackLocation(link, code.code), 'content-length': 0 }).end();
  } catch (e) {
    if (e instanceof PageError) errorPage(res, e);
    else if (e instanceof SimulatorInputError) errorPage(res, new PageError('输入有误', e.message, back));
    else throw e;
  }
}
