/**
 * Row integrity (issue 19): every write knows what it replaces. A late answer, a replayed message, a clock
 * ahead or one bad row must never overwrite what a newer event stored, nor stop the other merchants.
 *
 * Judged AT THE SIMULATOR, on every engine: the token the library serves is one Alipay accepts, and the
 * row's status is right. The simulator runs strict (a superseded app_auth_token dies at once), and
 * scenario 1 also under both answers Alipay might give to a refresh token whose authorization was
 * replaced by a re-authorization (UNCONFIRMED): it refreshes the current one, or it is refused.
 */
import { INestApplicationContext } from '@nestjs/common';
import {
  AlipayAuthHealthService,
  AlipayAuthModuleOptions,
  AlipayAuthorization,
  AlipayTokenRefreshScheduler,
  AlipayTokenService,
  AlipayTokenStore,
} from 'nestjs-alipay-auth';
import {
  buildNotifySignContent,
  loadPrivateKey,
  loadPublicKey,
  rsaSign,
  rsaVerify,
  TOKEN_PATH as TOKEN_APP_PATH,
  QUERY_PATH as TOKEN_QUERY_PATH,
} from 'nestjs-alipay-auth/protocol';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { createIsolatedDatabase, IsolatedDatabase, testDatabaseEngines } from '../support/databases';
import { ACCEPTED, DAY, LEASE_MS, MIN, OTHER_APP_ID, TIMEOUT_MS } from '../support/library-on-simulator';
import { authorizeMerchant, clearAuthorizations, merchantCall as callAsMerchant, resultsTable, startInstance } from '../support/library-on-simulator';
import { spawnRefreshWorker } from '../support/refresh-worker-process';
import { copyAuthorization, SimulatedAlipay, TEST_APP_ID as APP_ID } from '../support/simulated-alipay';
import { keyFile, vectors } from '../fixtures/vectors';

const alipayKey = loadPrivateKey(keyFile('alipay_private_pkcs8.pem'));

/** What Alipay does with a refresh token whose authorization a re-authorization replaced: UNCONFIRMED, so both. */
const REAUTH_VARIANTS = [
  { name: 'old refresh token refreshes the current grant', reauthorizationRetiresRefreshToken: false },
  { name: 'old refresh token refused', reauthorizationRetiresRefreshToken: true },
] as const;

/** The suite's table: one row per scenario, one column per engine (blank: not passed). */
const recordResult = resultsTable('row-integrity');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `done` until true, at most `ms`. */
async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * The replay trick of protocol doc §10.5: the signed string is `k=v` joined by `&`, unescaped, keys sorted,
 * so `notify_id` moved into the value of the key before it signs the same, and no notify_id is left.
 */
function hideNotifyId(params: Record<string, string>): Record<string, string> {
  const keys = Object.keys(params)
    .filter((k) => k !== 'sign' && k !== 'sign_type' && params[k] !== '')
    .sort();
  const prev = keys[keys.indexOf('notify_id') - 1];
  const { notify_id, ...rest } = params;
  return { ...rest, [prev]: `${params[prev]}&notify_id=${notify_id}` };
}

