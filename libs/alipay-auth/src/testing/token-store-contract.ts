import type { AlipayAuthorization, AlipayAuthorizationStatus, AlipayIssuedTokens, AlipayRefreshFailure, AlipayTokenStore } from '../storage/alipay-token-store';

/** What the contract needs from a store under test. */
export interface AlipayTokenStoreContractHarness {
  /** The store under test, whose app clock is the `clock` the factory was given. */
  store: AlipayTokenStore;
  /** Empties the store (before every case). */
  reset(): Promise<void>;
  /**
   * Other instances over the same data (other connections, other processes' view), for the races. A store
   * that lives in one process may return itself.
   */
  peers(count: number): Promise<AlipayTokenStore[]>;
  /** Overwrites fields of a row directly (no version bump), for states the API reaches only in many steps. */
  patch(appId: string, authAppId: string, fields: { lastCheckedAt?: Date | null }): Promise<void>;
  /** Closes connections (after the suite). */
  close?(): Promise<void>;
}

/** The test functions of Jest or Vitest (globals by default). */
export interface AlipayContractTestApi {
  describe: (name: string, fn: () => void) => void;
  it: (name: string, fn: () => Promise<void>) => void;
  beforeAll: (fn: () => Promise<void>) => void;
  beforeEach: (fn: () => Promise<void>) => void;
  afterAll: (fn: () => Promise<void>) => void;
  expect: ContractExpect;
}

/** The matchers the contract uses, common to Jest and Vitest. */
interface Matchers {
  toBe(v: unknown): void;
  toEqual(v: unknown): void;
  toMatchObject(v: object): void;
  toBeNull(): void;
  toHaveLength(n: number): void;
  toContain(v: unknown): void;
  toBeGreaterThanOrEqual(n: number): void;
  toBeLessThanOrEqual(n: number): void;
  not: Pick<Matchers, 'toBe' | 'toBeNull'>;
}
type ContractExpect = (value: unknown) => Matchers & { rejects: { toThrow(e: unknown): Promise<void> } };

const APP = '2021004100000001';
const OTHER_APP = '2021004100000002';
const T0 = Date.UTC(2025, 0, 15, 8, 30, 0, 123);
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const at = (offset: number) => new Date(T0 + offset);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const merchant = (i: number) => `20880000${String(i).padStart(8, '0')}`;

/** `dueAt` is kept by the stores that index it (optional in the interface): compared where it matters only. */
function withoutDueAt(row: AlipayAuthorization | null): Omit<AlipayAuthorization, 'dueAt'> | null {
  if (!row) return row;
  const { dueAt: _dueAt, ...rest } = row;
  return rest;
}

let seq = 0;
function tokens(overrides: Partial<AlipayIssuedTokens> = {}): AlipayIssuedTokens {
  seq++;
  const salt = `${seq}x${Math.random().toString(36).slice(2, 10)}`;
  return {
    appAuthToken: `202501BBaccess${salt}`,
    appRefreshToken: `202501BBrefresh${salt}`,
    expiresAt: at(300 * DAY + 7),
    refreshExpiresAt: at(330 * DAY + 9),
    issuedAt: at(0),
    ...overrides,
  };
}

/**
 * The behaviour every `AlipayTokenStore` must have, as shared test cases: the TypeORM store passes them on
 * each engine and so does `InMemoryAlipayTokenStore`. Run it against your own store to check it:
 *
 *   alipayTokenStoreContract('MyStore', async (clock) => ({ store: new MyStore(clock), reset, peers, patch }));
 *
 * `create` gets the app clock the cases move (instants of writes come from it); leases must run on the
 * store's own (database) clock, which the cases wait on for real (a few hundred milliseconds in all).
 */
