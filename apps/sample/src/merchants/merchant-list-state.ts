import { BadRequestException } from '@nestjs/common';
import { ALIPAY_AUTH_APP_ID_PATTERN, ALIPAY_AUTHORIZATION_STATES } from 'nestjs-alipay-auth';
import type { AlipayAuthorizationFilter, AlipayAuthorizationState, AlipayListOrder } from 'nestjs-alipay-auth';
import { single } from '../http/respond';
import type { MerchantLocale } from '../views/merchant-text';

/** `attention`: the rows an operator must look at; `all`; or one state. */
export type MerchantView = 'attention' | 'all' | AlipayAuthorizationState;
export const MERCHANT_VIEWS: readonly MerchantView[] = ['attention', 'all', ...ALIPAY_AUTHORIZATION_STATES];
export const MERCHANT_SORTS: readonly AlipayListOrder[] = ['authorized', 'due', 'expires', 'failures', 'lastFailure'];
export const PAGE_SIZES = [20, 50, 100, 200] as const;
export const DEFAULT_PAGE_SIZE = 50;
/** A cancellation stays in the attention queue this long (the merchant may need a call). */
export const RECENTLY_CANCELLED_MS = 7 * 24 * 3600_000;
const LANGS: readonly MerchantLocale[] = ['zh-CN', 'en'];
/** What an operator can type in the search box: a merchant app id or an Alipay user id. */
const SEARCH = /^[A-Za-z0-9]{1,32}$/;

/** Where the operator is on the list: every action returns here. `view` undefined: the default one; `lang` undefined: Accept-Language. */
export interface MerchantListState {
  view?: MerchantView;
  lang?: MerchantLocale;
  q: string;
  sort: AlipayListOrder;
  page: number;
  size: number;
}

export const DEFAULT_LIST_STATE: MerchantListState = { q: '', sort: 'authorized', page: 1, size: DEFAULT_PAGE_SIZE };

function oneOf<T extends string>(raw: unknown, allowed: readonly T[], name: string): T | undefined {
  const v = single(raw);
  if (v === undefined || v === '') return undefined;
  if (v === null || !allowed.includes(v as T)) throw new BadRequestException(`"${name}" must be one of ${allowed.join(', ')}`);
  return v as T;
}

function positive(raw: unknown, name: string, max: number): number | undefined {
  const v = single(raw);
  if (v === undefined || v === '') return undefined;
  if (v === null || !/^\d{1,6}$/.test(v) || Number(v) < 1 || Number(v) > max) throw new BadRequestException(`"${name}" must be an integer from 1 to ${max}`);
  return Number(v);
}

/** The list state from a query string (400 naming the field on anything the page never writes). */
export function parseListState(query: Record<string, unknown>): MerchantListState & { searchError?: true } {
  const size = positive(query.size, 'size', 1000) ?? DEFAULT_PAGE_SIZE;
  if (!(PAGE_SIZES as readonly number[]).includes(size)) throw new BadRequestException(`"size" must be one of ${PAGE_SIZES.join(', ')}`);
  const raw = single(query.q);
  if (raw === null) throw new BadRequestException('"q" must be given once');
  const q = (raw ?? '').trim();
  return {
    view: oneOf(query.view, MERCHANT_VIEWS, 'view'),
    lang: oneOf(query.lang, LANGS, 'lang'),
    // Typed by a person: a malformed search is said on the page (views/operator-text.ts), not answered with an error.
    q,
    ...(q && !SEARCH.test(q) ? { searchError: true as const } : {}),
    sort: oneOf(query.sort, MERCHANT_SORTS, 'sort') ?? 'authorized',
    page: positive(query.page, 'page', 999_999) ?? 1,
    size,
  };
}

/** The list state an action form carried back (`back`), or the default one when it is missing or altered. */
export function parseBack(back: unknown): MerchantListState | undefined {
  if (typeof back !== 'string' || back.length > 300) return undefined;
  try {
    const { searchError, ...state } = parseListState(Object.fromEntries(new URLSearchParams(back)));
    return searchError ? undefined : state;
  } catch {
    return undefined;
  }
}

/** The query string of a list state (defaults left out), with changes. */
export function listQuery(state: MerchantListState, changes: Partial<MerchantListState> = {}): string {
  const s = { ...state, ...changes };
  const params = new URLSearchParams();
  if (s.view) params.set('view', s.view);
  if (s.lang) params.set('lang', s.lang);
  if (s.q) params.set('q', s.q);
  if (s.sort !== 'authorized') params.set('sort', s.sort);
  if (s.page !== 1) params.set('page', String(s.page));
  if (s.size !== DEFAULT_PAGE_SIZE) params.set('size', String(s.size));
  return params.toString();
}

/** Where an action sends the operator back: the same list, the row anchored and highlighted. */
export function backTo(state: MerchantListState | undefined, authAppId: string): string {
  if (!state || !ALIPAY_AUTH_APP_ID_PATTERN.test(authAppId)) return '/';
  const qs = listQuery(state);
  return `/?${qs ? `${qs}&` : ''}at=${encodeURIComponent(authAppId)}#m-${encodeURIComponent(authAppId)}`;
}

/** The store filter of a view (the attention queue: every problem, and the recent cancellations). */
export function viewFilter(view: MerchantView, q: string, now: number): AlipayAuthorizationFilter {
  const search = q ? { search: q } : {};
  if (view === 'all') return search;
  if (view === 'attention') {
    return {
      ...search,
      state: ['failing', 'verifying', 'unreadable', 'reauthorization_required', 'cancelled'],
      cancelledSince: new Date(now - RECENTLY_CANCELLED_MS),
    };
  }
  return { ...search, state: view };
}
