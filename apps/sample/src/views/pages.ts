import type { AuthorizedMerchant } from '../auth/callback-replays';
import { AUTHORIZE_PATH } from '../routes';
import { Html, html, layout } from './html';

export type SampleMode = 'alipay' | 'simulation';

/** Next steps under every merchant-facing page; in simulation mode the operator plays the merchant. */
function nextSteps(mode: SampleMode | undefined, primary?: Html): Html {
  return html`<p class="actions">${primary ?? ''}${
    mode === 'simulation' ? html`<a class="btn secondary" id="back-to-operators" href="/">Back to the operators' page</a>` : ''
  }</p>`;
}

export function authorizedPage(merchants: AuthorizedMerchant[], isvAppId: string, mode: SampleMode): string {
  const rows = merchants.map(
    (a) => html`<dt>Your app</dt><dd class="mono" data-auth-app-id="${a.authAppId}">${a.authAppId}</dd>
<dt>Alipay user</dt><dd class="mono">${a.userId ?? '—'}</dd>`,
  );
  const what = merchants.length > 1 ? `your ${merchants.length} apps` : 'your app';
  return layout(
    'Authorization complete',
    html`<div class="card center" id="result" data-result="authorized">
<div class="big ok">✓</div>
<h2 id="title">Authorization complete</h2>
<p>You have authorized app <code>${isvAppId}</code> to act for ${what}. You can withdraw this at any time in Alipay.</p>
<dl class="kv">${rows}</dl>
<p class="muted">Nothing else to do: you can close this page.</p>
${nextSteps(mode, html`<a class="btn secondary" href="${AUTHORIZE_PATH}">Authorize another app</a>`)}
</div>`,
    { mode },
  );
}

/** A used link opened again in another browser: it worked, but this browser is not told for whom. */
export function alreadyAuthorizedPage(isvAppId: string, mode: SampleMode): string {
  return layout(
    'Already authorized',
    html`<div class="card center" id="result" data-result="already-authorized">
<div class="big ok">✓</div>
<h2 id="title">This authorization is already complete</h2>
<p>This link was already used to authorize app <code>${isvAppId}</code>; nothing else is needed. The details are shown only in the browser that completed it.</p>
${nextSteps(mode, html`<a class="btn secondary" href="${AUTHORIZE_PATH}">Authorize another app</a>`)}
</div>`,
    { mode },
  );
}

export interface ErrorPageInput {
  status: number;
  title: string;
  message: string;
  alipayCode?: string;
  traceId?: string;
  retryUrl?: string;
}

export function errorPage(e: ErrorPageInput, mode?: SampleMode): string {
  const details: Html[] = [];
  if (e.alipayCode) details.push(html`<dt>Alipay code</dt><dd class="mono" id="alipay-code">${e.alipayCode}</dd>`);
  if (e.traceId) details.push(html`<dt>Trace id</dt><dd class="mono" id="trace-id">${e.traceId}</dd>`);
  return layout(
    e.title,
    html`<div class="card center" id="result" data-result="error" data-status="${e.status}">
<div class="big err">!</div>
<h2 id="title">${e.title}</h2>
<p id="message">${e.message}</p>
${details.length ? html`<dl class="kv">${details}</dl>` : ''}
${nextSteps(mode, e.retryUrl ? html`<a class="btn" id="retry" href="${e.retryUrl}">Authorize again</a>` : undefined)}
${e.retryUrl ? '' : html`<p class="muted">If you were authorizing an app, start again from the link the app provider gave you.</p>`}
</div>`,
    { mode },
  );
}
