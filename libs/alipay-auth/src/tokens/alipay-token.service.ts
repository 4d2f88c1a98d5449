import { Inject, Injectable, Logger, OnModuleInit, Optional } from '@nestjs/common';
import { AlipayAuthTelemetry } from '../telemetry/alipay-auth.telemetry';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayOpenApiClient } from '../client/alipay-openapi.client';
import {
  AlipayAuthError,
  AlipayAuthorizationRequiredError,
  AlipayTokenUnreadableError,
} from '../errors/alipay-auth.errors';
import type { AlipayCallGate } from '../refresh/rate-limiter';
import {
  ALIPAY_ROW_UNREADABLE,
  AlipayAuthorization,
  AlipayAuthorizationCounts,
  AlipayAuthorizationFilter,
  AlipayPage,
  AlipayPageResult,
  AlipayTokenStore,
} from '../storage/alipay-token-store';
import { AlipayAuthEvent, AlipayAuthEventPublisher } from './alipay-auth.events';
import { AlipayAuthorizationInfo, AlipayTokenAppResponse, AlipayTokenQueryResponse, toAuthorizationInfo } from './alipay-token.types';
import { backoffDelay, failureCode, isDue, isExpired, maxCallMs, refreshDueAt } from './refresh-policy';
import { AlipayNotificationHandler, AlipayNotificationResult } from './alipay-notification.handler';
import { AlipayRecoveryResult, AlipayTokenRecovery, AlipayTokenStatus } from './token-recovery';
import { rememberStoredPair, replaceAuthorization, WRITE_ATTEMPTS } from './authorization-writes';
import { AlipayRefreshOutcome, AlipayRefreshResult, AlipayTokenRefresher, AUTH_APP_ID_PATTERN, issuedTokens, TOKEN_APP_PATH, tokenElements } from './token-refresher';

export { TOKEN_APP_PATH } from './token-refresher';
export { TOKEN_QUERY_PATH } from './token-recovery';
export { CANCELLED_MSG_METHOD } from './alipay-notification.handler';

const CODE_PATTERN = /^[A-Za-z0-9_-]{8,128}$/;

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

export interface AlipayStatusCheck {
  authAppId: string;
  /** Alipay's answer: `valid`, `invalid`, or `missing` when Alipay no longer knows the token. */
  alipayStatus: AlipayTokenStatus;
  /** `verified`, or what the repair of a refused token did (`refreshed`: recovered with the refresh token). */
  outcome: AlipayRecoveryResult['outcome'] | 'busy';
  authorization: AlipayAuthorizationInfo | null;
  details?: AlipayTokenQueryResponse;
}

/** What the scheduled refresh did with one leased row. */
export type AlipayScheduledOutcome = Exclude<AlipayRefreshOutcome, 'moved-on' | 'not-sent'> | 'recovered' | 'skipped' | 'unreadable';

/**
 * The token lifecycle: code exchange, a valid token on demand, refresh, revocation, cancellation.
 * The database row is the source of truth; the in-memory cache only spares reads. Refresh calls and their
 * outcomes live in `AlipayTokenRefresher`, verification and repair in `AlipayTokenRecovery`.
 */
@Injectable()
export class AlipayTokenService implements OnModuleInit {
  private readonly logger = new Logger(AlipayTokenService.name);
  private readonly cache = new Map<string, CacheEntry>();
  /** Instant (module clock) the entries' `until` offsets count from; moved, with the cache emptied, every 6 days or so. */
  private cacheBase = 0;
  private readonly inflight = new Map<string, Promise<AlipayAuthorization>>();
  /**
   * Rows this instance's scheduler is working on (until its write), settled when it is done. Its lease has
   * this instance's owner, which the database would grant a caller here as well: without this, a caller
   * and the scheduler could both refresh one merchant at once, and the later pair kills the stored one.
   */
  private readonly scheduled = new Map<string, Promise<void>>();
  private static readonly CACHE_MAX = 50_000;

