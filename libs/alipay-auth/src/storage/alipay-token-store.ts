import type { AlipayNotificationLog } from './alipay-notification-log';

/** Lifecycle of one merchant authorization. */
export type AlipayAuthorizationStatus =
  /** Tokens usable. */
  | 'active'
  /** Alipay refused the refresh token (dead or expired): the merchant must authorize again. Kept, with the reason. */
  | 'reauthorization_required'
  /** Revoked by the ISV (`revoke()`). */
  | 'revoked'
  /** Cancelled by the merchant (notification, or the token query API said `invalid`). */
  | 'cancelled';

/** Every `AlipayAuthorizationStatus`, for validating input and listing the choices (filters, API docs). */
export const ALIPAY_AUTHORIZATION_STATUSES: readonly AlipayAuthorizationStatus[] = ['active', 'reauthorization_required', 'revoked', 'cancelled'];

/** One stored authorization, decrypted. The store decrypts on read and encrypts on write. */
export interface AlipayAuthorization {
  /** The ISV app id. */
  appId: string;
  /** The merchant's authorized app id. */
  authAppId: string;
  /** The merchant's Alipay user id (2088…). */
  userId: string | null;
  appAuthToken: string;
  appRefreshToken: string;
  /** Absolute expiry of the token, computed from `expires_in` at issue time; null if Alipay gave none. */
  expiresAt: Date | null;
  /** Absolute expiry of the refresh token, from `re_expires_in`; null if Alipay gave none. */
  refreshExpiresAt: Date | null;
  /** When the current token pair was issued (exchange or last refresh). */
  tokenIssuedAt: Date;
  status: AlipayAuthorizationStatus;
  statusReason: string | null;
  authorizedAt: Date;
  lastRefreshedAt: Date | null;
  /** Last status check through the token query API. */
  lastCheckedAt: Date | null;
  failureCount: number;
  lastErrorCode: string | null;
  /**
   * When a refresh (or its recovery) last failed; kept after a later success (history: "last failed at …"),
   * cleared when the merchant authorizes again.
   */
  lastFailureAt: Date | null;
  /** Earliest time of the next refresh attempt after a failure (back-off). */
  nextAttemptAt: Date | null;
  /**
   * Set when a refresh ended without a trustworthy answer (timeout or reset after sending, 5xx, an
   * unverifiable signature): Alipay may have rotated the pair. The stored pair is verified and repaired then.
   */
  verifyAt: Date | null;
  /** When the row next needs work: its refresh window opens, or its retry after a failure (stores that keep it). */
  dueAt?: Date | null;
  /**
   * Why the stored tokens cannot be decrypted (key id not configured, altered bytes), or null. Such a row
   * is listed and counted but never used; its tokens read as empty strings.
   */
  unreadable: string | null;
  /** Optimistic-lock version; each write increments it. */
  version: number;
  leaseOwner: string | null;
  leaseUntil: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * An authorization as `list` returns it: everything but the tokens, which a listing never decrypts.
 * `unreadable` says what the stored values' format and key ids tell (an altered ciphertext shows when used).
 */
export type AlipayListedAuthorization = Omit<AlipayAuthorization, 'appAuthToken' | 'appRefreshToken'>;

/** A token pair as issued by Alipay, with absolute expiries. */
export interface AlipayIssuedTokens {
  appAuthToken: string;
  appRefreshToken: string;
  expiresAt: Date | null;
  refreshExpiresAt: Date | null;
  issuedAt: Date;
}

/** A new authorization to store, and the version of the row it replaces (`null`: the merchant has none). */
export interface AlipayAuthorizationWrite {
  appId: string;
  authAppId: string;
  userId: string | null;
  tokens: AlipayIssuedTokens;
  authorizedAt: Date;
  expectedVersion: number | null;
}

/**
 * What an authorization needs, as operators see it: its status, or for an active row its refresh state
 * (`healthy`: no failed refresh; `failing`: failed refreshes, retried after a back-off; `verifying`: the
 * pair is in doubt after an ambiguous refresh; `unreadable`: its tokens cannot be decrypted).
 */
export type AlipayAuthorizationState = 'healthy' | 'failing' | 'verifying' | 'unreadable' | Exclude<AlipayAuthorizationStatus, 'active'>;

/** Every `AlipayAuthorizationState`: a row is in exactly one. */
export const ALIPAY_AUTHORIZATION_STATES: readonly AlipayAuthorizationState[] = [
  'healthy',
  'failing',
  'verifying',
  'unreadable',
  'reauthorization_required',
  'revoked',
  'cancelled',
];

export interface AlipayAuthorizationFilter {
  status?: AlipayAuthorizationStatus | AlipayAuthorizationStatus[];
  authAppIds?: string[];
  userId?: string;
  /** Rows in any of these states (combined with the other filters). */
  state?: AlipayAuthorizationState | AlipayAuthorizationState[];
  /** With `state` including `cancelled`: only the rows cancelled (last written) at or after this instant. */
  cancelledSince?: Date;
  /** Rows whose merchant app id or Alipay user id is exactly this text. */
  search?: string;
}

/**
 * Orders of `list`: `authorized` (newest authorization first, the default), `due` (soonest next scheduled
 * work first: retry, verification or refresh window), `expires` (soonest token expiry first), `failures`
 * (most failed refreshes first), `lastFailure` (most recent failure first, never-failed rows last). Rows
 * without the instant come last; ties break on insertion order (`lastFailure`: newest row first).
 */
export type AlipayListOrder = 'authorized' | 'due' | 'expires' | 'failures' | 'lastFailure';

export interface AlipayPage {
  offset?: number;
  /** Default 50, at most 1000. */
  limit?: number;
  order?: AlipayListOrder;
}

export interface AlipayPageResult<T> {
  items: T[];
  total: number;
}

/** What makes an authorization due for the scheduled refresh (any one is enough). */
export interface AlipayDueCriteria {
  now: Date;
  /** Due when `expiresAt` <= this. */
  expiresBefore: Date;
  /** Due when `refreshExpiresAt` <= this. */
  refreshExpiresBefore: Date;
  /** Due when `tokenIssuedAt` <= this (maximum token age); null: no age limit. */
  issuedBefore: Date | null;
}

/** A lease on rows: held by `owner` for `ms` from the database's own clock (never an instance's). */
export interface AlipayLease {
  owner: string;
  ms: number;
}

/** A failed refresh, as recorded by `recordFailure`. */
export interface AlipayRefreshFailure {
  errorCode: string;
  nextAttemptAt: Date | null;
  /** Releases this owner's lease. */
  owner?: string;
  /** The outcome is unknown (Alipay may have rotated the pair): verify the stored pair at `nextAttemptAt`. */
  verify?: boolean;
}

/** Error code recorded on a row whose tokens cannot be decrypted. */
export const ALIPAY_ROW_UNREADABLE = 'row-unreadable';

/** The state of a row: its status, or for an active row what its failure bookkeeping says. */
export function alipayAuthorizationState(a: {
  status: AlipayAuthorizationStatus;
  failureCount: number;
  lastErrorCode: string | null;
  verifyAt: Date | number | null;
}): AlipayAuthorizationState {
  if (a.status !== 'active') return a.status;
  if (a.failureCount <= 0) return 'healthy';
  if (a.lastErrorCode === ALIPAY_ROW_UNREADABLE) return 'unreadable';
  return a.verifyAt !== null ? 'verifying' : 'failing';
}

export type AlipayAuthorizationCounts = Record<AlipayAuthorizationStatus, number> & {
  /** Active rows whose last refresh failed. */
  failing: number;
  /** Active rows whose pair is in doubt after an ambiguous refresh. */
  verifying: number;
  /** Rows found undecryptable (recorded as `row-unreadable`). */
  unreadable: number;
};

/**
 * Persistence of authorizations, one row per (appId, authAppId). The TypeORM store is the default;
 * provide your own under the `AlipayTokenStore` token to replace it.
 *
 * Every mutating method is a compare-and-set on what the caller's decision was based on: the row's
 * `version` as the caller read it (`null` for "no row yet"). Token and status writes bump `version`;
 * bookkeeping (`recordFailure`, `markChecked`, leases) leaves it alone, so it never makes an in-flight
 * refresh lose its compare-and-set. A write that lost the race changes nothing and says so (`null` or
 * `false`): another writer (a re-authorization, a notification, another instance) moved the row on, and
 * its state stands.
 *
 * Notification de-duplication (`isNotificationHandled`, `markNotificationHandled`) is its own small
 * interface, `AlipayNotificationLog`, which this one extends: a store implements both.
 */
export interface AlipayTokenStore extends AlipayNotificationLog {
  /**
   * Stores a new authorization (code exchange, notification) or replaces the merchant's current one:
   * status becomes active, failure state and lease are cleared. `expectedVersion`: the version the caller
   * read, or `null` to insert only when the merchant has no row. Null when the row is not (or no longer)
   * what the caller read.
   */
  saveAuthorization(input: AlipayAuthorizationWrite): Promise<AlipayAuthorization | null>;

