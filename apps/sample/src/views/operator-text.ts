import type { AlipayAuthorizationStatus, AlipayListOrder } from 'nestjs-alipay-auth';
import type { MerchantView } from '../merchants/merchant-list-state';
import { Html, html } from './html';
import { merchantLocale, MerchantLocale } from './merchant-text';

/**
 * Every sentence an operator reads, in English and Chinese. `ZH` has the type of `EN`, so a key missing in
 * either is a compile error. Ids, codes, URLs and variable names stay as they are; the CSV keeps English
 * headers (machine-readable, the same for every reader).
 */
export type OperatorLocale = MerchantLocale;
export const OPERATOR_LOCALES: readonly OperatorLocale[] = ['zh-CN', 'en'];

/** The operator's explicit choice (`lang`, carried by the page's links and forms), else Accept-Language. */
export function operatorLocale(chosen: OperatorLocale | undefined, acceptLanguage: string | undefined): OperatorLocale {
  return chosen ?? merchantLocale(acceptLanguage);
}

/** Why /health is down, as the banner says it (from the library's summary, see health/health-banner.ts). */
export type HealthReason =
  | { kind: 'circuit'; code: string }
  | { kind: 'unreadable' | 'overdue'; n: number }
  | { kind: 'failing' | 'verifying'; n: number; of: number }
  | { kind: 'foreign'; n: number; codes: string; example: string; appId: string }
  | { kind: 'last-run'; seconds: number }
  | { kind: 'unknown'; error: string }
  /** A line of the library this page has no words for: shown as the library wrote it (English). */
  | { kind: 'other'; text: string };

// A state's name, the same on its counter and on a row's badge.
const EN_STATES = {
  failing: 'refresh failing',
  verifying: 'verifying',
  unreadable: 'unreadable',
  reauthorization_required: 'authorize again',
  revoked: 'revoked',
  cancelled: 'cancelled',
};
const ZH_STATES: typeof EN_STATES = {
  failing: '刷新失败',
  verifying: '待核验',
  unreadable: '无法解密',
  reauthorization_required: '需重新授权',
  revoked: '已停止服务',
  cancelled: '已取消',
};