  constructor(
    private readonly client: AlipayOpenApiClient,
    @Inject(AlipayTokenStore) private readonly store: AlipayTokenStore,
    @Inject(ALIPAY_AUTH_CONFIG) private readonly config: ResolvedAlipayAuthConfig,
    private readonly events: AlipayAuthEventPublisher,
    private readonly refresher: AlipayTokenRefresher,
    private readonly recovery: AlipayTokenRecovery,
    private readonly notifications: AlipayNotificationHandler,
    @Optional() private readonly telemetry?: AlipayAuthTelemetry,
  ) {}

  onModuleInit(): void {
    this.client.useAppAuthTokenResolver((authAppId, refusedToken) =>
      refusedToken === undefined ? this.getAppAuthToken(authAppId) : this.onTokenRefused(authAppId, refusedToken),
    );
  }

  private get appId(): string {
    return this.config.appId;
  }

  private now(): number {
    return this.config.clock();
  }

  /**
   * Exchanges the callback's `app_auth_code` and stores every authorization it grants
   * (`tokens[]` holds one per merchant app in a batch authorization).
   */
  async exchangeCode(appAuthCode: string): Promise<AlipayAuthorizationInfo[]> {
    if (typeof appAuthCode !== 'string' || !CODE_PATTERN.test(appAuthCode)) {
      throw new AlipayAuthError('"appAuthCode" must be 8-128 characters of [A-Za-z0-9_-]');
    }
    // Never retried after sending: a code is single-use.
    const res = await this.client.request<AlipayTokenAppResponse>({
      method: 'POST',
      path: TOKEN_APP_PATH,
      body: { grant_type: 'authorization_code', code: appAuthCode },
      idempotent: false,
    });
    const issuedAt = this.now();
    const elements = tokenElements(res);
    const saved: AlipayAuthorizationInfo[] = [];
    for (const el of elements) {
      // The newest fact there is (Alipay issued this pair just now): it replaces whatever the row holds,
      // by a compare-and-set on the row as read, so a refresh in flight learns it lost.
      const row = await replaceAuthorization(this.store, this.appId, el.auth_app_id, () => ({
        userId: el.user_id ?? null,
        tokens: issuedTokens(el, issuedAt),
        authorizedAt: new Date(issuedAt),
      }));
      // A late or replayed notification of this same pair must not bring it back after a refresh.
      await rememberStoredPair(this.store, row, issuedAt);
      this.remember(row);
      const info = toAuthorizationInfo(row);
      this.logger.log(`Authorized merchant app ${row.authAppId} (user ${row.userId ?? 'unknown'})`);
      this.events.emit(AlipayAuthEvent.Authorized, { authorization: info });
      this.telemetry?.count('exchanges', { authAppId: row.authAppId });
      saved.push(info);
    }
    return saved;
  }

  /**
   * A valid `app_auth_token` for the merchant app, refreshed first when it is due. Never waits for another
   * instance while the stored token is within its validity: a due token is refreshed here only if this
   * instance gets the lease, otherwise the current one is served. Only an expired token makes the caller
   * wait for a refresh, at most twice the longest Alipay call (`timeoutMs × (retries + 1)` plus back-off).
   */
  async getAppAuthToken(authAppId: string): Promise<string> {
    this.checkAuthAppId(authAppId);
    const now = this.now();
    const cached = this.cache.get(authAppId);
    if (cached && cached.until > now - this.cacheBase) return cached.token;
    const row = this.usable(authAppId, await this.store.find(this.appId, authAppId));
    if (!isDue(row, now, this.config.refresh)) {
      this.remember(row);
      return row.appAuthToken;
    }
    if (isExpired(row, now)) return (await this.refreshShared(authAppId, { force: false, wait: true })).appAuthToken;
    if (row.nextAttemptAt && row.nextAttemptAt.getTime() > now) {
      // Backing off after a failed refresh; the current token still works.
      this.hold(row, row.nextAttemptAt.getTime());
      return row.appAuthToken;
    }
    try {
      const current = await this.refreshShared(authAppId, { force: false, wait: false });
      if (current.version === row.version) this.hold(current, this.now() + this.config.cacheTtlMs);
      return current.appAuthToken;
    } catch (e) {
      if (e instanceof AlipayAuthorizationRequiredError || e instanceof AlipayTokenUnreadableError || isExpired(row, this.now())) throw e;
      this.logger.warn(`Refresh of ${authAppId} failed (${failureCode(e)}); serving the current token, which has not expired`);
      // Spare the database while Alipay is failing: callers get this token until the back-off ends.
      this.hold(row, this.now() + this.config.refresh.backoffBaseMs);
      return row.appAuthToken;
    }
  }

