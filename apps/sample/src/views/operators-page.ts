import type { AlipayAuthorizationInfo } from 'nestjs-alipay-auth';
import type { HealthBannerState } from '../health/health-banner';
import type { BulkJobProgress } from '../merchants/bulk-jobs';
import type { MerchantCountsByView } from '../merchants/merchant-counts';
import { listQuery, MERCHANT_SORTS, MerchantListState, MerchantView, PAGE_SIZES } from '../merchants/merchant-list-state';
import { authorizationLinkCard, AuthorizationLinkCardInput } from './authorization-link-card';
import { Html, html, layout } from './html';
import type { MerchantState } from './merchant-state';
import type { SampleMode } from './pages';
import { when } from './time';

/** The list as the page shows it: the view resolved, the page clamped to the last one. */
export interface ShownList extends MerchantListState {
  view: MerchantView;
  searchError?: string;
}

export interface OperatorsPageInput {
  mode: SampleMode;
  /** The authorization-link card (views/authorization-link-card.ts). */
  link: AuthorizationLinkCardInput;
  alipayPageBase: string;
  merchants: AlipayAuthorizationInfo[];
  state: (m: AlipayAuthorizationInfo) => MerchantState;
  /** Rows matching the list's view and search. */
  total: number;
  list: ShownList;
  counts: MerchantCountsByView;
  /** The row an action came back to (anchored and highlighted). */
  highlight?: string;
  notice?: { kind: 'ok' | 'err'; text: string };
  /** Why /health is down (a banner), or null while it is up. */
  health?: HealthBannerState | null;
  /** The last bulk action of this instance, if any. */
  bulk?: BulkJobProgress;
  csrf: string;
  adminProtected: boolean;
  /** The zone times are shown in (UTC on hover). */
  timeZone: string;
}

const VIEW_LABELS: Record<MerchantView, string> = {
  attention: 'needs attention',
  all: 'all',
  healthy: 'healthy',
  failing: 'refresh failing',
  verifying: 'verifying',
  unreadable: 'unreadable',
  reauthorization_required: 'authorize again',
  revoked: 'revoked',
  cancelled: 'cancelled',
};
const SORT_LABELS: Record<string, string> = {
  authorized: 'newest authorization',
  due: 'next scheduled work',
  expires: 'token expiry',
  failures: 'most failed refreshes',
  lastFailure: 'last failure',
};

const href = (list: MerchantListState, changes: Partial<MerchantListState> = {}) => {
  const qs = listQuery(list, changes);
  return `/${qs ? `?${qs}` : ''}#merchants-section`;
};

function counters(p: OperatorsPageInput): Html {
  const views = Object.keys(VIEW_LABELS) as MerchantView[];
  return html`<nav class="counts" id="counts" aria-label="Merchants by state">
    ${views.map((v) => {
      const current = v === p.list.view;
      return html`<a href="${href({ ...p.list, view: v, page: 1 })}" data-count="${v}" class="${current ? 'current' : ''}${v === 'attention' && p.counts.attention ? ' hot' : ''}"
        ${current ? html`aria-current="page"` : ''}><b>${p.counts[v]}</b>${VIEW_LABELS[v]}</a>`;
    })}
  </nav>`;
}

function controls(p: OperatorsPageInput): Html {
  const l = p.list;
  return html`<form class="filters" method="get" action="/" role="search" aria-label="Find a merchant">
    <input type="hidden" name="view" value="${l.view}" />
    <label
      >Merchant app id or Alipay user id
      <input type="search" name="q" id="search" value="${l.q}" maxlength="32" autocomplete="off" spellcheck="false"
        ${l.searchError ? html`aria-invalid="true" aria-describedby="search-error"` : ''}
    /></label>
    <label
      >Sort by
      <select name="sort" id="sort">
        ${MERCHANT_SORTS.map((s) => html`<option value="${s}" ${s === l.sort ? html`selected` : ''}>${SORT_LABELS[s]}</option>`)}
      </select></label
    >
    <label
      >Per page
      <select name="size" id="size">
        ${PAGE_SIZES.map((n) => html`<option value="${n}" ${n === l.size ? html`selected` : ''}>${n}</option>`)}
      </select></label
    >
    <button class="btn small" type="submit">Show</button>
    ${l.q ? html`<a class="btn small secondary" href="${href({ ...l, q: '', page: 1 })}">Clear search</a>` : ''}
  </form>
  ${l.searchError ? html`<p class="field-error" id="search-error" role="alert">${l.searchError}</p>` : ''}`;
}

