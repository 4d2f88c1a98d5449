import type { AlipayAuthorizationListItem } from 'nestjs-alipay-auth';
import type { HealthBannerState } from '../health/health-banner';
import type { BulkJobProgress } from '../merchants/bulk-jobs';
import type { MerchantCountsByView } from '../merchants/merchant-counts';
import { listQuery, MERCHANT_SORTS, MerchantListState, MerchantView, PAGE_SIZES } from '../merchants/merchant-list-state';
import { authorizationLinkCard, AuthorizationLinkCardInput } from './authorization-link-card';
import { Html, html, layout } from './html';
import type { MerchantState } from './merchant-state';
import { OPERATOR_LOCALES, operatorWords, OperatorLocale, OperatorWords, HealthReason } from './operator-text';
import type { SampleMode } from './pages';
import { when } from './time';

/** The list as the page shows it: the view resolved, the page clamped to the last one. */
export interface ShownList extends MerchantListState {
  view: MerchantView;
  searchError?: true;
}

export interface OperatorsPageInput {
  mode: SampleMode;
  /** The authorization-link card (views/authorization-link-card.ts). */
  link: AuthorizationLinkCardInput;
  alipayPageBase: string;
  merchants: AlipayAuthorizationListItem[];
  state: (m: AlipayAuthorizationListItem) => MerchantState;
  /** Rows matching the list's view and search. */
  total: number;
  list: ShownList;
  counts: MerchantCountsByView;
  /** The row an action came back to (anchored and highlighted). */
  highlight?: string;
  notice?: { kind: 'ok' | 'err'; text: string };
  /** Why /health is down (a banner), or null while it is up. */
  health?: HealthBannerState | null;
  /** The page's language: the list's `lang`, else Accept-Language. */
  locale: OperatorLocale;
  /** The last bulk action of this instance, if any. */
  bulk?: BulkJobProgress;
  csrf: string;
  adminProtected: boolean;
  /** The zone times are shown in (UTC on hover). */
  timeZone: string;
}

const href = (list: MerchantListState, changes: Partial<MerchantListState> = {}) => {
  const qs = listQuery(list, changes);
  return `/${qs ? `?${qs}` : ''}#merchants-section`;
};

function counters(p: OperatorsPageInput, w: OperatorWords): Html {
  const views = Object.keys(w.views) as MerchantView[];
  return html`<nav class="counts" id="counts" aria-label="${w.byState}">
    ${views.map((v) => {
      const current = v === p.list.view;
      return html`<a href="${href({ ...p.list, view: v, page: 1 })}" data-count="${v}" class="${current ? 'current' : ''}${v === 'attention' && p.counts.attention ? ' hot' : ''}"
        ${current ? html`aria-current="page"` : ''}><b>${p.counts[v]}</b>${w.views[v]}</a>`;
    })}
  </nav>`;
}

function controls(p: OperatorsPageInput, w: OperatorWords): Html {
  const l = p.list;
  return html`<form class="filters" method="get" action="/" role="search" aria-label="${w.findMerchant}">
    <input type="hidden" name="view" value="${l.view}" />${l.lang ? html`<input type="hidden" name="lang" value="${l.lang}" />` : ''}
    <label
      >${w.searchLabel}
      <input type="search" name="q" id="search" value="${l.q}" maxlength="32" autocomplete="off" spellcheck="false"
        ${l.searchError ? html`aria-invalid="true" aria-describedby="search-error"` : ''}
    /></label>
    <label
      >${w.sortBy}
      <select name="sort" id="sort">
        ${MERCHANT_SORTS.map((s) => html`<option value="${s}" ${s === l.sort ? html`selected` : ''}>${w.sorts[s]}</option>`)}
      </select></label
    >
    <label
      >${w.perPage}
      <select name="size" id="size">
        ${PAGE_SIZES.map((n) => html`<option value="${n}" ${n === l.size ? html`selected` : ''}>${n}</option>`)}
      </select></label
    >
    <button class="btn small" type="submit">${w.show}</button>
    ${l.q ? html`<a class="btn small secondary" href="${href({ ...l, q: '', page: 1 })}">${w.clearSearch}</a>` : ''}
  </form>
  ${l.searchError ? html`<p class="field-error" id="search-error" role="alert">${w.searchError}</p>` : ''}`;
}

function pager(p: OperatorsPageInput, w: OperatorWords): Html {
  const l = p.list;
  const pages = Math.max(1, Math.ceil(p.total / l.size));
  if (pages === 1) return html``;
  const link = (label: string, page: number, id: string, rel?: string) =>
    page === l.page || page < 1 || page > pages
      ? html`<span class="btn small secondary disabled" aria-disabled="true">${label}</span>`
      : html`<a class="btn small secondary" id="${id}" href="${href(l, { page })}" ${rel ? html`rel="${rel}"` : ''}>${label}</a>`;
  return html`<nav class="pager" aria-label="${w.pages}">
    ${link(w.first, 1, 'page-first')} ${link(w.previous, l.page - 1, 'page-prev', 'prev')}
    <span id="page-of">${w.pageOf(l.page, pages)}</span>
    ${link(w.nextPage, l.page + 1, 'page-next', 'next')} ${link(w.last, pages, 'page-last')}
  </nav>`;
}

