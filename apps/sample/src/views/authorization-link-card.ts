import { Html, html } from './html';
import type { OperatorWords } from './operator-text';

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

export function authorizationLinkCard(p: AuthorizationLinkCardInput, w: OperatorWords): Html {
  const task = p.task
    ? html`<div class="choice recommended" id="task-choice"><h3>${w.taskTitle} <span class="tag">${w.recommended}</span></h3>
<p>${w.taskIntro(html`<code>${p.appId}</code>`)}</p>
<div class="link-row"><div class="qr" id="task-qr" title="${w.scanHint}">${new Html(p.task.qrSvg)}</div>
<div class="link-text"><p class="muted">${w.qrOpens}</p><code class="url" id="task-qr-url">${p.task.phoneUrl}</code>
<p class="muted">${w.onComputer}</p><code class="url" id="task-authorize-url">${p.task.pcUrl}</code>
${p.qrWarning ? html`<p class="muted" id="qr-warning">${p.qrWarning}</p>` : ''}
<p class="actions"><a class="btn" id="task-authorize-link" href="${p.task.pcUrl}">${w.authorizeHere}</a></p></div></div></div>`
    : html`<p class="muted" id="task-unavailable">${w.taskUnavailable}</p>`;
  return html`<details class="card" id="link-card" ${p.collapsed ? '' : html`open`}><style>${new Html(CARD_STYLE)}</style><summary><h2>${w.linkCard}</h2></summary>
<div id="authorization-link">${task}
<div class="choice" id="single-choice"><h3>${w.simpleTitle}</h3>
<p>${w.simpleIntro}</p>
<code class="url" id="authorize-url">${p.authorizeUrl}</code>
${!p.task && p.qrWarning ? html`<p class="muted" id="qr-warning">${p.qrWarning}</p>` : ''}
<p class="actions"><a class="btn${p.task ? ' secondary' : ''}" id="authorize-link" href="${p.authorizeUrl}">${w.authorizeBase}</a>${
    p.batchAuthorizeUrl ? html`<a class="btn secondary" id="batch-authorize-link" href="${p.batchAuthorizeUrl}">${w.batchPage}</a>` : ''
  }</p></div></div></details>`;
}