function pager(p: OperatorsPageInput): Html {
  const l = p.list;
  const pages = Math.max(1, Math.ceil(p.total / l.size));
  if (pages === 1) return html``;
  const link = (label: string, page: number, id: string, rel?: string) =>
    page === l.page || page < 1 || page > pages
      ? html`<span class="btn small secondary disabled" aria-disabled="true">${label}</span>`
      : html`<a class="btn small secondary" id="${id}" href="${href(l, { page })}" ${rel ? html`rel="${rel}"` : ''}>${label}</a>`;
  return html`<nav class="pager" aria-label="Pages">
    ${link('« First', 1, 'page-first')} ${link('‹ Previous', l.page - 1, 'page-prev', 'prev')}
    <span id="page-of">Page ${l.page} of ${pages}</span>
    ${link('Next ›', l.page + 1, 'page-next', 'next')} ${link('Last »', pages, 'page-last')}
  </nav>`;
}

function row(p: OperatorsPageInput, m: AlipayAuthorizationInfo, back: string): Html {
  const st = p.state(m);
  const tokenLive = m.status === 'active' && !m.unreadable;
  const classes = [st.attention ? 'attention' : '', m.authAppId === p.highlight ? 'highlight' : ''].filter(Boolean).join(' ');
  return html`<tr id="m-${m.authAppId}" data-auth-app-id="${m.authAppId}" data-state="${st.badge}" ${classes ? html`class="${classes}"` : ''}>
    <th scope="row" data-label="Merchant app">
      <span class="mono">${m.authAppId}</span>
      <div class="muted mono">user ${m.userId ?? '—'}</div>
    </th>
    <td data-label="Status">
      <span class="status ${st.badge}">${st.label}</span>${st.attention ? html` <span class="flag">needs attention</span>` : ''}${
        st.detail ? html`<div class="muted detail">${st.detail}</div>` : ''
      }
    </td>
    <td data-label="Authorized">${when(m.authorizedAt, p.timeZone)}</td>
    <td data-label="Token">
      ${
        tokenLive
          ? html`expires ${when(m.expiresAt, p.timeZone)}
              <div class="muted mono">${m.maskedToken}</div>`
          : html`<span class="muted">—</span>`
      }
    </td>
    <td data-label="Last refresh">
      ${when(m.lastRefreshedAt, p.timeZone)}${m.lastCheckedAt ? html`<div class="muted">checked ${when(m.lastCheckedAt, p.timeZone)}</div>` : ''}${
        m.lastFailureAt ? html`<div class="muted last-failure">last failed ${when(m.lastFailureAt, p.timeZone)}</div>` : ''
      }
    </td>
    <td data-label="Next">
      ${
        !st.next
          ? html`<span class="muted">—</span>`
          : html`<span class="muted">${st.next.label}</span> ${when(st.next.at, p.timeZone)}${
              st.next.unscheduled ? html`<div class="muted">due; this instance runs no scheduled refresh</div>` : ''
            }`
      }
    </td>
    <td data-label="Actions">${actions(p, m, back)}</td>
  </tr>`;
}

/** A form posting one action for one row; the button's name says which merchant (unique on the page). */
function rowForm(p: OperatorsPageInput, m: AlipayAuthorizationInfo, back: string, action: string, label: string, primary = false): Html {
  return html`<form method="post" action="/alipay/merchants/${encodeURIComponent(m.authAppId)}/${action}">
    <input type="hidden" name="csrf" value="${p.csrf}" /><input type="hidden" name="back" value="${back}" />
    <button class="btn small${primary ? '' : ' secondary'}" type="submit">${label}<span class="sr-only"> merchant app ${m.authAppId}</span></button>
  </form>`;
}

function actions(p: OperatorsPageInput, m: AlipayAuthorizationInfo, back: string): Html {
  const stop = html`<a class="btn small danger" href="/alipay/merchants/${encodeURIComponent(m.authAppId)}/revoke?back=${encodeURIComponent(back)}"
    >Stop serving…<span class="sr-only"> merchant app ${m.authAppId}</span></a
  >`;
  if (m.status === 'active' && !m.unreadable) {
    return html`<div class="row-actions">
      ${rowForm(p, m, back, 'refresh', 'Refresh now')} ${rowForm(p, m, back, 'check', 'Check with Alipay')} ${stop}
    </div>`;
  }
  if (m.status === 'active') return html`<span class="muted">restore its key, then <code>npm run reencrypt</code></span> ${stop}`;
  // Only the merchant can start serving again: the link to send them, ready to copy.
  const task = p.link.task;
  return html`${
    task
      ? html`<label class="copy-link"
          >Send the merchant this link (recommended)
          <input type="text" readonly value="${task.pcUrl}" aria-label="Recommended authorization link for merchant app ${m.authAppId}"
        /></label>`
      : ''
  }<label class="copy-link"
      >${task ? 'or the simple link' : 'Send the merchant this link'}
      <input type="text" readonly value="${p.link.authorizeUrl}" aria-label="Authorization link for merchant app ${m.authAppId}"
    /></label>`;
}