function row(p: OperatorsPageInput, w: OperatorWords, m: AlipayAuthorizationListItem, back: string): Html {
  const st = p.state(m);
  const tokenLive = m.status === 'active' && !m.unreadable;
  const classes = [st.attention ? 'attention' : '', m.authAppId === p.highlight ? 'highlight' : ''].filter(Boolean).join(' ');
  const c = w.columns;
  return html`<tr id="m-${m.authAppId}" data-auth-app-id="${m.authAppId}" data-state="${st.badge}" ${classes ? html`class="${classes}"` : ''}>
    <th scope="row" data-label="${c.merchant}">
      <span class="mono">${m.authAppId}</span>
      <div class="muted mono">${w.user} ${m.userId ?? '—'}</div>
    </th>
    <td data-label="${c.status}">
      <span class="status ${st.badge}">${st.label}</span>${st.attention ? html` <span class="flag">${w.needsAttention}</span>` : ''}${
        st.detail ? html`<div class="muted detail">${st.detail}</div>` : ''
      }
    </td>
    <td data-label="${c.authorized}">${when(m.authorizedAt, p.timeZone)}</td>
    <td data-label="${c.token}">
      ${tokenLive ? html`${w.expires} ${when(m.expiresAt, p.timeZone)}` : html`<span class="muted">—</span>`}
    </td>
    <td data-label="${c.lastRefresh}">
      ${when(m.lastRefreshedAt, p.timeZone)}${m.lastCheckedAt ? html`<div class="muted">${w.checked} ${when(m.lastCheckedAt, p.timeZone)}</div>` : ''}${
        m.lastFailureAt ? html`<div class="muted last-failure">${w.lastFailed} ${when(m.lastFailureAt, p.timeZone)}</div>` : ''
      }
    </td>
    <td data-label="${c.next}">
      ${
        !st.next
          ? html`<span class="muted">—</span>`
          : html`<span class="muted">${w.next[st.next.label]}</span> ${when(st.next.at, p.timeZone)}${
              st.next.unscheduled ? html`<div class="muted">${w.unscheduled}</div>` : ''
            }`
      }
    </td>
    <td data-label="${c.actions}">${actions(p, w, m, back)}</td>
  </tr>`;
}

/** A form posting one action for one row; the button's name says which merchant (unique on the page). */
function rowForm(p: OperatorsPageInput, w: OperatorWords, m: AlipayAuthorizationListItem, back: string, action: string, label: string): Html {
  return html`<form method="post" action="/alipay/merchants/${encodeURIComponent(m.authAppId)}/${action}">
    <input type="hidden" name="csrf" value="${p.csrf}" /><input type="hidden" name="back" value="${back}" />
    <button class="btn small secondary" type="submit">${label}<span class="sr-only"> ${w.merchantApp(m.authAppId)}</span></button>
  </form>`;
}

function actions(p: OperatorsPageInput, w: OperatorWords, m: AlipayAuthorizationListItem, back: string): Html {
  const stop = html`<a class="btn small danger" href="/alipay/merchants/${encodeURIComponent(m.authAppId)}/revoke?back=${encodeURIComponent(back)}"
    >${w.stopServing}<span class="sr-only"> ${w.merchantApp(m.authAppId)}</span></a
  >`;
  if (m.status === 'active' && !m.unreadable) {
    return html`<div class="row-actions">
      ${rowForm(p, w, m, back, 'refresh', w.refreshNow)} ${rowForm(p, w, m, back, 'check', w.checkWithAlipay)} ${stop}
    </div>`;
  }
  if (m.status === 'active') return html`<span class="muted">${w.restoreKey(html`<code>npm run reencrypt</code>`)}</span> ${stop}`;
  // Only the merchant can start serving again: the link to send them, ready to copy.
  const task = p.link.task;
  return html`${
    task
      ? html`<label class="copy-link"
          >${w.sendLinkRecommended}
          <input type="text" readonly value="${task.pcUrl}" aria-label="${w.recommendedLinkFor(m.authAppId)}"
        /></label>`
      : ''
  }<label class="copy-link"
      >${task ? w.orSimpleLink : w.sendLink}
      <input type="text" readonly value="${p.link.authorizeUrl}" aria-label="${w.linkFor(m.authAppId)}"
    /></label>`;
}

