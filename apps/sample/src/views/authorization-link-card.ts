import { Html, html } from './html';

/** What the operators' page shows to hand a merchant an authorization link. */
export interface AuthorizationLinkCardInput {
  appId: string;
  /** The task link (指定应用授权, Alipay's recommended one), when the Alipay host serves it: null otherwise (the sandbox). */
  task: { pcUrl: string; phoneUrl: string; qrSvg: string } | null;
  /** The single link: the merchant's base app. */
  authorizeUrl: string;
  /** Simulation mode: the legacy batch page. */
  batchAuthorizeUrl?: string;
  /** Why the QR code cannot work from a phone (simulator, or a loopback PUBLIC_BASE_URL), if it cannot. */
  qrWarning?: string;
  /** Folded to one line (once merchants exist, so the list starts above the fold); open otherwise. */
  collapsed?: boolean;
}

// Scoped to the card, so the card can change without touching the page's style sheet.
const CARD_STYLE = `.choice{border:1px solid #e5e7eb;border-radius:8px;padding:1rem;margin:.75rem 0}.choice.recommended{border-color:#0958d9;background:#f7faff}
.choice h3{margin:0 0 .35rem;font-size:1rem}.tag{display:inline-block;margin-left:.4rem;padding:.05rem .45rem;border-radius:1rem;background:#0958d9;color:#fff;font-size:.72rem;font-weight:600;vertical-align:middle}
.choice .link-row{margin-top:.5rem}`;

export function authorizationLinkCard(p: AuthorizationLinkCardInput): Html {
  const task = p.task
    ? html`<div class="choice recommended" id="task-choice"><h3>The merchant chooses which app <span class="tag">Recommended</span></h3>
<p>Alipay's recommended link (指定应用授权): the merchant picks one of its apps (mini program, web app…) to authorize for app <code>${p.appId}</code>. Merchants on a phone scan the QR code with the Alipay app; on a computer, send the link.</p>
<div class="link-row"><div class="qr" id="task-qr" title="Scan with the Alipay app">${new Html(p.task.qrSvg)}</div>
<div class="link-text"><p class="muted">The QR code opens:</p><code class="url" id="task-qr-url">${p.task.phoneUrl}</code>
<p class="muted">On a computer:</p><code class="url" id="task-authorize-url">${p.task.pcUrl}</code>
${p.qrWarning ? html`<p class="muted" id="qr-warning">${p.qrWarning}</p>` : ''}
<p class="actions"><a class="btn" id="task-authorize-link" href="${p.task.pcUrl}">Authorize on this computer</a></p></div></div></div>`
    : html`<p class="muted" id="task-unavailable">Alipay's recommended link (the merchant chooses the app) has no published sandbox page; it is offered with production credentials.</p>`;
  return html`<details class="card" id="link-card" ${p.collapsed ? '' : html`open`}><style>${new Html(CARD_STYLE)}</style><summary><h2>Authorization link</h2></summary>
<div id="authorization-link">${task}
<div class="choice" id="single-choice"><h3>Simple: the merchant's base app</h3>
<p>Alipay's classic page: authorizes the merchant's base app only, which cannot serve mini-program APIs.</p>
<code class="url" id="authorize-url">${p.authorizeUrl}</code>
${!p.task && p.qrWarning ? html`<p class="muted" id="qr-warning">${p.qrWarning}</p>` : ''}
<p class="actions"><a class="btn${p.task ? ' secondary' : ''}" id="authorize-link" href="${p.authorizeUrl}">Authorize the base app</a>${
    p.batchAuthorizeUrl ? html`<a class="btn secondary" id="batch-authorize-link" href="${p.batchAuthorizeUrl}">Batch page (legacy)</a>` : ''
  }</p></div></div></details>`;
}