describe.each(testDatabaseEngines())('row integrity (%s)', (engine) => {
  let alipay: SimulatedAlipay;
  let db: IsolatedDatabase;
  let collector: Server;
  let seq = 0;
  const contexts: INestApplicationContext[] = [];
  let a: INestApplicationContext;
  const sim = () => alipay.sim;

  async function instance(name: string, extra: Partial<AlipayAuthModuleOptions> = {}, migrate = false, on = alipay): Promise<INestApplicationContext> {
    const ctx = await startInstance(db, on, name, extra, migrate);
    contexts.push(ctx);
    return ctx;
  }

  beforeAll(async () => {
    alipay = await SimulatedAlipay.start({ alipayPrivateKey: keyFile('alipay_private_pkcs8.pem'), tokenOverlapMs: 0 });
    // Alipay's notifications land here and are answered `success`; the tests hand them to the library.
    collector = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('success'));
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    const notifyUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/notify`;
    sim().controls.registerApp({ appId: APP_ID, publicKey: vectors.keys.app.publicKeySpkiPem, notifyUrl });
    sim().controls.registerApp({ appId: OTHER_APP_ID, publicKey: vectors.keys.app.publicKeySpkiPem });
    db = await createIsolatedDatabase(engine, 'row-integrity');
    a = await instance('instance-a', {}, true);
  });

  afterAll(async () => {
    for (const ctx of contexts) await ctx.close();
    await new Promise((r) => collector?.close(r));
    await alipay?.close();
    await db?.drop();
  });

  afterEach(() => {
    sim().controls.clearFaults();
    sim().controls.configure({ reauthorizationRetiresRefreshToken: false });
  });

  beforeEach(() => clearAuthorizations(a));

  const svc = (ctx = a) => ctx.get(AlipayTokenService);
  const store = (ctx = a) => ctx.get<AlipayTokenStore>(AlipayTokenStore);
  const scheduler = (ctx = a) => ctx.get(AlipayTokenRefreshScheduler);
  const refreshes = (id: string, on = alipay) => on.sim.controls.stats().refreshesByMerchant[id] ?? 0;
  const record = (scenario: string, result: string) => recordResult(engine, scenario, result);
  const newId = () => `20210088${String(++seq).padStart(8, '0')}`;

  /** The merchant authorizes (again): the callback exchanges the code on `ctx`. */
  async function authorized(ctx = a, appId = APP_ID, id = newId(), on = alipay): Promise<string> {
    return authorizeMerchant(ctx, on, appId, id);
  }

  const merchantCall = (target: { authAppId: string } | { appAuthToken: string }, ctx = a) => callAsMerchant(ctx, target, 'row-integrity-check');

  /** The row is active, the token the library serves is accepted as it is, and a call by authAppId works. */
  async function expectServedAndAccepted(id: string, ctx = a): Promise<void> {
    expect((await store(ctx).find(APP_ID, id))?.status).toBe('active');
    const served = await svc(ctx).getAppAuthToken(id);
    expect(await merchantCall({ appAuthToken: served }, ctx)).toBe(ACCEPTED);
    expect(await merchantCall({ authAppId: id }, ctx)).toBe(ACCEPTED);
  }

  /** Stores another ISV app's credential under APP_ID (a data problem of one row, protocol doc §10.3). */
  async function plantForeignRow(): Promise<string> {
    const otherApp = await instance(`other-app-${seq}`, { appId: OTHER_APP_ID });
    const foreign = await authorized(otherApp, OTHER_APP_ID);
    await copyAuthorization(store(otherApp), OTHER_APP_ID, store(), APP_ID, foreign);
    return foreign;
  }

  describe.each(REAUTH_VARIANTS)('1. re-authorization during a refresh ($name)', ({ name: variant, reauthorizationRetiresRefreshToken }) => {
    const sentRefreshes = () => sim().controls.stats().requests.byGrantType.refresh_token;
    const sentQueries = () => sim().controls.stats().requests.byRoute[TOKEN_QUERY_PATH] ?? 0;

    /** Starts `work`, waits until its Alipay call is held at the simulator, lets the merchant authorize again, then lets it finish. */
    async function reauthorizeDuring(id: string, sent: () => number, work: () => Promise<unknown>): Promise<unknown> {
      const before = sent();
      const running = work().then(
        (v) => v,
        (e: unknown) => e,
      );
      await until(() => sent() > before, 5000, 'the call to reach the simulator');
      await authorized(a, APP_ID, id); // the callback stores the new pair while the call is in flight
      return running;
    }

    /** One settling step (a late answer may leave the row to verify), then the verdict at the simulator. */
    async function settleAndJudge(id: string): Promise<void> {
      alipay.advance(10 * MIN); // past any verification delay (back-off, longest call, margins)
      await scheduler().refreshDue();
      await expectServedAndAccepted(id);
    }

    beforeEach(() => {
      sim().controls.configure({ reauthorizationRetiresRefreshToken });
    });

    it('svc.refresh: the new authorization survives the late answer to the old refresh token', async () => {
      const id = await authorized();
      sim().controls.addFault({ route: TOKEN_APP_PATH, kind: 'latency', latencyMs: 1000, grantType: 'refresh_token', count: 1 });
      await reauthorizeDuring(id, sentRefreshes, () => svc().refresh(id));
      await settleAndJudge(id);
      record(`1. re-authorization during svc.refresh (${variant})`, 'active; the served token accepted');
    });

    it('scheduled refresh: the new authorization survives the late answer to the old refresh token', async () => {
      const id = await authorized();
      alipay.advance(340 * DAY);
      sim().controls.addFault({ route: TOKEN_APP_PATH, kind: 'latency', latencyMs: 1000, grantType: 'refresh_token', count: 1 });
      await reauthorizeDuring(id, sentRefreshes, () => scheduler().refreshDue());
      await settleAndJudge(id);
      record(`1. re-authorization during the scheduled refresh (${variant})`, 'active; the served token accepted');
    });

    it('checkStatus: a re-authorization is no cancellation', async () => {
      const id = await authorized();
      // The query is held; meanwhile the re-authorization makes the old token invalid, and the repair uses the old refresh token.
      sim().controls.addFault({ route: TOKEN_QUERY_PATH, kind: 'latency', latencyMs: 1000, count: 1 });
      await reauthorizeDuring(id, sentQueries, () => svc().checkStatus(id));
      await settleAndJudge(id);
      record(`1. re-authorization during checkStatus (${variant})`, 'active; the served token accepted');
    });
  });

  describe('2. a replayed open_app_auth_notify never moves a row backwards', () => {
    /** A genuine authorization message, handled, then the merchant refreshed: the stored pair is newer than the message's. */
    async function handledThenRefreshed(): Promise<{ id: string; genuine: Record<string, string>; refreshed: AlipayAuthorization }> {
      const id = newId();
      const sent = await sim().controls.notifyAuthorized(APP_ID, { authAppId: id });
      const notifyId = sent.notifications![0].notifyId;
      const genuine = sim()
        .controls.notifications()
        .find((n) => n.notifyId === notifyId)!.params;
      await expect(svc().handleNotification(genuine)).resolves.toMatchObject({ action: 'authorized', authAppId: id });
      const first = (await store().find(APP_ID, id))!;
      await svc().refresh(id);
      const refreshed = (await store().find(APP_ID, id))!;
      expect(refreshed.appAuthToken).not.toBe(first.appAuthToken);
      return { id, genuine, refreshed };
    }

    async function expectKept(id: string, refreshed: AlipayAuthorization): Promise<void> {
      const row = (await store().find(APP_ID, id))!;
      expect(row.appAuthToken).toBe(refreshed.appAuthToken);
      expect(row.status).toBe('active');
      expect(await merchantCall({ appAuthToken: row.appAuthToken })).toBe(ACCEPTED);
      expect(await merchantCall({ appAuthToken: await svc().getAppAuthToken(id) })).toBe(ACCEPTED);
    }

    it('with its notify_id hidden in the value before it (the signature still verifies)', async () => {
      const { id, genuine, refreshed } = await handledThenRefreshed();
      const tricked = hideNotifyId(genuine);
      expect(tricked.notify_id).toBeUndefined();
      expect(rsaVerify(loadPublicKey(sim().alipayPublicKeyPem), buildNotifySignContent(tricked), tricked.sign)).toBe(true);
      const result = await svc().handleNotification(tricked); // resolves: no signature error
      expect(result.action).toMatch(/^(stale|duplicate)$/);
      await expectKept(id, refreshed);
      record('2. replayed open_app_auth_notify, notify_id hidden in another value', `${result.action}; the refreshed pair kept and accepted`);
    });

    it('as sent, once the notify_id memory (30 days) has expired', async () => {
      const { id, genuine, refreshed } = await handledThenRefreshed();
      alipay.advance(31 * DAY);
      const result = await svc().handleNotification(genuine);
      expect(result.action).toMatch(/^(stale|duplicate)$/);
      await expectKept(id, refreshed);
      record('2. replayed open_app_auth_notify, 31 days later', `${result.action}; the refreshed pair kept and accepted`);
    });
  });

  describe('3a. a cancellation after an authorization stored by an instance whose clock is 5 minutes ahead', () => {
    it('naming the current token: cancels', async () => {
      const ahead = await instance(`ahead-${seq}`, { clock: () => alipay.clock() + 5 * MIN });
      const id = await authorized(ahead);
      const row = (await store().find(APP_ID, id))!;
      const { notification } = await sim().controls.cancelAuthorization(APP_ID, id);
      const message = sim()
        .controls.notifications()
        .find((n) => n.notifyId === notification!.notifyId)!.params;
      // What the simulator's cancellation carries: the token, and auth_time / utc_timestamp from Alipay's clock.
      expect(JSON.parse(message.biz_content).detail).toMatchObject({ auth_app_id: id, app_auth_token: row.appAuthToken });
      expect(Number(message.utc_timestamp)).toBeLessThan(row.authorizedAt.getTime());
      const result = await svc().handleNotification(message);
      expect(result).toMatchObject({ authAppId: id, action: 'cancelled' });
      expect((await store().find(APP_ID, id))!.status).toBe('cancelled');
      record('3a. cancellation naming the current token, authorization stored 5 min ahead', 'cancelled');
    });

    it('naming no token: at least a status check is requested', async () => {
      const ahead = await instance(`ahead-${seq}`, { clock: () => alipay.clock() + 5 * MIN });
      const id = await authorized(ahead);
      await svc().checkStatus(id);
      expect((await store().find(APP_ID, id))!.lastCheckedAt).not.toBeNull();
      const { notification } = await sim().controls.cancelAuthorization(APP_ID, id);
      const message = sim()
        .controls.notifications()
        .find((n) => n.notifyId === notification!.notifyId)!.params;
      // The cancellation's biz_content is UNCONFIRMED: the same message without the token, signed with Alipay's key.
      const biz = JSON.parse(message.biz_content);
      delete biz.detail.app_auth_token;
      const unsigned: Record<string, string> = { ...message, notify_id: `${message.notify_id}1`, biz_content: JSON.stringify(biz) };
      delete unsigned.sign;
      const result = await svc().handleNotification({ ...unsigned, sign: rsaSign(alipayKey, buildNotifySignContent(unsigned)) });
      const row = (await store().find(APP_ID, id))!;
      if (result.action === 'cancelled') expect(row.status).toBe('cancelled');
      else
        expect({ action: result.action, status: row.status, lastCheckedAt: row.lastCheckedAt }).toEqual({
          action: expect.anything(),
          status: 'active',
          lastCheckedAt: null,
        });
      record(
        '3a. cancellation naming no token, authorization stored 5 min ahead',
        `${result.action}${row.lastCheckedAt === null ? ', status check requested' : ''}`,
      );
    });
  });

  it('3b. a timed-out refresh and another process whose host clock is 5 minutes ahead: no two refreshes race', async () => {
    // Its own simulator on the real clock: the worker process shares no offset, and is given no `clock`.
    const live = await SimulatedAlipay.start({ tokenTtlSec: 3600, tokenOverlapMs: 0 });
    let worker: ChildProcess | undefined;
    try {
      const refresh = { refreshAheadMs: 2 * 3600_000, leaseMs: LEASE_MS, backoffBaseMs: MIN, statusCheckIntervalMs: 0, ratePerSecond: 1000 };
      const A = await instance(`live-a-${seq}`, { refresh }, false, live);
      const id = await authorized(A, APP_ID, newId(), live); // due at once: it lives 1 h, refreshed 2 h ahead
      worker = spawnRefreshWorker(
        {
          dataSource: db.options(),
          appId: APP_ID,
          privateKey: vectors.keys.app.privateKeyPkcs8Pem,
          alipayPublicKey: live.sim.alipayPublicKeyPem,
          gateway: live.sim.url,
          tokenEncryptionKeys: live.tokenKey,
          instanceId: 'ahead-process',
          timeoutMs: TIMEOUT_MS,
          hostClockSkewMs: 5 * MIN,
          refresh: { ...refresh, enabled: false },
        },
        { waitForGo: true },
      );
      let out = '';
      let err = '';
      worker.stdout!.on('data', (c) => (out += c));
      worker.stderr!.on('data', (c) => (err += c));
      await until(() => out.includes('ready') || worker!.exitCode !== null, 60_000, 'the worker to boot').catch((e) => {
        throw new Error(`${(e as Error).message}: ${err}`);
      });
      expect(worker.exitCode).toBeNull();

      // A's refresh times out; Alipay completes it 3 s later.
      const late = TIMEOUT_MS + 3000;
      live.sim.controls.addFault({ route: TOKEN_APP_PATH, kind: 'latency', latencyMs: late, grantType: 'refresh_token', count: 1 });
      const sentAt = Date.now();
      await expect(svc(A).refresh(id)).rejects.toMatchObject({ name: 'AlipayNetworkError', kind: 'timeout' });
      expect((await store(A).find(APP_ID, id))!.verifyAt).not.toBeNull();

      // The process ahead runs the scheduled refresh right after.
      worker.stdin!.write('go\n');
      await until(() => out.includes('done') || worker!.exitCode !== null, 30_000, 'the worker run').catch((e) => {
        throw new Error(`${(e as Error).message}: ${err}`);
      });
      const summary = JSON.parse(out.slice(out.indexOf('done ') + 5).split('\n')[0]);
      await sleep(Math.max(0, sentAt + late + 500 - Date.now())); // the late original has landed
      const stats = live.sim.controls.stats();
      expect({ refreshOverlaps: stats.refreshOverlaps, refreshes: stats.refreshesByMerchant[id] }).toEqual({ refreshOverlaps: 0, refreshes: 1 });

      // Verified once the original can no longer land, and the stored pair is the one Alipay accepts.
      live.advance(10 * MIN); // past any verification delay; still inside the simulator's timestamp window
      await scheduler(A).refreshDue();
      await expectServedAndAccepted(id, A);
      record('3b. timed-out refresh, another process 5 min ahead', `no overlapping refreshes (worker: claimed ${summary.claimed}); active, accepted`);
    } finally {
      if (worker && worker.exitCode === null) worker.kill('SIGKILL');
      await live.close();
    }
  });

  it('4. one row whose credential belongs to another app fails alone; the others are refreshed', async () => {
    const foreign = await plantForeignRow();
    const healthy = [await authorized(), await authorized(), await authorized()];
    alipay.advance(340 * DAY);
    const run1 = await instance(`one-bad-row-${seq}`, { refresh: { batchSize: 1, concurrency: 1 } });
    const run = await scheduler(run1).refreshDue();
    expect({ stopped: run.stoppedByConfigurationError, refreshed: run.refreshed }).toEqual({ stopped: false, refreshed: 3 });
    const row = (await store().find(APP_ID, foreign))!;
    expect(row).toMatchObject({ status: 'active', failureCount: 1, lastErrorCode: 'APP_ID_NOT_CONSISTENT', leaseOwner: null });
    expect(row.nextAttemptAt).not.toBeNull();
    const health = await run1.get(AlipayAuthHealthService).summary({ maxOverdue: 1000, maxFailingRatio: 1 });
    expect(health.configurationCircuit.open).toBe(false);
    expect(health.counts.failing).toBe(1);
    // Backing off: the next run does not take it again first (nor at all).
    expect((await scheduler(run1).refreshDue()).claimed).toBe(0);
    for (const id of healthy) {
      expect(refreshes(id)).toBe(1);
      await expectServedAndAccepted(id);
    }
    record('4. one row of another app (APP_ID_NOT_CONSISTENT)', 'the others refreshed; that row failing with back-off; circuit closed');
  });

  it.each([
    { code: 'missing-timestamp', status: 400 },
    { code: 'illegal-client-ip', status: 403 },
  ])('4b. a gateway code about the whole app ($code) opens the circuit and touches no row', async ({ code, status }) => {
    const ids = [await authorized(), await authorized(), await authorized()];
    alipay.advance(340 * DAY);
    const run1 = await instance(`gateway-${code}-${seq}`, { refresh: { batchSize: 1, concurrency: 1 } });
    sim().controls.addFault({ route: TOKEN_APP_PATH, kind: 'gateway-error', code, status, grantType: 'refresh_token' });
    const run = await scheduler(run1).refreshDue();
    expect(sim().controls.stats().errorsByCode[code]).toBeGreaterThanOrEqual(1);
    expect({ stopped: run.stoppedByConfigurationError, refreshed: run.refreshed }).toEqual({ stopped: true, refreshed: 0 });
    expect((await run1.get(AlipayAuthHealthService).summary({ maxOverdue: 1000 })).configurationCircuit).toMatchObject({ open: true, errorCode: code });
    const rows = (await Promise.all(ids.map((id) => store().find(APP_ID, id)))) as AlipayAuthorization[];
    for (const r of rows) expect(r).toMatchObject({ status: 'active', failureCount: 0, lastErrorCode: null, leaseOwner: null });
    record(`4b. gateway code ${code} (HTTP ${status}, unsigned)`, 'run stopped, circuit open, no row changed');
  });
});
