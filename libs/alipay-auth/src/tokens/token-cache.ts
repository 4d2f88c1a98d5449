import { Inject, Injectable } from '@nestjs/common';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import type { AlipayAuthorization } from '../storage/alipay-token-store';
import { refreshDueAt } from './refresh-policy';

/**
 * What the hot path needs of a row, and no more (no refresh token in memory): the token, served from here
 * until `until`, the earliest of its refresh due time (or the end of a hold) and the cache TTL. `until` is
 * in whole milliseconds after the cache's base instant: a small integer is stored in the entry itself,
 * where an epoch instant would be a separate 16-byte heap number per entry.
 */
interface CacheEntry {
  token: string;
  until: number;
}

/** The largest offset V8 keeps as a small integer on every build (31-bit): 12.4 days of milliseconds. */
const CACHE_OFFSET_MAX = 2 ** 30 - 1;

/**
 * The in-memory token cache of one registration. The database row is the source of truth; this only
 * spares reads, so anything in it may be dropped at any time (no refresh token is ever kept here).
 */
@Injectable()
export class AlipayTokenCache {
  private static readonly CACHE_MAX = 50_000;
  private readonly cache = new Map<string, CacheEntry>();
  /** Instant (module clock) the entries' `until` offsets count from; moved, with the cache emptied, every 6 days or so. */
  private cacheBase = 0;

  constructor(@Inject(ALIPAY_AUTH_CONFIG) private readonly config: ResolvedAlipayAuthConfig) {}

  private now(): number {
    return this.config.clock();
  }

  /** The cached token of the merchant app, if it may still be served at `now` (module clock). */
  get(authAppId: string, now: number): string | undefined {
    const cached = this.cache.get(authAppId);
    return cached && cached.until > now - this.cacheBase ? cached.token : undefined;
  }

  /** Caches the token until it is due for refresh. */
  remember(row: AlipayAuthorization): void {
    this.cacheToken(row, refreshDueAt(row, this.config.refresh) ?? Infinity, this.now() + this.config.cacheTtlMs);
  }

  /** Serves the token although it is due (a refresh failed and backs off, or another instance refreshes it), never past expiry. */
  hold(row: AlipayAuthorization, until: number): void {
    this.cacheToken(row, row.expiresAt ? row.expiresAt.getTime() : Infinity, Math.min(until, this.now() + this.config.cacheTtlMs));
  }

  /** Forgets the cached token so the next call reads the database. */
  invalidate(authAppId: string): void {
    this.cache.delete(authAppId);
  }

  private cacheToken(row: AlipayAuthorization, serveUntil: number, until: number): void {
    if (this.config.cacheTtlMs <= 0 || row.status !== 'active' || row.unreadable) return;
    this.cache.delete(row.authAppId);
    if (this.cache.size >= AlipayTokenCache.CACHE_MAX) this.cache.delete(this.cache.keys().next().value as string);
    const since = this.now() - this.cacheBase;
    if (since > CACHE_OFFSET_MAX / 2 || since < -CACHE_OFFSET_MAX / 2) {
      // A new base; the entries present count from the old one (a cache is only a cache).
      this.cache.clear();
      this.cacheBase = this.now();
    }
    // Rounded down and capped: an entry ends early rather than late (a long cacheTtlMs re-reads after 12 days).
    const offset = Math.min(Math.floor(Math.min(serveUntil, until) - this.cacheBase), CACHE_OFFSET_MAX);
    this.cache.set(row.authAppId, { token: row.appAuthToken, until: offset });
  }
}
