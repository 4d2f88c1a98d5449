import { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import {
  ALIPAY_AUTH_CONFIG,
  AlipayAuthModule,
  AlipayTokenRefreshScheduler,
  AlipayTokenService,
  AlipayTokenStore,
  ResolvedAlipayAuthConfig,
} from 'nestjs-alipay-auth';
import { TOKEN_PATH as TOKEN_APP_PATH } from 'nestjs-alipay-auth/protocol';
import { dueCriteria } from 'nestjs-alipay-auth/tokens/refresh-policy';
import { AlipayAuthorizationEntity } from 'nestjs-alipay-auth/typeorm';
import { SimulatedAlipay, TEST_APP_ID as APP_ID } from '../support/simulated-alipay';
import { vectors } from '../fixtures/vectors';
import { createIsolatedDatabase, IsolatedDatabase, testDatabaseEngines } from '../support/databases';
import { libraryTypeOrm } from '../support/library-on-simulator';
import { spawnRefreshWorker } from '../support/refresh-worker-process';

const DAY = 86_400_000;
// Leases run on the database's clock, so their expiry is waited for in real time: short calls, short leases.
// Generous: under a loaded CI machine a refresh must not time out (that would be an ambiguous outcome, and a second refresh).
const TIMEOUT_MS = 10_000;
const LEASE_MS = 12_000;
const waitForLeasesToLapse = () => new Promise((r) => setTimeout(r, LEASE_MS + 200));

type Sim = SimulatedAlipay['sim'];

/**
 * Several instances of an app (separate Nest contexts with their own connection pools) share one
 * database and refresh at once, against the simulator, whose counters say what really happened at "Alipay".
 */
describe.each(testDatabaseEngines())('scheduled refresh across instances (%s)', (engine) => {
  let sim: Sim;
  let db: IsolatedDatabase;
  let alipay: SimulatedAlipay;
  let seq = 0;
  const contexts: INestApplicationContext[] = [];

  async function instance(name: string, migrate = false): Promise<INestApplicationContext> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        libraryTypeOrm(db, migrate, { extra: engine === 'postgres' ? { max: 10 } : engine === 'mariadb' ? { connectionLimit: 10 } : undefined }),
        AlipayAuthModule.forRoot(
          alipay.moduleOptions({
            instanceId: name,
            timeoutMs: TIMEOUT_MS,
            refresh: {
              batchSize: 50,
              concurrency: 8,
              ratePerSecond: 100_000,
              leaseMs: LEASE_MS,
              backoffBaseMs: 30_000,
              backoffMaxMs: 60_000,
              statusCheckIntervalMs: 0,
            },
          }),
        ),
      ],
    }).compile();
    const ctx = await moduleRef.init();
    contexts.push(ctx);
    return ctx;
  }

  async function advance(ms: number) {
    alipay.advance(ms);
  }

  /** Authorizes `n` merchant apps through batch codes (100 per code) and returns their ids. */
  async function seed(svc: AlipayTokenService, n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i += 100) {
      const batch = Array.from({ length: Math.min(100, n - i) }, () => `20210099${String(++seq).padStart(8, '0')}`);
      const { app_auth_code } = sim.controls.authorize(APP_ID, { authAppIds: batch });
      const infos = await svc.exchangeCode(app_auth_code);
      expect(infos).toHaveLength(batch.length);
      ids.push(...batch);
    }
    return ids;
  }

  function refreshCounts(ids: string[]): number[] {
    const by = sim.controls.stats().refreshesByMerchant;
    return ids.map((id) => by[id] ?? 0);
  }

  async function dueLeft(ctx: INestApplicationContext): Promise<number> {
    const store = ctx.get<AlipayTokenStore>(AlipayTokenStore);
    const config = ctx.get<ResolvedAlipayAuthConfig>(ALIPAY_AUTH_CONFIG);
    const now = config.clock();
    const probe = { owner: `probe-${Date.now()}`, ms: 1 };
    const rows = await store.claimDue(APP_ID, dueCriteria(now + 1, config.refresh), probe, 1000);
    for (const r of rows) await store.releaseLease(APP_ID, r.authAppId, probe.owner);
    return rows.length;
  }

  let a: INestApplicationContext, b: INestApplicationContext, c: INestApplicationContext;

  beforeAll(async () => {
    alipay = await SimulatedAlipay.start();
    sim = alipay.sim;
    db = await createIsolatedDatabase(engine, 'refresh-cluster');
    a = await instance('instance-a', true);
    b = await instance('instance-b');
    c = await instance('instance-c');
  });

  beforeEach(async () => {
    // Each scenario starts from an empty table (the clock only moves forward, so old rows would be due again).
    await a.get(DataSource).getRepository(AlipayAuthorizationEntity).clear();
  });

  afterAll(async () => {
    for (const ctx of contexts) await ctx.close();
    await alipay?.close();
    await db?.drop();
  });

  it('three instances refresh 2,000 due authorizations exactly once each', async () => {
    const ids = await seed(a.get(AlipayTokenService), 2000);
    await advance(340 * DAY);
    const started = Date.now();
    const summaries = await Promise.all([a, b, c].map((ctx) => ctx.get(AlipayTokenRefreshScheduler).refreshDue()));
    const seconds = (Date.now() - started) / 1000;
    const refreshed = summaries.reduce((n, s) => n + s.refreshed, 0);
    console.log(
      `[${engine}] 3 instances refreshed ${refreshed} in ${seconds.toFixed(2)} s (${(refreshed / seconds).toFixed(0)}/s); per instance ${summaries.map((s) => s.refreshed).join(' / ')}`,
    );
    expect(refreshed).toBe(2000);
    expect(summaries.reduce((n, s) => n + s.failed, 0)).toBe(0);
    const counts = refreshCounts(ids);
    expect(counts.filter((n) => n !== 1)).toEqual([]); // none lost, none twice
    expect(await dueLeft(a)).toBe(0);
    // The stored tokens are the live ones at "Alipay".
    const svc = b.get(AlipayTokenService);
    for (const id of ids.slice(0, 5)) {
      expect((await svc.checkStatus(id)).alipayStatus).toBe('valid');
    }
  });

  it("takes over a crashed instance's rows after its lease runs out, refreshing each once", async () => {
    const ids = await seed(a.get(AlipayTokenService), 200);
    await advance(340 * DAY);
    // A crashed instance: it claimed a batch and died before refreshing any of it.
    const store = a.get<AlipayTokenStore>(AlipayTokenStore);
    const now = alipay.clock();
    const config = a.get<ResolvedAlipayAuthConfig>(ALIPAY_AUTH_CONFIG);
    const orphaned = await store.claimDue(APP_ID, dueCriteria(now, config.refresh), { owner: 'crashed-instance', ms: LEASE_MS }, 50);
    expect(orphaned).toHaveLength(50);
    const orphanIds = new Set(orphaned.map((r) => r.authAppId));

    const first = await Promise.all([b, c].map((ctx) => ctx.get(AlipayTokenRefreshScheduler).refreshDue()));
    expect(first.reduce((n, s) => n + s.refreshed, 0)).toBe(150);
    expect(refreshCounts([...orphanIds]).every((n) => n === 0)).toBe(true); // the lease held

    await waitForLeasesToLapse();
    const second = await Promise.all([b, c].map((ctx) => ctx.get(AlipayTokenRefreshScheduler).refreshDue()));
    expect(second.reduce((n, s) => n + s.refreshed, 0)).toBe(50);
    expect(refreshCounts(ids).filter((n) => n !== 1)).toEqual([]);
    expect(await dueLeft(b)).toBe(0);
  });

  it('on shutdown stops claiming, finishes what is in flight and releases the rest', async () => {
    const ids = await seed(a.get(AlipayTokenService), 100);
    await advance(340 * DAY);
    const d = await instance('instance-d');
    sim.controls.addFault({ route: TOKEN_APP_PATH, kind: 'latency', latencyMs: 300, grantType: 'refresh_token' });
    try {
      const sent = () => sim.controls.stats().requests.byGrantType.refresh_token;
      const before = sent();
      const run = d.get(AlipayTokenRefreshScheduler).refreshDue();
      // Wait until a batch is claimed and refresh calls are in flight (held 300 ms by the simulator).
      for (let i = 0; i < 100 && sent() === before; i++) await new Promise((r) => setTimeout(r, 20));
      expect(sent()).toBeGreaterThan(before);
      await d.close();
      const summary = await run;
      expect(summary.claimed).toBeGreaterThan(0);
      expect(summary.refreshed).toBeGreaterThan(0);
      expect(summary.refreshed).toBeLessThan(summary.claimed);
      expect(summary.refreshed + summary.skipped).toBe(summary.claimed);
      const store = a.get<AlipayTokenStore>(AlipayTokenStore);
      const rows = await Promise.all(ids.map((id) => store.find(APP_ID, id)));
      expect(rows.filter((r) => r!.leaseOwner === 'instance-d')).toEqual([]);
      expect(refreshCounts(ids).reduce((x, y) => x + y, 0)).toBe(summary.refreshed);
    } finally {
      sim.controls.clearFaults();
    }
    // Nothing waits for a lease to lapse: another instance takes the released rows at once.
    const rest = await b.get(AlipayTokenRefreshScheduler).refreshDue();
    expect(refreshCounts(ids).filter((n) => n !== 1)).toEqual([]);
    expect(rest.refreshed).toBeGreaterThan(0);
  });

  it('a killed instance process (SIGKILL mid-batch) loses nothing and nothing is refreshed twice', async () => {
    const ids = await seed(a.get(AlipayTokenService), 120);
    await advance(340 * DAY);
    const store = a.get<AlipayTokenStore>(AlipayTokenStore);
    // A real second process. It refreshes one row per second, so between two calls nothing is in
    // flight: killed there, it dies holding a leased batch it has only started.
    const worker = spawnRefreshWorker({
      dataSource: db.options(),
      appId: APP_ID,
      privateKey: vectors.keys.app.privateKeyPkcs8Pem,
      alipayPublicKey: sim.alipayPublicKeyPem,
      gateway: sim.url,
      tokenEncryptionKeys: alipay.tokenKey,
      instanceId: 'worker-process',
      timeoutMs: TIMEOUT_MS,
      offsetMs: alipay.offset,
      refresh: { enabled: false, batchSize: 50, concurrency: 1, ratePerSecond: 1, leaseMs: LEASE_MS, statusCheckIntervalMs: 0 },
    });
    let stderr = '';
    worker.stderr!.on('data', (c) => (stderr += c));
    const exited = new Promise<void>((r) => worker.on('exit', () => r()));
    try {
      // Wait until the worker has stored its second refresh, then kill it in the pause before the third.
      const refreshedByWorker = async () => (await Promise.all(ids.map((id) => store.find(APP_ID, id)))).filter((r) => r!.lastRefreshedAt !== null).length;
      const deadline = Date.now() + 60_000;
      while ((await refreshedByWorker()) < 2) {
        if (Date.now() > deadline || worker.exitCode !== null) throw new Error(`worker did not start refreshing: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      worker.kill('SIGKILL');
      await exited;
    } finally {
      if (worker.exitCode === null) worker.kill('SIGKILL');
    }
    const rows = await Promise.all(ids.map((id) => store.find(APP_ID, id)));
    const orphaned = rows.filter((r) => r!.leaseOwner === 'worker-process' && r!.lastRefreshedAt === null);
    expect(orphaned.length).toBeGreaterThan(40); // the rest of its batch, still leased to the dead process
    const doneByWorker = refreshCounts(ids).filter((n) => n === 1).length;
    expect(doneByWorker).toBeGreaterThanOrEqual(2);

    // The live instances leave the dead one's rows alone while its lease holds...
    await Promise.all([b, c].map((ctx) => ctx.get(AlipayTokenRefreshScheduler).refreshDue()));
    expect(refreshCounts(orphaned.map((r) => r!.authAppId)).every((n) => n === 0)).toBe(true);
    // ...and take them over once it has run out.
    await waitForLeasesToLapse();
    await Promise.all([b, c].map((ctx) => ctx.get(AlipayTokenRefreshScheduler).refreshDue()));
    expect(refreshCounts(ids).filter((n) => n !== 1)).toEqual([]);
    expect(await dueLeft(b)).toBe(0);
  });

  it('recovers from 30% failing refresh calls with recorded back-off', async () => {
    const ids = await seed(a.get(AlipayTokenService), 300);
    await advance(340 * DAY);
    sim.controls.addFault({ route: TOKEN_APP_PATH, kind: 'http-500', rate: 0.3, grantType: 'refresh_token' });
    try {
      const round1 = await Promise.all([a, b, c].map((ctx) => ctx.get(AlipayTokenRefreshScheduler).refreshDue()));
      const failed1 = round1.reduce((n, s) => n + s.failed, 0);
      expect(failed1).toBeGreaterThan(30);
      expect(round1.reduce((n, s) => n + s.refreshed, 0) + failed1).toBe(300);

      const svc = a.get(AlipayTokenService);
      const failing = (await svc.list({ status: 'active' }, { limit: 1000 })).items.filter((i) => ids.includes(i.authAppId) && i.failureCount > 0);
      expect(failing).toHaveLength(failed1);
      for (const f of failing) {
        expect(f.lastErrorCode).toBe('unknow-error');
        expect(f.nextAttemptAt!.getTime()).toBeGreaterThan(alipay.clock());
      }
      // Back-off is respected: an immediate rerun leaves the failed rows alone.
      const before = refreshCounts(ids).reduce((x, y) => x + y, 0);
      const rerun = await Promise.all([b, c].map((ctx) => ctx.get(AlipayTokenRefreshScheduler).refreshDue()));
      expect(rerun.reduce((n, s) => n + s.claimed, 0)).toBe(0);
      expect(refreshCounts(ids).reduce((x, y) => x + y, 0)).toBe(before);

      // Later runs, once each back-off has passed, pick the failed rows up again.
      for (let round = 0; round < 12 && refreshCounts(ids).some((n) => n === 0); round++) {
        await advance(60_000 * 1.2 + 1);
        await Promise.all([a, b, c].map((ctx) => ctx.get(AlipayTokenRefreshScheduler).refreshDue()));
      }
    } finally {
      sim.controls.clearFaults();
    }
    expect(await dueLeft(a)).toBe(0);
    expect(refreshCounts(ids).filter((n) => n !== 1)).toEqual([]);
    const after = (await a.get(AlipayTokenService).list({ status: 'active' }, { limit: 1000 })).items.filter((i) => ids.includes(i.authAppId));
    expect(after).toHaveLength(300);
    expect(after.every((i) => i.failureCount === 0 && i.nextAttemptAt === null)).toBe(true);
  });
});
