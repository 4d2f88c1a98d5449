// The rows of InMemoryAlipayTokenStore: their shape, the checks every write makes on its arguments (the
// TypeORM store's, so a test that passes in memory does not fail on a database), and the claim orders.
import {
  ALIPAY_AUTHORIZATION_STATUSES,
  ALIPAY_ROW_UNREADABLE,
  AlipayAuthorization,
  AlipayAuthorizationCounts,
  AlipayAuthorizationFilter,
  AlipayAuthorizationStatus,
  AlipayDueCriteria,
  AlipayIssuedTokens,
  AlipayLease,
  AlipayListedAuthorization,
  AlipayPage,
  AlipayPageResult,
  AlipayListOrder,
  alipayAuthorizationState,
} from '../storage/alipay-token-store';
import { alipayListQuery } from '../storage/list-query';
import { DEFAULT_REFRESH_WINDOW, refreshDueAt } from '../storage/refresh-window';

/** The same bounds as the TypeORM store, so a test that passes here does not fail on a database. */
const MAX_CLAIM_BATCH = 1000;

/** A stored row: the public shape in epoch ms, plus an insertion id for the tie-breaks the SQL store uses. */
export interface Row {
  id: number;
  appId: string;
  authAppId: string;
  userId: string | null;
  appAuthToken: string;
  appRefreshToken: string;
  expiresAt: number | null;
  refreshExpiresAt: number | null;
  tokenIssuedAt: number;
  status: AlipayAuthorizationStatus;
  statusReason: string | null;
  authorizedAt: number;
  lastRefreshedAt: number | null;
  lastCheckedAt: number | null;
  failureCount: number;
  lastErrorCode: string | null;
  lastFailureAt: number | null;
  nextAttemptAt: number | null;
  verifyAt: number | null;
  version: number;
  leaseOwner: string | null;
  leaseUntil: number | null;
  createdAt: number;
  updatedAt: number;
}

export function ms(value: Date, name: string): number {
  const t = value instanceof Date ? value.getTime() : NaN;
  if (!Number.isFinite(t)) throw new TypeError(`${name} must be a valid Date`);
  return t;
}
export const msOrNull = (value: Date | null | undefined, name: string): number | null => (value === null || value === undefined ? null : ms(value, name));
const dateOrNull = (value: number | null): Date | null => (value === null ? null : new Date(value));
export const text = (value: string | null | undefined, max: number): string | null =>
  value === null || value === undefined ? null : String(value).slice(0, max);

export function id(value: string, name: string, max = 32): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) throw new TypeError(`${name} must be a string of 1-${max} characters`);
  return value;
}

export function checkLease(lease: AlipayLease): { owner: string; ms: number } {
  const owner = id(lease?.owner, 'lease.owner', 128);
  if (typeof lease.ms !== 'number' || !Number.isFinite(lease.ms) || lease.ms < 0) throw new TypeError('lease.ms must be a non-negative number');
  return { owner, ms: Math.floor(lease.ms) };
}

/** The version a compare-and-set was decided on (null: "no row yet", where allowed). */
export function expected(value: number | null, nullable = false): number | null {
  if (nullable && value === null) return null;
  if (!Number.isInteger(value)) throw new TypeError(`expectedVersion must be an integer${nullable ? ' or null' : ''}`);
  return value;
}

export function checkStatus(value: AlipayAuthorizationStatus): AlipayAuthorizationStatus {
  if (!ALIPAY_AUTHORIZATION_STATUSES.includes(value)) throw new TypeError(`status must be one of ${ALIPAY_AUTHORIZATION_STATUSES.join(', ')}`);
  return value;
}

export function batch(limit: number): number {
  if (typeof limit !== 'number' || !Number.isFinite(limit)) throw new TypeError('limit must be a number');
  return Math.min(Math.max(Math.floor(limit), 0), MAX_CLAIM_BATCH);
}

export function sealed(tokens: AlipayIssuedTokens) {
  if (!tokens || typeof tokens.appAuthToken !== 'string' || !tokens.appAuthToken || typeof tokens.appRefreshToken !== 'string' || !tokens.appRefreshToken) {
    throw new TypeError('tokens.appAuthToken and tokens.appRefreshToken must be non-empty strings');
  }
  return {
    appAuthToken: tokens.appAuthToken,
    appRefreshToken: tokens.appRefreshToken,
    expiresAt: msOrNull(tokens.expiresAt, 'tokens.expiresAt'),
    refreshExpiresAt: msOrNull(tokens.refreshExpiresAt, 'tokens.refreshExpiresAt'),
    tokenIssuedAt: ms(tokens.issuedAt, 'tokens.issuedAt'),
  };
}

/** SQL's `column <= bound` with NULL never matching. */
export const atOrBefore = (value: number | null, bound: number): boolean => value !== null && value <= bound;

export function isDueRow(r: Row, criteria: AlipayDueCriteria): boolean {
  const issuedBefore = criteria.issuedBefore === null || criteria.issuedBefore === undefined ? null : ms(criteria.issuedBefore, 'criteria.issuedBefore');
  return (
    atOrBefore(r.expiresAt, ms(criteria.expiresBefore, 'criteria.expiresBefore')) ||
    atOrBefore(r.refreshExpiresAt, ms(criteria.refreshExpiresBefore, 'criteria.refreshExpiresBefore')) ||
    (issuedBefore !== null && r.tokenIssuedAt <= issuedBefore)
  );
}

export function key(appId: string, authAppId: string): string {
  return `${appId}\u0000${authAppId}`;
}

const nullsLast = (a: number | null, b: number | null) => (a === null ? 1 : 0) - (b === null ? 1 : 0);

