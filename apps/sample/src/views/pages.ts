import type { AuthorizedMerchant } from '../auth/callback-replays';
import { AUTHORIZE_PATH } from '../routes';
import { Html, html, layout } from './html';
import { MerchantLocale, MerchantProblem, merchantWords } from './merchant-text';

export type SampleMode = 'alipay' | 'simulation';

/** Next steps under every merchant-facing page; in simulation mode the operator plays the merchant. */
function nextSteps(mode: SampleMode | undefined, w: ReturnType<typeof merchantWords>, primary?: Html): Html {
  return html`<p class="actions">${primary ?? ''}${
    mode === 'simulation' ? html`<a class="btn secondary" id="back-to-operators" href="/">${w.backToOperators}</a>` : ''
  }</p>`;
}

function merchantLayout(title: string, body: Html, mode: SampleMode | undefined, locale: MerchantLocale): string {
  const w = merchantWords(locale);
  return layout(title, body, {
    mode,
    lang: locale,
    siteTitle: w.siteTitle,
    footer: w.footer,
    modeLabel: mode === 'simulation' ? w.modeSimulation : w.modeAlipay,
  });
}

export function authorizedPage(merchants: AuthorizedMerchant[], isvAppId: string, mode: SampleMode, locale: MerchantLocale = 'en'): string {
  const w = merchantWords(locale);
  const rows = merchants.map(
    (a) => html`<dt>${w.yourApp}</dt><dd class="mono" data-auth-app-id="${a.authAppId}">${a.authAppId}</dd>
<dt>${w.alipayUser}</dt><dd class="mono">${a.userId ?? '—'}</dd>`,
  );
  return merchantLayout(
    w.completeTitle,
    html`<div class="card center" id="result" data-result="authorized">
<div class="big ok" aria-hidden="true">✓</div>
<h2 id="title">${w.completeTitle}</h2>
<p>${w.complete(isvAppId, merchants.length)}</p>
<dl class="kv">${rows}</dl>
<p class="muted">${w.closeHint}</p>
${nextSteps(mode, w, html`<a class="btn secondary" href="${AUTHORIZE_PATH}">${w.authorizeAnother}</a>`)}
</div>`,
    mode,
    locale,
  );
}

/** A used link opened again in another browser: it worked, but this browser is not told for whom. */
export function alreadyAuthorizedPage(isvAppId: string, mode: SampleMode, locale: MerchantLocale = 'en'): string {
  const w = merchantWords(locale);
  return merchantLayout(
    w.alreadyTitle,
    html`<div class="card center" id="result" data-result="already-authorized">
<div class="big ok" aria-hidden="true">✓</div>
<h2 id="title">${w.alreadyTitle}</h2>
<p>${w.already(isvAppId)}</p>
${nextSteps(mode, w, html`<a class="btn secondary" href="${AUTHORIZE_PATH}">${w.authorizeAnother}</a>`)}
</div>`,
    mode,
    locale,
  );
}

/**
 * A failed callback: `problem` picks the merchant's words on the page; `title` and `message` are the
 * operator's (JSON answers, logs), which may name parameters.
 */
export interface ErrorPageInput {
  status: number;
  problem: MerchantProblem;
  title: string;
  message: string;
  /** How long authorization links last (the expired-link page says it). */
  minutes?: number;
  alipayCode?: string;
  traceId?: string;
  retryUrl?: string;
}

export function errorPage(e: ErrorPageInput, mode?: SampleMode, locale: MerchantLocale = 'en'): string {
  const w = merchantWords(locale);
  const words = w.problems[e.problem];
  const details: Html[] = [];
  if (e.alipayCode) details.push(html`<dt>${w.alipayCode}</dt><dd class="mono" id="alipay-code">${e.alipayCode}</dd>`);
  if (e.traceId) details.push(html`<dt>${w.traceId}</dt><dd class="mono" id="trace-id">${e.traceId}</dd>`);
  return merchantLayout(
    words.title,
    html`<div class="card center" id="result" data-result="error" data-status="${e.status}" data-problem="${e.problem}">
<div class="big err" aria-hidden="true">!</div>
<h2 id="title">${words.title}</h2>
<p id="message">${words.message(e.minutes ?? 10)}</p>
${details.length ? html`<dl class="kv">${details}</dl>` : ''}
${nextSteps(mode, w, e.retryUrl ? html`<a class="btn" id="retry" href="${e.retryUrl}">${w.authorizeAgain}</a>` : undefined)}
${e.retryUrl ? '' : html`<p class="muted">${w.startAgainHint}</p>`}
</div>`,
    mode,
    locale,
  );
}
