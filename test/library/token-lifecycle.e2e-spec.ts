import { INestApplicationContext } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import {
  AlipayApiError,
  AlipayAuthEvent,
  AlipayAuthModule,
  AlipayAuthorizationRequiredError,
  AlipayConfigError,
  AlipayInvalidInputError,
  AlipayOpenApiClient,
  AlipayTokenRefreshScheduler,
  AlipayTokenService,
} from 'nestjs-alipay-auth';
import { TOKEN_PATH as TOKEN_APP_PATH, QUERY_PATH as TOKEN_QUERY_PATH } from 'nestjs-alipay-auth/protocol';
import { ALIPAY_AUTH_ENTITIES, alipayAuthMigrations } from 'nestjs-alipay-auth/typeorm';
import { SimulatedAlipay, TEST_APP_ID as APP_ID } from '../support/simulated-alipay';
import { vectors } from '../fixtures/vectors';

const DAY = 24 * 3600 * 1000;

type Sim = SimulatedAlipay['sim'];

describe('Token lifecycle against the simulator', () => {
  let sim: Sim;
  let dbFile: string;
  let alipay: SimulatedAlipay;
  const apps: INestApplicationContext[] = [];

  async function instance(): Promise<INestApplicationContext> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        EventEmitterModule.forRoot(),
        TypeOrmModule.forRoot({
          type: 'better-sqlite3',
          database: dbFile,
          entities: ALIPAY_AUTH_ENTITIES,
          migrations: alipayAuthMigrations('better-sqlite3'),
          migrationsRun: true,
        }),
        AlipayAuthModule.forRoot(alipay.moduleOptions()),
      ],
    }).compile();
    const app = await moduleRef.init();
    apps.push(app);
    return app;
  }

  async function advance(ms: number) {
    alipay.advance(ms);
  }

  async function authorize(authAppId: string): Promise<string> {
    const { app_auth_code } = sim.controls.authorize(APP_ID, { authAppId });
    return app_auth_code;
  }

  let svc: AlipayTokenService;
  let client: AlipayOpenApiClient;
  const events: Array<[string, unknown]> = [];

  beforeAll(async () => {
    alipay = await SimulatedAlipay.start();
    sim = alipay.sim;
    dbFile = join(mkdtempSync(join(tmpdir(), 'alipay-auth-')), 'tokens.sqlite');
    const app = await instance();
    svc = app.get(AlipayTokenService);
    client = app.get(AlipayOpenApiClient);
    const emitter = app.get(EventEmitter2);
    for (const e of Object.values(AlipayAuthEvent)) emitter.on(e, (payload: unknown) => events.push([e, payload]));
  });

  afterAll(async () => {
    for (const a of apps) await a.close();
    await alipay?.close();
  });

  async function queryStatus(token: string): Promise<string | undefined> {
    const res = await client.request<{ status?: string }>({ method: 'GET', path: TOKEN_QUERY_PATH, query: { app_auth_token: token } });
    return res.status;
  }

  it('authorize → exchange → token → a year later refresh-ahead gives a new token', async () => {
    const code = await authorize('2021004100000101');
    const [info, ...rest] = await svc.exchangeCode(code);
    expect(rest).toHaveLength(0);
    expect(info).toMatchObject({ appId: APP_ID, authAppId: '2021004100000101', status: 'active' });
    expect(JSON.stringify(info)).not.toMatch(/app_auth_token|appRefreshToken|appAuthToken/);
    expect(events.some(([e]) => e === AlipayAuthEvent.Authorized)).toBe(true);

    const token = await svc.getAppAuthToken('2021004100000101');
    expect(await queryStatus(token)).toBe('valid');
    expect(info.maskedToken.startsWith(token.slice(0, 6))).toBe(true);
    expect(await svc.getAppAuthToken('2021004100000101')).toBe(token);

    await advance(300 * DAY); // not yet inside the 30-day window of a one-year token
    expect(await svc.getAppAuthToken('2021004100000101')).toBe(token);
    expect(sim.controls.stats().refreshesByMerchant['2021004100000101'] ?? 0).toBe(0);

    await advance(40 * DAY); // 340 days: inside the window
    const fresh = await svc.getAppAuthToken('2021004100000101');
    expect(fresh).not.toBe(token);
    expect(sim.controls.stats().refreshesByMerchant['2021004100000101']).toBe(1);
    expect(await queryStatus(fresh)).toBe('valid');
    expect(await queryStatus(token)).toBe('invalid');
    const after = await svc.get('2021004100000101');
    expect(after!.lastRefreshedAt!.getTime()).toBeGreaterThan(info.authorizedAt.getTime());
    expect(events.some(([e]) => e === AlipayAuthEvent.Refreshed)).toBe(true);
  });

  it('rejects a reused code and stores nothing new', async () => {
    const code = await authorize('2021004100000102');
    await svc.exchangeCode(code);
    const before = (await svc.list()).total;
    const err = await svc.exchangeCode(code).catch((e) => e);
    expect(err).toBeInstanceOf(AlipayApiError);
    expect(err).toMatchObject({ code: 'AUTH_CODE_NOT_VALID' });
    expect((await svc.list()).total).toBe(before);
  });

  it('a missing or malformed code or merchant id is AlipayInvalidInputError naming the field, and Alipay is not called', async () => {
    const sent = sim.controls.stats().requests.total;
    for (const code of [undefined, '', 'short', 'x'.repeat(129), 'abc def ghi']) {
      const err = await svc.exchangeCode(code as string).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AlipayInvalidInputError);
      expect(err).toMatchObject({ field: 'appAuthCode' });
    }
    for (const id of ['', 'a-b', '1'.repeat(33)]) {
      await expect(svc.getAppAuthToken(id)).rejects.toMatchObject({ name: 'AlipayInvalidInputError', field: 'authAppId' });
    }
    expect(sim.controls.stats().requests.total).toBe(sent);
  });

  it('in production proves the keys at start-up by default: a wrong Alipay key stops the boot, verifyOnBoot false still skips the call', async () => {
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    const build = (extra: Parameters<SimulatedAlipay['moduleOptions']>[0]) =>
      Test.createTestingModule({
        imports: [
          TypeOrmModule.forRoot({
            type: 'better-sqlite3',
            database: ':memory:',
            entities: ALIPAY_AUTH_ENTITIES,
            migrations: alipayAuthMigrations('better-sqlite3'),
            migrationsRun: true,
          }),
          // The app's own public key where Alipay's belongs: every answer fails verification.
          AlipayAuthModule.forRoot(alipay.moduleOptions({ alipayPublicKey: vectors.keys.alipay.publicKeySpkiPem, ...extra })),
        ],
      })
        .compile()
        .then((m) => m.init());
    try {
      const before = sim.controls.stats().requests.total;
      const err = await build({}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AlipayConfigError);
      expect((err as Error).message).toMatch(/Start-up self-check failed/);
      const checked = sim.controls.stats().requests.total;
      expect(checked).toBe(before + 1);
      const skipped = await build({ verifyOnBoot: false });
      await skipped.close();
      expect(sim.controls.stats().requests.total).toBe(checked);
    } finally {
      process.env.NODE_ENV = previous;
    }
  });

  it('stores every authorization of a batch (tokens[])', async () => {
    const { app_auth_code } = sim.controls.authorize(APP_ID, { authAppIds: ['2021004100000201', '2021004100000202', '2021004100000203'] });
    const infos = await svc.exchangeCode(app_auth_code);
    expect(infos.map((i) => i.authAppId).sort()).toEqual(['2021004100000201', '2021004100000202', '2021004100000203']);
    const tokens = await Promise.all(infos.map((i) => svc.getAppAuthToken(i.authAppId)));
    expect(new Set(tokens).size).toBe(3);
    for (const t of tokens) expect(await queryStatus(t)).toBe('valid');
  });

  it('stops serving a revoked authorization', async () => {
    await svc.exchangeCode(await authorize('2021004100000103'));
    await svc.getAppAuthToken('2021004100000103'); // cached
    await svc.revoke('2021004100000103');
    const err = await svc.getAppAuthToken('2021004100000103').catch((e) => e);
    expect(err).toBeInstanceOf(AlipayAuthorizationRequiredError);
    expect(err.message).toContain('revoked');
    expect((await svc.get('2021004100000103'))!.status).toBe('revoked');
    await expect(svc.getAppAuthToken('2021004100000999')).rejects.toBeInstanceOf(AlipayAuthorizationRequiredError);
  });

  it('50 concurrent callers over two instances cause exactly one refresh', async () => {
    const id = '2021004100000104';
    await svc.exchangeCode(await authorize(id));
    const other = (await instance()).get(AlipayTokenService);
    await other.getAppAuthToken(id); // both instances have it cached
    await advance(340 * DAY);
    const before = sim.controls.stats().refreshesByMerchant[id] ?? 0;
    const old = await svc.get(id);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? svc : other).getAppAuthToken(id)));
    expect(sim.controls.stats().refreshesByMerchant[id]).toBe(before + 1);
    const stored = await svc.getAppAuthToken(id);
    expect(await queryStatus(stored)).toBe('valid');
    // The instance that got the lease hands out the new token; the other never waits for it: while the
    // old token is valid, its callers get that one at once (a refused call reloads it, see below).
    const distinct = [...new Set(results)];
    expect(distinct).toContain(stored);
    expect(distinct.filter((t) => t !== stored).every((t) => t.startsWith(old!.maskedToken.slice(0, 6)) && t.endsWith(old!.maskedToken.slice(-3)))).toBe(true);
    expect(distinct.length).toBeLessThanOrEqual(2);
  });

  it('marks a dead refresh token as needing re-authorization, keeping the row', async () => {
    const id = '2021004100000105';
    await svc.exchangeCode(await authorize(id));
    await sim.controls.cancelAuthorization(APP_ID, id); // no notify URL: the message is "missed"
    await advance(340 * DAY);
    const err = await svc.getAppAuthToken(id).catch((e) => e);
    expect(err).toBeInstanceOf(AlipayAuthorizationRequiredError);
    const row = await svc.get(id);
    expect(row).toMatchObject({ status: 'reauthorization_required', lastErrorCode: 'REFRESH_TOKEN_NOT_VALID' });
    expect(row!.statusReason).toContain('REFRESH_TOKEN_NOT_VALID');
    expect(
      events.some(([e, p]) => e === AlipayAuthEvent.ReauthorizationRequired && (p as { authorization: { authAppId: string } }).authorization.authAppId === id),
    ).toBe(true);
  });

  it('finds a cancellation through the token query API', async () => {
    const id = '2021004100000106';
    await svc.exchangeCode(await authorize(id));
    expect((await svc.checkStatus(id)).alipayStatus).toBe('valid');
    await sim.controls.cancelAuthorization(APP_ID, id);
    const res = await svc.checkStatus(id);
    expect(res.alipayStatus).toBe('invalid');
    expect(res.authorization).toMatchObject({ status: 'cancelled' });
    await expect(svc.getAppAuthToken(id)).rejects.toBeInstanceOf(AlipayAuthorizationRequiredError);
  });

  it('handles the signed cancellation notification and refuses a forged one', async () => {
    const id = '2021004100000107';
    const received: Array<Record<string, string>> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push(Object.fromEntries(new URLSearchParams(body)));
        res.end('success');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      sim.controls.registerApp({
        appId: APP_ID,
        publicKey: vectors.keys.app.publicKeySpkiPem,
        notifyUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`,
      });
      await svc.exchangeCode(await authorize(id));
      await sim.controls.cancelAuthorization(APP_ID, id);
      expect(received).toHaveLength(1);
      const forged = { ...received[0], biz_content: received[0].biz_content.replace(id, '2021004100000101') };
      await expect(svc.handleNotification(forged)).rejects.toMatchObject({ name: 'AlipaySignatureError' });
      expect((await svc.get('2021004100000101'))!.status).toBe('active');
      await expect(svc.handleNotification(received[0])).resolves.toMatchObject({ handled: true, authAppId: id, action: 'cancelled' });
      expect((await svc.get(id))!.status).toBe('cancelled');
    } finally {
      server.close();
    }
  });

  it('lets callers pass authAppId instead of a raw token', async () => {
    const id = '2021004100000108';
    await svc.exchangeCode(await authorize(id));
    const token = await svc.getAppAuthToken(id);
    const res = await client.request<{ auth_app_id: string; status: string }>({
      method: 'GET',
      path: TOKEN_QUERY_PATH,
      query: { app_auth_token: token },
      authAppId: id,
    });
    expect(res).toMatchObject({ auth_app_id: id, status: 'valid' });
  });

  it('the scheduled run finds a cancellation whose message was missed (status check duty)', async () => {
    const id = '2021004100000110';
    await svc.exchangeCode(await authorize(id));
    await sim.controls.cancelAuthorization(APP_ID, id); // no notify URL registered for this check
    await advance(DAY + 1); // the exchange counted as a check; the next one is due a day later
    const summary = await apps[0].get(AlipayTokenRefreshScheduler).refreshDue();
    expect(summary.statusChecked).toBeGreaterThan(0);
    expect(summary.cancelledFound).toBeGreaterThanOrEqual(1);
    expect((await svc.get(id))!.status).toBe('cancelled');
    // Checked rows are not asked again until the interval has passed.
    const again = await apps[0].get(AlipayTokenRefreshScheduler).refreshDue();
    expect(again.statusChecked).toBe(0);
  });

  it('reloads a token another instance rotated when Alipay rejects the cached one, and resends', async () => {
    const id = '2021004100000111';
    await svc.exchangeCode(await authorize(id));
    const other = await instance();
    const otherClient = other.get(AlipayOpenApiClient);
    const stale = await other.get(AlipayTokenService).getAppAuthToken(id); // cached in the other instance
    await svc.refresh(id); // this instance rotates it; Alipay drops the old token
    const fresh = await svc.getAppAuthToken(id);
    expect(fresh).not.toBe(stale);
    const before = sim.controls.stats().errorsByCode['invalid-app-auth-token'] ?? 0;
    const res = await otherClient.request<{ status: string }>({ method: 'GET', path: TOKEN_QUERY_PATH, query: { app_auth_token: fresh }, authAppId: id });
    expect(res.status).toBe('valid');
    expect(sim.controls.stats().errorsByCode['invalid-app-auth-token']).toBe(before + 1); // the stale send was refused once
  });

  it('refuses to start in production without a token encryption key', async () => {
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      const build = Test.createTestingModule({
        imports: [
          TypeOrmModule.forRoot({ type: 'better-sqlite3', database: ':memory:', entities: ALIPAY_AUTH_ENTITIES }),
          AlipayAuthModule.forRoot(alipay.moduleOptions({ tokenEncryptionKeys: undefined })),
        ],
      }).compile();
      await expect(build).rejects.toThrow(/tokenEncryptionKeys/);
    } finally {
      process.env.NODE_ENV = previous;
    }
  });

  it('during an Alipay outage serves the unexpired token without a refresh storm, then refreshes after the back-off', async () => {
    const id = '2021004100000112';
    await svc.exchangeCode(await authorize(id));
    const token = await svc.getAppAuthToken(id);
    await advance(340 * DAY);
    const refreshCalls = () => sim.controls.stats().requests.byGrantType.refresh_token;
    const before = refreshCalls();
    sim.controls.addFault({ route: TOKEN_APP_PATH, kind: 'http-500', grantType: 'refresh_token' });
    try {
      const results = await Promise.all(Array.from({ length: 20 }, () => svc.getAppAuthToken(id)));
      for (let i = 0; i < 50; i++) results.push(await svc.getAppAuthToken(id));
      expect(new Set(results)).toEqual(new Set([token]));
      expect(refreshCalls()).toBe(before + 1);
      expect(await svc.get(id)).toMatchObject({ status: 'active', failureCount: 1, lastErrorCode: 'unknow-error' });
    } finally {
      sim.controls.clearFaults();
    }
    await advance(2 * 60_000); // past the first back-off (1 min ± 20 %)
    const fresh = await svc.getAppAuthToken(id);
    expect(fresh).not.toBe(token);
    expect(await svc.get(id)).toMatchObject({ failureCount: 0, lastErrorCode: null });
  });

  it('keeps no plaintext token in the database', async () => {
    const id = '2021004100000109';
    await svc.exchangeCode(await authorize(id));
    const token = await svc.getAppAuthToken(id);
    const ds = apps[0].get<DataSource>(getDataSourceToken());
    const rows: Array<Record<string, unknown>> = await ds.query('SELECT * FROM alipay_app_authorizations');
    const dump = JSON.stringify(rows);
    expect(dump).toContain(id);
    expect(dump).not.toContain(token);
    expect(dump).not.toContain(token.slice(8, 40));
  });
});