  find(appId: string, authAppId: string): Promise<AlipayAuthorization | null>;

  /** A page of authorizations without their tokens (nothing decrypted). */
  list(appId: string, filter?: AlipayAuthorizationFilter, page?: AlipayPage): Promise<AlipayPageResult<AlipayListedAuthorization>>;

  /**
   * Compare-and-set: replaces the token pair only if the row is still at `expectedVersion`, and clears
   * failure state and the lease, in one statement. Returns the new row, or null if the version moved on.
   */
  saveRefreshed(appId: string, authAppId: string, expectedVersion: number, tokens: AlipayIssuedTokens): Promise<AlipayAuthorization | null>;

  /**
   * Records a failed refresh (count +1, error code, next attempt time; with `verify`, the pair is in doubt
   * until `nextAttemptAt`) and releases the lease held by `owner`, if any, if the row is still at
   * `expectedVersion`. False (nothing written, the lease kept) when it moved on.
   */
  recordFailure(appId: string, authAppId: string, expectedVersion: number, failure: AlipayRefreshFailure): Promise<boolean>;

  /**
   * Moves the authorization to another status, keeping the row, and releases any lease, if it is still at
   * `expectedVersion`. Returns the row as written, or null when it moved on (or is gone).
   */
  setStatus(
    appId: string,
    authAppId: string,
    expectedVersion: number,
    status: AlipayAuthorizationStatus,
    reason: string | null,
  ): Promise<AlipayAuthorization | null>;

