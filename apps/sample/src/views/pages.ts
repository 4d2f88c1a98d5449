import type { AlipayAuthorizationInfo } from 'nestjs-alipay-auth';
import { Html, html, layout } from './html';

export type SampleMode = 'alipay' | 'simulation';

function when(d: Date | string | null | undefined): string {
  if (!d) return '—';
  const date = d instanceof Date ? d : new Date(d);
  return Number.isNaN(date.getTime()) ? '—' : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function authorizedPage(authorizations: AlipayAuthorizationInfo[], mode: SampleMode): string {
  const rows = authorizations.map(
    (a) => html`<dt>Merchant app</dt><dd class="mono" data-auth-app-id="${a.authAppId}">${a.authAppId}</dd>
<dt>Alipay user</dt><dd class="mono">${a.userId ?? '—'}</dd>`,
  );
  return layout(
    'Authorization complete',
    html`<div class="card center" id="result" data-result="authorized">
<div class="big ok">✓</div>
<h2 id="title">Authorization complete</h2>
<p>Thank you. ${authorizations.length > 1 ? `${authorizations.length} merchant apps are` : 'Your app is'} now authorized. You can close this page.</p>
<dl class="kv">${rows}</dl>
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
${e.retryUrl ? html`<p><a class="btn" href="${e.retryUrl}">Start the authorization again</a></p>` : ''}
</div>`,
    { mode },
  );
}

export interface OperatorsPageInput {
  mode: SampleMode;
  appId: string;
  authorizeUrl: string;
  alipayPageBase: string;
  qrSvg: string;
  merchants: AlipayAuthorizationInfo[];
  total: number;
  offset: number;
  limit: number;
  counts?: Record<string, number>;
  notice?: { kind: 'ok' | 'err'; text: string };
  csrf: (authAppId: string) => string;
  adminProtected: boolean;
}

export function operatorsPage(p: OperatorsPageInput): string {
  const rows = p.merchants.map(
    (m) => html`<tr data-auth-app-id="${m.authAppId}">
<td class="mono">${m.authAppId}</td>
<td class="mono">${m.userId ?? '—'}</td>
<td><span class="status ${m.status}">${m.status.replace('_', ' ')}</span>${m.statusReason ? html`<div class="muted">${m.statusReason}</div>` : ''}</td>
<td>${when(m.expiresAt)}<div class="muted">refresh token until ${when(m.refreshExpiresAt)}</div></td>
<td>${when(m.lastRefreshedAt)}${m.failureCount ? html`<div class="err muted">${m.failureCount} failure(s)${m.lastErrorCode ? html`: <code>${m.lastErrorCode}</code>` : ''}</div>` : ''}</td>
<td class="mono">${m.maskedToken}</td>
<td>${
      m.status === 'active'
        ? html`<form method="post" action="/alipay/merchants/${encodeURIComponent(m.authAppId)}/refresh">
<input type="hidden" name="csrf" value="${p.csrf(m.authAppId)}"><button class="btn small secondary" type="submit">Refresh now</button></form>`
        : html`<span class="muted">authorize again</span>`
    }</td></tr>`,
  );
  const counts = p.counts
    ? html`<div class="counts">${Object.entries(p.counts).map(([k, v]) => html`<div><b>${v}</b>${k.replace('_', ' ')}</div>`)}</div>`
    : '';
  const prev = p.offset > 0 ? html`<a class="btn small secondary" href="/?offset=${Math.max(0, p.offset - p.limit)}">← Previous</a>` : '';
  const next = p.offset + p.limit < p.total ? html`<a class="btn small secondary" href="/?offset=${p.offset + p.limit}">Next →</a>` : '';
  return layout(
    'Alipay authorizations',
    html`${p.notice ? html`<div class="notice ${p.notice.kind}" id="notice">${p.notice.text}</div>` : ''}
${
  p.mode === 'simulation'
    ? html`<div class="notice err"><b>Local simulation.</b> No Alipay credentials are configured, so Alipay is played by a simulator running in this process (${p.alipayPageBase}). Nothing here reaches the real Alipay.</div>`
    : ''
}
<section class="card"><h2>Authorization link</h2>
<div class="link-row"><div class="qr" title="Scan with the Alipay app">${new Html(p.qrSvg)}</div>
<div style="flex:1;min-width:18rem"><p>Send this link (or the QR code) to a merchant. It opens Alipay's authorization page for app <code>${p.appId}</code>; after approval Alipay sends the merchant back here.</p>
<code class="url" id="authorize-url">${p.authorizeUrl}</code>
<a class="btn" id="authorize-link" href="${p.authorizeUrl}">Authorize a merchant app</a></div></div></section>
<section class="card"><h2>Authorized merchants <span class="muted">(${p.total})</span></h2>
${counts}
${
  p.merchants.length
    ? html`<table id="merchants"><thead><tr><th>Merchant app</th><th>User id</th><th>Status</th><th>Token expires</th><th>Last refresh</th><th>Token</th><th></th></tr></thead><tbody>${rows}</tbody></table>
<p>${prev} ${next}</p>`
    : html`<p class="muted" id="no-merchants">No merchant has authorized the app yet.</p>`
}
<p class="muted">JSON: <a href="/alipay/merchants">/alipay/merchants</a> · API docs: <a href="/docs">/docs</a> · Health: <a href="/health">/health</a>${p.adminProtected ? '' : ' · operator pages are not protected (set ADMIN_TOKEN)'}</p>
</section>`,
    { mode: p.mode },
  );
}
