import {
  AlipayAuthorization,
  AlipayAuthorizationCounts,
  AlipayAuthorizationFilter,
  AlipayAuthorizationStatus,
  AlipayAuthorizationWrite,
  AlipayDueCriteria,
  AlipayIssuedTokens,
  AlipayLease,
  AlipayListedAuthorization,
  AlipayPage,
  AlipayPageResult,
  AlipayRefreshFailure,
  AlipayTokenStore,
} from '../storage/alipay-token-store';
import {
  atOrBefore,
  batch,
  byOldestCheck,
  bySoonestExpiry,
  checkLease,
  checkDueAt,
  checkStatus,
  countRows,
  expected,
  id,
  isDueRow,
  key,
  listRows,
  ms,
  msOrNull,
  Row,
  sealed,
  text,
  toDomain,
} from './in-memory-rows';

export interface InMemoryAlipayTokenStoreOptions {
  /** The app's clock (created/updated/refreshed instants), like the module's `clock` option. Default `Date.now`. */
  clock?: () => number;
  /**
   * The "database" clock leases run on. Default `Date.now`, independent of `clock`, as a real database's
   * clock is: moving the app's clock forward does not expire a live lease.
   */
  databaseClock?: () => number;
}

/** Store methods a fault can be injected into. */
export type AlipayTokenStoreMethod = keyof AlipayTokenStore;

/**
 * An `AlipayTokenStore` in memory for tests, with the TypeORM store's semantics (the same contract suite
 * runs against both): version bumps on token and status writes only, compare-and-set refreshes, leases on
 * a separate database clock, claims that never hand a row to two owners, back-off and verification.
 * Tokens are kept in clear: it is for tests, never for production.
 *
 * Every method works on its own snapshot of the rows and completes before it yields, so concurrent callers
 * in one process see the same atomicity a single SQL statement gives.
 */
export class InMemoryAlipayTokenStore implements AlipayTokenStore {
  private readonly rows = new Map<string, Row>();
  private nextId = 1;
  /** Handled notifications: key -> expiry (app clock, as the TypeORM store keeps them). */
  private readonly notifications = new Map<string, number>();
  private readonly faults = new Map<string, Error[]>();
  private readonly clock: () => number;
  private readonly databaseClock: () => number;

  constructor(options: InMemoryAlipayTokenStoreOptions = {}) {
    this.clock = options.clock ?? Date.now;
    this.databaseClock = options.databaseClock ?? Date.now;
  }

  // ---------------------------------------------------------------- test helpers

  /** Every stored authorization (all apps), as `find` returns them. */
  all(): AlipayAuthorization[] {
    return [...this.rows.values()].sort((a, b) => a.id - b.id).map(toDomain);
  }

  /** Forgets every row (and pending faults). */
  clear(): void {
    this.rows.clear();
    this.notifications.clear();
    this.faults.clear();
  }

  /**
   * The next `times` calls of `method` reject with `error` (default: a connection-lost error) instead of
   * running: a database outage, seen from the library.
   */
  failNext(method: AlipayTokenStoreMethod, error: Error = new Error('in-memory store: simulated database failure'), times = 1): void {
    const queue = this.faults.get(method) ?? [];
    for (let i = 0; i < times; i++) queue.push(error);
    this.faults.set(method, queue);
  }

  /**
   * Overwrites stored fields directly, bypassing the store's rules (no version bump): test set-up of states
   * the API reaches only through many steps. Returns the row after the change, or null if there is none.
   */
  patch(appId: string, authAppId: string, fields: Partial<Omit<AlipayAuthorization, 'appId' | 'authAppId' | 'unreadable'>>): AlipayAuthorization | null {
    const r = this.rows.get(key(appId, authAppId));
    if (!r) return null;
    for (const [name, value] of Object.entries(fields)) {
      (r as unknown as Record<string, unknown>)[name] = value instanceof Date ? value.getTime() : value;
    }
    return toDomain(r);
  }

  private async op<T>(method: AlipayTokenStoreMethod, body: () => T): Promise<T> {
    const fault = this.faults.get(method)?.shift();
    // Resolve on a later tick, as a driver would: callers must not rely on synchronous completion.
    await Promise.resolve();
    if (fault) throw fault;
    return body();
  }

  private now(): number {
    const t = this.clock();
    if (!Number.isFinite(t)) throw new TypeError('clock() must return epoch milliseconds');
    return Math.floor(t);
  }

  private dbNow(): number {
    return Math.floor(this.databaseClock());
  }

  private leaseFree(r: Row, dbNow: number): boolean {
    return r.leaseUntil === null || r.leaseUntil <= dbNow;
  }

  // ---------------------------------------------------------------- writes

