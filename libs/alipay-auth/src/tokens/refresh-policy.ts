import type { ResolvedRefreshConfig } from '../alipay-auth.config';
import type { AlipayAuthorization, AlipayDueCriteria } from '../storage/alipay-token-store';

/** The one definition of "due for refresh", used by the hot path and (as a query) by the scheduler. */
export function dueCriteria(now: number, policy: ResolvedRefreshConfig): AlipayDueCriteria {
  return {
    now: new Date(now),
    expiresBefore: new Date(now + policy.refreshAheadMs),
    refreshExpiresBefore: new Date(now + policy.refreshTokenSafetyMs),
    issuedBefore: policy.maxTokenAgeMs > 0 ? new Date(now - policy.maxTokenAgeMs) : null,
  };
}

export function isDue(a: AlipayAuthorization, now: number, policy: ResolvedRefreshConfig): boolean {
  const c = dueCriteria(now, policy);
  return (
    (a.expiresAt !== null && a.expiresAt <= c.expiresBefore) ||
    (a.refreshExpiresAt !== null && a.refreshExpiresAt <= c.refreshExpiresBefore) ||
    (c.issuedBefore !== null && a.tokenIssuedAt <= c.issuedBefore)
  );
}

export function isExpired(a: AlipayAuthorization, now: number): boolean {
  return a.expiresAt !== null && a.expiresAt.getTime() <= now;
}

/** Exponential back-off for the n-th consecutive failure (n >= 1), with ±20 % jitter, capped. */
export function backoffDelay(failureCount: number, policy: ResolvedRefreshConfig, random = Math.random): number {
  const base = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** Math.max(0, failureCount - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** Alipay codes meaning the refresh token is dead: the merchant must authorize again. */
export const DEAD_REFRESH_TOKEN_CODES = new Set([
  'REFRESH_TOKEN_NOT_VALID',
  'REFRESH_TOKEN_NOT_EXIST',
  'REFRESH_TOKEN_TIME_OUT',
  'AUTH_TOKEN_NOT_FOUND',
  'APP_ID_NOT_CONSISTENT',
]);