function bulkPanel(p: OperatorsPageInput): Html {
  const job = p.bulk;
  const form = (kind: string, label: string, n: number) =>
    n > 0
      ? html`<form method="post" action="/alipay/bulk/${kind}">
          <input type="hidden" name="csrf" value="${p.csrf}" /><input type="hidden" name="back" value="${listQuery(p.list)}" />
          <button class="btn small secondary" type="submit" ${job && !job.finishedAt ? html`disabled` : ''}>${label} (${n})</button>
        </form>`
      : '';
  const progress = job
    ? html`<p class="bulk-progress" role="status">
        ${job.kind === 'retry-failing' ? 'Retry of failing merchants' : 'Check of verifying merchants'}:
        <progress max="${job.total || 1}" value="${job.done}" aria-label="Merchants done">${job.done} of ${job.total}</progress>
        ${job.done} of ${job.total} done${job.failed ? `, ${job.failed} still failing` : ''}${job.finishedAt ? ' — finished.' : ' — running (reload to follow).'}
      </p>`
    : '';
  return html`<div class="bulk" id="bulk">
    ${form('retry-failing', 'Retry all failing', p.counts.failing)} ${form('check-verifying', 'Check all verifying', p.counts.verifying)}
    <a class="btn small secondary" id="export-csv" href="/alipay/merchants.csv?${listQuery({ ...p.list, page: 1 })}">Export this list (CSV)</a>
  </div>
  ${progress}`;
}

function merchantList(p: OperatorsPageInput): Html {
  if (!p.counts.all) return html`<p class="muted" id="no-merchants">No merchant has authorized the app yet.</p>`;
  const l = p.list;
  const back = listQuery(l);
  const empty =
    l.view === 'attention' && !l.q
      ? 'Nothing needs attention.'
      : l.q
        ? `No merchant app id or Alipay user id is ${l.q} in this view.`
        : 'No merchant in this state.';
  return html`${controls(p)}
    ${
      p.merchants.length
        ? html`<table id="merchants">
              <caption class="sr-only">
                Merchants: ${VIEW_LABELS[l.view]}${l.q ? `, search ${l.q}` : ''}, sorted by ${SORT_LABELS[l.sort]}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Merchant app</th>
                  <th scope="col">Status</th>
                  <th scope="col">Authorized</th>
                  <th scope="col">Token</th>
                  <th scope="col">Last refresh</th>
                  <th scope="col">Next</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                ${p.merchants.map((m) => row(p, m, back))}
              </tbody>
            </table>
            <p class="muted">Times in ${p.timeZone} (UTC on hover).</p>
            ${pager(p)}`
        : html`<p class="muted" id="no-match">${empty} <a href="${href({ ...l, view: 'all', q: '', page: 1 })}">Show all merchants</a></p>`
    }
    ${bulkPanel(p)}`;
}

export function operatorsPage(p: OperatorsPageInput): string {
  return layout(
    'Alipay authorizations',
    html`${
      p.health
        ? html`<div class="notice err" id="health-banner" role="alert">
            <b>Health is down</b> (<a href="/health">/health</a> answers 503): ${p.health.problems.join('; ')}.
          </div>`
        : ''
    }
      ${p.notice ? html`<div class="notice ${p.notice.kind}" id="notice" role="status">${p.notice.text}</div>` : ''}
      ${
        p.mode === 'simulation'
          ? html`<div class="notice info" id="simulation-notice">
              <b>Local simulation.</b> No Alipay credentials are configured, so Alipay is played by a simulator running in this process (${p.alipayPageBase}).
              Nothing here reaches the real Alipay.
            </div>`
          : ''
      }
      ${authorizationLinkCard({ ...p.link, collapsed: p.counts.all > 0 })}
      <section class="card" id="merchants-section" aria-labelledby="merchants-title">
        <h2 id="merchants-title">Authorized merchants <span class="muted">(${p.counts.all})</span></h2>
        ${counters(p)} ${merchantList(p)}
        <p class="muted">
          JSON: <a href="/alipay/merchants">/alipay/merchants</a> · API docs: <a href="/docs">/docs</a> · Health:
          <a href="/health">/health</a>${p.adminProtected ? '' : ' · operator pages are not protected (set ADMIN_TOKEN)'}
        </p>
      </section>`,
    { mode: p.mode },
  );
}
