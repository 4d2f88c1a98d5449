import { claimCases } from './claims';
import { ContractContext, T0 } from './fixtures';
import type { AlipayContractTestApi, AlipayTokenStoreContractHarness } from './harness';
import { leaseCases } from './leases';
import { notificationCases } from './notifications';
import { readCases } from './reads';
import { writeCases } from './writes';

export type { AlipayTokenStoreContractHarness, AlipayContractTestApi } from './harness';

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
  const { describe, beforeAll, beforeEach, afterAll } = api;

  describe(`${name} honours the AlipayTokenStore contract`, () => {
    const ctx = new ContractContext(api);

    beforeAll(async () => {
      ctx.h = await create(() => ctx.nowMs);
      ctx.store = ctx.h.store;
    });
    afterAll(async () => {
      await ctx.h?.close?.();
    });
    beforeEach(async () => {
      ctx.nowMs = T0;
      await ctx.h.reset();
    });

    // In the order they always ran: writes and compare-and-set, claims, leases and bookkeeping, reads and
    // counts, notifications and the database clock.
    writeCases(ctx);
    claimCases(ctx);
    leaseCases(ctx);
    readCases(ctx);
    notificationCases(ctx);
  });
}
