import type { ResolvedAlipayAuthConfig, ResolvedRefreshConfig } from '../alipay-auth.config';
import { AlipayApiError, AlipayNetworkError, AlipaySignatureError } from '../errors/alipay-auth.errors';
import { refreshDueAt } from '../storage/refresh-window';

export { refreshDueAt };
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
  const due = refreshDueAt(a, policy);
  return due !== null && due <= now;
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
export const DEAD_REFRESH_TOKEN_CODES = new Set(['REFRESH_TOKEN_NOT_VALID', 'REFRESH_TOKEN_NOT_EXIST', 'REFRESH_TOKEN_TIME_OUT', 'AUTH_TOKEN_NOT_FOUND']);

/**
 * Codes meaning our configuration is wrong, not the merchant's authorization: the credential belongs to
 * another ISV app (`APP_ID_NOT_CONSISTENT` on refresh, `AUTH_TOKEN_NOT_CONSISTENT` on the query), the app is
 * not a third-party app, or Alipay refused our signature, app id, certificate or clock. One wrong setting
 * would otherwise flip every merchant.
 */
export const CONFIGURATION_ERROR_CODES = new Set([
  'APP_ID_NOT_CONSISTENT',
  'AUTH_TOKEN_NOT_CONSISTENT',
  'APP_NOT_ISV',
  'invalid-app-id',
  'invalid-signature',
  'missing-signature',
  'invalid-timestamp',
  'illegal-timestamp',
  'app-cert-not-exist',
  'missing-app-cert-sn',
  'invalid-alipay-root-cert-sn',
  'insufficient-isv-permissions',
]);

/**
 * What a failed refresh means for the stored pair:
 * - `dead-refresh-token`: Alipay refused the refresh token; nothing rotated.
 * - `configuration`: our setup is wrong; nothing rotated, and no merchant is to blame.
 * - `ambiguous`: Alipay may have rotated the pair and the answer is lost (timeout or reset after sending,
 *   5xx, an answer that does not verify or does not parse, a failed write of the new pair).
 * - `transient`: refused before anything happened (not sent, rate-limited, another 4xx).
 */
export type AlipayFailureKind = 'dead-refresh-token' | 'configuration' | 'ambiguous' | 'transient';

export function classifyRefreshFailure(e: unknown): AlipayFailureKind {
  if (e instanceof AlipayApiError) {
    const code = e.code.replace(/^isv\./, '');
    if (CONFIGURATION_ERROR_CODES.has(code)) return 'configuration';
    if (DEAD_REFRESH_TOKEN_CODES.has(code)) return 'dead-refresh-token';
    if (e.status >= 500 || e.status < 400) return 'ambiguous';
    return 'transient';
  }
  if (e instanceof AlipayNetworkError) return e.sent ? 'ambiguous' : 'transient';
  // An unverifiable answer, or anything unexpected after sending (a failed database write included).
  return 'ambiguous';
}

/** Whether `e` is one of the configuration codes (any call). */
export function isConfigurationError(e: unknown): e is AlipayApiError {
  return e instanceof AlipayApiError && CONFIGURATION_ERROR_CODES.has(e.code.replace(/^isv\./, ''));
}

/** A short code for logs and the row (never a message that could carry data). */
export function failureCode(e: unknown): string {
  if (e instanceof AlipayApiError || e instanceof AlipaySignatureError) return e.code;
  if (e instanceof AlipayNetworkError) return `network-${e.kind}`;
  return e instanceof Error ? e.name : 'unknown';
}

/**
 * The longest one Alipay call can take: every attempt timing out, with the longest back-off between them,
 * plus a margin for the database write. Leases must outlast it.
 */
export function maxCallMs(config: Pick<ResolvedAlipayAuthConfig, 'timeoutMs' | 'retries' | 'retryMaxDelayMs'>): number {
  return config.timeoutMs * (config.retries + 1) + config.retries * config.retryMaxDelayMs + 2_000;
}

/**
 * When to verify the pair after an ambiguous refresh: after the back-off, and never before a late
 * completion of the lost request could still land at Alipay.
 */
export function verifyDelay(failureCount: number, config: Pick<ResolvedAlipayAuthConfig, 'timeoutMs' | 'retries' | 'retryMaxDelayMs' | 'refresh'>): number {
  return Math.max(backoffDelay(failureCount, config.refresh), maxCallMs(config));
}

