import { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { jest } from '@jest/globals';
import { AlipayAuthModule, AlipayTokenRefreshScheduler, AlipayTokenService } from 'nestjs-alipay-auth';
import { TOKEN_PATH as TOKEN_APP_PATH } from 'nestjs-alipay-auth/protocol';
import { TypeOrmAlipayTokenStore } from 'nestjs-alipay-auth/typeorm';
import { SimulatedAlipay, TEST_APP_ID as APP_ID } from '../support/simulated-alipay';
import { createIsolatedDatabase, IsolatedDatabase, testDatabaseEngines } from '../support/databases';
import { libraryTypeOrm } from '../support/library-on-simulator';

const DAY = 86_400_000;
const CALL_MS = 1500;

/**
 * The scheduler's lease has the instance's own owner, which the database grants a caller of the same
 * instance as well. A caller asking for a due merchant while the scheduler's refresh of it is in flight
 * must not refresh it a second time: against the strict simulator (a superseded token dies at once) the
 * later pair would kill the one stored.
 */
describe.each(testDatabaseEngines())('scheduler and callers of one instance (%s)', (engine) => {
  let alipay: SimulatedAlipay;
  let db: IsolatedDatabase;
  let ctx: INestApplicationContext;

  beforeAll(async () => {
    alipay = await SimulatedAlipay.start({ tokenOverlapMs: 0 });
    db = await createIsolatedDatabase(engine, 'same-instance');
    const moduleRef = await Test.createTestingModule({
      imports: [
        libraryTypeOrm(db, true),
        AlipayAuthModule.forRoot(alipay.moduleOptions({ instanceId: 'one', timeoutMs: 10_000, cacheTtlMs: 0, refresh: { statusCheckIntervalMs: 0 } })),
      ],
    }).compile();
    ctx = await moduleRef.init();
  });

  afterAll(async () => {
    await ctx?.close();
    await alipay?.close();
    await db?.drop();
  });

  it('a caller serves the stored token while the scheduler refreshes it: one refresh at Alipay, the stored pair accepted', async () => {
    const tokens = ctx.get(AlipayTokenService);
    const id = '2021001100000001';
    await tokens.exchangeCode(alipay.sim.controls.authorize(APP_ID, { authAppIds: [id] }).app_auth_code);
    const before = await tokens.getAppAuthToken(id);
    alipay.advance(340 * DAY); // inside the refresh window, not expired
    alipay.sim.controls.addFault({ route: TOKEN_APP_PATH, kind: 'latency', latencyMs: CALL_MS, grantType: 'refresh_token', count: 1 });

    const run = ctx.get(AlipayTokenRefreshScheduler).refreshDue();
    // The scheduler's call has reached Alipay and waits there.
    while ((alipay.sim.controls.stats().requests.byGrantType.refresh_token ?? 0) < 1) await new Promise((r) => setTimeout(r, 5));
    expect(await tokens.getAppAuthToken(id)).toBe(before);

    expect((await run).refreshed).toBe(1);
    expect(alipay.sim.controls.stats().refreshesByMerchant[id]).toBe(1);
    const after = await tokens.getAppAuthToken(id);
    expect(after).not.toBe(before);
    expect((await tokens.checkStatus(id)).alipayStatus).toBe('valid');
    expect(alipay.sim.controls.stats().refreshesByMerchant[id]).toBe(1);
  });

  it('a row refreshed right after its claim is read once: no re-lease, the write still a compare-and-set', async () => {
    const tokens = ctx.get(AlipayTokenService);
    const ids = ['2021001100000002', '2021001100000003'];
    await tokens.exchangeCode(alipay.sim.controls.authorize(APP_ID, { authAppIds: ids }).app_auth_code);
    alipay.advance(340 * DAY);
    // On the prototype: the module's store is behind the guard's proxy.
    const leases = jest.spyOn(TypeOrmAlipayTokenStore.prototype, 'tryLease');
    try {
      // The two, and the first case's merchant, due again.
      expect((await ctx.get(AlipayTokenRefreshScheduler).refreshDue()).refreshed).toBe(3);
      expect(leases).not.toHaveBeenCalled();
      await tokens.refresh(ids[0]); // a caller's refresh leases first
      expect(leases).toHaveBeenCalledTimes(1);
    } finally {
      leases.mockRestore();
    }
    for (const id of ids) expect((await tokens.checkStatus(id)).alipayStatus).toBe('valid');
  });
});