function bulkPanel(p: OperatorsPageInput, w: OperatorWords): Html {
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
        ${w.bulkJob[job.kind]}
        <progress max="${job.total || 1}" value="${job.done}" aria-label="${w.merchantsDone}">${w.doneOf(job.done, job.total)}</progress>
        ${w.progress(job.done, job.total, job.failed, !!job.finishedAt)}
      </p>`
    : '';
  return html`<div class="bulk" id="bulk">
    ${form('retry-failing', w.retryAllFailing, p.counts.failing)} ${form('check-verifying', w.checkAllVerifying, p.counts.verifying)}
    <a class="btn small secondary" id="export-csv" href="/alipay/merchants.csv?${listQuery({ ...p.list, lang: undefined, page: 1 })}">${w.exportCsv}</a>
  </div>
  ${progress}`;
}

function merchantList(p: OperatorsPageInput, w: OperatorWords): Html {
  if (!p.counts.all) return html`<p class="muted" id="no-merchants">${w.noMerchants}</p>`;
  const l = p.list;
  const back = listQuery(l);
  const empty = l.view === 'attention' && !l.q ? w.nothingNeedsAttention : l.q ? w.noMatch(l.q) : w.noneInState;
  const c = w.columns;
  return html`${controls(p, w)}
    ${
      p.merchants.length
        ? html`<table id="merchants">
              <caption class="sr-only">
                ${w.caption(w.views[l.view], l.q, w.sorts[l.sort])}
              </caption>
              <thead>
                <tr>
                  <th scope="col">${c.merchant}</th>
                  <th scope="col">${c.status}</th>
                  <th scope="col">${c.authorized}</th>
                  <th scope="col">${c.token}</th>
                  <th scope="col">${c.lastRefresh}</th>
                  <th scope="col">${c.next}</th>
                  <th scope="col">${c.actions}</th>
                </tr>
              </thead>
              <tbody>
                ${p.merchants.map((m) => row(p, w, m, back))}
              </tbody>
            </table>
            <p class="muted">${w.timesIn(p.timeZone)}</p>
            ${pager(p, w)}`
        : html`<p class="muted" id="no-match">${empty} <a href="${href({ ...l, view: 'all', q: '', page: 1 })}">${w.showAll}</a></p>`
    }
    ${bulkPanel(p, w)}`;
}

const LANGUAGE_NAMES: Record<OperatorLocale, string> = { 'zh-CN': '中文', en: 'English' };

/** "中文 / English": each name in its own language; the choice is carried by every link and form (`lang`). */
function languageSwitch(p: OperatorsPageInput, w: OperatorWords): Html {
  return html`<nav class="lang-switch" id="lang-switch" aria-label="${w.language}">
    ${OPERATOR_LOCALES.map((l, i) => {
      const name = LANGUAGE_NAMES[l];
      const link =
        l === p.locale
          ? html`<a href="${href(p.list, { lang: l })}" lang="${l}" hreflang="${l}" aria-current="true">${name}</a>`
          : html`<a href="${href(p.list, { lang: l })}" lang="${l}" hreflang="${l}">${name}</a>`;
      return html`${i ? ' / ' : ''}${link}`;
    })}
  </nav>`;
}

function healthBanner(w: OperatorWords, reasons: HealthReason[]): Html {
  // A line the page has no words for stays in the library's English, marked as such.
  const said = reasons.map((r, i) => html`${i ? w.separator : ''}${r.kind === 'other' ? html`<span lang="en">${r.text}</span>` : w.health(r)}`);
  return html`<div class="notice err" id="health-banner" role="alert">
    <b>${w.healthDown}</b>${w.healthAnswers(html`<a href="/health">/health</a>`)}${said}${w.end}
  </div>`;
}

export function operatorsPage(p: OperatorsPageInput): string {
  const w = operatorWords(p.locale);
  return layout(
    w.title,
    html`${languageSwitch(p, w)} ${p.health ? healthBanner(w, p.health.reasons) : ''}
      ${p.notice ? html`<div class="notice ${p.notice.kind}" id="notice" role="status">${p.notice.text}</div>` : ''}
      ${p.mode === 'simulation' ? html`<div class="notice info" id="simulation-notice">${w.simulation(p.alipayPageBase)}</div>` : ''}
      ${authorizationLinkCard({ ...p.link, collapsed: p.counts.all > 0 }, w)}
      <section class="card" id="merchants-section" aria-labelledby="merchants-title">
        <h2 id="merchants-title">${w.merchantsTitle} <span class="muted">(${p.counts.all})</span></h2>
        ${counters(p, w)} ${merchantList(p, w)}
        <p class="muted">
          JSON: <a href="/alipay/merchants">/alipay/merchants</a> · ${w.apiDocs} <a href="/docs">/docs</a> · ${w.healthLink}
          <a href="/health">/health</a>${p.adminProtected ? '' : ` · ${w.unprotected}`}
        </p>
      </section>`,
    { mode: p.mode, lang: p.locale, siteTitle: w.siteTitle, footer: w.footer, modeLabel: p.mode === 'simulation' ? w.modeSimulation : w.modeAlipay },
  );
}