  saveAuthorization(input: AlipayAuthorizationWrite): Promise<AlipayAuthorization | null> {
    return this.op('saveAuthorization', () => {
      const appId = id(input?.appId, 'appId');
      const authAppId = id(input.authAppId, 'authAppId');
      const userId = input.userId === null || input.userId === undefined ? null : id(input.userId, 'userId');
      const expectedVersion = expected(input.expectedVersion, true);
      const tokens = sealed(input.tokens);
      const authorizedAt = ms(input.authorizedAt, 'authorizedAt');
      const now = this.now();
      const existing = this.rows.get(key(appId, authAppId));
      if ((existing?.version ?? null) !== expectedVersion) return null;
      const row: Row = {
        id: existing?.id ?? this.nextId++,
        appId,
        authAppId,
        userId: userId ?? existing?.userId ?? null,
        ...tokens,
        status: 'active',
        statusReason: null,
        authorizedAt,
        lastRefreshedAt: null,
        // An exchange proves the authorization valid: it counts as a status check.
        lastCheckedAt: now,
        failureCount: 0,
        lastErrorCode: null,
        lastFailureAt: null,
        nextAttemptAt: null,
        verifyAt: null,
        version: (existing?.version ?? 0) + 1,
        leaseOwner: null,
        leaseUntil: null,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      };
      this.rows.set(key(appId, authAppId), row);
      return toDomain(row);
    });
  }

  saveRefreshed(appId: string, authAppId: string, expectedVersion: number, tokens: AlipayIssuedTokens): Promise<AlipayAuthorization | null> {
    return this.op('saveRefreshed', () => {
      if (!Number.isInteger(expectedVersion)) throw new TypeError('expectedVersion must be an integer');
      const next = sealed(tokens);
      const r = this.rows.get(key(appId, authAppId));
      if (!r || r.version !== expectedVersion || r.status !== 'active') return null;
      const now = this.now();
      Object.assign(r, next, {
        lastRefreshedAt: now,
        lastCheckedAt: now,
        failureCount: 0,
        lastErrorCode: null,
        nextAttemptAt: null,
        verifyAt: null,
        leaseOwner: null,
        leaseUntil: null,
        version: r.version + 1,
        updatedAt: now,
      });
      return toDomain(r);
    });
  }

  recordFailure(appId: string, authAppId: string, expectedVersion: number, failure: AlipayRefreshFailure): Promise<boolean> {
    return this.op('recordFailure', () => {
      const version = expected(expectedVersion);
      const errorCode = text(failure?.errorCode, 64) ?? 'unknown';
      const nextAttemptAt = msOrNull(failure.nextAttemptAt, 'nextAttemptAt');
      const now = this.now();
      const r = this.rows.get(key(appId, authAppId));
      if (!r || r.version !== version) return false;
      r.failureCount += 1;
      r.lastErrorCode = errorCode;
      r.lastFailureAt = now;
      r.nextAttemptAt = nextAttemptAt;
      // An ambiguous outcome keeps the row in doubt until verified; a definite failure keeps an earlier doubt.
      if (failure.verify) r.verifyAt = nextAttemptAt;
      r.updatedAt = now;
      if (failure.owner !== undefined && failure.owner !== null && r.leaseOwner === failure.owner) {
        r.leaseOwner = null;
        r.leaseUntil = null;
      }
      return true;
    });
  }

  setStatus(
    appId: string,
    authAppId: string,
    expectedVersion: number,
    status: AlipayAuthorizationStatus,
    reason: string | null,
  ): Promise<AlipayAuthorization | null> {
    return this.op('setStatus', () => {
      const version = expected(expectedVersion);
      const next = checkStatus(status);
      const r = this.rows.get(key(appId, authAppId));
      if (!r || r.version !== version) return null;
      Object.assign(r, { status: next, statusReason: text(reason, 255), leaseOwner: null, leaseUntil: null, version: r.version + 1, updatedAt: this.now() });
      return toDomain(r);
    });
  }

  markChecked(appId: string, authAppId: string, expectedVersion: number, at: Date): Promise<boolean> {
    return this.op('markChecked', () => {
      const version = expected(expectedVersion);
      const checked = ms(at, 'at');
      const r = this.rows.get(key(appId, authAppId));
      if (!r || r.version !== version) return false;
      r.lastCheckedAt = checked;
      r.updatedAt = this.now();
      return true;
    });
  }

  // ---------------------------------------------------------------- reads

  find(appId: string, authAppId: string): Promise<AlipayAuthorization | null> {
    return this.op('find', () => {
      const r = this.rows.get(key(appId, authAppId));
      return r ? toDomain(r) : null;
    });
  }

  list(appId: string, filter: AlipayAuthorizationFilter = {}, page: AlipayPage = {}): Promise<AlipayPageResult<AlipayListedAuthorization>> {
    return this.op('list', () => {
      return listRows(this.ofApp(appId), filter, page);
    });
  }

  countByStatus(appId: string): Promise<AlipayAuthorizationCounts> {
    return this.op('countByStatus', () => {
      return countRows(this.ofApp(appId));
    });
  }

  countDue(appId: string, criteria: AlipayDueCriteria): Promise<number> {
    return this.op('countDue', () => {
      ms(criteria?.now, 'criteria.now');
      return this.ofApp(appId).filter((r) => r.status === 'active' && isDueRow(r, criteria)).length;
    });
  }

