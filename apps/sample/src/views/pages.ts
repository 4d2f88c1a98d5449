import { refreshDueAt } from 'nestjs-alipay-auth';
import type { AlipayAuthorizationInfo, AlipayAuthorizationStatus } from 'nestjs-alipay-auth';
import type { AuthorizedMerchant } from '../auth/callback-replays';
import { AUTHORIZE_PATH } from '../routes';
import { Html, html, layout } from './html';

export type SampleMode = 'alipay' | 'simulation';

/** `2026-05-01 10:00 UTC`; the full ISO time in a tooltip. */
function when(d: Date | string | null | undefined): Html | string {
  if (!d) return '—';
  const date = d instanceof Date ? d : new Date(d);
  if (Number.isNaN(date.getTime())) return '—';
  const iso = date.toISOString();
  return html`<time datetime="${iso}" title="${iso}">${iso.slice(0, 16).replace('T', ' ')}</time>`;
}

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

/** What the operators' page says about one authorization: badge, explanation, next time, attention. */
export interface MerchantState {
  badge: AlipayAuthorizationStatus | 'failing' | 'verifying' | 'unreadable';
  label: string;
  detail?: string;
  /** Next refresh (healthy), retry (failing) or verification (in doubt); null when none is planned. */
  next: { label: string; at: Date | null } | null;
  attention: boolean;
}

export function merchantState(m: AlipayAuthorizationInfo, refresh: Parameters<typeof refreshDueAt>[1]): MerchantState {
  if (m.status !== 'active') {
    const label = m.status === 'reauthorization_required' ? 'authorize again' : m.status;
    return { badge: m.status, label, detail: m.statusReason ?? undefined, next: null, attention: m.status === 'reauthorization_required' };
  }
  if (m.unreadable) return { badge: 'unreadable', label: 'unreadable', detail: `Tokens cannot be decrypted: ${m.unreadable}`, next: null, attention: true };
  if (m.verifyAt) {
    return {
      badge: 'verifying',
      label: 'verifying',
      detail: 'A refresh ended without a clear answer; the stored tokens will be checked and repaired.',
      next: { label: 'check', at: toDate(m.verifyAt) },
      attention: true,
    };
  }
  if (m.failureCount > 0) {
    return {
      badge: 'failing',
      label: 'refresh failing',
      detail: `${m.failureCount} failed refresh${m.failureCount > 1 ? 'es' : ''}${m.lastErrorCode ? `: ${m.lastErrorCode}` : ''}`,
      next: { label: 'retry', at: toDate(m.nextAttemptAt) },
      attention: true,
    };
  }
  // When the scheduled run picks the row up: the library's own rule, with the module's refresh windows.
  const due = refreshDueAt({ expiresAt: toDate(m.expiresAt), refreshExpiresAt: toDate(m.refreshExpiresAt), tokenIssuedAt: toDate(m.tokenIssuedAt)! }, refresh);
  return { badge: 'active', label: 'active', next: { label: 'refresh', at: due === null ? null : new Date(due) }, attention: false };
}

function toDate(d: Date | string | null | undefined): Date | null {
  return d ? (d instanceof Date ? d : new Date(d)) : null;
}

export interface OperatorsPageInput {
  mode: SampleMode;
  appId: string;
  authorizeUrl: string;
  /** Simulation mode: the batch authorization link (several merchant apps at once). */
  batchAuthorizeUrl?: string;
  alipayPageBase: string;
  /** The QR code cannot work from a phone (simulator, or a loopback PUBLIC_BASE_URL): why. */
  qrWarning?: string;
  qrSvg: string;
  merchants: AlipayAuthorizationInfo[];
  state: (m: AlipayAuthorizationInfo) => MerchantState;
  total: number;
  offset: number;
  limit: number;
  counts?: Record<string, number>;
  notice?: { kind: 'ok' | 'err'; text: string };
  csrf: string;
  adminProtected: boolean;
}

// `failing` counts every active row with failed refreshes, the verifying ones included.
const COUNT_LABELS: Record<string, string> = { reauthorization_required: 'authorize again', failing: 'with failed refreshes' };