const EN = {
  title: 'Alipay authorizations',
  siteTitle: 'Alipay app authorization — sample',
  footer: 'nestjs-alipay-auth sample app',
  modeSimulation: 'LOCAL SIMULATION — not Alipay',
  modeAlipay: 'Alipay',
  language: 'Language',
  views: { attention: 'needs attention', all: 'all', healthy: 'healthy', ...EN_STATES } satisfies Record<MerchantView, string>,
  sorts: {
    authorized: 'newest authorization',
    due: 'next scheduled work',
    expires: 'token expiry',
    failures: 'most failed refreshes',
    lastFailure: 'last failure',
  } satisfies Record<AlipayListOrder, string>,
  badges: { active: 'active', ...EN_STATES } satisfies Record<AlipayAuthorizationStatus | 'failing' | 'verifying' | 'unreadable', string>,
  next: { refresh: 'refresh', retry: 'retry', check: 'check' } satisfies Record<'refresh' | 'retry' | 'check', string>,
  byState: 'Merchants by state',
  findMerchant: 'Find a merchant',
  searchLabel: 'Merchant app id or Alipay user id',
  searchError: 'Search by a merchant app id or an Alipay user id: letters and digits only, at most 32.',
  sortBy: 'Sort by',
  perPage: 'Per page',
  show: 'Show',
  clearSearch: 'Clear search',
  pages: 'Pages',
  first: '« First',
  previous: '‹ Previous',
  nextPage: 'Next ›',
  last: 'Last »',
  pageOf: (page: number, pages: number) => `Page ${page} of ${pages}`,
  user: 'user',
  columns: {
    merchant: 'Merchant app',
    status: 'Status',
    authorized: 'Authorized',
    token: 'Token',
    lastRefresh: 'Last refresh',
    next: 'Next',
    actions: 'Actions',
  },
  needsAttention: 'needs attention',
  expires: 'expires',
  checked: 'checked',
  lastFailed: 'last failed',
  unscheduled: 'due; this instance runs no scheduled refresh',
  merchantApp: (id: string) => `merchant app ${id}`,
  refreshNow: 'Refresh now',
  checkWithAlipay: 'Check with Alipay',
  stopServing: 'Stop serving…',
  restoreKey: (code: Html) => html`restore its key, then ${code}`,
  sendLinkRecommended: 'Send the merchant this link (recommended)',
  orSimpleLink: 'or the simple link',
  sendLink: 'Send the merchant this link',
  recommendedLinkFor: (id: string) => `Recommended authorization link for merchant app ${id}`,
  linkFor: (id: string) => `Authorization link for merchant app ${id}`,
  retryAllFailing: 'Retry all failing',
  checkAllVerifying: 'Check all verifying',
  bulkJob: { 'retry-failing': 'Retry of failing merchants:', 'check-verifying': 'Check of verifying merchants:' },
  merchantsDone: 'Merchants done',
  doneOf: (done: number, total: number) => `${done} of ${total}`,
  progress: (done: number, total: number, failed: number, finished: boolean) =>
    `${done} of ${total} done${failed ? `, ${failed} still failing` : ''}${finished ? ' — finished.' : ' — running (reload to follow).'}`,
  exportCsv: 'Export this list (CSV)',
  noMerchants: 'No merchant has authorized the app yet.',
  nothingNeedsAttention: 'Nothing needs attention.',
  noMatch: (q: string) => `No merchant app id or Alipay user id is ${q} in this view.`,
  noneInState: 'No merchant in this state.',
  showAll: 'Show all merchants',
  caption: (view: string, q: string, sort: string) => `Merchants: ${view}${q ? `, search ${q}` : ''}, sorted by ${sort}`,
  timesIn: (zone: string) => `Times in ${zone} (UTC on hover).`,
  healthDown: 'Health is down',
  separator: '; ',
  end: '.',
  healthAnswers: (link: Html) => html` (${link} answers 503): `,
  health: (r: HealthReason): string => {
    switch (r.kind) {
      case 'circuit':
        return `Alipay reports a configuration error (${r.code}); scheduled refresh stopped`;
      case 'unreadable':
        return `${r.n} row(s) cannot be decrypted`;
      case 'overdue':
        return `${r.n} active row(s) overdue for refresh`;
      case 'failing':
        return `${r.n} of ${r.of} active row(s) failing to refresh`;
      case 'verifying':
        return `${r.n} of ${r.of} active row(s) awaiting verification`;
      case 'foreign':
        return `${r.n} active row(s) hold a credential of another Alipay app (${r.codes}), e.g. merchant app ${r.example}: the merchant must authorize app ${r.appId} again`;
      case 'last-run':
        return `last scheduled run finished ${r.seconds} s ago`;
      case 'unknown':
        return `the token health cannot be read (${r.error})`;
      case 'other':
        return r.text;
    }
  },
  simulation: (base: string) =>
    html`<b>Local simulation.</b> No Alipay credentials are configured, so Alipay is played by a simulator running in this process (${base}). Nothing here
      reaches the real Alipay.`,
  merchantsTitle: 'Authorized merchants',
  apiDocs: 'API docs:',
  healthLink: 'Health:',
  unprotected: 'operator pages are not protected (set ADMIN_TOKEN)',
  // The authorization-link card.
  linkCard: 'Authorization link',
  taskTitle: 'The merchant chooses which app',
  recommended: 'Recommended',
  taskIntro: (appId: Html) =>
    html`Alipay's recommended link (指定应用授权): the merchant picks one of its apps (mini program, web app…) to authorize for app ${appId}. Merchants on a
      phone scan the QR code with the Alipay app; on a computer, send the link.`,
  scanHint: 'Scan with the Alipay app',
  qrOpens: 'The QR code opens:',
  onComputer: 'On a computer:',
  authorizeHere: 'Authorize on this computer',
  taskUnavailable: "Alipay's recommended link (the merchant chooses the app) has no published sandbox page; it is offered with production credentials.",
  simpleTitle: "Simple: the merchant's base app",
  simpleIntro: "Alipay's classic page: authorizes the merchant's base app only, which cannot serve mini-program APIs.",
  authorizeBase: 'Authorize the base app',
  batchPage: 'Batch page (legacy)',
  qrSimulation: (base: string, loopback: boolean) =>
    `Simulation: this QR code points to ${base}${loopback ? ', which a phone cannot reach,' : ''} and leads to the simulator, not Alipay, so the Alipay app cannot use it. It works with real Alipay credentials and a PUBLIC_BASE_URL that phones can reach.`,
  qrLoopback: (base: string) => `This QR code points to ${base}, which a phone cannot reach: set PUBLIC_BASE_URL to this app's public address.`,
  // Row details (views/merchant-state.ts).
  reason: (text: string) => `Reason: ${text}.`,
  failedRefreshes: (n: number) => `${n} failed refresh${n > 1 ? 'es' : ''}.`,
  codeSuffix: (code: string) => ` (code ${code})`,
  // The revoke confirmation (views/revoke-page.ts).
  revokeTitle: (id: string) => `Stop serving merchant app ${id}?`,
  revokeHeading: (id: Html) => html`Stop serving merchant app ${id}?`,
  revokeExplain: html`Its tokens will no longer be handed out, and no refresh will run. The authorization is kept, marked <b>revoked</b>; to be served again,
    the merchant must authorize again from your link. This does not cancel the authorization in Alipay.`,
  revokeConfirm: (id: string) => `Stop serving ${id}`,
  keepServing: 'Keep serving',
  // Notices after an action (merchants/operator-notice.ts).
  bulkBusy: 'Another bulk action is running: wait for it to finish.',
  bulkStarted: {
    'retry-failing': 'Retrying every failing merchant: the progress is shown below.',
    'check-verifying': 'Checking every verifying merchant: the progress is shown below.',
  },
  refreshed: (id: string) => `Refreshed the token of merchant app ${id}.`,
  revoked: (id: string) => `Merchant app ${id} is no longer served; it is kept, marked revoked.`,
  checkedNotice: (id: string, sentence: string) => `Merchant app ${id}: ${sentence}`,
  failedNotice: (action: 'refresh' | 'check', id: string, sentence: string, code: string) =>
    `${action === 'refresh' ? 'Refresh' : 'Check'} of merchant app ${id} failed: ${sentence} (code ${code}).`,
  traceId: (id: string) => ` Trace id ${id} (for Alipay support).`,
};

