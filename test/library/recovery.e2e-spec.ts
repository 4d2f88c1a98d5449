/**
 * Recovery from ambiguous outcomes (issue 9), on every engine, against the simulator in its strict
 * variant (a superseded app_auth_token dies at once) and its kind one (it keeps working for a while):
 * Alipay's overlap is not published, so the library must be right under both.
 *
 * Every scenario ends with the same check, made AT THE SIMULATOR: the stored token is the one Alipay
 * currently accepts (in the kind variant, still accepted once any overlap has run out), the row is active
 * with no stale failure, and nothing was refreshed more often than the scenario needs.
 */
import { INestApplicationContext } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { DataSource } from 'typeorm';
import {
  AlipayApiError,
  AlipayAuthEvent,
  AlipayAuthHealthService,
  AlipayAuthModuleOptions,
  AlipayAuthorizationRequiredError,
  AlipayConfigError,
  AlipayTokenReencryption,
  AlipayTokenRefreshScheduler,
  AlipayTokenService,
  AlipayTokenStore,
  AlipayTokenUnreadableError,
} from 'nestjs-alipay-auth';
import { TOKEN_PATH as TOKEN_APP_PATH } from 'nestjs-alipay-auth/protocol';
import { resolveAlipayAuthConfig } from 'nestjs-alipay-auth/alipay-auth.config';
import { alipayAuthorizationsTable, TypeOrmAlipayTokenStore } from 'nestjs-alipay-auth/typeorm';
import { randomBytes } from 'node:crypto';
import { createIsolatedDatabase, IsolatedDatabase, testDatabaseEngines } from '../support/databases';
import { ACCEPTED, DAY, LEASE_MS, MIN, OTHER_APP_ID, TIMEOUT_MS } from '../support/library-on-simulator';
import { authorizeMerchant, clearAuthorizations, merchantCall as callAsMerchant, resultsTable, startInstance } from '../support/library-on-simulator';
import { copyAuthorization, SimulatedAlipay, TEST_APP_ID as APP_ID } from '../support/simulated-alipay';
import { vectors } from '../fixtures/vectors';

const OVERLAP_MS = 10 * MIN;

const VARIANTS = [
  { name: 'strict', tokenOverlapMs: 0 },
  { name: 'kind', tokenOverlapMs: OVERLAP_MS },
] as const;