  findByToken(appId: string, appAuthToken: string): Promise<AlipayAuthorization | null> {
    return this.op('findByToken', () => {
      if (typeof appAuthToken !== 'string' || !appAuthToken) return null;
      const r = this.ofApp(appId).find((x) => x.appAuthToken === appAuthToken);
      return r ? toDomain(r) : null;
    });
  }

  requestStatusCheck(appId: string, filter: { userId: string } | { authAppId: string }): Promise<number> {
    return this.op('requestStatusCheck', () => {
      const byApp = filter && 'authAppId' in filter;
      const value = byApp ? id(filter.authAppId, 'authAppId') : id((filter as { userId: string })?.userId, 'userId');
      const now = this.now();
      const rows = this.ofApp(appId).filter((r) => (byApp ? r.authAppId : r.userId) === value && r.status === 'active');
      for (const r of rows) Object.assign(r, { lastCheckedAt: null, updatedAt: now });
      return rows.length;
    });
  }

  isNotificationHandled(appId: string, notifyId: string): Promise<boolean> {
    return this.op('isNotificationHandled', () => {
      const expiresAt = this.notifications.get(key(appId, id(notifyId, 'notifyId', 64)));
      return expiresAt !== undefined && expiresAt > this.now();
    });
  }

  markNotificationHandled(appId: string, notifyId: string, expiresAt: Date): Promise<void> {
    return this.op('markNotificationHandled', () => {
      const k = key(appId, id(notifyId, 'notifyId', 64));
      const until = ms(expiresAt, 'expiresAt');
      const now = this.now();
      for (const [other, t] of this.notifications) if (t <= now) this.notifications.delete(other);
      this.notifications.set(k, until);
    });
  }

  databaseNow(): Promise<number> {
    return this.op('databaseNow', () => this.dbNow());
  }

  // ---------------------------------------------------------------- leases

  claimDue(appId: string, criteria: AlipayDueCriteria, lease: AlipayLease, limit: number): Promise<AlipayAuthorization[]> {
    return this.op('claimDue', () => {
      const now = ms(criteria?.now, 'criteria.now');
      // A failed refresh is retried when its back-off ends, inside the refresh window or not.
      const due = (r: Row) =>
        r.status === 'active' && (r.nextAttemptAt === null || r.nextAttemptAt <= now) && (isDueRow(r, criteria) || atOrBefore(r.nextAttemptAt, now));
      return this.claim(appId, due, bySoonestExpiry, lease, limit);
    });
  }

  claimStatusCheckDue(appId: string, checkedBefore: Date, lease: AlipayLease, limit: number): Promise<AlipayAuthorization[]> {
    return this.op('claimStatusCheckDue', () => {
      const bound = ms(checkedBefore, 'checkedBefore');
      const due = (r: Row) => r.status === 'active' && checkDueAt(r) < bound;
      return this.claim(appId, due, byOldestCheck, lease, limit);
    });
  }

  private claim(appId: string, due: (r: Row) => boolean, order: (a: Row, b: Row) => number, lease: AlipayLease, limit: number): AlipayAuthorization[] {
    const { owner, ms: leaseMs } = checkLease(lease);
    const n = batch(limit);
    if (n === 0) return [];
    const dbNow = this.dbNow();
    const picked = this.ofApp(appId)
      .filter((r) => due(r) && this.leaseFree(r, dbNow))
      .sort(order)
      .slice(0, n);
    for (const r of picked) Object.assign(r, { leaseOwner: owner, leaseUntil: dbNow + leaseMs });
    return picked.map(toDomain);
  }

  tryLease(appId: string, authAppId: string, lease: AlipayLease, opts: { takeOverAfterMs?: number } = {}): Promise<AlipayAuthorization | null> {
    return this.op('tryLease', () => {
      const { owner, ms: leaseMs } = checkLease(lease);
      const r = this.rows.get(key(appId, authAppId));
      if (!r) return null;
      const dbNow = this.dbNow();
      // Taken at leaseUntil - leaseMs; silent for longer than takeOverAfterMs means no call is in flight.
      const silent =
        opts.takeOverAfterMs !== undefined && r.leaseUntil !== null && r.leaseUntil <= dbNow + leaseMs - Math.max(0, Math.floor(opts.takeOverAfterMs));
      if (!(r.leaseOwner === null || this.leaseFree(r, dbNow) || r.leaseOwner === owner || silent)) return null;
      r.leaseOwner = owner;
      r.leaseUntil = dbNow + leaseMs;
      return toDomain(r);
    });
  }

  releaseLease(appId: string, authAppId: string, owner: string): Promise<void> {
    return this.op('releaseLease', () => {
      const r = this.rows.get(key(appId, authAppId));
      if (r && r.leaseOwner === owner) {
        r.leaseOwner = null;
        r.leaseUntil = null;
      }
    });
  }

  private ofApp(appId: string): Row[] {
    return [...this.rows.values()].filter((r) => r.appId === appId);
  }
}