  /**
   * Alipay refused `refusedToken` on a merchant call (`invalid-app-auth-token`, `app-auth-token-time-out`).
   * If the row has moved on, the stored token is returned; otherwise the query API confirms and the stored
   * refresh token repairs the pair. Installed as the OpenAPI client's reload hook.
   */
  async onTokenRefused(authAppId: string, refusedToken: string): Promise<string> {
    this.checkAuthAppId(authAppId);
    this.invalidate(authAppId);
    const row = this.usable(authAppId, await this.store.find(this.appId, authAppId));
    if (row.appAuthToken !== refusedToken) {
      this.remember(row);
      return row.appAuthToken;
    }
    return (await this.refreshShared(authAppId, { force: false, wait: true, refusedToken })).appAuthToken;
  }

  /** Refreshes now (operators' "refresh now", or a caller that knows the token is bad). */
  async refresh(authAppId: string): Promise<AlipayAuthorizationInfo> {
    this.checkAuthAppId(authAppId);
    return toAuthorizationInfo(await this.refreshShared(authAppId, { force: true, wait: true }));
  }

  /** Forgets the cached token so the next call reads the database. */
  invalidate(authAppId: string): void {
    this.cache.delete(authAppId);
  }

  async get(authAppId: string): Promise<AlipayAuthorizationInfo | null> {
    this.checkAuthAppId(authAppId);
    const row = await this.store.find(this.appId, authAppId);
    return row ? toAuthorizationInfo(row) : null;
  }

  /** Rows whose tokens cannot be decrypted are listed with `unreadable` set; they never fail the page. */
  async list(filter?: AlipayAuthorizationFilter, page?: AlipayPage): Promise<AlipayPageResult<AlipayAuthorizationInfo>> {
    const res = await this.store.list(this.appId, filter, page);
    return { total: res.total, items: res.items.map(toAuthorizationInfo) };
  }

  /** Authorizations by status, plus failing, verifying and unreadable rows: for health checks and dashboards. */
  stats(): Promise<AlipayAuthorizationCounts> {
    return this.store.countByStatus(this.appId);
  }

  /** Stops serving the merchant (kept, with status `revoked`). */
  async revoke(authAppId: string, reason = 'revoked by the ISV'): Promise<AlipayAuthorizationInfo | null> {
    this.checkAuthAppId(authAppId);
    let row: AlipayAuthorization | null = null;
    for (let attempt = 0; !row && attempt < WRITE_ATTEMPTS; attempt++) {
      const current = await this.store.find(this.appId, authAppId);
      if (!current) break;
      row = await this.store.setStatus(this.appId, authAppId, current.version, 'revoked', reason);
    }
    this.invalidate(authAppId);
    if (!row) {
      if (await this.store.find(this.appId, authAppId)) throw new AlipayAuthError(`Could not revoke merchant app ${authAppId}: concurrent writes kept changing its row`);
      return null;
    }
    const info = toAuthorizationInfo(row);
    this.logger.log(`Revoked merchant app ${authAppId}`);
    this.events.emit(AlipayAuthEvent.Revoked, { authorization: info });
    return info;
  }

  /**
   * Handles an Alipay notification (form parameters as received): verifies Alipay's signature, then records
   * a cancellation (`alipay.open.auth.appauth.cancelled`) or a new authorization (`open_app_auth_notify`),
   * idempotently. Answer Alipay with the text `success` when this resolves, so it stops re-sending.
   */
  handleNotification(params: Record<string, string | undefined>): Promise<AlipayNotificationResult> {
    return this.notifications.handle(params).then((r) => {
      if (r.authAppId) this.invalidate(r.authAppId);
      return r;
    });
  }

