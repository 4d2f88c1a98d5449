import type { AlipayAuthorizationStatus } from '../../storage/alipay-token-store';
import { APP, T0, MIN, HOUR, at, sleep, tokens, type ContractContext } from './fixtures';

/**
 * Leases held, extended, released and taken over; the bookkeeping writes around them (recordFailure,
 * setStatus, markChecked) and the input every write refuses.
 */
export function leaseCases(ctx: ContractContext): void {
  const { it, expect } = ctx.api;
  const { save, setStatus, recordFailure, markChecked } = ctx;

  it('tryLease and releaseLease follow the owner; a silent holder can be taken over', async () => {
    const row = await save('m1');
    const a = await ctx.store.tryLease(APP, 'm1', { owner: 'node-a', ms: MIN });
    expect(a).toMatchObject({ authAppId: 'm1', leaseOwner: 'node-a', version: row.version });
    expect(await ctx.store.tryLease(APP, 'm1', { owner: 'node-b', ms: MIN })).toBeNull();
    const extended = await ctx.store.tryLease(APP, 'm1', { owner: 'node-a', ms: 2 * MIN });
    expect(extended!.leaseUntil!.getTime()).toBeGreaterThanOrEqual(a!.leaseUntil!.getTime() + MIN);
    await ctx.store.releaseLease(APP, 'm1', 'node-b');
    expect(await ctx.store.find(APP, 'm1')).toMatchObject({ leaseOwner: 'node-a' });
    await ctx.store.releaseLease(APP, 'm1', 'node-a');
    expect(await ctx.store.find(APP, 'm1')).toMatchObject({ leaseOwner: null, leaseUntil: null });
    expect(await ctx.store.tryLease(APP, 'm1', { owner: 'node-b', ms: 200 })).toMatchObject({ leaseOwner: 'node-b' });
    expect(await ctx.store.tryLease(APP, 'm1', { owner: 'node-a', ms: MIN })).toBeNull();
    await sleep(250);
    expect(await ctx.store.tryLease(APP, 'm1', { owner: 'node-a', ms: MIN })).toMatchObject({ leaseOwner: 'node-a' });
    expect(await ctx.store.tryLease(APP, 'm1', { owner: 'node-b', ms: MIN }, { takeOverAfterMs: 10_000 })).toBeNull();
    await sleep(60);
    expect(await ctx.store.tryLease(APP, 'm1', { owner: 'node-b', ms: MIN }, { takeOverAfterMs: 50 })).toMatchObject({ leaseOwner: 'node-b' });
    expect(await ctx.store.tryLease(APP, 'missing', { owner: 'node-a', ms: MIN })).toBeNull();
    expect((await ctx.store.find(APP, 'm1'))!.version).toBe(row.version);
  });

  it("recordFailure counts, keeps code, back-off and doubt, and releases only the owner's lease", async () => {
    const row = await save('m1');
    await ctx.store.tryLease(APP, 'm1', { owner: 'node-a', ms: MIN });
    ctx.nowMs = T0 + 3;
    await recordFailure('m1', { errorCode: 'network-timeout', nextAttemptAt: at(HOUR), owner: 'node-b', verify: true });
    expect(await ctx.store.find(APP, 'm1')).toMatchObject({
      failureCount: 1,
      lastErrorCode: 'network-timeout',
      lastFailureAt: at(3),
      nextAttemptAt: at(HOUR),
      verifyAt: at(HOUR),
      leaseOwner: 'node-a',
      updatedAt: at(3),
    });
    // A definite failure keeps the earlier doubt.
    await recordFailure('m1', { errorCode: 'x'.repeat(80), nextAttemptAt: null });
    expect(await ctx.store.find(APP, 'm1')).toMatchObject({
      failureCount: 2,
      lastErrorCode: 'x'.repeat(64),
      nextAttemptAt: null,
      verifyAt: at(HOUR),
      leaseOwner: 'node-a',
    });
    await recordFailure('m1', { errorCode: 'isv.timeout', nextAttemptAt: at(2 * HOUR), owner: 'node-a' });
    const after = await ctx.store.find(APP, 'm1');
    expect(after).toMatchObject({ failureCount: 3, lastErrorCode: 'isv.timeout', nextAttemptAt: at(2 * HOUR), leaseOwner: null, leaseUntil: null });
    // Bookkeeping does not move the version: an in-flight refresh keeps its compare-and-set.
    expect(after!.version).toBe(row.version);
    await recordFailure('missing', { errorCode: 'x', nextAttemptAt: null });
  });

  it('setStatus keeps the row, sets the reason, releases the lease and bumps the version', async () => {
    const row = await save('m1');
    await ctx.store.tryLease(APP, 'm1', { owner: 'node-a', ms: MIN });
    ctx.nowMs = T0 + 9;
    const r = await setStatus('m1', 'reauthorization_required', 'refused');
    expect(r).toMatchObject({
      status: 'reauthorization_required',
      statusReason: 'refused',
      leaseOwner: null,
      leaseUntil: null,
      version: row.version + 1,
      updatedAt: at(9),
    });
    expect(r!.appAuthToken).toBe(row.appAuthToken);
    expect((await setStatus('m1', 'revoked', 'é'.repeat(300)))!.statusReason).toBe('é'.repeat(255));
    expect(await setStatus('m1', 'active', null)).toMatchObject({ status: 'active', statusReason: null, version: row.version + 3 });
    expect(await setStatus('missing', 'revoked', null)).toBeNull();
    await expect(setStatus('m1', 'bogus' as AlipayAuthorizationStatus, null)).rejects.toThrow(TypeError);
  });

  it('markChecked records the check without moving the version', async () => {
    const row = await save('m1');
    await markChecked('m1', at(77));
    expect(await ctx.store.find(APP, 'm1')).toMatchObject({ lastCheckedAt: at(77), version: row.version });
  });

  it('rejects malformed input with a TypeError', async () => {
    await save('m1');
    await expect(ctx.store.tryLease(APP, 'm1', { owner: 'node-a', ms: -1 })).rejects.toThrow(TypeError);
    await expect(ctx.store.tryLease(APP, 'm1', { owner: '', ms: MIN })).rejects.toThrow(TypeError);
    await expect(save('m2', tokens({ appAuthToken: '' }))).rejects.toThrow(TypeError);
    await expect(ctx.store.saveRefreshed(APP, 'm1', 1.5, tokens())).rejects.toThrow(TypeError);
    await expect(save('m3', tokens({ issuedAt: new Date(NaN) }))).rejects.toThrow(TypeError);
  });
}
