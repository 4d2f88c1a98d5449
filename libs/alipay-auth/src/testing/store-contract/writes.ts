import type { AlipayAuthorization } from '../../storage/alipay-token-store';
import { APP, OTHER_APP, T0, MIN, HOUR, DAY, at, merchant, tokens, withoutDueAt, type ContractContext } from './fixtures';

/**
 * Writes and compare-and-set: saving, upserting, the insert race, and that a write decided on an older row
 * never lands on a newer one (saveAuthorization, setStatus, recordFailure, markChecked, saveRefreshed).
 */
export function writeCases(ctx: ContractContext): void {
  const { describe, it, expect } = ctx.api;
  const { save, setStatus, recordFailure } = ctx;

  it('saves and finds an authorization, instants exact to the millisecond', async () => {
    const t = tokens({ expiresAt: at(DAY + 1), refreshExpiresAt: at(30 * DAY + 999), issuedAt: at(-457) });
    ctx.nowMs = T0 + 5;
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
      lastFailureAt: null,
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
    expect(withoutDueAt(await ctx.store.find(APP, merchant(1)))).toEqual(expected);
    expect(await ctx.store.find(APP, merchant(2))).toBeNull();
    expect(await ctx.store.find(OTHER_APP, merchant(1))).toBeNull();
    // What a caller gets is its own copy.
    saved.expiresAt!.setTime(0);
    saved.status = 'revoked';
    expect(withoutDueAt(await ctx.store.find(APP, merchant(1)))).toEqual(expected);
    const open = await save(merchant(2), tokens({ expiresAt: null, refreshExpiresAt: null }), { userId: null });
    expect(open).toMatchObject({ expiresAt: null, refreshExpiresAt: null, userId: null });
  });

  it('upserts: a new authorization replaces the tokens and reactivates the row', async () => {
    const first = await save(merchant(1));
    await recordFailure(merchant(1), { errorCode: 'isp.unknow-error', nextAttemptAt: at(HOUR), verify: true });
    await ctx.store.tryLease(APP, merchant(1), { owner: 'node-a', ms: MIN });
    const cancelled = await setStatus(merchant(1), 'cancelled', 'merchant cancelled');
    expect(cancelled!.version).toBe(first.version + 1);
    ctx.nowMs = T0 + DAY;
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
    expect((await ctx.store.list(APP)).total).toBe(1);
  });

  it('two instances inserting the same merchant at once: one row, one winner, the loser told', async () => {
    const [a, b] = await ctx.h.peers(2);
    for (let i = 0; i < 3; i++) {
      const [ta, tb] = [tokens(), tokens()];
      const results = await Promise.all([
        a.saveAuthorization({ appId: APP, authAppId: merchant(i), userId: null, tokens: ta, authorizedAt: at(0), expectedVersion: null }),
        b.saveAuthorization({ appId: APP, authAppId: merchant(i), userId: null, tokens: tb, authorizedAt: at(0), expectedVersion: null }),
      ]);
      const winners = results.filter((r): r is AlipayAuthorization => r !== null);
      expect(winners).toHaveLength(1);
      expect(winners[0].version).toBe(1);
      expect((await ctx.store.find(APP, merchant(i)))!.appAuthToken).toBe(winners[0].appAuthToken);
    }
    expect((await ctx.store.list(APP)).total).toBe(3);
  });

  describe('compare-and-set: a write decided on an older row never lands on a newer one', () => {
    it('saveAuthorization replaces only the version it was decided on; of two writers at one version exactly one wins', async () => {
      const first = await save(merchant(1));
      const stale = tokens();
      expect(
        await ctx.store.saveAuthorization({ appId: APP, authAppId: merchant(1), userId: null, tokens: stale, authorizedAt: at(0), expectedVersion: null }),
      ).toBeNull();
      expect(
        await ctx.store.saveAuthorization({
          appId: APP,
          authAppId: merchant(1),
          userId: null,
          tokens: stale,
          authorizedAt: at(0),
          expectedVersion: first.version + 1,
        }),
      ).toBeNull();
      expect(
        await ctx.store.saveAuthorization({ appId: APP, authAppId: merchant(9), userId: null, tokens: stale, authorizedAt: at(0), expectedVersion: 1 }),
      ).toBeNull();
      expect(await ctx.store.find(APP, merchant(9))).toBeNull();
      expect((await ctx.store.find(APP, merchant(1)))!.appAuthToken).toBe(first.appAuthToken);
      const [a, b] = await ctx.h.peers(2);
      const [ta, tb] = [tokens(), tokens()];
      const results = await Promise.all([
        a.saveAuthorization({ appId: APP, authAppId: merchant(1), userId: null, tokens: ta, authorizedAt: at(1), expectedVersion: first.version }),
        b.saveAuthorization({ appId: APP, authAppId: merchant(1), userId: null, tokens: tb, authorizedAt: at(1), expectedVersion: first.version }),
      ]);
      const winners = results.filter((r): r is AlipayAuthorization => r !== null);
      expect(winners).toHaveLength(1);
      expect(winners[0].version).toBe(first.version + 1);
      expect(await ctx.store.find(APP, merchant(1))).toEqual(winners[0]);
      await expect(
        ctx.store.saveAuthorization({ appId: APP, authAppId: merchant(1), userId: null, tokens: ta, authorizedAt: at(1), expectedVersion: 1.5 }),
      ).rejects.toThrow(TypeError);
    });

    it('a refusal decided on the previous pair does not overwrite a re-authorization (setStatus, recordFailure)', async () => {
      const old = await save(merchant(1));
      await ctx.store.tryLease(APP, merchant(1), { owner: 'refresher', ms: MIN });
      // The merchant authorizes again while the refresh of the old pair is in flight.
      const fresh = await save(merchant(1), tokens(), { authorizedAt: at(5) });
      expect(
        await ctx.store.recordFailure(APP, merchant(1), old.version, { errorCode: 'REFRESH_TOKEN_NOT_VALID', nextAttemptAt: null, owner: 'refresher' }),
      ).toBe(false);
      expect(await ctx.store.setStatus(APP, merchant(1), old.version, 'reauthorization_required', 'refused')).toBeNull();
      expect(await ctx.store.setStatus(APP, merchant(1), old.version, 'cancelled', 'refused')).toBeNull();
      expect(await ctx.store.markChecked(APP, merchant(1), old.version, at(9))).toBe(false);
      expect(await ctx.store.find(APP, merchant(1))).toEqual(fresh);
      // Decided on the current row, the same writes land.
      expect(await ctx.store.recordFailure(APP, merchant(1), fresh.version, { errorCode: 'REFRESH_TOKEN_NOT_VALID', nextAttemptAt: null })).toBe(true);
      expect(await ctx.store.markChecked(APP, merchant(1), fresh.version, at(9))).toBe(true);
      expect(await ctx.store.find(APP, merchant(1))).toMatchObject({ failureCount: 1, lastCheckedAt: at(9), version: fresh.version });
      expect(await ctx.store.setStatus(APP, merchant(1), fresh.version, 'reauthorization_required', 'refused')).toMatchObject({
        status: 'reauthorization_required',
        version: fresh.version + 1,
      });
      // A missing row: nothing to compare with.
      expect(await ctx.store.recordFailure(APP, 'missing', 1, { errorCode: 'x', nextAttemptAt: null })).toBe(false);
      expect(await ctx.store.markChecked(APP, 'missing', 1, at(0))).toBe(false);
      await expect(ctx.store.setStatus(APP, merchant(1), Number.NaN, 'revoked', null)).rejects.toThrow(TypeError);
    });

    it('of a verdict and a new pair written at once from one version, exactly one lands', async () => {
      const [a, b] = await ctx.h.peers(2);
      for (let i = 0; i < 3; i++) {
        const row = await save(merchant(i));
        const [verdict, refreshed] = await Promise.all([
          a.setStatus(APP, merchant(i), row.version, 'reauthorization_required', 'refused'),
          b.saveRefreshed(APP, merchant(i), row.version, tokens()),
        ]);
        expect([verdict, refreshed].filter((r) => r !== null)).toHaveLength(1);
        const stored = (await ctx.store.find(APP, merchant(i)))!;
        expect(stored.version).toBe(row.version + 1);
        expect(stored.status).toBe(verdict ? 'reauthorization_required' : 'active');
      }
    });

    it('bookkeeping does not move the version: a refresh decided before it still lands', async () => {
      const row = await save(merchant(1));
      expect(await ctx.store.recordFailure(APP, merchant(1), row.version, { errorCode: 'network-timeout', nextAttemptAt: at(MIN), verify: true })).toBe(true);
      expect(await ctx.store.markChecked(APP, merchant(1), row.version, at(3))).toBe(true);
      await ctx.store.tryLease(APP, merchant(1), { owner: 'node-a', ms: MIN });
      expect((await ctx.store.find(APP, merchant(1)))!.version).toBe(row.version);
      expect(await ctx.store.saveRefreshed(APP, merchant(1), row.version, tokens())).toMatchObject({
        version: row.version + 1,
        verifyAt: null,
        failureCount: 0,
      });
    });
  });

  it('saveRefreshed is a compare-and-set: of two writers at the same version exactly one wins', async () => {
    const row = await save(merchant(1));
    const [a, b] = await ctx.h.peers(2);
    const results = await Promise.all([a.saveRefreshed(APP, merchant(1), row.version, tokens()), b.saveRefreshed(APP, merchant(1), row.version, tokens())]);
    const winners = results.filter((r): r is AlipayAuthorization => r !== null);
    expect(winners).toHaveLength(1);
    expect(await ctx.store.find(APP, merchant(1))).toEqual(winners[0]);
    expect(winners[0].version).toBe(row.version + 1);
    expect(await ctx.store.saveRefreshed(APP, merchant(1), row.version, tokens())).toBeNull();
    expect(await ctx.store.saveRefreshed(APP, merchant(1), winners[0].version, tokens())).not.toBeNull();
  });

  it('saveRefreshed replaces the tokens, clears failure, doubt and lease, and needs an active row', async () => {
    const row = await save(merchant(1));
    await recordFailure(merchant(1), { errorCode: 'network-timeout', nextAttemptAt: at(HOUR), verify: true });
    await ctx.store.tryLease(APP, merchant(1), { owner: 'node-a', ms: MIN });
    ctx.nowMs = T0 + 42;
    const t = tokens({ expiresAt: at(365 * DAY), refreshExpiresAt: null, issuedAt: at(40) });
    expect(await ctx.store.saveRefreshed(APP, merchant(1), row.version, t)).toMatchObject({
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
    expect(await ctx.store.saveRefreshed(APP, merchant(1), revoked!.version, tokens())).toBeNull();
    expect(await ctx.store.saveRefreshed(APP, merchant(9), 1, tokens())).toBeNull();
  });
}
