import { Inject, Injectable, Logger } from '@nestjs/common';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayAuthError, AlipayAuthorizationRequiredError, AlipayTokenUnreadableError } from '../errors/alipay-auth.errors';
import type { AlipayCallGate } from '../client/call-gate';
import { ALIPAY_ROW_UNREADABLE, AlipayAuthorization, AlipayTokenStore } from '../storage/alipay-token-store';
import { AlipayAuthEvent, AlipayAuthEventPublisher } from './alipay-auth.events';
import { AlipayAuthorizationInfo, AlipayTokenQueryResponse, toAuthorizationInfo } from './alipay-token.types';
import { backoffDelay, failureCode, isDue, isExpired, maxCallMs } from './refresh-policy';
import { AlipayTokenCache } from './token-cache';
import { AlipayRecoveryResult, AlipayTokenRecovery, AlipayTokenStatus } from './token-recovery';
import { AlipayRefreshOutcome, AlipayRefreshResult, AlipayTokenRefresher } from './token-refresher';

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

interface RefreshMode {
  /** Refresh even if not due. */
  force: boolean;
  /** Wait for another instance's refresh (the stored token is known dead). */
  wait: boolean;
  /** A merchant call was refused with this token. */
  refusedToken?: string;
}

/**
 * Who refreshes a merchant's pair, and when: one refresh per merchant at a time in this process (single
 * flight) and across processes (the row's lease), the row re-checked after the lease before Alipay is
 * called, and the outcome settled into the cache or into the error a caller sees. Callers of the public
 * service and this instance's scheduler both come here, so neither refreshes a row the other is working on.
 * Refresh calls and their outcomes live in `AlipayTokenRefresher`, verification and repair in `AlipayTokenRecovery`.
 */
@Injectable()
export class AlipayRefreshCoordinator {
  private readonly logger = new Logger(AlipayRefreshCoordinator.name);
  private readonly inflight = new Map<string, Promise<AlipayAuthorization>>();
  /**
   * Rows this instance's scheduler is working on (until its write), settled when it is done. Its lease has
   * this instance's owner, which the database would grant a caller here as well: without this, a caller
   * and the scheduler could both refresh one merchant at once, and the later pair kills the stored one.
   */
  private readonly scheduled = new Map<string, Promise<void>>();

  constructor(
    @Inject(AlipayTokenStore) private readonly store: AlipayTokenStore,
    @Inject(ALIPAY_AUTH_CONFIG) private readonly config: ResolvedAlipayAuthConfig,
    private readonly cache: AlipayTokenCache,
    private readonly refresher: AlipayTokenRefresher,
    private readonly recovery: AlipayTokenRecovery,
    private readonly events: AlipayAuthEventPublisher,
  ) {}

  private get appId(): string {
    return this.config.appId;
  }

  private now(): number {
    return this.config.clock();
  }

  /**
   * A cache miss of `getAppAuthToken` (`now`: the instant the cache was asked at): the stored token, or a
   * refreshed one when it is due. Only an expired token waits for a refresh by another instance.
   */
  async appAuthToken(authAppId: string, now: number): Promise<string> {
    const row = this.usable(authAppId, await this.store.find(this.appId, authAppId));
    if (!isDue(row, now, this.config.refresh)) {
      this.cache.remember(row);
      return row.appAuthToken;
    }
    if (isExpired(row, now)) return (await this.refreshShared(authAppId, { force: false, wait: true })).appAuthToken;
    if (row.nextAttemptAt && row.nextAttemptAt.getTime() > now) {
      // Backing off after a failed refresh; the current token still works.
      this.cache.hold(row, row.nextAttemptAt.getTime());
      return row.appAuthToken;
    }
    try {
      const current = await this.refreshShared(authAppId, { force: false, wait: false });
      if (current.version === row.version) this.cache.hold(current, this.now() + this.config.cacheTtlMs);
      return current.appAuthToken;
    } catch (e) {
      if (e instanceof AlipayAuthorizationRequiredError || e instanceof AlipayTokenUnreadableError || isExpired(row, this.now())) throw e;
      this.logger.warn(`Refresh of ${authAppId} failed (${failureCode(e)}); serving the current token, which has not expired`);
      // Spare the database while Alipay is failing: callers get this token until the back-off ends.
      this.cache.hold(row, this.now() + this.config.refresh.backoffBaseMs);
      return row.appAuthToken;
    }
  }

