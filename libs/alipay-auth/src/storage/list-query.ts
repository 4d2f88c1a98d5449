import {
  ALIPAY_AUTHORIZATION_STATES,
  ALIPAY_AUTHORIZATION_STATUSES,
  AlipayAuthorizationFilter,
  AlipayAuthorizationState,
  AlipayAuthorizationStatus,
  AlipayListOrder,
  AlipayPage,
} from './alipay-token-store';

const DEFAULT_PAGE = 50;
const MAX_PAGE = 1000;
const ORDERS: readonly AlipayListOrder[] = ['authorized', 'due', 'expires', 'failures', 'lastFailure'];

/** A `list` call with its arguments checked and normalized, the same for every store; `empty`: nothing can match. */
export interface AlipayListQuery {
  statuses: AlipayAuthorizationStatus[] | null;
  states: AlipayAuthorizationState[] | null;
  authAppIds: string[] | null;
  userId: string | null;
  search: string | null;
  /** Epoch ms; null: every cancelled row. */
  cancelledSince: number | null;
  offset: number;
  limit: number;
  order: AlipayListOrder;
  empty: boolean;
}

function oneOrMany<T extends string>(value: T | T[] | undefined, allowed: readonly T[], name: string): T[] | null {
  if (value === undefined) return null;
  const list = Array.isArray(value) ? value : [value];
  for (const v of list) if (!allowed.includes(v)) throw new TypeError(`${name} must be one of ${allowed.join(', ')}`);
  return [...new Set(list)];
}

/** Checks `list`'s filter and page (a TypeError names the bad field) and bounds the page. */
export function alipayListQuery(filter: AlipayAuthorizationFilter = {}, page: AlipayPage = {}): AlipayListQuery {
  const statuses = oneOrMany(filter.status, ALIPAY_AUTHORIZATION_STATUSES, 'filter.status');
  const states = oneOrMany(filter.state, ALIPAY_AUTHORIZATION_STATES, 'filter.state');
  const authAppIds = filter.authAppIds === undefined ? null : [...new Set(filter.authAppIds)];
  if (filter.search !== undefined && (typeof filter.search !== 'string' || filter.search.length > 32)) {
    throw new TypeError('filter.search must be a string of at most 32 characters');
  }
  let cancelledSince: number | null = null;
  if (filter.cancelledSince !== undefined) {
    cancelledSince = filter.cancelledSince instanceof Date ? filter.cancelledSince.getTime() : NaN;
    if (!Number.isFinite(cancelledSince)) throw new TypeError('filter.cancelledSince must be a valid Date');
  }
  const order = page.order ?? 'authorized';
  if (!ORDERS.includes(order)) throw new TypeError(`page.order must be one of ${ORDERS.join(', ')}`);
  return {
    statuses,
    states,
    authAppIds,
    userId: filter.userId ?? null,
    search: filter.search ?? null,
    cancelledSince,
    offset: Number.isFinite(page.offset) ? Math.max(0, Math.floor(page.offset!)) : 0,
    limit: Number.isFinite(page.limit) ? Math.min(MAX_PAGE, Math.max(0, Math.floor(page.limit!))) : DEFAULT_PAGE,
    order,
    empty: statuses?.length === 0 || states?.length === 0 || authAppIds?.length === 0 || filter.search === '',
  };
}