export function alipayTokenStoreContract(
  name: string,
  create: (clock: () => number) => Promise<AlipayTokenStoreContractHarness>,
  api: AlipayContractTestApi = globalThis as unknown as AlipayContractTestApi,
): void {
  const { describe, it, beforeAll, beforeEach, afterAll, expect } = api;

  describe(`${name} honours the AlipayTokenStore contract`, () => {
    let nowMs = T0;
    let h: AlipayTokenStoreContractHarness;
    let store: AlipayTokenStore;

    /** The version a write is decided on: the row as it is now (0 for a row that does not exist). */
    const version = async (authAppId: string, appId = APP) => (await store.find(appId, authAppId))?.version ?? 0;
    /** Saves over whatever is stored (the caller decided on the current row). */
    const save = async (authAppId: string, t: AlipayIssuedTokens = tokens(), extras: { userId?: string | null; authorizedAt?: Date; appId?: string } = {}) => {
      const appId = extras.appId ?? APP;
      const current = await store.find(appId, authAppId);
      const row = await store.saveAuthorization({
        appId,
        authAppId,
        userId: extras.userId === undefined ? '2088000000000001' : extras.userId,
        tokens: t,
        authorizedAt: extras.authorizedAt ?? at(0),
        expectedVersion: current?.version ?? null,
      });
      if (!row) throw new Error(`saveAuthorization of ${authAppId} lost a race no one ran`);
      return row;
    };
    const setStatus = async (authAppId: string, next: AlipayAuthorizationStatus, reason: string | null) => store.setStatus(APP, authAppId, await version(authAppId), next, reason);
    const recordFailure = async (authAppId: string, failure: AlipayRefreshFailure) => store.recordFailure(APP, authAppId, await version(authAppId), failure);
    const markChecked = async (authAppId: string, checkedAt: Date) => store.markChecked(APP, authAppId, await version(authAppId), checkedAt);

    beforeAll(async () => {
      h = await create(() => nowMs);
      store = h.store;
    });
    afterAll(async () => {
      await h?.close?.();
    });
    beforeEach(async () => {
      nowMs = T0;
      await h.reset();
    });

    it('saves and finds an authorization, instants exact to the millisecond', async () => {
      const t = tokens({ expiresAt: at(DAY + 1), refreshExpiresAt: at(30 * DAY + 999), issuedAt: at(-457) });
      nowMs = T0 + 5;
      const saved = await save(merchant(1), t, { authorizedAt: at(-451) });
      const expected: AlipayAuthorization = {
        appId: APP,
        authAppId: merchant(1),
        userId: '2088000000000001',
        appAuthToken: t.appAuthToken,
        appRefreshToken: t.appRefreshToken,
        expiresAt: at(DAY + 1),
        refreshExpiresAt: at(30 * DAY + 999),
        tokenIssuedAt: at(-457),
        status: 'active',
        statusReason: null,
        authorizedAt: at(-451),
        lastRefreshedAt: null,
        lastCheckedAt: at(5),
        failureCount: 0,
        lastErrorCode: null,
        nextAttemptAt: null,
        verifyAt: null,
        unreadable: null,
        version: 1,
        leaseOwner: null,
        leaseUntil: null,
        createdAt: at(5),
        updatedAt: at(5),
      };
      expect(withoutDueAt(saved)).toEqual(expected);
      expect(withoutDueAt(await store.find(APP, merchant(1)))).toEqual(expected);
      expect(await store.find(APP, merchant(2))).toBeNull();
      expect(await store.find(OTHER_APP, merchant(1))).toBeNull();
      // What a caller gets is its own copy.
      saved.expiresAt!.setTime(0);
      saved.status = 'revoked';
      expect(withoutDueAt(await store.find(APP, merchant(1)))).toEqual(expected);
      const open = await save(merchant(2), tokens({ expiresAt: null, refreshExpiresAt: null }), { userId: null });
      expect(open).toMatchObject({ expiresAt: null, refreshExpiresAt: null, userId: null });
    });

    it('upserts: a new authorization replaces the tokens and reactivates the row', async () => {
      const first = await save(merchant(1));
      await recordFailure(merchant(1), { errorCode: 'isp.unknow-error', nextAttemptAt: at(HOUR), verify: true });
      await store.tryLease(APP, merchant(1), { owner: 'node-a', ms: MIN });
      const cancelled = await setStatus(merchant(1), 'cancelled', 'merchant cancelled');
      expect(cancelled!.version).toBe(first.version + 1);
      nowMs = T0 + DAY;
      const t = tokens({ issuedAt: at(DAY) });
      expect(await save(merchant(1), t, { userId: null, authorizedAt: at(DAY) })).toMatchObject({
        appAuthToken: t.appAuthToken,
        status: 'active',
        statusReason: null,
        failureCount: 0,
        lastErrorCode: null,
        nextAttemptAt: null,
        verifyAt: null,
        leaseOwner: null,
        leaseUntil: null,
        lastCheckedAt: at(DAY),
        lastRefreshedAt: null,
        authorizedAt: at(DAY),
        userId: '2088000000000001', // kept when the new exchange carries none
        version: cancelled!.version + 1,
        createdAt: first.createdAt,
        updatedAt: at(DAY),
      });
      expect((await store.list(APP)).total).toBe(1);
    });

    it('two instances inserting the same merchant at once: one row, one winner, the loser told', async () => {
      const [a, b] = await h.peers(2);
      for (let i = 0; i < 3; i++) {
        const [ta, tb] = [tokens(), tokens()];
        const results = await Promise.all([
          a.saveAuthorization({ appId: APP, authAppId: merchant(i), userId: null, tokens: ta, authorizedAt: at(0), expectedVersion: null }),
          b.saveAuthorization({ appId: APP, authAppId: merchant(i), userId: null, tokens: tb, authorizedAt: at(0), expectedVersion: null }),
        ]);
        const winners = results.filter((r): r is AlipayAuthorization => r !== null);
        expect(winners).toHaveLength(1);
        expect(winners[0].version).toBe(1);
        expect((await store.find(APP, merchant(i)))!.appAuthToken).toBe(winners[0].appAuthToken);
      }
      expect((await store.list(APP)).total).toBe(3);
    });

    describe('compare-and-set: a write decided on an older row never lands on a newer one', () => {
      it('saveAuthorization replaces only the version it was decided on; of two writers at one version exactly one wins', async () => {
        const first = await save(merchant(1));
        const stale = tokens();
        expect(await store.saveAuthorization({ appId: APP, authAppId: merchant(1), userId: null, tokens: stale, authorizedAt: at(0), expectedVersion: null })).toBeNull();
        expect(await store.saveAuthorization({ appId: APP, authAppId: merchant(1), userId: null, tokens: stale, authorizedAt: at(0), expectedVersion: first.version + 1 })).toBeNull();
        expect(await store.saveAuthorization({ appId: APP, authAppId: merchant(9), userId: null, tokens: stale, authorizedAt: at(0), expectedVersion: 1 })).toBeNull();
        expect(await store.find(APP, merchant(9))).toBeNull();
        expect((await store.find(APP, merchant(1)))!.appAuthToken).toBe(first.appAuthToken);
        const [a, b] = await h.peers(2);
        const [ta, tb] = [tokens(), tokens()];
        const results = await Promise.all([
          a.saveAuthorization({ appId: APP, authAppId: merchant(1), userId: null, tokens: ta, authorizedAt: at(1), expectedVersion: first.version }),
          b.saveAuthorization({ appId: APP, authAppId: merchant(1), userId: null, tokens: tb, authorizedAt: at(1), expectedVersion: first.version }),
        ]);
        const winners = results.filter((r): r is AlipayAuthorization => r !== null);
        expect(winners).toHaveLength(1);
        expect(winners[0].version).toBe(first.version + 1);
        expect(await store.find(APP, merchant(1))).toEqual(winners[0]);
        await expect(store.saveAuthorization({ appId: APP, authAppId: merchant(1), userId: null, tokens: ta, authorizedAt: at(1), expectedVersion: 1.5 })).rejects.toThrow(TypeError);
      });

      it('a refusal decided on the previous pair does not overwrite a re-authorization (setStatus, recordFailure)', async () => {
        const old = await save(merchant(1));
        await store.tryLease(APP, merchant(1), { owner: 'refresher', ms: MIN });
        // The merchant authorizes again while the refresh of the old pair is in flight.
        const fresh = await save(merchant(1), tokens(), { authorizedAt: at(5) });
        expect(await store.recordFailure(APP, merchant(1), old.version, { errorCode: 'REFRESH_TOKEN_NOT_VALID', nextAttemptAt: null, owner: 'refresher' })).toBe(false);
        expect(await store.setStatus(APP, merchant(1), old.version, 'reauthorization_required', 'refused')).toBeNull();
        expect(await store.setStatus(APP, merchant(1), old.version, 'cancelled', 'refused')).toBeNull();
        expect(await store.markChecked(APP, merchant(1), old.version, at(9))).toBe(false);
        expect(await store.find(APP, merchant(1))).toEqual(fresh);
        // Decided on the current row, the same writes land.
        expect(await store.recordFailure(APP, merchant(1), fresh.version, { errorCode: 'REFRESH_TOKEN_NOT_VALID', nextAttemptAt: null })).toBe(true);
        expect(await store.markChecked(APP, merchant(1), fresh.version, at(9))).toBe(true);
        expect(await store.find(APP, merchant(1))).toMatchObject({ failureCount: 1, lastCheckedAt: at(9), version: fresh.version });
        expect(await store.setStatus(APP, merchant(1), fresh.version, 'reauthorization_required', 'refused')).toMatchObject({ status: 'reauthorization_required', version: fresh.version + 1 });
        // A missing row: nothing to compare with.
        expect(await store.recordFailure(APP, 'missing', 1, { errorCode: 'x', nextAttemptAt: null })).toBe(false);
        expect(await store.markChecked(APP, 'missing', 1, at(0))).toBe(false);
        await expect(store.setStatus(APP, merchant(1), Number.NaN, 'revoked', null)).rejects.toThrow(TypeError);
      });

      it('of a verdict and a new pair written at once from one version, exactly one lands', async () => {
        const [a, b] = await h.peers(2);
        for (let i = 0; i < 3; i++) {
          const row = await save(merchant(i));
          const [verdict, refreshed] = await Promise.all([
            a.setStatus(APP, merchant(i), row.version, 'reauthorization_required', 'refused'),
            b.saveRefreshed(APP, merchant(i), row.version, tokens()),
          ]);
          expect([verdict, refreshed].filter((r) => r !== null)).toHaveLength(1);
          const stored = (await store.find(APP, merchant(i)))!;
          expect(stored.version).toBe(row.version + 1);
          expect(stored.status).toBe(verdict ? 'reauthorization_required' : 'active');
        }
      });

      it('bookkeeping does not move the version: a refresh decided before it still lands', async () => {
        const row = await save(merchant(1));
        expect(await store.recordFailure(APP, merchant(1), row.version, { errorCode: 'network-timeout', nextAttemptAt: at(MIN), verify: true })).toBe(true);
        expect(await store.markChecked(APP, merchant(1), row.version, at(3))).toBe(true);
        await store.tryLease(APP, merchant(1), { owner: 'node-a', ms: MIN });
        expect((await store.find(APP, merchant(1)))!.version).toBe(row.version);
        expect(await store.saveRefreshed(APP, merchant(1), row.version, tokens())).toMatchObject({ version: row.version + 1, verifyAt: null, failureCount: 0 });
      });
    });

    it('saveRefreshed is a compare-and-set: of two writers at the same version exactly one wins', async () => {
      const row = await save(merchant(1));
      const [a, b] = await h.peers(2);
      const results = await Promise.all([a.saveRefreshed(APP, merchant(1), row.version, tokens()), b.saveRefreshed(APP, merchant(1), row.version, tokens())]);
      const winners = results.filter((r): r is AlipayAuthorization => r !== null);
      expect(winners).toHaveLength(1);
      expect(await store.find(APP, merchant(1))).toEqual(winners[0]);
      expect(winners[0].version).toBe(row.version + 1);
      expect(await store.saveRefreshed(APP, merchant(1), row.version, tokens())).toBeNull();
      expect(await store.saveRefreshed(APP, merchant(1), winners[0].version, tokens())).not.toBeNull();
    });

    it('saveRefreshed replaces the tokens, clears failure, doubt and lease, and needs an active row', async () => {
      const row = await save(merchant(1));
      await recordFailure(merchant(1), { errorCode: 'network-timeout', nextAttemptAt: at(HOUR), verify: true });
      await store.tryLease(APP, merchant(1), { owner: 'node-a', ms: MIN });
      nowMs = T0 + 42;
      const t = tokens({ expiresAt: at(365 * DAY), refreshExpiresAt: null, issuedAt: at(40) });
      expect(await store.saveRefreshed(APP, merchant(1), row.version, t)).toMatchObject({
        appAuthToken: t.appAuthToken,
        appRefreshToken: t.appRefreshToken,
        expiresAt: at(365 * DAY),
        refreshExpiresAt: null,
        tokenIssuedAt: at(40),
        lastRefreshedAt: at(42),
        lastCheckedAt: at(42),
        updatedAt: at(42),
        failureCount: 0,
        lastErrorCode: null,
        nextAttemptAt: null,
        verifyAt: null,
        leaseOwner: null,
        leaseUntil: null,
        version: row.version + 1,
        authorizedAt: row.authorizedAt,
      });
      const revoked = await setStatus(merchant(1), 'revoked', null);
      expect(await store.saveRefreshed(APP, merchant(1), revoked!.version, tokens())).toBeNull();
      expect(await store.saveRefreshed(APP, merchant(9), 1, tokens())).toBeNull();
    });

    describe('claimDue', () => {
      const criteria = (issuedBefore: Date | null = at(-30 * DAY)) => ({ now: at(0), expiresBefore: at(10 * DAY), refreshExpiresBefore: at(20 * DAY), issuedBefore });
      const far = at(100 * DAY);
      async function claimedIds(c: ReturnType<typeof criteria>, owner = 'node-a') {
        const rows = await store.claimDue(APP, c, { owner, ms: 2 * MIN }, 100);
        for (const r of rows) await store.releaseLease(APP, r.authAppId, owner);
        return rows.map((r) => r.authAppId).sort();
      }

      it('selects by each criterion alone, bounds included; countDue agrees', async () => {
        await save('expires', tokens({ expiresAt: at(5 * DAY), refreshExpiresAt: far }));
        await save('expires-edge', tokens({ expiresAt: at(10 * DAY), refreshExpiresAt: far }));
        await save('expires-later', tokens({ expiresAt: at(10 * DAY + 1), refreshExpiresAt: far }));
        await save('refresh-edge', tokens({ expiresAt: far, refreshExpiresAt: at(20 * DAY) }));
        await save('refresh-later', tokens({ expiresAt: null, refreshExpiresAt: at(20 * DAY + 1) }));
        await save('old-edge', tokens({ expiresAt: null, refreshExpiresAt: null, issuedAt: at(-30 * DAY) }));
        await save('young', tokens({ expiresAt: null, refreshExpiresAt: null, issuedAt: at(-30 * DAY + 1) }));
        await save('other-app', tokens({ expiresAt: at(DAY) }), { appId: OTHER_APP });
        await save('cancelled', tokens({ expiresAt: at(DAY) }));
        await setStatus('cancelled', 'cancelled', null);

        expect(await store.countDue(APP, criteria())).toBe(4);
        expect(await store.countDue(APP, criteria(null))).toBe(3);
        expect(await claimedIds(criteria())).toEqual(['expires', 'expires-edge', 'old-edge', 'refresh-edge']);
        expect(await claimedIds(criteria(null))).toEqual(['expires', 'expires-edge', 'refresh-edge']);
        expect(await claimedIds({ ...criteria(null), refreshExpiresBefore: at(-DAY) })).toEqual(['expires', 'expires-edge']);
        expect(await claimedIds({ ...criteria(), expiresBefore: at(-DAY), refreshExpiresBefore: at(-DAY) })).toEqual(['old-edge']);
      });

      it('leases most urgent first, up to the limit, on the database clock, without moving the version', async () => {
        for (let i = 0; i < 6; i++) await save(`m${i}`, tokens({ expiresAt: at((6 - i) * DAY), refreshExpiresAt: far }));
        await save('by-refresh', tokens({ expiresAt: null, refreshExpiresAt: at(DAY) }));
        const before = await store.databaseNow();
        const rows = await store.claimDue(APP, criteria(), { owner: 'node-a', ms: 2 * MIN + 7 }, 4);
        const after = await store.databaseNow();
        expect(rows.map((r) => r.authAppId)).toEqual(['m5', 'm4', 'm3', 'm2']);
        for (const r of rows) {
          expect(r).toMatchObject({ leaseOwner: 'node-a', version: 1 });
          expect(r.leaseUntil!.getTime()).toBeGreaterThanOrEqual(before + 2 * MIN + 7);
          expect(r.leaseUntil!.getTime()).toBeLessThanOrEqual(after + 2 * MIN + 7);
        }
        expect(await store.find(APP, 'm5')).toMatchObject({ leaseOwner: 'node-a', leaseUntil: rows[0].leaseUntil, version: 1 });
        expect((await store.claimDue(APP, criteria(), { owner: 'node-b', ms: 2 * MIN }, 10)).map((r) => r.authAppId)).toEqual(['m1', 'm0', 'by-refresh']);
        expect(await store.claimDue(APP, criteria(), { owner: 'node-c', ms: 2 * MIN }, 10)).toEqual([]);
        // Leases and back-off do not hide rows from countDue.
        expect(await store.countDue(APP, criteria())).toBe(7);
      });

      it('waits out back-off, retries failed rows outside the window, skips live leases', async () => {
        const due = { expiresAt: at(DAY), refreshExpiresAt: far };
        const notDue = { expiresAt: far, refreshExpiresAt: far };
        await save('backoff', tokens(due));
        await recordFailure('backoff', { errorCode: 'aop.SYSTEM_ERROR', nextAttemptAt: at(1) });
        await save('backoff-over', tokens(due));
        await recordFailure('backoff-over', { errorCode: 'aop.SYSTEM_ERROR', nextAttemptAt: at(0) });
        await save('leased', tokens(due));
        await store.tryLease(APP, 'leased', { owner: 'node-x', ms: MIN });
        await save('lease-expired', tokens(due));
        await store.tryLease(APP, 'lease-expired', { owner: 'node-x', ms: 0 });
        await save('retry-not-due', tokens(notDue));
        await recordFailure('retry-not-due', { errorCode: 'network-timeout', nextAttemptAt: at(0), verify: true });
        await save('retry-later', tokens(notDue));
        await recordFailure('retry-later', { errorCode: 'network-timeout', nextAttemptAt: at(1) });
        await save('not-due', tokens(notDue));
        await sleep(5);
        expect(await claimedIds(criteria())).toEqual(['backoff-over', 'lease-expired', 'retry-not-due']);
        // A live lease holds whatever the instance's clock says.
        expect(await claimedIds({ ...criteria(), now: at(HOUR) })).toEqual(['backoff', 'backoff-over', 'lease-expired', 'retry-later', 'retry-not-due']);
      });

      it('lets another owner take an expired lease; the late holder cannot free it', async () => {
        await save('m1', tokens({ expiresAt: at(DAY) }));
        expect(await store.claimDue(APP, criteria(), { owner: 'node-a', ms: 300 }, 10)).toHaveLength(1);
        expect(await store.claimDue(APP, { ...criteria(), now: at(10 * MIN) }, { owner: 'node-b', ms: 3 * MIN }, 10)).toEqual([]);
        await sleep(350);
        const b = await store.claimDue(APP, criteria(), { owner: 'node-b', ms: 3 * MIN }, 10);
        expect(b.map((r) => [r.authAppId, r.leaseOwner])).toEqual([['m1', 'node-b']]);
        await store.releaseLease(APP, 'm1', 'node-a');
        await recordFailure('m1', { errorCode: 'x', nextAttemptAt: null, owner: 'node-a' });
        expect(await store.find(APP, 'm1')).toMatchObject({ leaseOwner: 'node-b', leaseUntil: b[0].leaseUntil });
      });

      it("claims the same rows with the module's default windows (the scheduler's criteria), most urgent first", async () => {
        // refresh.refreshAheadMs and refreshTokenSafetyMs of 30 days, no maximum age: stores may answer these
        // criteria from a precomputed due instant; the rows must be the same as by the columns.
        const window = { now: at(0), expiresBefore: at(30 * DAY), refreshExpiresBefore: at(30 * DAY), issuedBefore: null };
        await save('due-1', tokens({ expiresAt: at(5 * DAY), refreshExpiresAt: far }));
        await save('due-2', tokens({ expiresAt: at(10 * DAY), refreshExpiresAt: far }));
        await save('refresh-due', tokens({ expiresAt: far, refreshExpiresAt: at(20 * DAY) }));
        await save('not-due', tokens({ expiresAt: at(40 * DAY), refreshExpiresAt: far }));
        await save('backoff', tokens({ expiresAt: at(DAY), refreshExpiresAt: far }));
        await recordFailure('backoff', { errorCode: 'aop.SYSTEM_ERROR', nextAttemptAt: at(1) });
        await save('retry-not-due', tokens({ expiresAt: far, refreshExpiresAt: far }));
        await recordFailure('retry-not-due', { errorCode: 'network-timeout', nextAttemptAt: at(0), verify: true });
        await save('cancelled', tokens({ expiresAt: at(DAY) }));
        await setStatus('cancelled', 'cancelled', null);

        expect((await store.claimDue(APP, window, { owner: 'node-a', ms: MIN }, 2)).map((r) => r.authAppId)).toEqual(['due-1', 'due-2']);
        const rest = await store.claimDue(APP, window, { owner: 'node-b', ms: MIN }, 10);
        expect(rest.map((r) => r.authAppId).sort()).toEqual(['refresh-due', 'retry-not-due']);
        expect(await claimedIds({ ...window, now: at(HOUR) }, 'node-c')).toEqual(['backoff']);
      });

      it('never hands a row to two of three concurrent claimers', async () => {
        const n = 60;
        for (let i = 0; i < n; i++) await save(merchant(i), tokens({ expiresAt: at(DAY + i) }));
        const claimers = await h.peers(3);
        const claimed = await Promise.all(
          claimers.map(async (s, c) => {
            const mine: string[] = [];
            // Bounded: a store that hands rows out twice must fail here, not spin forever.
            for (let round = 0; round < n; round++) {
              const got = await s.claimDue(APP, criteria(), { owner: `claimer-${c}`, ms: 10 * MIN }, 7);
              if (!got.length) return mine;
              expect(got.length).toBeLessThanOrEqual(7);
              mine.push(...got.map((r) => r.authAppId));
            }
            return mine;
          }),
        );
        const all = claimed.flat();
        expect(all).toHaveLength(n);
        expect(new Set(all).size).toBe(n);
        for (const [c, ids] of claimed.entries()) for (const i of ids) expect((await store.find(APP, i))!.leaseOwner).toBe(`claimer-${c}`);
      });
    });

    it('claimStatusCheckDue leases active rows not checked since the bound, never-checked first', async () => {
      for (const id of ['never', 'long-ago', 'edge', 'recent', 'inactive', 'leased']) await save(id);
      await markChecked('long-ago', at(-3 * DAY));
      await markChecked('edge', at(-DAY));
      await markChecked('recent', at(-HOUR));
      await h.patch(APP, 'never', { lastCheckedAt: null });
      await setStatus('inactive', 'cancelled', null);
      await store.tryLease(APP, 'leased', { owner: 'node-x', ms: MIN });
      const rows = await store.claimStatusCheckDue(APP, at(-DAY), { owner: 'checker', ms: 500 }, 10);
      expect(rows.map((r) => r.authAppId)).toEqual(['never', 'long-ago']);
      for (const r of rows) expect(r).toMatchObject({ leaseOwner: 'checker', version: 1 });
      expect(await store.claimStatusCheckDue(APP, at(-DAY), { owner: 'other', ms: MIN }, 10)).toEqual([]);
      await sleep(600);
      expect((await store.claimStatusCheckDue(APP, at(-DAY + 1), { owner: 'other', ms: 2 * MIN }, 1)).map((r) => r.authAppId)).toEqual(['never']);
    });

    it('tryLease and releaseLease follow the owner; a silent holder can be taken over', async () => {
      const row = await save('m1');
      const a = await store.tryLease(APP, 'm1', { owner: 'node-a', ms: MIN });
      expect(a).toMatchObject({ authAppId: 'm1', leaseOwner: 'node-a', version: row.version });
      expect(await store.tryLease(APP, 'm1', { owner: 'node-b', ms: MIN })).toBeNull();
      const extended = await store.tryLease(APP, 'm1', { owner: 'node-a', ms: 2 * MIN });
      expect(extended!.leaseUntil!.getTime()).toBeGreaterThanOrEqual(a!.leaseUntil!.getTime() + MIN);
      await store.releaseLease(APP, 'm1', 'node-b');
      expect(await store.find(APP, 'm1')).toMatchObject({ leaseOwner: 'node-a' });
      await store.releaseLease(APP, 'm1', 'node-a');
      expect(await store.find(APP, 'm1')).toMatchObject({ leaseOwner: null, leaseUntil: null });
      expect(await store.tryLease(APP, 'm1', { owner: 'node-b', ms: 200 })).toMatchObject({ leaseOwner: 'node-b' });
      expect(await store.tryLease(APP, 'm1', { owner: 'node-a', ms: MIN })).toBeNull();
      await sleep(250);
      expect(await store.tryLease(APP, 'm1', { owner: 'node-a', ms: MIN })).toMatchObject({ leaseOwner: 'node-a' });
      expect(await store.tryLease(APP, 'm1', { owner: 'node-b', ms: MIN }, { takeOverAfterMs: 10_000 })).toBeNull();
      await sleep(60);
      expect(await store.tryLease(APP, 'm1', { owner: 'node-b', ms: MIN }, { takeOverAfterMs: 50 })).toMatchObject({ leaseOwner: 'node-b' });
      expect(await store.tryLease(APP, 'missing', { owner: 'node-a', ms: MIN })).toBeNull();
      expect((await store.find(APP, 'm1'))!.version).toBe(row.version);
    });

    it("recordFailure counts, keeps code, back-off and doubt, and releases only the owner's lease", async () => {
      const row = await save('m1');
      await store.tryLease(APP, 'm1', { owner: 'node-a', ms: MIN });
      nowMs = T0 + 3;
      await recordFailure('m1', { errorCode: 'network-timeout', nextAttemptAt: at(HOUR), owner: 'node-b', verify: true });
      expect(await store.find(APP, 'm1')).toMatchObject({ failureCount: 1, lastErrorCode: 'network-timeout', nextAttemptAt: at(HOUR), verifyAt: at(HOUR), leaseOwner: 'node-a', updatedAt: at(3) });
      // A definite failure keeps the earlier doubt.
      await recordFailure('m1', { errorCode: 'x'.repeat(80), nextAttemptAt: null });
      expect(await store.find(APP, 'm1')).toMatchObject({ failureCount: 2, lastErrorCode: 'x'.repeat(64), nextAttemptAt: null, verifyAt: at(HOUR), leaseOwner: 'node-a' });
      await recordFailure('m1', { errorCode: 'isv.timeout', nextAttemptAt: at(2 * HOUR), owner: 'node-a' });
      const after = await store.find(APP, 'm1');
      expect(after).toMatchObject({ failureCount: 3, lastErrorCode: 'isv.timeout', nextAttemptAt: at(2 * HOUR), leaseOwner: null, leaseUntil: null });
      // Bookkeeping does not move the version: an in-flight refresh keeps its compare-and-set.
      expect(after!.version).toBe(row.version);
      await recordFailure('missing', { errorCode: 'x', nextAttemptAt: null });
    });

    it('setStatus keeps the row, sets the reason, releases the lease and bumps the version', async () => {
      const row = await save('m1');
      await store.tryLease(APP, 'm1', { owner: 'node-a', ms: MIN });
      nowMs = T0 + 9;
      const r = await setStatus('m1', 'reauthorization_required', 'refused');
      expect(r).toMatchObject({ status: 'reauthorization_required', statusReason: 'refused', leaseOwner: null, leaseUntil: null, version: row.version + 1, updatedAt: at(9) });
      expect(r!.appAuthToken).toBe(row.appAuthToken);
      expect((await setStatus('m1', 'revoked', 'é'.repeat(300)))!.statusReason).toBe('é'.repeat(255));
      expect(await setStatus('m1', 'active', null)).toMatchObject({ status: 'active', statusReason: null, version: row.version + 3 });
      expect(await setStatus('missing', 'revoked', null)).toBeNull();
      await expect(setStatus('m1', 'bogus' as AlipayAuthorizationStatus, null)).rejects.toThrow(TypeError);
    });

    it('markChecked records the check without moving the version', async () => {
      const row = await save('m1');
      await markChecked('m1', at(77));
      expect(await store.find(APP, 'm1')).toMatchObject({ lastCheckedAt: at(77), version: row.version });
    });

    it('rejects malformed input with a TypeError', async () => {
      await save('m1');
      await expect(store.tryLease(APP, 'm1', { owner: 'node-a', ms: -1 })).rejects.toThrow(TypeError);
      await expect(store.tryLease(APP, 'm1', { owner: '', ms: MIN })).rejects.toThrow(TypeError);
      await expect(save('m2', tokens({ appAuthToken: '' }))).rejects.toThrow(TypeError);
      await expect(store.saveRefreshed(APP, 'm1', 1.5, tokens())).rejects.toThrow(TypeError);
      await expect(save('m3', tokens({ issuedAt: new Date(NaN) }))).rejects.toThrow(TypeError);
    });

    it('lists with filters and pagination, newest authorization first, with the total', async () => {
      const statuses: AlipayAuthorizationStatus[] = ['active', 'active', 'cancelled', 'revoked', 'reauthorization_required'];
      for (let i = 0; i < 30; i++) {
        await save(merchant(i), tokens(), { authorizedAt: at(Math.floor(i / 2) * MIN), userId: `20880000000000${String(i % 3).padStart(2, '0')}` });
        if (statuses[i % 5] !== 'active') await setStatus(merchant(i), statuses[i % 5], null);
      }
      await save(merchant(5), tokens(), { appId: OTHER_APP });
      // Equal authorization instants: the later insert first.
      const first = await store.list(APP, {}, { limit: 12 });
      expect(first.total).toBe(30);
      expect(first.items.map((r) => r.authAppId)).toEqual(Array.from({ length: 12 }, (_, k) => merchant(29 - k)));
      expect((await store.list(APP, {}, { offset: 25, limit: 20 })).items.map((r) => r.authAppId)).toEqual([4, 3, 2, 1, 0].map(merchant));
      expect(await store.list(APP, {}, { offset: 500 })).toEqual({ items: [], total: 30 });
      expect((await store.list(APP, { status: 'cancelled' })).total).toBe(6);
      expect((await store.list(APP, { status: ['revoked', 'cancelled'] })).total).toBe(12);
      expect(await store.list(APP, { status: [] })).toEqual({ items: [], total: 0 });
      expect((await store.list(APP, { authAppIds: [merchant(1), merchant(3), 'nope'] })).items.map((r) => r.authAppId)).toEqual([merchant(3), merchant(1)]);
      expect(await store.list(APP, { authAppIds: [] })).toEqual({ items: [], total: 0 });
      const byUser = await store.list(APP, { userId: '2088000000000001', status: 'active' });
      expect(byUser.total).toBe(Array.from({ length: 30 }, (_, i) => i).filter((i) => i % 3 === 1 && i % 5 < 2).length);
      expect((await store.list(OTHER_APP)).total).toBe(1);
    });

    it('counts by status, with failing, verifying and unreadable rows', async () => {
      for (let i = 0; i < 7; i++) await save(merchant(i));
      await setStatus(merchant(0), 'cancelled', null);
      await setStatus(merchant(1), 'revoked', null);
      await setStatus(merchant(2), 'reauthorization_required', null);
      await recordFailure(merchant(2), { errorCode: 'x', nextAttemptAt: null });
      await recordFailure(merchant(3), { errorCode: 'x', nextAttemptAt: null });
      await recordFailure(merchant(3), { errorCode: 'x', nextAttemptAt: null });
      await recordFailure(merchant(4), { errorCode: 'x', nextAttemptAt: null });
      await recordFailure(merchant(5), { errorCode: 'network-timeout', nextAttemptAt: at(MIN), verify: true });
      await recordFailure(merchant(6), { errorCode: 'row-unreadable', nextAttemptAt: at(MIN) });
      await save(merchant(9), tokens(), { appId: OTHER_APP });
      expect(await store.countByStatus(APP)).toEqual({ active: 4, reauthorization_required: 1, revoked: 1, cancelled: 1, failing: 4, verifying: 1, unreadable: 1 });
      expect(await store.countByStatus('2021004100009999')).toEqual({ active: 0, reauthorization_required: 0, revoked: 0, cancelled: 0, failing: 0, verifying: 0, unreadable: 0 });
    });

    it('findByToken finds the row holding the current token of this app, and only that', async () => {
      const t = tokens();
      await save('m1', t);
      await save('m2');
      await save('m1', t, { appId: OTHER_APP });
      expect(await store.findByToken(APP, t.appAuthToken)).toMatchObject({ appId: APP, authAppId: 'm1' });
      expect(await store.findByToken(APP, t.appRefreshToken)).toBeNull();
      expect(await store.findByToken(APP, '')).toBeNull();
      expect(await store.findByToken('2021004100009999', t.appAuthToken)).toBeNull();
      // After a refresh the old token no longer finds the row; the new one does.
      const row = await store.find(APP, 'm1');
      const next = tokens();
      await store.saveRefreshed(APP, 'm1', row!.version, next);
      expect(await store.findByToken(APP, t.appAuthToken)).toBeNull();
      expect(await store.findByToken(APP, next.appAuthToken)).toMatchObject({ authAppId: 'm1', appAuthToken: next.appAuthToken });
    });

    it("requestStatusCheck makes the merchant user's (or one merchant app's) active rows due for a status check", async () => {
      await save('a', tokens(), { userId: '2088000000000007' });
      await save('b', tokens(), { userId: '2088000000000007' });
      await save('gone', tokens(), { userId: '2088000000000007' });
      await setStatus('gone', 'cancelled', null);
      await save('other-user', tokens(), { userId: '2088000000000008' });
      await save('other-app', tokens(), { userId: '2088000000000007', appId: OTHER_APP });
      const before = await store.find(APP, 'a');
      expect(await store.requestStatusCheck(APP, { userId: '2088000000000007' })).toBe(2);
      expect(await store.find(APP, 'a')).toMatchObject({ lastCheckedAt: null, version: before!.version });
      expect(await store.find(APP, 'other-user')).toMatchObject({ lastCheckedAt: at(0) });
      const due = await store.claimStatusCheckDue(APP, at(-DAY), { owner: 'checker', ms: MIN }, 10);
      expect(due.map((r) => r.authAppId).sort()).toEqual(['a', 'b']);
      expect(await store.requestStatusCheck(APP, { userId: '2088000000000999' })).toBe(0);
      // One merchant app: only that row.
      await markChecked('a', at(0));
      expect(await store.requestStatusCheck(APP, { authAppId: 'a' })).toBe(1);
      expect(await store.find(APP, 'a')).toMatchObject({ lastCheckedAt: null });
      expect(await store.find(APP, 'other-user')).toMatchObject({ lastCheckedAt: at(0) });
      expect(await store.requestStatusCheck(APP, { authAppId: 'gone' })).toBe(0);
    });

    it('remembers handled notifications per app until they expire (app clock)', async () => {
      expect(await store.isNotificationHandled(APP, 'n-1')).toBe(false);
      await store.markNotificationHandled(APP, 'n-1', at(HOUR));
      await store.markNotificationHandled(APP, 'n-1', at(HOUR)); // idempotent
      expect(await store.isNotificationHandled(APP, 'n-1')).toBe(true);
      expect(await store.isNotificationHandled(OTHER_APP, 'n-1')).toBe(false);
      expect(await store.isNotificationHandled(APP, 'n-2')).toBe(false);
      nowMs = T0 + HOUR;
      expect(await store.isNotificationHandled(APP, 'n-1')).toBe(false);
      // Marked again after expiry: remembered again.
      await store.markNotificationHandled(APP, 'n-1', at(2 * HOUR));
      expect(await store.isNotificationHandled(APP, 'n-1')).toBe(true);
      const [a, b] = await h.peers(2);
      await Promise.all([a.markNotificationHandled(APP, 'n-3', at(2 * HOUR)), b.markNotificationHandled(APP, 'n-3', at(2 * HOUR))]);
      expect(await store.isNotificationHandled(APP, 'n-3')).toBe(true);
    });

    it("databaseNow is the store's own clock, not the app's", async () => {
      nowMs = T0 - 10 * DAY;
      const before = Date.now();
      const db = await store.databaseNow();
      // Same machine: the database clock is real time, within a generous skew.
      expect(Math.abs(db - before)).toBeLessThanOrEqual(5 * SEC);
    });
  });
}