  /**
   * Asks Alipay (token query API) whether the stored token is still accepted. A refused token is repaired
   * with the stored refresh token; the merchant is marked `cancelled` only if that is refused as well.
   */
  async checkStatus(authAppId: string): Promise<AlipayStatusCheck> {
    this.checkAuthAppId(authAppId);
    const owner = this.config.instanceId;
    const row = this.scheduled.has(authAppId) ? null : await this.store.tryLease(this.appId, authAppId, { owner, ms: this.config.refresh.leaseMs });
    if (!row) {
      const current = this.usable(authAppId, await this.store.find(this.appId, authAppId), true);
      const { status, details } = await this.recovery.query(current);
      return { authAppId, alipayStatus: status, outcome: 'busy', authorization: toAuthorizationInfo(current), details };
    }
    if (row.status !== 'active' || row.unreadable) {
      await this.store.releaseLease(this.appId, authAppId, owner);
      this.usable(authAppId, row);
    }
    try {
      const r = await this.recovery.checkStatus(row, owner);
      this.afterWrite(authAppId, r.row);
      return { authAppId, alipayStatus: r.alipayStatus, outcome: r.outcome, authorization: r.row ? toAuthorizationInfo(r.row) : null, details: r.details };
    } catch (e) {
      await this.store.releaseLease(this.appId, authAppId, owner).catch(() => undefined);
      throw e;
    }
  }

  /**
   * The scheduler's entry: a row it has claimed. Re-leases it (so a row that waited in the batch is
   * checked again and its lease runs from now), then refreshes it when it is due, retries a failed
   * refresh, or verifies a pair in doubt.
   */
  refreshLeased(claimed: AlipayAuthorization, owner: string, gate?: AlipayCallGate): Promise<AlipayScheduledOutcome> {
    return this.asScheduled(claimed.authAppId, () => this.refreshClaimed(claimed, owner, gate));
  }

  /** The scheduler's status check of a claimed row. */
  checkLeased(claimed: AlipayAuthorization, owner: string, gate?: AlipayCallGate): Promise<AlipayStatusCheck['outcome'] | 'unreadable'> {
    return this.asScheduled(claimed.authAppId, async () => {
      if (claimed.unreadable) return this.skipUnreadable(claimed, owner);
      const r = await this.recovery.checkStatus(claimed, owner, gate);
      this.afterWrite(claimed.authAppId, r.row);
      return r.outcome;
    });
  }

  // --- internals -------------------------------------------------------------------------

  /**
   * Runs the scheduler's work on one row once no caller of this instance is refreshing it (then the
   * re-lease finds what that caller wrote), and keeps callers here from refreshing it meanwhile.
   */
  private async asScheduled<T>(authAppId: string, work: () => Promise<T>): Promise<T> {
    for (let running = this.inflight.get(authAppId); running; running = this.inflight.get(authAppId)) await running.catch(() => undefined);
    const done = work();
    this.scheduled.set(
      authAppId,
      done.then(
        () => undefined,
        () => undefined,
      ),
    );
    try {
      return await done;
    } finally {
      this.scheduled.delete(authAppId);
    }
  }

  private async refreshClaimed(claimed: AlipayAuthorization, owner: string, gate?: AlipayCallGate): Promise<AlipayScheduledOutcome> {
    if (claimed.unreadable) return this.skipUnreadable(claimed, owner);
    const row = await this.store.tryLease(this.appId, claimed.authAppId, { owner, ms: this.config.refresh.leaseMs });
    if (!row) return 'skipped';
    if (row.unreadable) return this.skipUnreadable(row, owner);
    const now = this.now();
    const retry = row.nextAttemptAt !== null && row.nextAttemptAt.getTime() <= now;
    if (row.status !== 'active' || (!retry && row.verifyAt === null && !isDue(row, now, this.config.refresh))) {
      await this.store.releaseLease(this.appId, row.authAppId, owner);
      return 'skipped';
    }
    const r = row.verifyAt !== null ? await this.recovery.verifyAmbiguous(row, owner, gate) : await this.refresher.refresh(row, owner, { gate });
    this.afterWrite(row.authAppId, r.row);
    if (r.outcome === 'moved-on' || r.outcome === 'not-sent') return 'skipped';
    if (r.outcome === 'refreshed') return row.verifyAt !== null ? 'recovered' : 'refreshed';
    return r.outcome === 'verified' ? 'skipped' : r.outcome;
  }

