import type { AlipayAuthorizationFilter, AlipayAuthorizationStatus, AlipayPage } from '../../storage/alipay-token-store';
import { APP, OTHER_APP, MIN, DAY, at, merchant, tokens, type ContractContext } from './fixtures';

/**
 * Reads and counts: list with filters and pages, countByStatus, findByToken, and requestStatusCheck, which
 * makes rows due for the status check.
 */
export function readCases(ctx: ContractContext): void {
  const { it, expect } = ctx.api;
  const { save, setStatus, recordFailure, markChecked } = ctx;

  it('lists with filters and pagination, newest authorization first, with the total', async () => {
    const statuses: AlipayAuthorizationStatus[] = ['active', 'active', 'cancelled', 'revoked', 'reauthorization_required'];
    for (let i = 0; i < 30; i++) {
      await save(merchant(i), tokens(), { authorizedAt: at(Math.floor(i / 2) * MIN), userId: `20880000000000${String(i % 3).padStart(2, '0')}` });
      if (statuses[i % 5] !== 'active') await setStatus(merchant(i), statuses[i % 5], null);
    }
    await save(merchant(5), tokens(), { appId: OTHER_APP });
    // Equal authorization instants: the later insert first.
    const first = await ctx.store.list(APP, {}, { limit: 12 });
    expect(first.total).toBe(30);
    expect(first.items.map((r) => r.authAppId)).toEqual(Array.from({ length: 12 }, (_, k) => merchant(29 - k)));
    // A listing carries no token: it has nothing to decrypt.
    expect(first.items.filter((r) => 'appAuthToken' in r || 'appRefreshToken' in r)).toEqual([]);
    expect(first.items[0]).toMatchObject({ appId: APP, authAppId: merchant(29), status: 'reauthorization_required', unreadable: null, version: 2 });
    expect((await ctx.store.list(APP, {}, { offset: 25, limit: 20 })).items.map((r) => r.authAppId)).toEqual([4, 3, 2, 1, 0].map(merchant));
    expect(await ctx.store.list(APP, {}, { offset: 500 })).toEqual({ items: [], total: 30 });
    expect((await ctx.store.list(APP, { status: 'cancelled' })).total).toBe(6);
    expect((await ctx.store.list(APP, { status: ['revoked', 'cancelled'] })).total).toBe(12);
    expect(await ctx.store.list(APP, { status: [] })).toEqual({ items: [], total: 0 });
    expect((await ctx.store.list(APP, { authAppIds: [merchant(1), merchant(3), 'nope'] })).items.map((r) => r.authAppId)).toEqual([merchant(3), merchant(1)]);
    expect(await ctx.store.list(APP, { authAppIds: [] })).toEqual({ items: [], total: 0 });
    const byUser = await ctx.store.list(APP, { userId: '2088000000000001', status: 'active' });
    expect(byUser.total).toBe(Array.from({ length: 30 }, (_, i) => i).filter((i) => i % 3 === 1 && i % 5 < 2).length);
    expect((await ctx.store.list(OTHER_APP)).total).toBe(1);
  });

  it('lists by derived state (cancelled ones since an instant), by exact id search, in each order', async () => {
    // Expiries 330 to 400 days out: the refresh windows open in that order, after every retry, whatever their length.
    for (let i = 0; i < 8; i++) {
      await save(merchant(i), tokens({ expiresAt: at((400 - 10 * i) * DAY), refreshExpiresAt: at((500 - 10 * i) * DAY) }), {
        authorizedAt: at(i * MIN),
        userId: `20889000000000${String(i).padStart(2, '0')}`,
      });
    }
    await recordFailure(merchant(0), { errorCode: 'isp.unknow-error', nextAttemptAt: at(3 * MIN) });
    await recordFailure(merchant(0), { errorCode: 'isp.unknow-error', nextAttemptAt: at(9 * MIN) });
    await recordFailure(merchant(1), { errorCode: 'network-timeout', nextAttemptAt: at(2 * MIN), verify: true });
    await recordFailure(merchant(2), { errorCode: 'row-unreadable', nextAttemptAt: at(5 * MIN) });
    await setStatus(merchant(3), 'reauthorization_required', 'invalid refresh token');
    await setStatus(merchant(4), 'revoked', null);
    await setStatus(merchant(5), 'cancelled', null);
    ctx.nowMs += DAY;
    await setStatus(merchant(6), 'cancelled', null);
    const ids = async (filter: AlipayAuthorizationFilter, page?: AlipayPage) => (await ctx.store.list(APP, filter, page)).items.map((r) => r.authAppId);
    expect(await ids({ state: 'healthy' })).toEqual([merchant(7)]);
    expect(await ids({ state: 'failing' })).toEqual([merchant(0)]);
    expect(await ids({ state: 'verifying' })).toEqual([merchant(1)]);
    expect(await ids({ state: 'unreadable' })).toEqual([merchant(2)]);
    expect(await ids({ state: ['reauthorization_required', 'revoked'] })).toEqual([merchant(4), merchant(3)]);
    expect(await ids({ state: 'cancelled' })).toEqual([merchant(6), merchant(5)]);
    // The attention queue: every problem, and only the cancellations of the last hour.
    const attention: AlipayAuthorizationFilter = {
      state: ['failing', 'verifying', 'unreadable', 'reauthorization_required', 'cancelled'],
      cancelledSince: at(DAY - 1),
    };
    expect(await ids(attention)).toEqual([6, 3, 2, 1, 0].map(merchant));
    expect((await ctx.store.list(APP, attention, { limit: 2 })).total).toBe(5);
    expect(await ids({ state: [] })).toEqual([]);
    // Search: the merchant app id or the Alipay user id, exactly.
    expect(await ids({ search: merchant(4) })).toEqual([merchant(4)]);
    expect(await ids({ search: '2088900000000007' })).toEqual([merchant(7)]);
    expect(await ids({ search: '20889' })).toEqual([]);
    expect(await ids({ search: merchant(4), state: 'healthy' })).toEqual([]);
    // Orders: next work (retries and verification, then refresh windows), expiry, failures.
    expect(await ids({ state: ['healthy', 'failing', 'verifying', 'unreadable'] }, { order: 'due' })).toEqual([1, 2, 0, 7].map(merchant));
    expect(await ids({ state: ['healthy', 'failing', 'verifying', 'unreadable'] }, { order: 'expires' })).toEqual([7, 2, 1, 0].map(merchant));
    expect(await ids({ state: ['failing', 'verifying', 'unreadable'] }, { order: 'failures' })).toEqual([0, 1, 2].map(merchant));
    await expect(ctx.store.list(APP, { state: 'nope' as never })).rejects.toThrow(TypeError);
    await expect(ctx.store.list(APP, {}, { order: 'nope' as never })).rejects.toThrow(TypeError);
  });

  it('lists by last failure: most recent first, never-failed rows last; kept after a success, cleared by a new authorization', async () => {
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    for (const n of names) await save(n);
    const failAt = async (n: string, offset: number) => {
      ctx.nowMs = at(offset).getTime();
      await recordFailure(n, { errorCode: 'isp.unknow-error', nextAttemptAt: at(offset + MIN) });
    };
    await failAt('b', MIN);
    await failAt('d', 2 * MIN);
    await failAt('e', 2 * MIN);
    await failAt('a', 3 * MIN);
    ctx.nowMs = at(4 * MIN).getTime();
    await ctx.store.saveRefreshed(APP, 'a', await ctx.version('a'), tokens());
    expect(await ctx.store.find(APP, 'a')).toMatchObject({ failureCount: 0, lastErrorCode: null, lastFailureAt: at(3 * MIN) });
    const ids = async (filter: AlipayAuthorizationFilter = {}) => (await ctx.store.list(APP, filter, { order: 'lastFailure' })).items.map((r) => r.authAppId);
    // Equal instants: the later insert first.
    expect(await ids()).toEqual(['a', 'e', 'd', 'b', 'f', 'c']);
    await save('b');
    expect(await ctx.store.find(APP, 'b')).toMatchObject({ lastFailureAt: null });
    expect(await ids()).toEqual(['a', 'e', 'd', 'f', 'c', 'b']);
    expect(await ids({ state: 'failing' })).toEqual(['e', 'd']);
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
    expect(await ctx.store.countByStatus(APP)).toEqual({
      active: 4,
      reauthorization_required: 1,
      revoked: 1,
      cancelled: 1,
      failing: 4,
      verifying: 1,
      unreadable: 1,
    });
    expect(await ctx.store.countByStatus('2021004100009999')).toEqual({
      active: 0,
      reauthorization_required: 0,
      revoked: 0,
      cancelled: 0,
      failing: 0,
      verifying: 0,
      unreadable: 0,
    });
  });

  it('findByToken finds the row holding the current token of this app, and only that', async () => {
    const t = tokens();
    await save('m1', t);
    await save('m2');
    await save('m1', t, { appId: OTHER_APP });
    expect(await ctx.store.findByToken(APP, t.appAuthToken)).toMatchObject({ appId: APP, authAppId: 'm1' });
    expect(await ctx.store.findByToken(APP, t.appRefreshToken)).toBeNull();
    expect(await ctx.store.findByToken(APP, '')).toBeNull();
    expect(await ctx.store.findByToken('2021004100009999', t.appAuthToken)).toBeNull();
    // After a refresh the old token no longer finds the row; the new one does.
    const row = await ctx.store.find(APP, 'm1');
    const next = tokens();
    await ctx.store.saveRefreshed(APP, 'm1', row!.version, next);
    expect(await ctx.store.findByToken(APP, t.appAuthToken)).toBeNull();
    expect(await ctx.store.findByToken(APP, next.appAuthToken)).toMatchObject({ authAppId: 'm1', appAuthToken: next.appAuthToken });
  });

  it("requestStatusCheck makes the merchant user's (or one merchant app's) active rows due for a status check", async () => {
    await save('a', tokens(), { userId: '2088000000000007' });
    await save('b', tokens(), { userId: '2088000000000007' });
    await save('gone', tokens(), { userId: '2088000000000007' });
    await setStatus('gone', 'cancelled', null);
    await save('other-user', tokens(), { userId: '2088000000000008' });
    await save('other-app', tokens(), { userId: '2088000000000007', appId: OTHER_APP });
    const before = await ctx.store.find(APP, 'a');
    expect(await ctx.store.requestStatusCheck(APP, { userId: '2088000000000007' })).toBe(2);
    expect(await ctx.store.find(APP, 'a')).toMatchObject({ lastCheckedAt: null, version: before!.version });
    expect(await ctx.store.find(APP, 'other-user')).toMatchObject({ lastCheckedAt: at(0) });
    const due = await ctx.store.claimStatusCheckDue(APP, at(-DAY), { owner: 'checker', ms: MIN }, 10);
    expect(due.map((r) => r.authAppId).sort()).toEqual(['a', 'b']);
    expect(await ctx.store.requestStatusCheck(APP, { userId: '2088000000000999' })).toBe(0);
    // One merchant app: only that row.
    await markChecked('a', at(0));
    expect(await ctx.store.requestStatusCheck(APP, { authAppId: 'a' })).toBe(1);
    expect(await ctx.store.find(APP, 'a')).toMatchObject({ lastCheckedAt: null });
    expect(await ctx.store.find(APP, 'other-user')).toMatchObject({ lastCheckedAt: at(0) });
    expect(await ctx.store.requestStatusCheck(APP, { authAppId: 'gone' })).toBe(0);
  });
}