export type OperatorWords = typeof EN;

const ZH: OperatorWords = {
  title: '支付宝授权管理',
  siteTitle: '支付宝应用授权 — 示例',
  footer: 'nestjs-alipay-auth 示例应用',
  modeSimulation: '本地模拟 — 非真实支付宝',
  modeAlipay: '支付宝',
  language: '语言',
  views: { attention: '需要处理', all: '全部', healthy: '正常', ...ZH_STATES },
  sorts: { authorized: '最近授权', due: '下次计划任务', expires: '令牌到期时间', failures: '失败次数', lastFailure: '最近失败' },
  badges: { active: '正常', ...ZH_STATES },
  next: { refresh: '刷新', retry: '重试', check: '核验' },
  byState: '按状态查看商户',
  findMerchant: '查找商户',
  searchLabel: '商户应用 ID 或支付宝用户 ID',
  searchError: '请输入商户应用 ID 或支付宝用户 ID：仅限字母和数字，最多 32 位。',
  sortBy: '排序',
  perPage: '每页',
  show: '显示',
  clearSearch: '清除搜索',
  pages: '分页',
  first: '« 首页',
  previous: '‹ 上一页',
  nextPage: '下一页 ›',
  last: '末页 »',
  pageOf: (page, pages) => `第 ${page} 页，共 ${pages} 页`,
  user: '用户',
  columns: { merchant: '商户应用', status: '状态', authorized: '授权时间', token: '令牌', lastRefresh: '上次刷新', next: '下次', actions: '操作' },
  needsAttention: '需要处理',
  expires: '到期',
  checked: '核验于',
  lastFailed: '上次失败',
  unscheduled: '已到期；本实例不运行定时刷新',
  merchantApp: (id) => `商户应用 ${id}`,
  refreshNow: '立即刷新',
  checkWithAlipay: '向支付宝核验',
  stopServing: '停止服务…',
  restoreKey: (code) => html`请恢复其密钥，然后运行 ${code}`,
  sendLinkRecommended: '把此链接发给商户（推荐）',
  orSimpleLink: '或简单链接',
  sendLink: '把此链接发给商户',
  recommendedLinkFor: (id) => `商户应用 ${id} 的推荐授权链接`,
  linkFor: (id) => `商户应用 ${id} 的授权链接`,
  retryAllFailing: '重试全部刷新失败',
  checkAllVerifying: '核验全部待核验',
  bulkJob: { 'retry-failing': '重试刷新失败的商户：', 'check-verifying': '核验待核验的商户：' },
  merchantsDone: '已处理的商户',
  doneOf: (done, total) => `${done} / ${total}`,
  progress: (done, total, failed, finished) =>
    `已完成 ${done} / ${total}${failed ? `，${failed} 个仍失败` : ''}${finished ? '，已结束。' : '，进行中（刷新页面查看进度）。'}`,
  exportCsv: '导出当前列表（CSV，英文表头）',
  noMerchants: '还没有商户授权本应用。',
  nothingNeedsAttention: '没有需要处理的商户。',
  noMatch: (q) => `此视图中没有商户应用 ID 或支付宝用户 ID 为 ${q} 的商户。`,
  noneInState: '没有处于此状态的商户。',
  showAll: '显示全部商户',
  caption: (view, q, sort) => `商户：${view}${q ? `，搜索 ${q}` : ''}，按${sort}排序`,
  timesIn: (zone) => `时间按 ${zone} 时区显示（悬停显示 UTC）。`,
  healthDown: '健康检查异常',
  separator: '；',
  end: '。',
  healthAnswers: (link) => html`（${link} 返回 503）：`,
  health: (r) => {
    switch (r.kind) {
      case 'circuit':
        return `支付宝报告配置错误（${r.code}），定时刷新已停止`;
      case 'unreadable':
        return `${r.n} 条授权无法解密`;
      case 'overdue':
        return `${r.n} 条有效授权已逾期未刷新`;
      case 'failing':
        return `${r.of} 条有效授权中有 ${r.n} 条刷新失败`;
      case 'verifying':
        return `${r.of} 条有效授权中有 ${r.n} 条待核验`;
      case 'foreign':
        return `${r.n} 条有效授权持有其他支付宝应用的凭据（${r.codes}），例如商户应用 ${r.example}：商户须重新授权应用 ${r.appId}`;
      case 'last-run':
        return `上次定时刷新在 ${r.seconds} 秒前结束`;
      case 'unknown':
        return `无法读取令牌健康状态（${r.error}）`;
      case 'other':
        return r.text;
    }
  },
  simulation: (base) => html`<b>本地模拟。</b>未配置支付宝凭据，由本进程内的模拟器扮演支付宝（${base}）。这里的操作不会到达真实的支付宝。`,
  merchantsTitle: '已授权商户',
  apiDocs: 'API 文档：',
  healthLink: '健康检查：',
  unprotected: '运营页面未受保护（请设置 ADMIN_TOKEN）',
  linkCard: '授权链接',
  taskTitle: '由商户选择要授权的应用',
  recommended: '推荐',
  taskIntro: (appId) =>
    html`支付宝推荐的授权方式（指定应用授权）：商户从自己的应用（小程序、网页应用等）中选一个授权给应用 ${appId}。手机上的商户用支付宝扫描二维码；电脑上的商户请发送链接。`,
  scanHint: '用支付宝扫码',
  qrOpens: '二维码打开的地址：',
  onComputer: '电脑上使用：',
  authorizeHere: '在本机授权',
  taskUnavailable: '支付宝推荐的授权方式（由商户选择应用）没有公开的沙箱页面，配置正式环境凭据后提供。',
  simpleTitle: '简单方式：商户的基础应用',
  simpleIntro: '支付宝经典授权页：只授权商户的基础应用，无法调用小程序接口。',
  authorizeBase: '授权基础应用',
  batchPage: '批量授权页（旧版）',
  qrSimulation: (base, loopback) =>
    `模拟模式：此二维码指向 ${base}${loopback ? '（手机无法访问）' : ''}，打开的是模拟器而不是支付宝，支付宝无法识别。配置真实的支付宝凭据，并把 PUBLIC_BASE_URL 设为手机能访问的地址后即可使用。`,
  qrLoopback: (base) => `此二维码指向 ${base}，手机无法访问：请把 PUBLIC_BASE_URL 设为本应用的公网地址。`,
  reason: (text) => `原因：${text}。`,
  failedRefreshes: (n) => `刷新已失败 ${n} 次。`,
  codeSuffix: (code) => `（错误码 ${code}）`,
  revokeTitle: (id) => `停止为商户应用 ${id} 提供服务？`,
  revokeHeading: (id) => html`停止为商户应用 ${id} 提供服务？`,
  revokeExplain: html`将不再提供它的令牌，也不再刷新。授权记录会保留，标记为<b>已停止服务</b>；如需恢复服务，商户须通过您的链接重新授权。此操作不会在支付宝中取消授权。`,
  revokeConfirm: (id) => `停止服务 ${id}`,
  keepServing: '继续服务',
  bulkBusy: '另一个批量操作正在进行，请等它结束。',
  bulkStarted: { 'retry-failing': '正在重试所有刷新失败的商户，进度见下方。', 'check-verifying': '正在核验所有待核验的商户，进度见下方。' },
  refreshed: (id) => `已刷新商户应用 ${id} 的令牌。`,
  revoked: (id) => `已停止为商户应用 ${id} 提供服务；授权记录保留，标记为已停止服务。`,
  checkedNotice: (id, sentence) => `商户应用 ${id}：${sentence}`,
  failedNotice: (action, id, sentence, code) => `商户应用 ${id} ${action === 'refresh' ? '刷新' : '核验'}失败：${sentence}（错误码 ${code}）。`,
  traceId: (id) => ` 支付宝追踪号 ${id}（供支付宝客服查询）。`,
};

export function operatorWords(locale: OperatorLocale): OperatorWords {
  return locale === 'zh-CN' ? ZH : EN;
}