  /** Alipay refused `refusedToken`: the stored token if the row has moved on, otherwise the repaired one. */
  async onTokenRefused(authAppId: string, refusedToken: string): Promise<string> {
    this.cache.invalidate(authAppId);
    const row = this.usable(authAppId, await this.store.find(this.appId, authAppId));
    if (row.appAuthToken !== refusedToken) {
      this.cache.remember(row);
      return row.appAuthToken;
    }
    return (await this.refreshShared(authAppId, { force: false, wait: true, refusedToken })).appAuthToken;
  }

  /** Refreshes now, due or not. */
  refreshNow(authAppId: string): Promise<AlipayAuthorization> {
    return this.refreshShared(authAppId, { force: true, wait: true });
  }

  /** A status check requested by the app: under the row's lease, or a query only while someone else holds it. */
  async checkStatus(authAppId: string): Promise<AlipayStatusCheck> {
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
  /** `claimedAt`: `performance.now()` when the claim returned the row (a claim just made needs no re-lease). */
  refreshLeased(claimed: AlipayAuthorization, owner: string, gate?: AlipayCallGate, claimedAt?: number): Promise<AlipayScheduledOutcome> {
    return this.asScheduled(claimed.authAppId, (waited) =>
      this.refreshClaimed(claimed, owner, gate, !waited && claimedAt !== undefined && performance.now() - claimedAt < this.claimFreshMs()),
    );
  }

  /**
   * How long a claimed row stands for a re-lease: it was read with its lease in one statement, writers without
   * a lease bump the version (the write's compare-and-set catches them), and its lease still outlasts a call.
   * A tenth of the longest call: a take-over waits for that much silence, and a refresh is one attempt.
   */
  private claimFreshMs(): number {
    const callMs = maxCallMs(this.config);
    return Math.max(0, Math.min(this.config.refresh.leaseMs - callMs, callMs / 10));
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
  private async asScheduled<T>(authAppId: string, work: (waited: boolean) => Promise<T>): Promise<T> {
    let waited = false;
    for (let running = this.inflight.get(authAppId); running; running = this.inflight.get(authAppId)) {
      waited = true;
      await running.catch(() => undefined);
    }
    const done = work(waited);
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

  private async refreshClaimed(claimed: AlipayAuthorization, owner: string, gate: AlipayCallGate | undefined, fresh: boolean): Promise<AlipayScheduledOutcome> {
    if (claimed.unreadable) return this.skipUnreadable(claimed, owner);
    // Re-leased (renewed and read again) unless just claimed and untouched by a caller of this instance.
    const row = fresh ? claimed : await this.store.tryLease(this.appId, claimed.authAppId, { owner, ms: this.config.refresh.leaseMs });
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
    this.cache.invalidate(row.authAppId);
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
        if (
          movedOn ||
          refusedElsewhere ||
          (mode.refusedToken === undefined && !mode.force && leased.verifyAt === null && !isDue(leased, this.now(), this.config.refresh))
        ) {
          await this.store.releaseLease(this.appId, authAppId, owner);
          this.cache.remember(leased);
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
        this.cache.remember(row);
        return row;
      }
      if (Date.now() > deadline)
        throw new AlipayAuthError(`Timed out after ${2 * callMs} ms waiting for another instance to refresh merchant app ${authAppId}`);
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
    if (row && row.status === 'active' && row.failureCount === 0) this.cache.remember(row);
    else this.cache.invalidate(authAppId);
  }
}
