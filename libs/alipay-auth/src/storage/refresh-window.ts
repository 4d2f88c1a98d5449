import type { AlipayAuthorization } from './alipay-token-store';

/** The refresh windows (the module's `refresh.refreshAheadMs`, `refreshTokenSafetyMs`, `maxTokenAgeMs`). */
export type AlipayRefreshWindow = { refreshAheadMs: number; refreshTokenSafetyMs: number; maxTokenAgeMs: number };

const DAY_MS = 24 * 3600_000;
/** The module's defaults (see `AlipayRefreshOptions`). */
export const DEFAULT_REFRESH_WINDOW: AlipayRefreshWindow = { refreshAheadMs: 30 * DAY_MS, refreshTokenSafetyMs: 30 * DAY_MS, maxTokenAgeMs: 0 };

/**
 * The instant a pair becomes due for refresh: the earliest of its refresh-ahead window, the safety margin
 * before the refresh token's own expiry, and the maximum token age; null when nothing makes it due.
 * `isDue(a, now)` is `refreshDueAt(a) <= now`; the store keeps it as `due_at`.
 */
export function refreshDueAt(a: Pick<AlipayAuthorization, 'expiresAt' | 'refreshExpiresAt' | 'tokenIssuedAt'>, window: AlipayRefreshWindow): number | null {
  const candidates = [
    a.expiresAt ? a.expiresAt.getTime() - window.refreshAheadMs : null,
    a.refreshExpiresAt ? a.refreshExpiresAt.getTime() - window.refreshTokenSafetyMs : null,
    window.maxTokenAgeMs > 0 && a.tokenIssuedAt ? a.tokenIssuedAt.getTime() + window.maxTokenAgeMs : null,
  ].filter((t): t is number => t !== null);
  return candidates.length ? Math.min(...candidates) : null;
}