/** docs/reliability.md's table: one row per scenario, one column per engine and simulator variant (blank: not passed). */
const recordResult = resultsTable('recovery');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(testDatabaseEngines())('recovery from ambiguous outcomes (%s)', (engine) => {
  describe.each(VARIANTS)('$name simulator', ({ name: variant, tokenOverlapMs }) => {
    let alipay: SimulatedAlipay;
    let db: IsolatedDatabase;
    let seq = 0;
    const contexts: INestApplicationContext[] = [];
    const events: Array<[string, any]> = [];
    let a: INestApplicationContext;
    const sim = () => alipay.sim;

    async function instance(name: string, extra: Partial<AlipayAuthModuleOptions> = {}, migrate = false): Promise<INestApplicationContext> {
      const ctx = await startInstance(db, alipay, name, extra, migrate);
      contexts.push(ctx);
      const emitter = ctx.get(EventEmitter2);
      for (const e of Object.values(AlipayAuthEvent)) emitter.on(e, (p: unknown) => events.push([e, p]));
      return ctx;
    }

    beforeAll(async () => {
      alipay = await SimulatedAlipay.start({ tokenOverlapMs });
      sim().controls.registerApp({ appId: OTHER_APP_ID, publicKey: vectors.keys.app.publicKeySpkiPem });
      db = await createIsolatedDatabase(engine, `recovery-${variant}`);
      a = await instance('instance-a', {}, true);
    });

    afterAll(async () => {
      for (const ctx of contexts) await ctx.close();
      await alipay?.close();
      await db?.drop();
    });

    afterEach(() => sim().controls.clearFaults());

    beforeEach(() => clearAuthorizations(a));

    const svc = (ctx = a) => ctx.get(AlipayTokenService);
    const store = (ctx = a) => ctx.get<AlipayTokenStore>(AlipayTokenStore);
    const scheduler = (ctx = a) => ctx.get(AlipayTokenRefreshScheduler);
    const refreshes = (id: string) => sim().controls.stats().refreshesByMerchant[id] ?? 0;
    const record = (scenario: string, result: string) => recordResult(`${engine} ${variant}`, scenario, result);

    async function authorized(ctx = a, appId = APP_ID): Promise<string> {
      return authorizeMerchant(ctx, alipay, appId, `20210077${String(++seq).padStart(8, '0')}`);
    }

    const merchantCall = (target: { authAppId: string } | { appAuthToken: string }, ctx = a) => callAsMerchant(ctx, target, 'recovery-check');

    /** The stored pair is what Alipay accepts now (and still once any overlap of an older token has run out); the row is clean. */
    async function expectRepaired(id: string): Promise<void> {
      const row = await store().find(APP_ID, id);
      expect(row).toMatchObject({ status: 'active', failureCount: 0, lastErrorCode: null, nextAttemptAt: null, verifyAt: null, unreadable: null });
      expect(await merchantCall({ appAuthToken: row!.appAuthToken })).toBe(ACCEPTED);
      if (tokenOverlapMs > 0) {
        alipay.advance(tokenOverlapMs + 1);
        expect(await merchantCall({ appAuthToken: row!.appAuthToken })).toBe(ACCEPTED);
      }
      expect(await merchantCall({ authAppId: id })).toBe(ACCEPTED);
    }

    describe.each([
      { fault: 'drop-after-issue' as const, what: 'connection dropped after Alipay issued' },
      { fault: 'bad-signature' as const, what: 'unverifiable answer' },
      { fault: 'latency' as const, what: 'timeout, completed late at Alipay' },
    ])('1. lost answer ($what), then the status check', ({ fault }) => {
      it('never cancels a merchant whose refresh token works; the pair is repaired', async () => {
        const id = await authorized();
        alipay.advance(340 * DAY);
        sim().controls.addFault({ route: TOKEN_APP_PATH, kind: fault, grantType: 'refresh_token', count: 1, latencyMs: TIMEOUT_MS + 300 });
        const withChecks = await instance(`checker-${seq}`, { refresh: { statusCheckIntervalMs: DAY } });
        const run = await scheduler(withChecks).refreshDue();
        if (fault === 'latency') await sleep(400); // the late original lands at Alipay
        expect(run.failed).toBe(1);
        expect(run.cancelledFound).toBe(0);
        // The same run's status check found the stored token refused (strict) and repaired it at once,
        // or found it still accepted (kind): never a cancellation.
        expect(await svc().get(id)).toMatchObject({ status: 'active' });
        alipay.advance(2 * MIN);
        await scheduler(withChecks).refreshDue();
        await expectRepaired(id);
        expect(refreshes(id)).toBe(2);
        expect(events.some(([e, p]) => e === AlipayAuthEvent.Recovered && p.authorization.authAppId === id)).toBe(true);
        record(`1. lost answer (${fault}), then the status check`, 'active, repaired with the stored refresh token (2 refreshes at Alipay)');
      });
    });

    it('2. a timed-out refresh completing late at Alipay: not resent, verified, repaired', async () => {
      const id = await authorized();
      const sent = () => sim().controls.stats().requests.byGrantType.refresh_token;
      const before = sent();
      sim().controls.addFault({ route: TOKEN_APP_PATH, kind: 'latency', latencyMs: TIMEOUT_MS + 300, grantType: 'refresh_token', count: 1 });
      await expect(svc().refresh(id)).rejects.toMatchObject({ name: 'AlipayNetworkError', kind: 'timeout' });
      expect(sent()).toBe(before + 1); // never resent: a resend would race its own late original
      await sleep(400);
      expect(refreshes(id)).toBe(1); // ...which has now rotated the pair at Alipay
      expect(await svc().get(id)).toMatchObject({ status: 'active', lastErrorCode: 'network-timeout' });
      expect((await store().find(APP_ID, id))!.verifyAt).not.toBeNull();
      // A merchant call meanwhile: the stored token is refused (strict) and repaired on the spot, or still accepted (kind).
      expect(await merchantCall({ authAppId: id })).toBe(ACCEPTED);
      alipay.advance(2 * MIN);
      const run = await scheduler().refreshDue();
      expect(run.failed).toBe(0);
      await expectRepaired(id);
      expect((await a.get(AlipayAuthHealthService).summary({ maxOverdue: 1000 })).counts.verifying).toBe(0);
      record('2. timed-out refresh, late completion', `active; ${refreshes(id)} refreshes at Alipay, none resent`);
    });

    it('3. a failed forced refresh of a merchant that is not due is retried after its back-off', async () => {
      const id = await authorized();
      sim().controls.addFault({ route: TOKEN_APP_PATH, kind: 'rate-limit', grantType: 'refresh_token', count: 1 });
      await expect(svc().refresh(id)).rejects.toBeInstanceOf(AlipayApiError);
      expect(await svc().get(id)).toMatchObject({ failureCount: 1, lastErrorCode: 'app-call-limited' });
      expect((await store().find(APP_ID, id))!.verifyAt).toBeNull(); // refused before anything happened: nothing in doubt
      expect((await scheduler().refreshDue()).claimed).toBe(0); // backing off
      alipay.advance(2 * MIN);
      const run = await scheduler().refreshDue();
      expect(run.refreshed).toBe(1);
      await expectRepaired(id);
      expect(refreshes(id)).toBe(1);
      record('3. failed forced refresh, not due', 'retried after the back-off, active');
    });

    it('4. an instance whose clock is 10 minutes ahead never takes a live lease', async () => {
      const id = await authorized();
      alipay.advance(340 * DAY);
      const ahead = await instance(`ahead-${seq}`, { clock: () => alipay.clock() + 10 * MIN, refresh: { leaseMs: LEASE_MS } });
      sim().controls.addFault({ route: TOKEN_APP_PATH, kind: 'latency', latencyMs: 600, grantType: 'refresh_token', count: 1 });
      const slow = scheduler().refreshDue();
      await sleep(250); // a's refresh of the merchant is in flight, under its lease
      const [runA, runAhead] = await Promise.all([slow, scheduler(ahead).refreshDue()]);
      expect(runA.refreshed + runAhead.refreshed).toBe(1);
      expect(refreshes(id)).toBe(1);
      await expectRepaired(id);
      // A lease shorter than the longest refresh call is refused at boot, naming the option.
      expect(() => resolveAlipayAuthConfig({ ...alipay.moduleOptions(), timeoutMs: 10_000, retries: 1, refresh: { leaseMs: 15_000 } })).toThrow(
        AlipayConfigError,
      );
      expect(() => resolveAlipayAuthConfig({ ...alipay.moduleOptions(), timeoutMs: 10_000, retries: 1, refresh: { leaseMs: 15_000 } })).toThrow(
        /refresh\.leaseMs/,
      );
      record('4. clock skew of 10 min between instances', 'refreshed once; short lease refused at boot');
    });

    it("5. a crashed instance's lease never blocks callers", async () => {
      const id = await authorized();
      const token = await svc().getAppAuthToken(id);
      alipay.advance(340 * DAY); // due, still valid
      const other = await instance(`caller-${seq}`, { cacheTtlMs: 0 });
      expect(await store().tryLease(APP_ID, id, { owner: 'crashed-instance', ms: LEASE_MS })).not.toBeNull();
      const durations: number[] = [];
      for (let i = 0; i < 10; i++) {
        const started = Date.now();
        expect(await svc(other).getAppAuthToken(id)).toBe(token);
        durations.push(Date.now() - started);
      }
      expect(Math.max(...durations)).toBeLessThan(1000);
      expect(await merchantCall({ authAppId: id }, other)).toBe(ACCEPTED);
      expect(refreshes(id)).toBe(0);

      // Known dead (expired), the holder silent for longer than one call: the caller takes over at once.
      alipay.advance(26 * DAY);
      expect(await store().tryLease(APP_ID, id, { owner: 'crashed-instance', ms: LEASE_MS })).not.toBeNull();
      await sleep(LEASE_MS - 1500); // silent longer than the longest call, lease still live
      const started = Date.now();
      const fresh = await svc(other).getAppAuthToken(id);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(fresh).not.toBe(token);
      expect(refreshes(id)).toBe(1);
      await expectRepaired(id);
      record("5. crashed instance's lease", `valid token served in <= ${Math.max(...durations)} ms; dead one taken over in ${Date.now() - started} ms`);
    });

    it('6. one unreadable row is skipped and shown; the others are refreshed, listed and counted', async () => {
      const ids = [await authorized(), await authorized(), await authorized()];
      alipay.advance(340 * DAY);
      const ds = a.get(DataSource);
      const [sql, params] = ds.driver.escapeQueryWithParameters(
        `UPDATE ${alipayAuthorizationsTable(ds)} SET app_auth_token_enc = :bad WHERE app_id = :appId AND auth_app_id = :id`,
        { bad: `v1.gone.${randomBytes(12).toString('base64url')}.AAAA.${randomBytes(16).toString('base64url')}`, appId: APP_ID, id: ids[1] },
      );
      await ds.query(sql, params);
      const run = await scheduler().refreshDue();
      expect(run).toMatchObject({ unreadable: 1, failed: 0 });
      expect(run.refreshed).toBeGreaterThanOrEqual(2);
      // Not re-claimed every run: it backs off like a failure.
      expect((await scheduler().refreshDue()).unreadable).toBe(0);
      for (const id of [ids[0], ids[2]]) await expectRepaired(id);
      const page = await svc().list({ authAppIds: ids });
      expect(page.total).toBe(3);
      expect(page.items.find((i) => i.authAppId === ids[1])!.unreadable).toMatch(/unknown-key.*"gone"/);
      expect(JSON.stringify(page)).not.toMatch(/app_?[Rr]efresh_?[Tt]oken"/);
      await expect(svc().getAppAuthToken(ids[1])).rejects.toBeInstanceOf(AlipayTokenUnreadableError);
      expect((await svc().stats()).unreadable).toBe(1);
      const health = await a.get(AlipayAuthHealthService).summary({ maxOverdue: 1000 });
      expect(health.status).toBe('down');
      expect(health.problems.join()).toMatch(/cannot be decrypted/);
      expect(events.some(([e, p]) => e === AlipayAuthEvent.RowUnreadable && p.authorization.authAppId === ids[1])).toBe(true);
      expect(await (store() as TypeOrmAlipayTokenStore).countUnknownKeyRows(APP_ID)).toBe(1);
      record('6. one unreadable row', 'skipped and reported; the others refreshed; list, stats, health work');
    });

    it('6b. rows under a key dropped too early come back once the key is restored and are re-encrypted', async () => {
      const oldKey = randomBytes(32).toString('base64');
      const writer = await instance(`old-key-${seq}`, { tokenEncryptionKeys: [{ id: 'k-old', key: oldKey }] });
      const id = await authorized(writer);
      expect((await svc().get(id))!.unreadable).toMatch(/k-old/);
      const both = await instance(`both-keys-${seq}`, {
        tokenEncryptionKeys: [
          { id: 'k1', key: alipay.tokenKey },
          { id: 'k-old', key: oldKey },
        ],
      });
      const report = await both.get(AlipayTokenReencryption).run({ batchSize: 2 });
      expect(report.rewritten).toBeGreaterThanOrEqual(1);
      expect(report.unreadable).toBe(0);
      expect((await svc().get(id))!.unreadable).toBeNull(); // readable with the current key alone
      expect(await merchantCall({ authAppId: id })).toBe(ACCEPTED);
      record('6b. key dropped too early', 'readable after restoring it; re-encrypted to the current key');
    });

    it('7. configuration errors stop the run and touch no merchant', async () => {
      const otherApp = await instance(`other-app-${seq}`, { appId: OTHER_APP_ID });
      // The deployment points app A at rows whose credentials belong to app B (one wrong app id): every
      // row answers APP_ID_NOT_CONSISTENT. One such row alone is that row's problem (row-integrity suite).
      const foreign: string[] = [];
      for (let i = 0; i < 3; i++) {
        const id = await authorized(otherApp, OTHER_APP_ID);
        await copyAuthorization(store(otherApp), OTHER_APP_ID, store(), APP_ID, id);
        foreign.push(id);
      }
      const mine = await authorized();
      alipay.advance(340 * DAY);
      const checks = await instance(`config-${seq}`, { refresh: { statusCheckIntervalMs: DAY, batchSize: 1, concurrency: 1 } });
      const run = await scheduler(checks).refreshDue();
      expect(run.stoppedByConfigurationError).toBe(true);
      expect(run.reauthorizationRequired + run.cancelledFound).toBe(0);
      // The first rows were each taken for a data problem of their own (recorded, backing off); the third
      // distinct one opened the circuit and was left as it was.
      const rows = await Promise.all(foreign.map((id) => store().find(APP_ID, id)));
      expect(rows.map((r) => r!.status)).toEqual(['active', 'active', 'active']);
      expect(rows.map((r) => r!.failureCount).sort()).toEqual([0, 1, 1]);
      expect(rows.every((r) => r!.leaseOwner === null)).toBe(true);
      expect(await svc().get(mine)).toMatchObject({ status: 'active', failureCount: 0 });
      expect(events.some(([e, p]) => e === AlipayAuthEvent.ConfigurationError && p.errorCode === 'APP_ID_NOT_CONSISTENT')).toBe(true);
      const health = await checks.get(AlipayAuthHealthService).summary({ maxOverdue: 1000 });
      expect(health.configurationCircuit).toMatchObject({ open: true, errorCode: 'APP_ID_NOT_CONSISTENT' });
      expect(health.status).toBe('down');
      // The query's AUTH_TOKEN_NOT_CONSISTENT is no cancellation either.
      const status = await svc(checks)
        .checkStatus(foreign[2])
        .catch((e: unknown) => e);
      expect(status).toMatchObject({ code: 'AUTH_TOKEN_NOT_CONSISTENT' });
      expect((await svc().get(foreign[2]))!.status).toBe('active');
      // A call that succeeds closes the circuit.
      await svc(checks).refresh(mine);
      expect((await checks.get(AlipayAuthHealthService).summary({ maxOverdue: 1000 })).configurationCircuit.open).toBe(false);
      record(
        '7. configuration error (every row APP_ID_NOT_CONSISTENT, AUTH_TOKEN_NOT_CONSISTENT)',
        'circuit open at the 3rd distinct row, run stopped, no row cancelled; closed by the next success',
      );
    });

    it('real loss is still reported: a dead refresh token needs re-authorization; a cancellation cancels', async () => {
      const dead = await authorized();
      const cancelled = await authorized();
      await sim().controls.cancelAuthorization(APP_ID, cancelled);
      alipay.advance(373 * DAY); // past re_expires_in (372 days) without a refresh
      await scheduler().refreshDue();
      expect(await svc().get(dead)).toMatchObject({ status: 'reauthorization_required', lastErrorCode: 'REFRESH_TOKEN_TIME_OUT' });
      await expect(svc().getAppAuthToken(dead)).rejects.toBeInstanceOf(AlipayAuthorizationRequiredError);

      const live = await authorized();
      await sim().controls.cancelAuthorization(APP_ID, live);
      const check = await svc().checkStatus(live);
      expect(check).toMatchObject({ alipayStatus: 'invalid', outcome: 'cancelled', authorization: { status: 'cancelled' } });
      record('real loss (dead refresh token; cancellation)', 'reauthorization_required; cancelled');
    });
  });
});