  /** The row, if it can serve a token; otherwise the typed error saying why not. */
  private usable(authAppId: string, row: AlipayAuthorization | null, anyStatus = false): AlipayAuthorization {
    if (!row) throw new AlipayAuthorizationRequiredError(authAppId, 'no authorization is stored');
    if (row.unreadable) throw new AlipayTokenUnreadableError(authAppId, row.unreadable);
    if (!anyStatus && row.status !== 'active') {
      throw new AlipayAuthorizationRequiredError(authAppId, `authorization is ${row.status}${row.statusReason ? ` (${row.statusReason})` : ''}`);
    }
    return row;
  }

  private async skipUnreadable(row: AlipayAuthorization, owner: string): Promise<'unreadable'> {
    const nextAttemptAt = new Date(this.now() + backoffDelay(row.failureCount + 1, this.config.refresh));
    if (!(await this.store.recordFailure(this.appId, row.authAppId, row.version, { errorCode: ALIPAY_ROW_UNREADABLE, nextAttemptAt, owner }))) {
      // Rewritten meanwhile (a new authorization): nothing to report about the row read.
      await this.store.releaseLease(this.appId, row.authAppId, owner);
      return 'unreadable';
    }
    this.invalidate(row.authAppId);
    if (row.lastErrorCode !== ALIPAY_ROW_UNREADABLE) {
      this.logger.error(`Stored tokens of merchant app ${row.authAppId} cannot be decrypted (${row.unreadable}); skipped until the key is restored`);
      this.events.emit(AlipayAuthEvent.RowUnreadable, { authorization: toAuthorizationInfo(row), errorCode: ALIPAY_ROW_UNREADABLE });
    }
    return 'unreadable';
  }

  private refreshShared(authAppId: string, mode: RefreshMode): Promise<AlipayAuthorization> {
    const running = this.inflight.get(authAppId);
    if (running) return running;
    const p = this.refreshUnderLease(authAppId, mode).finally(() => this.inflight.delete(authAppId));
    this.inflight.set(authAppId, p);
    return p;
  }

  /**
   * One refresh (or repair) across processes: whoever gets the row's lease calls Alipay. Without the lease,
   * `wait: false` returns the row as stored; `wait: true` (the stored token is known dead) polls until the
   * holder has written, and takes over a lease whose holder has been silent longer than one call.
   */
  private async refreshUnderLease(authAppId: string, mode: RefreshMode): Promise<AlipayAuthorization> {
    const owner = this.config.instanceId;
    const callMs = maxCallMs(this.config);
    const deadline = Date.now() + 2 * callMs;
    let seenVersion: number | undefined;
    for (;;) {
      // This instance's scheduler holds the row (its lease is ours too): wait for it like for another instance.
      const scheduled = this.scheduled.get(authAppId);
      const leased = scheduled
        ? null
        : await this.store.tryLease(this.appId, authAppId, { owner, ms: this.config.refresh.leaseMs }, { takeOverAfterMs: mode.wait ? callMs : undefined });
      if (leased) {
        if (leased.status !== 'active' || leased.unreadable) {
          await this.store.releaseLease(this.appId, authAppId, owner);
          this.usable(authAppId, leased);
        }
        const movedOn = seenVersion !== undefined && leased.version !== seenVersion;
        const refusedElsewhere = mode.refusedToken !== undefined && leased.appAuthToken !== mode.refusedToken;
        if (movedOn || refusedElsewhere || (mode.refusedToken === undefined && !mode.force && leased.verifyAt === null && !isDue(leased, this.now(), this.config.refresh))) {
          await this.store.releaseLease(this.appId, authAppId, owner);
          this.remember(leased);
          return leased;
        }
        if (mode.refusedToken === undefined && !mode.force && leased.verifyAt !== null && leased.verifyAt.getTime() > this.now()) {
          // A pair in doubt is verified by the scheduler after its back-off; a caller is served meanwhile.
          await this.store.releaseLease(this.appId, authAppId, owner);
          return leased;
        }
        let r: AlipayRefreshResult | AlipayRecoveryResult;
        if (mode.refusedToken !== undefined) r = await this.recovery.onTokenRefused(leased, owner);
        else if (leased.verifyAt !== null) r = await this.recovery.verifyAmbiguous(leased, owner);
        else r = await this.refresher.refresh(leased, owner);
        return this.settle(authAppId, r);
      }
      const row = this.usable(authAppId, await this.store.find(this.appId, authAppId));
      if (!mode.wait) return row;
      seenVersion ??= row.version;
      if (row.version !== seenVersion || (mode.refusedToken !== undefined && row.appAuthToken !== mode.refusedToken)) {
        this.remember(row);
        return row;
      }
      if (Date.now() > deadline) throw new AlipayAuthError(`Timed out after ${2 * callMs} ms waiting for another instance to refresh merchant app ${authAppId}`);
      // This instance's scheduler says when it is done; another instance is polled.
      let timer: NodeJS.Timeout | undefined;
      const pause = new Promise((r) => (timer = setTimeout(r, scheduled ? Math.max(0, deadline - Date.now()) + 1 : 50)));
      await (scheduled ? Promise.race([scheduled, pause]) : pause);
      clearTimeout(timer);
    }
  }

