import { APP, OTHER_APP, MIN, HOUR, DAY, at, sleep, merchant, tokens, type ContractContext } from './fixtures';

/**
 * Claims: which rows claimDue and claimStatusCheckDue lease, in which order, on which clock, and that no
 * row is ever handed to two owners.
 */
export function claimCases(ctx: ContractContext): void {
  const { describe, it, expect } = ctx.api;
  const { save, setStatus, recordFailure, markChecked } = ctx;

  describe('claimDue', () => {
    const criteria = (issuedBefore: Date | null = at(-30 * DAY)) => ({
      now: at(0),
      expiresBefore: at(10 * DAY),
      refreshExpiresBefore: at(20 * DAY),
      issuedBefore,
    });
    const far = at(100 * DAY);
    async function claimedIds(c: ReturnType<typeof criteria>, owner = 'node-a') {
      const rows = await ctx.store.claimDue(APP, c, { owner, ms: 2 * MIN }, 100);
      for (const r of rows) await ctx.store.releaseLease(APP, r.authAppId, owner);
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

      expect(await ctx.store.countDue(APP, criteria())).toBe(4);
      expect(await ctx.store.countDue(APP, criteria(null))).toBe(3);
      expect(await claimedIds(criteria())).toEqual(['expires', 'expires-edge', 'old-edge', 'refresh-edge']);
      expect(await claimedIds(criteria(null))).toEqual(['expires', 'expires-edge', 'refresh-edge']);
      expect(await claimedIds({ ...criteria(null), refreshExpiresBefore: at(-DAY) })).toEqual(['expires', 'expires-edge']);
      expect(await claimedIds({ ...criteria(), expiresBefore: at(-DAY), refreshExpiresBefore: at(-DAY) })).toEqual(['old-edge']);
    });

    it('leases most urgent first, up to the limit, on the database clock, without moving the version', async () => {
      for (let i = 0; i < 6; i++) await save(`m${i}`, tokens({ expiresAt: at((6 - i) * DAY), refreshExpiresAt: far }));
      await save('by-refresh', tokens({ expiresAt: null, refreshExpiresAt: at(DAY) }));
      const before = await ctx.store.databaseNow();
      const rows = await ctx.store.claimDue(APP, criteria(), { owner: 'node-a', ms: 2 * MIN + 7 }, 4);
      const after = await ctx.store.databaseNow();
      expect(rows.map((r) => r.authAppId)).toEqual(['m5', 'm4', 'm3', 'm2']);
      for (const r of rows) {
        expect(r).toMatchObject({ leaseOwner: 'node-a', version: 1 });
        expect(r.leaseUntil!.getTime()).toBeGreaterThanOrEqual(before + 2 * MIN + 7);
        expect(r.leaseUntil!.getTime()).toBeLessThanOrEqual(after + 2 * MIN + 7);
      }
      expect(await ctx.store.find(APP, 'm5')).toMatchObject({ leaseOwner: 'node-a', leaseUntil: rows[0].leaseUntil, version: 1 });
      expect((await ctx.store.claimDue(APP, criteria(), { owner: 'node-b', ms: 2 * MIN }, 10)).map((r) => r.authAppId)).toEqual(['m1', 'm0', 'by-refresh']);
      expect(await ctx.store.claimDue(APP, criteria(), { owner: 'node-c', ms: 2 * MIN }, 10)).toEqual([]);
      // Leases and back-off do not hide rows from countDue.
      expect(await ctx.store.countDue(APP, criteria())).toBe(7);
    });

    it('waits out back-off, retries failed rows outside the window, skips live leases', async () => {
      const due = { expiresAt: at(DAY), refreshExpiresAt: far };
      const notDue = { expiresAt: far, refreshExpiresAt: far };
      await save('backoff', tokens(due));
      await recordFailure('backoff', { errorCode: 'aop.SYSTEM_ERROR', nextAttemptAt: at(1) });
      await save('backoff-over', tokens(due));
      await recordFailure('backoff-over', { errorCode: 'aop.SYSTEM_ERROR', nextAttemptAt: at(0) });
      await save('leased', tokens(due));
      await ctx.store.tryLease(APP, 'leased', { owner: 'node-x', ms: MIN });
      await save('lease-expired', tokens(due));
      await ctx.store.tryLease(APP, 'lease-expired', { owner: 'node-x', ms: 0 });
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
      expect(await ctx.store.claimDue(APP, criteria(), { owner: 'node-a', ms: 300 }, 10)).toHaveLength(1);
      expect(await ctx.store.claimDue(APP, { ...criteria(), now: at(10 * MIN) }, { owner: 'node-b', ms: 3 * MIN }, 10)).toEqual([]);
      await sleep(350);
      const b = await ctx.store.claimDue(APP, criteria(), { owner: 'node-b', ms: 3 * MIN }, 10);
      expect(b.map((r) => [r.authAppId, r.leaseOwner])).toEqual([['m1', 'node-b']]);
      await ctx.store.releaseLease(APP, 'm1', 'node-a');
      await recordFailure('m1', { errorCode: 'x', nextAttemptAt: null, owner: 'node-a' });
      expect(await ctx.store.find(APP, 'm1')).toMatchObject({ leaseOwner: 'node-b', leaseUntil: b[0].leaseUntil });
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

      expect((await ctx.store.claimDue(APP, window, { owner: 'node-a', ms: MIN }, 2)).map((r) => r.authAppId)).toEqual(['due-1', 'due-2']);
      const rest = await ctx.store.claimDue(APP, window, { owner: 'node-b', ms: MIN }, 10);
      expect(rest.map((r) => r.authAppId).sort()).toEqual(['refresh-due', 'retry-not-due']);
      expect(await claimedIds({ ...window, now: at(HOUR) }, 'node-c')).toEqual(['backoff']);
    });

    it('never hands a row to two of three concurrent claimers', async () => {
      const n = 60;
      for (let i = 0; i < n; i++) await save(merchant(i), tokens({ expiresAt: at(DAY + i) }));
      const claimers = await ctx.h.peers(3);
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
      for (const [c, ids] of claimed.entries()) for (const i of ids) expect((await ctx.store.find(APP, i))!.leaseOwner).toBe(`claimer-${c}`);
    });
  });

  it('claimStatusCheckDue leases active rows not checked since the bound, never-checked first', async () => {
    for (const id of ['never', 'long-ago', 'edge', 'recent', 'inactive', 'leased']) await save(id);
    await markChecked('long-ago', at(-3 * DAY));
    await markChecked('edge', at(-DAY));
    await markChecked('recent', at(-HOUR));
    await ctx.h.patch(APP, 'never', { lastCheckedAt: null });
    await setStatus('inactive', 'cancelled', null);
    await ctx.store.tryLease(APP, 'leased', { owner: 'node-x', ms: MIN });
    const rows = await ctx.store.claimStatusCheckDue(APP, at(-DAY), { owner: 'checker', ms: 500 }, 10);
    expect(rows.map((r) => r.authAppId)).toEqual(['never', 'long-ago']);
    for (const r of rows) expect(r).toMatchObject({ leaseOwner: 'checker', version: 1 });
    expect(await ctx.store.claimStatusCheckDue(APP, at(-DAY), { owner: 'other', ms: MIN }, 10)).toEqual([]);
    await sleep(600);
    expect((await ctx.store.claimStatusCheckDue(APP, at(-DAY + 1), { owner: 'other', ms: 2 * MIN }, 1)).map((r) => r.authAppId)).toEqual(['never']);
  });

  it('claimStatusCheckDue orders by the check clock: asked-for checks first, then the oldest check; a check or a refresh moves a row back', async () => {
    // Checked at scattered instants, saved in another order than their checks: the order is the check's.
    const offsets = [5, 1, 9, 3, 7, 2, 8, 6, 4];
    for (const [i, o] of offsets.entries()) {
      await save(merchant(i));
      await markChecked(merchant(i), at(-o * HOUR - 2 * DAY));
    }
    await save('asked');
    await ctx.store.requestStatusCheck(APP, { authAppId: 'asked' });
    await save('fresh');
    const oldestFirst = [...offsets.entries()].sort((a, b) => b[1] - a[1]).map(([i]) => merchant(i));
    const lease = (owner: string) => ({ owner, ms: MIN });
    const first = await ctx.store.claimStatusCheckDue(APP, at(-DAY), lease('c1'), 4);
    expect(first.map((r) => r.authAppId)).toEqual(['asked', ...oldestFirst.slice(0, 3)]);
    // The next claimer continues where the first stopped, without overlap.
    const second = await ctx.store.claimStatusCheckDue(APP, at(-DAY), lease('c2'), 100);
    expect(second.map((r) => r.authAppId)).toEqual(oldestFirst.slice(3));
    for (const r of [...first, ...second]) await ctx.store.releaseLease(APP, r.authAppId, r.leaseOwner!);
    // A check (markChecked) and a refresh (saveRefreshed proves the pair valid) move the row to the back.
    await markChecked(oldestFirst[0], at(-DAY - 1));
    const refreshed = await ctx.store.saveRefreshed(APP, oldestFirst[1], await ctx.version(oldestFirst[1]), tokens());
    expect(refreshed).not.toBeNull();
    const third = await ctx.store.claimStatusCheckDue(APP, at(-DAY), lease('c3'), 100);
    expect(third.map((r) => r.authAppId)).toEqual(['asked', ...oldestFirst.slice(2), oldestFirst[0]]);
  });
}