export function operatorsPage(p: OperatorsPageInput): string {
  const rows = p.merchants.map((m) => {
    const st = p.state(m);
    const tokenLive = m.status === 'active' && !m.unreadable;
    return html`<tr data-auth-app-id="${m.authAppId}" data-state="${st.badge}"${st.attention ? html` class="attention"` : ''}>
<td data-label="Merchant app"><span class="mono">${m.authAppId}</span><div class="muted mono">user ${m.userId ?? '—'}</div></td>
<td data-label="Status"><span class="status ${st.badge}">${st.label}</span>${st.attention ? html` <span class="flag" title="Needs attention">needs attention</span>` : ''}${
      st.detail ? html`<div class="muted detail">${st.detail}</div>` : ''
    }</td>
<td data-label="Authorized">${when(m.authorizedAt)}</td>
<td data-label="Token">${tokenLive ? html`expires ${when(m.expiresAt)}<div class="muted mono">${m.maskedToken}</div>` : html`<span class="muted">—</span>`}</td>
<td data-label="Last refresh">${when(m.lastRefreshedAt)}${m.lastCheckedAt ? html`<div class="muted">checked ${when(m.lastCheckedAt)}</div>` : ''}</td>
<td data-label="Next">${st.next ? html`<span class="muted">${st.next.label}</span> ${when(st.next.at)}` : html`<span class="muted">—</span>`}</td>
<td data-label="">${
      m.status === 'active' && !m.unreadable
        ? html`<form method="post" action="/alipay/merchants/${encodeURIComponent(m.authAppId)}/refresh">
<input type="hidden" name="csrf" value="${p.csrf}"><button class="btn small secondary" type="submit">Refresh now</button></form>`
        : m.status === 'active'
          ? html`<span class="muted">restore its key, then <code>npm run reencrypt</code></span>`
          : html`<span class="muted">merchant must authorize again</span>`
    }</td></tr>`;
  });
  const counts = p.counts
    ? html`<div class="counts" id="counts">${Object.entries(p.counts).map(([k, v]) => html`<div data-count="${k}"><b>${v}</b>${COUNT_LABELS[k] ?? k.replace('_', ' ')}</div>`)}</div>`
    : '';
  const prev = p.offset > 0 ? html`<a class="btn small secondary" href="/?offset=${Math.max(0, p.offset - p.limit)}">← Previous</a>` : '';
  const next = p.offset + p.limit < p.total ? html`<a class="btn small secondary" href="/?offset=${p.offset + p.limit}">Next →</a>` : '';
  return layout(
    'Alipay authorizations',
    html`${p.notice ? html`<div class="notice ${p.notice.kind}" id="notice" role="status">${p.notice.text}</div>` : ''}
${
  p.mode === 'simulation'
    ? html`<div class="notice info" id="simulation-notice"><b>Local simulation.</b> No Alipay credentials are configured, so Alipay is played by a simulator running in this process (${p.alipayPageBase}). Nothing here reaches the real Alipay.</div>`
    : ''
}
<section class="card"><h2>Authorization link</h2>
<div class="link-row"><div class="qr" title="Scan with the Alipay app">${new Html(p.qrSvg)}</div>
<div class="link-text"><p>Send this link (or the QR code) to a merchant. It opens Alipay's authorization page for app <code>${p.appId}</code>; after approval Alipay sends the merchant back here.</p>
<code class="url" id="authorize-url">${p.authorizeUrl}</code>
${p.qrWarning ? html`<p class="muted" id="qr-warning">${p.qrWarning}</p>` : ''}
<p class="actions"><a class="btn" id="authorize-link" href="${p.authorizeUrl}">Authorize a merchant app</a>${
      p.batchAuthorizeUrl
        ? html`<a class="btn secondary" id="batch-authorize-link" href="${p.batchAuthorizeUrl}">Batch authorization (mini programs and web apps)</a>`
        : ''
    }</p></div></div></section>
<section class="card"><h2>Authorized merchants <span class="muted">(${p.total})</span></h2>
${counts}
${
  p.merchants.length
    ? html`<table id="merchants"><thead><tr><th>Merchant app</th><th>Status</th><th>Authorized</th><th>Token</th><th>Last refresh</th><th>Next</th><th></th></tr></thead><tbody>${rows}</tbody></table>
<p class="muted">Times in UTC.</p><p>${prev} ${next}</p>`
    : html`<p class="muted" id="no-merchants">No merchant has authorized the app yet.</p>`
}
<p class="muted">JSON: <a href="/alipay/merchants">/alipay/merchants</a> · API docs: <a href="/docs">/docs</a> · Health: <a href="/health">/health</a>${p.adminProtected ? '' : ' · operator pages are not protected (set ADMIN_TOKEN)'}</p>
</section>`,
    { mode: p.mode },
  );
}
