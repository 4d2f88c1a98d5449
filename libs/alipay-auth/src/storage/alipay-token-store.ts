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
  /** Earliest time of the next refresh attempt after a failure (back-off). */
  nextAttemptAt: Date | null;
  /** Optimistic-lock version; each write increments it. */
  version: number;
  leaseOwner: string | null;
  leaseUntil: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A token pair as issued by Alipay, with absolute expiries. */
export interface AlipayIssuedTokens {
  appAuthToken: string;
  appRefreshToken: string;
  expiresAt: Date | null;
  refreshExpiresAt: Date | null;
  issuedAt: Date;
}

export interface AlipayAuthorizationFilter {
  status?: AlipayAuthorizationStatus | AlipayAuthorizationStatus[];
  authAppIds?: string[];
  userId?: string;
}

export interface AlipayPage {
  offset?: number;
  /** Default 50, at most 1000. */
  limit?: number;
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

export interface AlipayLease {
  owner: string;
  until: Date;
}

/**
 * Persistence of authorizations, one row per (appId, authAppId). The TypeORM store is the default;
 * provide your own under the `AlipayTokenStore` token to replace it.
 * Every write that changes tokens or state bumps `version`.
 */
export interface AlipayTokenStore {
  /**
   * Stores a new authorization (code exchange) or replaces an existing one for the same merchant:
   * status becomes active, failure state and lease are cleared.
   */
  saveAuthorization(input: { appId: string; authAppId: string; userId: string | null; tokens: AlipayIssuedTokens; authorizedAt: Date }): Promise<AlipayAuthorization>;

  find(appId: string, authAppId: string): Promise<AlipayAuthorization | null>;

  list(appId: string, filter?: AlipayAuthorizationFilter, page?: AlipayPage): Promise<AlipayPageResult<AlipayAuthorization>>;

  /**
   * Compare-and-set: replaces the token pair only if the row is still at `expectedVersion`, and clears
   * failure state and the lease, in one statement. Returns the new row, or null if the version moved on.
   */
  saveRefreshed(appId: string, authAppId: string, expectedVersion: number, tokens: AlipayIssuedTokens): Promise<AlipayAuthorization | null>;

  /** Records a failed refresh (count +1, error code, next attempt time) and releases the lease held by `owner`, if any. */
  recordFailure(appId: string, authAppId: string, failure: { errorCode: string; nextAttemptAt: Date | null; owner?: string }): Promise<void>;

  /** Moves the authorization to a non-active status (or back to active), keeping the row. Releases any lease. */
  setStatus(appId: string, authAppId: string, status: AlipayAuthorizationStatus, reason: string | null): Promise<AlipayAuthorization | null>;

  /** Records a status check done through the token query API. */
  markChecked(appId: string, authAppId: string, at: Date): Promise<void>;

  /**
   * Atomically leases up to `limit` active rows that are due by `criteria`, whose `nextAttemptAt` has come
   * and whose lease is free or expired. Two callers never get the same row while a lease holds.
   */
  claimDue(appId: string, criteria: AlipayDueCriteria, lease: AlipayLease, limit: number): Promise<AlipayAuthorization[]>;

  /** Atomically leases up to `limit` active rows whose last status check is older than `checkedBefore`. */
  claimStatusCheckDue(appId: string, checkedBefore: Date, now: Date, lease: AlipayLease, limit: number): Promise<AlipayAuthorization[]>;

  /** Leases one row if its lease is free or expired (on-demand refresh across processes). Null if another owner holds it. */
  tryLease(appId: string, authAppId: string, lease: AlipayLease, now: Date): Promise<AlipayAuthorization | null>;

  /** Releases the lease if `owner` still holds it. */
  releaseLease(appId: string, authAppId: string, owner: string): Promise<void>;

  /** Counts by status (for health checks and the operators' page). */
  countByStatus(appId: string): Promise<Record<AlipayAuthorizationStatus, number> & { failing: number }>;
}

/** Injection token with the same name as the interface, as `@nestjs/throttler` does. */
export const AlipayTokenStore = Symbol('AlipayTokenStore');