  /** The row a refresh or repair left, or the error a caller should see. */
  private settle(authAppId: string, r: AlipayRefreshResult | AlipayRecoveryResult): AlipayAuthorization {
    this.afterWrite(authAppId, r.row);
    if ((r.outcome === 'refreshed' || r.outcome === 'verified' || r.outcome === 'moved-on') && r.row) return this.usable(authAppId, r.row);
    if (r.outcome === 'cancelled' || r.outcome === 'reauthorization_required' || r.outcome === 'moved-on') {
      throw new AlipayAuthorizationRequiredError(authAppId, r.row?.statusReason ?? `authorization is ${r.row?.status ?? 'gone'}`);
    }
    throw r.error !== undefined ? r.error : new AlipayAuthError(`Refresh of merchant app ${authAppId} failed (${r.outcome})`);
  }

  private afterWrite(authAppId: string, row: AlipayAuthorization | null): void {
    if (row && row.status === 'active' && row.failureCount === 0) this.remember(row);
    else this.invalidate(authAppId);
  }

  /** Caches the token until it is due for refresh. */
  private remember(row: AlipayAuthorization): void {
    this.cacheToken(row, refreshDueAt(row, this.config.refresh) ?? Infinity, this.now() + this.config.cacheTtlMs);
  }

  /** Serves the token although it is due (a refresh failed and backs off, or another instance refreshes it), never past expiry. */
  private hold(row: AlipayAuthorization, until: number): void {
    this.cacheToken(row, row.expiresAt ? row.expiresAt.getTime() : Infinity, Math.min(until, this.now() + this.config.cacheTtlMs));
  }

  private cacheToken(row: AlipayAuthorization, serveUntil: number, until: number): void {
    if (this.config.cacheTtlMs <= 0 || row.status !== 'active' || row.unreadable) return;
    this.cache.delete(row.authAppId);
    if (this.cache.size >= AlipayTokenService.CACHE_MAX) this.cache.delete(this.cache.keys().next().value as string);
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

  private checkAuthAppId(authAppId: string): void {
    if (typeof authAppId !== 'string' || !AUTH_APP_ID_PATTERN.test(authAppId)) {
      throw new AlipayAuthError('"authAppId" must be 1-32 letters or digits');
    }
  }
}

interface RefreshMode {
  /** Refresh even if not due. */
  force: boolean;
  /** Wait for another instance's refresh (the stored token is known dead). */
  wait: boolean;
  /** A merchant call was refused with this token. */
  refusedToken?: string;
}
