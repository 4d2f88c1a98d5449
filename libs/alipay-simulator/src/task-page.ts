import { TASK_MINI_APP_ID, TASK_MINI_APP_PAGE } from 'nestjs-alipay-auth/protocol';
import type { ServerResponse } from 'node:http';
import type { AppRecord } from './apps';
import { AuthPageContext, backButtons, callbackLocation, errorPage, esc, isHttpUrl, isvHome, page, PageError, sendHtml } from './auth-page';
import { SimulatorInputError } from './errors';
import { newAuthAppId, newUserId } from './ids';

/**
 * The task link (指定应用授权, protocol doc §10.1): the PC task page and, standing in for the Alipay app the
 * phone QR opens (`alipays://platformapi/startapp?appId=…&page=pages/authorize/index?bizData=…`), the same
 * page under `/platformapi/startapp`. The merchant picks one of its apps of the listed types.
 */
export const TASK_LAUNCH_PATH = '/platformapi/startapp';
const TASK_APP_TYPES = ['MOBILEAPP', 'WEBAPP', 'PUBLICAPP', 'TINYAPP', 'BASEAPP'];
const TYPE_NAMES: Record<string, [string, string]> = {
  MOBILEAPP: ['移动应用', 'Mobile app'],
  WEBAPP: ['网页应用', 'Web app'],
  PUBLICAPP: ['生活号', 'Lifestyle account'],
  TINYAPP: ['小程序', 'Mini program'],
  BASEAPP: ['基础应用', 'Base app'],
};
/** Alipay's rule for `state` on both link kinds: standard base64, at most 100 characters. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const PAGE_PREFIX = `${TASK_MINI_APP_PAGE}?bizData=`;

interface Task {
  app: AppRecord;
  redirectUri: string;
  appTypes: string[];
  state?: string;
  /** The JSON as received, posted back by the form. */
  bizData: string;
}

const bad = (zh: string, en: string, back?: string) => new PageError(zh, en, back);

/** The bizData JSON: from `bizData` (PC) or from the launcher's `page` (phone), which must name Alipay's mini program. */
function bizDataOf(path: string, query: URLSearchParams): string {
  if (path !== TASK_LAUNCH_PATH) return query.get('bizData') ?? '';
  if (query.get('appId') !== TASK_MINI_APP_ID) throw bad('无法打开该小程序', 'This mini program cannot be opened (appId)');
  const target = query.get('page') ?? '';
  if (!target.startsWith(PAGE_PREFIX)) throw bad('页面地址错误', 'Unknown mini program page');
  return target.slice(PAGE_PREFIX.length);
}

function readTask(bizData: string, ctx: AuthPageContext): Task {
  let json: unknown;
  try {
    json = JSON.parse(bizData);
  } catch {
    throw bad('bizData 缺失或不是 JSON', 'bizData is missing or not JSON');
  }
  const o = (json ?? {}) as Record<string, unknown>;
  if (o.platformCode !== 'O' || o.taskType !== 'INTERFACE_AUTH')
    throw bad('不支持的授权任务类型', 'Unsupported task (platformCode O, taskType INTERFACE_AUTH)');
  const p = (o.agentOpParam ?? {}) as Record<string, unknown>;
  const isvAppId = typeof p.isvAppId === 'string' ? p.isvAppId : '';
  const app = ctx.apps.get(isvAppId);
  if (!app) throw bad(`应用 ${isvAppId || '(缺少 isvAppId)'} 不存在`, `App ${isvAppId || '(no isvAppId)'} does not exist`);
  const registered = app.redirectUris ? [...app.redirectUris][0] : undefined;
  const back = registered ? isvHome(registered) : undefined;
  const redirectUri = typeof p.redirectUri === 'string' ? p.redirectUri : '';
  if (!isHttpUrl(redirectUri)) throw bad('redirectUri 缺失或不是有效的 http(s) 地址', 'redirectUri is missing or not an http(s) URL', back);
  if (app.redirectUris && !app.redirectUris.has(redirectUri)) {
    throw bad('redirectUri 与应用配置的授权回调地址不一致', "redirectUri does not match the app's registered callback URL", back);
  }
  const types = p.appTypes;
  if (!Array.isArray(types) || types.length === 0 || !types.every((t) => TASK_APP_TYPES.includes(t as string))) {
    throw bad(`appTypes 必须是 ${TASK_APP_TYPES.join('、')} 中的一个或多个`, `appTypes must list some of ${TASK_APP_TYPES.join(', ')}`, back);
  }
  const state = p.state === undefined || p.state === '' ? undefined : p.state;
  if (state !== undefined && (typeof state !== 'string' || state.length > 100 || !BASE64.test(state))) {
    throw bad('state 必须为 base64 编码，且不超过 100 个字符', 'state must be base64 and at most 100 characters', back);
  }
  return { app, redirectUri, appTypes: [...new Set(types as string[])], state, bizData };
}

