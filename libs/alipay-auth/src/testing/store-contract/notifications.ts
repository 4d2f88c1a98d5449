import { APP, OTHER_APP, T0, SEC, HOUR, DAY, at, type ContractContext } from './fixtures';

/**
 * Handled notifications (remembered per app until they expire on the app clock) and the store's own clock.
 */
export function notificationCases(ctx: ContractContext): void {
  const { it, expect } = ctx.api;

  it('remembers handled notifications per app until they expire (app clock)', async () => {
    expect(await ctx.store.isNotificationHandled(APP, 'n-1')).toBe(false);
    await ctx.store.markNotificationHandled(APP, 'n-1', at(HOUR));
    await ctx.store.markNotificationHandled(APP, 'n-1', at(HOUR)); // idempotent
    expect(await ctx.store.isNotificationHandled(APP, 'n-1')).toBe(true);
    expect(await ctx.store.isNotificationHandled(OTHER_APP, 'n-1')).toBe(false);
    expect(await ctx.store.isNotificationHandled(APP, 'n-2')).toBe(false);
    ctx.nowMs = T0 + HOUR;
    expect(await ctx.store.isNotificationHandled(APP, 'n-1')).toBe(false);
    // Marked again after expiry: remembered again.
    await ctx.store.markNotificationHandled(APP, 'n-1', at(2 * HOUR));
    expect(await ctx.store.isNotificationHandled(APP, 'n-1')).toBe(true);
    const [a, b] = await ctx.h.peers(2);
    await Promise.all([a.markNotificationHandled(APP, 'n-3', at(2 * HOUR)), b.markNotificationHandled(APP, 'n-3', at(2 * HOUR))]);
    expect(await ctx.store.isNotificationHandled(APP, 'n-3')).toBe(true);
  });

  it("databaseNow is the store's own clock, not the app's", async () => {
    ctx.nowMs = T0 - 10 * DAY;
    const before = Date.now();
    const db = await ctx.store.databaseNow();
    // Same machine: the database clock is real time, within a generous skew.
    expect(Math.abs(db - before)).toBeLessThanOrEqual(5 * SEC);
  });
}