/** claimDue's order: soonest expiry first, rows without an expiry last, then insertion order (the SQL store's order). */
export const bySoonestExpiry = (a: Row, b: Row) => nullsLast(a.expiresAt, b.expiresAt) || (a.expiresAt ?? 0) - (b.expiresAt ?? 0) || a.id - b.id;

/** The TypeORM store's `check_due_at`: the last check, or 0 when a check is asked for (never checked, requested). */
export const checkDueAt = (r: Row): number => r.lastCheckedAt ?? 0;

/** claimStatusCheckDue's order: by `checkDueAt` (asked-for checks first, then the oldest check), then insertion. */
export const byOldestCheck = (a: Row, b: Row) => checkDueAt(a) - checkDueAt(b) || a.id - b.id;

/** A fresh copy: callers may mutate what they get without touching the store. */
export function toDomain(r: Row): AlipayAuthorization {
  return {
    appId: r.appId,
    authAppId: r.authAppId,
    userId: r.userId,
    appAuthToken: r.appAuthToken,
    appRefreshToken: r.appRefreshToken,
    expiresAt: dateOrNull(r.expiresAt),
    refreshExpiresAt: dateOrNull(r.refreshExpiresAt),
    tokenIssuedAt: new Date(r.tokenIssuedAt),
    status: r.status,
    statusReason: r.statusReason,
    authorizedAt: new Date(r.authorizedAt),
    lastRefreshedAt: dateOrNull(r.lastRefreshedAt),
    lastCheckedAt: dateOrNull(r.lastCheckedAt),
    failureCount: r.failureCount,
    lastErrorCode: r.lastErrorCode,
    lastFailureAt: dateOrNull(r.lastFailureAt),
    nextAttemptAt: dateOrNull(r.nextAttemptAt),
    verifyAt: dateOrNull(r.verifyAt),
    unreadable: null,
    version: r.version,
    leaseOwner: r.leaseOwner,
    leaseUntil: dateOrNull(r.leaseUntil),
    createdAt: new Date(r.createdAt),
    updatedAt: new Date(r.updatedAt),
  };
}

/** A row as `list` returns it: without its tokens. */
function toListed(r: Row): AlipayListedAuthorization {
  const { appAuthToken: _t, appRefreshToken: _r, ...listed } = toDomain(r);
  return listed;
}

/** `due_at` as the TypeORM store keeps it under the default windows: the retry time, else the refresh window's opening. */
function dueAt(r: Row): number | null {
  if (r.nextAttemptAt !== null) return r.nextAttemptAt;
  return refreshDueAt(
    { expiresAt: dateOrNull(r.expiresAt), refreshExpiresAt: dateOrNull(r.refreshExpiresAt), tokenIssuedAt: new Date(r.tokenIssuedAt) },
    DEFAULT_REFRESH_WINDOW,
  );
}

const ascNullsLast = (a: number | null, b: number | null) => nullsLast(a, b) || (a ?? 0) - (b ?? 0);
const LIST_ORDERS: Record<AlipayListOrder, (a: Row, b: Row) => number> = {
  authorized: (a, b) => b.authorizedAt - a.authorizedAt || b.id - a.id,
  due: (a, b) => ascNullsLast(dueAt(a), dueAt(b)) || a.id - b.id,
  expires: (a, b) => ascNullsLast(a.expiresAt, b.expiresAt) || a.id - b.id,
  failures: (a, b) => b.failureCount - a.failureCount || ascNullsLast(a.nextAttemptAt, b.nextAttemptAt) || a.id - b.id,
  lastFailure: (a, b) => nullsLast(a.lastFailureAt, b.lastFailureAt) || (b.lastFailureAt ?? 0) - (a.lastFailureAt ?? 0) || b.id - a.id,
};

/** `list` over one app's rows: the filters, the order (newest authorization first by default), one page. */
export function listRows(rows: Row[], filter: AlipayAuthorizationFilter, page: AlipayPage): AlipayPageResult<AlipayListedAuthorization> {
  const q = alipayListQuery(filter, page);
  if (q.empty) return { items: [], total: 0 };
  const ids = q.authAppIds && new Set(q.authAppIds);
  const inState = (r: Row) => {
    const state = alipayAuthorizationState(r);
    return q.states!.includes(state) && (state !== 'cancelled' || q.cancelledSince === null || r.updatedAt >= q.cancelledSince);
  };
  const matches = rows
    .filter((r) => !q.statuses || q.statuses.includes(r.status))
    .filter((r) => !ids || ids.has(r.authAppId))
    .filter((r) => q.userId === null || r.userId === q.userId)
    .filter((r) => q.search === null || r.authAppId === q.search || r.userId === q.search)
    .filter((r) => !q.states || inState(r))
    .sort(LIST_ORDERS[q.order]);
  return { items: matches.slice(q.offset, q.offset + q.limit).map(toListed), total: matches.length };
}

/** `countByStatus` over one app's rows: failing and verifying count active rows only. */
export function countRows(rows: Row[]): AlipayAuthorizationCounts {
  const counts: AlipayAuthorizationCounts = { active: 0, reauthorization_required: 0, revoked: 0, cancelled: 0, failing: 0, verifying: 0, unreadable: 0 };
  for (const r of rows) {
    counts[r.status]++;
    if (r.lastErrorCode === ALIPAY_ROW_UNREADABLE) counts.unreadable++;
    if (r.status !== 'active') continue;
    if (r.failureCount > 0) counts.failing++;
    if (r.verifyAt !== null) counts.verifying++;
  }
  return counts;
}