function renderTask(path: string, task: Task): string {
  const phone = path === TASK_LAUNCH_PATH;
  const apps = task.appTypes
    .map((type, i) => {
      const id = newAuthAppId();
      const [zh, en] = TYPE_NAMES[type];
      return `<li><label><input type="radio" name="merchant_app" value="${id}"${i === 0 ? ' checked' : ''}><span>我的${zh}<span class="en">My ${en.toLowerCase()}</span><span class="meta mono">${type} · ${id}</span></span></label></li>`;
    })
    .join('');
  return page(
    '授权服务商',
    'Authorize a service provider',
    `<div class="card">
<div class="pair" aria-hidden="true"><span class="icon">ISV</span><span class="arrow">⇄</span><span class="icon m">商家</span></div>
<h1>授权服务商代运营<span class="en">Let a service provider act for your app</span></h1>
<p>服务商应用 <b class="mono" id="isv-app-id">${esc(task.app.appId)}</b> 请求获得以下应用的接口授权<span class="en">The service provider's app asks to call APIs for one of your apps.</span></p>
${phone ? '<p class="note" id="opened-in-app">已在支付宝 App 中打开（模拟）<span class="en">Opened in the Alipay app (simulated)</span></p>' : ''}
<form method="post" action="${path}">
<input type="hidden" name="bizData" value="${esc(task.bizData)}">
<p><b>选择要授权的应用</b><span class="en">Choose the app to authorize</span></p>
<ul class="apps" id="merchant-apps">${apps}</ul>
<ul class="scopes"><li>代你调用已授权的接口<span class="en">Call the granted APIs on your behalf</span></li><li>你可随时取消授权<span class="en">You can cancel this authorization at any time</span></li></ul>
<details><summary>其他应用 · Another app</summary>
<label for="auth_app_id">商家应用 auth_app_id（可选）<span class="en">Merchant app id (optional, overrides the choice)</span><input type="text" id="auth_app_id" name="auth_app_id" class="mono" autocomplete="off"></label>
<label for="user_id">商家 user_id<span class="en">Merchant's Alipay user id</span><input type="text" id="user_id" name="user_id" value="${newUserId()}" class="mono" autocomplete="off"></label>
</details>
<div class="actions"><button type="submit" class="btn primary" id="authorize" name="action" value="authorize">确认授权 · Authorize</button>
<button type="submit" class="btn" id="cancel" name="action" value="cancel">取消 · Cancel</button></div>
</form>
<p class="note">授权后将跳转回 <span class="mono">${esc(new URL(task.redirectUri).host)}</span>。<span class="en">After approval you return to ${esc(new URL(task.redirectUri).host)}.</span></p>
</div>`,
  );
}

function cancelledTask(task: Task): string {
  return page(
    '已取消授权',
    'Authorization cancelled',
    `<div class="card result"><div class="big warn">×</div>
<h1 id="cancelled">你已取消授权<span class="en">You cancelled the authorization</span></h1>
<p>服务商应用 <b class="mono">${esc(task.app.appId)}</b> 未获得授权。<span class="en">The service provider's app was not authorized.</span></p>
<div class="actions">${backButtons(isvHome(task.redirectUri), true)}</div></div>`,
  );
}

/** GET renders the task; POST approves (302 to the callback, like the other pages) or cancels. */
export function handleTaskPage(method: string, path: string, query: URLSearchParams, formBody: string, res: ServerResponse, ctx: AuthPageContext): void {
  let back: string | undefined;
  try {
    if (method === 'GET' || method === 'HEAD') {
      sendHtml(res, 200, renderTask(path, readTask(bizDataOf(path, query), ctx)));
      return;
    }
    if (method !== 'POST') throw bad(`不支持的请求方法 ${method}`, `Method ${method} is not supported`);
    const form = new URLSearchParams(formBody);
    const task = readTask(form.get('bizData') ?? '', ctx);
    back = isvHome(task.redirectUri);
    if (form.get('action') === 'cancel') {
      sendHtml(res, 200, cancelledTask(task));
      return;
    }
    const chosen = form.get('auth_app_id')?.trim() || form.get('merchant_app')?.trim();
    if (!chosen) throw bad('请选择要授权的应用', 'Choose an app to authorize', back);
    // One app, like the single page: its code lives 24 h. UNCONFIRMED: whether Alipay adds parameters here.
    const code = ctx.state.mintCode(task.app.appId, { authAppIds: [chosen], userId: form.get('user_id')?.trim() || undefined, batch: false });
    const location = callbackLocation({ app: task.app, redirectUri: task.redirectUri, state: task.state, batch: false }, code.code);
    res.writeHead(302, { location, 'content-length': 0 }).end();
  } catch (e) {
    if (e instanceof PageError) errorPage(res, e);
    else if (e instanceof SimulatorInputError) errorPage(res, new PageError('输入有误', e.message, back));
    else throw e;
  }
}
