import type { ResolvedAlipayAuthConfig, ResolvedRefreshConfig } from '../alipay-auth.options';
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
 * Codes a single row can answer when its credential was granted to another ISV app (`APP_ID_NOT_CONSISTENT`
 * on refresh, `AUTH_TOKEN_NOT_CONSISTENT` on the query): that row's data problem while other rows succeed,
 * our wrong app id when every row answers it (the circuit counts distinct rows to tell them apart).
 */
export const FOREIGN_CREDENTIAL_CODES = new Set(['APP_ID_NOT_CONSISTENT', 'AUTH_TOKEN_NOT_CONSISTENT']);

/** §9.1, §9.2: the token calls' own answer when the app is not a third-party app. */
export const TOKEN_CALL_CONFIGURATION_CODES = ['APP_NOT_ISV'] as const;

/** §10.3: the gateway's codes that concern the whole app (`missing-timestamp` is its answer to a missing or malformed Authorization). */
export const GATEWAY_CONFIGURATION_CODES = [
  'missing-timestamp',
  'missing-app-id',
  'invalid-app-id',
  'invalid-signature',
  'invalid-signature-type',
  'missing-signature-config',
  'unsupported-expired-app-key-sign',
  'app-key-security-risk',
  'app-cert-expired',
  'alipay-cert-not-exist',
  'missing-alipay-root-cert-sn',
  'missing-alipay-cert-sn',
  'illegal-client-ip',
  'invalid-app-state',
  'forbidden-api',
  'app-api-punished',
  'missing-encrypt-key',
  'invalid-encrypt-type',
] as const;

/** §10.3: `decryption-error` and its variants. */
export const GATEWAY_CONFIGURATION_CODE_PREFIXES = ['decryption-error'] as const;

/** §9.3: the ISV app lacks the permission, whichever merchant it acts for. */
export const ISV_GATEWAY_CONFIGURATION_CODES = ['insufficient-isv-permissions'] as const;

/** Not in the protocol notes, but about our clock, signature or certificates, hence app-wide whenever they come. */
export const UNCONFIRMED_CONFIGURATION_CODES = [
  'invalid-timestamp',
  'illegal-timestamp',
  'missing-signature',
  'app-cert-not-exist',
  'missing-app-cert-sn',
  'invalid-alipay-root-cert-sn',
] as const;

/**
 * Codes that concern the whole app, never one merchant: one wrong setting would otherwise flip every
 * merchant. Matched without the v2 `isv.` / `aop.` prefix; `decryption-error*` matches by prefix.
 */
export const CONFIGURATION_ERROR_CODES = new Set<string>([
  ...TOKEN_CALL_CONFIGURATION_CODES,
  ...GATEWAY_CONFIGURATION_CODES,
  ...ISV_GATEWAY_CONFIGURATION_CODES,
  ...UNCONFIRMED_CONFIGURATION_CODES,
]);

/** Alipay's code without the v2 `isv.` / `aop.` namespace, so v2 `sub_code`s and v3 codes read alike. */
export function bareAlipayCode(code: string): string {
  return code.replace(/^(?:isv|aop)\./i, '');
}

function isConfigurationCode(code: string): boolean {
  return CONFIGURATION_ERROR_CODES.has(code) || GATEWAY_CONFIGURATION_CODE_PREFIXES.some((p) => code.startsWith(p));
}

/**
 * What a failed refresh means for the stored pair:
 * - `dead-refresh-token`: Alipay refused the refresh token; nothing rotated.
 * - `configuration`: our setup is wrong for the whole app; nothing rotated, and no merchant is to blame.
 * - `foreign-credential`: this row's credential belongs to another ISV app; nothing rotated. A failure of
 *   this row (with back-off), unless several distinct rows agree (then it is our app id: configuration).
 * - `ambiguous`: Alipay may have rotated the pair and the answer is lost (timeout or reset after sending,
 *   5xx, an answer that does not verify or does not parse, a failed write of the new pair).
 * - `transient`: refused before anything happened (not sent, rate-limited, another 4xx).
 */
export type AlipayFailureKind = 'dead-refresh-token' | 'configuration' | 'foreign-credential' | 'ambiguous' | 'transient';

export function classifyRefreshFailure(e: unknown): AlipayFailureKind {
  if (e instanceof AlipayApiError) {
    const code = bareAlipayCode(e.code);
    if (isConfigurationCode(code)) return 'configuration';
    if (FOREIGN_CREDENTIAL_CODES.has(code)) return 'foreign-credential';
    if (DEAD_REFRESH_TOKEN_CODES.has(code)) return 'dead-refresh-token';
    if (e.status >= 500 || e.status < 400) return 'ambiguous';
    return 'transient';
  }
  if (e instanceof AlipayNetworkError) return e.sent ? 'ambiguous' : 'transient';
  // An unverifiable answer, or anything unexpected after sending (a failed database write included).
  return 'ambiguous';
}

/** Whether `e` is a code that concerns the whole app (any call); foreign-credential codes are not. */
export function isConfigurationError(e: unknown): e is AlipayApiError {
  return e instanceof AlipayApiError && isConfigurationCode(bareAlipayCode(e.code));
}

/** Whether `e` says the row's credential belongs to another ISV app (any call). */
export function isForeignCredentialError(e: unknown): e is AlipayApiError {
  return e instanceof AlipayApiError && FOREIGN_CREDENTIAL_CODES.has(bareAlipayCode(e.code));
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