  /** Records a status check done through the token query API, if the row is still at `expectedVersion`. */
  markChecked(appId: string, authAppId: string, expectedVersion: number, at: Date): Promise<boolean>;

  /**
   * Atomically leases up to `limit` active rows whose lease is free or expired (database time) and that
   * are due by `criteria`, or whose retry after a failure has come (`nextAttemptAt <= criteria.now`, inside
   * the refresh window or not). Rows backing off are left alone. Two callers never get the same row while a lease holds.
   */
  claimDue(appId: string, criteria: AlipayDueCriteria, lease: AlipayLease, limit: number): Promise<AlipayAuthorization[]>;

  /**
   * Atomically leases up to `limit` active rows whose last status check is older than `checkedBefore`: rows
   * asked to be checked (never checked, `requestStatusCheck`) first, then the oldest check. Called often at
   * any table size: serve it from an index in that order (the TypeORM store's `check_due_at`).
   */
  claimStatusCheckDue(appId: string, checkedBefore: Date, lease: AlipayLease, limit: number): Promise<AlipayAuthorization[]>;

  /**
   * Leases one row if its lease is free, expired (database time) or already `lease.owner`'s, extending it;
   * returns the row as it is now. Null if another owner holds it (or the row is gone).
   * `takeOverAfterMs`: also take a lease taken or renewed longer ago than that (its holder is not in a call,
   * as every holder renews right before calling Alipay); assumes all holders use the same `lease.ms`.
   */
  tryLease(appId: string, authAppId: string, lease: AlipayLease, opts?: { takeOverAfterMs?: number }): Promise<AlipayAuthorization | null>;

  /** Releases the lease if `owner` still holds it. */
  releaseLease(appId: string, authAppId: string, owner: string): Promise<void>;

  /** Counts by status, plus failing, verifying and unreadable rows (health checks, the operators' page). */
  countByStatus(appId: string): Promise<AlipayAuthorizationCounts>;

  /** Active rows due by `criteria` (leases and back-off ignored): with a criteria moved back in time, the overdue ones. */
  countDue(appId: string, criteria: AlipayDueCriteria): Promise<number>;

  /** The database's clock, epoch ms (leases run on it). */
  databaseNow(): Promise<number>;

  /** The authorization whose current `app_auth_token` is `appAuthToken` (keyed-hash lookup; nothing decrypted but the match). */
  findByToken(appId: string, appAuthToken: string): Promise<AlipayAuthorization | null>;

  /**
   * Asks for a status check at the next scheduled run of the active rows of this merchant user (or of this
   * merchant app). Returns how
   * many. Not a compare-and-set: it only asks for a verification, it never changes a verdict or a pair.
   */
  requestStatusCheck(appId: string, filter: { userId: string } | { authAppId: string }): Promise<number>;
}

/** Injection token with the same name as the interface, as `@nestjs/throttler` does. */
export const AlipayTokenStore = Symbol('AlipayTokenStore');
