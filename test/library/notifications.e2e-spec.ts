/**
 * Alipay's messages (issue 10): idempotent by notify_id across instances, stale cancellations ignored,
 * tolerant of the unpublished cancellation shape, the receiving app checked wherever it is named, both
 * signature rules of the official Node SDK, and open_app_auth_notify stored like an exchange. Messages
 * come from the simulator (its message-service envelope), or are signed here with its Alipay key.
 */
import { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import fc from 'fast-check';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import {
  AlipayAuthModule,
  AlipayApiError,
  AlipayOpenApiClient,
  AlipayTokenRefreshScheduler,
  AlipayTokenService,
  AlipayTokenStore,
  escapeLogValue,
} from 'nestjs-alipay-auth';
import { buildNotifySignContent, loadPrivateKey, rsaSign } from 'nestjs-alipay-auth/protocol';
import { alipayAuthorizationsTable } from 'nestjs-alipay-auth/typeorm';
import { createIsolatedDatabase, IsolatedDatabase, testDatabaseEngines } from '../support/databases';
import { libraryTypeOrm } from '../support/library-on-simulator';
import { SimulatedAlipay, TEST_APP_ID as APP_ID } from '../support/simulated-alipay';
import { keyFile, vectors } from '../fixtures/vectors';

const DAY = 86_400_000;
const OTHER_APP_ID = '2021004100000002';
const alipayKey = loadPrivateKey(keyFile('alipay_private_pkcs8.pem'));

/** Signs like Alipay: the V1 rule (without sign_type), or V2 (sign_type kept). */
function sign(params: Record<string, string>, rule: 'v1' | 'v2' = 'v1'): Record<string, string> {
  const content = buildNotifySignContent(params, { keepSignType: rule === 'v2' });
  return { ...params, sign: rsaSign(alipayKey, content) };
}

function envelope(biz: unknown, extra: Record<string, string> = {}): Record<string, string> {
  return {
    notify_id: String(BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6))),
    utc_timestamp: String(Date.now()),
    msg_method: 'alipay.open.auth.appauth.cancelled',
    app_id: APP_ID,
    msg_type: 'sys',
    version: '1.1',
    charset: 'UTF-8',
    sign_type: 'RSA2',
    biz_content: JSON.stringify(biz),
    ...extra,
  };
}

describe.each(testDatabaseEngines())('notifications (%s)', (engine) => {
  let alipay: SimulatedAlipay;
  let db: IsolatedDatabase;
  let a: INestApplicationContext;
  let b: INestApplicationContext;
  let collector: Server;
  let seq = 0;
  const contexts: INestApplicationContext[] = [];

  async function instance(name: string, migrate = false, extra: Record<string, unknown> = {}): Promise<INestApplicationContext> {
    const ctx = await (
      await Test.createTestingModule({
        imports: [libraryTypeOrm(db, migrate), AlipayAuthModule.forRoot(alipay.moduleOptions({ instanceId: name, ...extra }))],
      }).compile()
    ).init();
    contexts.push(ctx);
    return ctx;
  }

  beforeAll(async () => {
    alipay = await SimulatedAlipay.start({ alipayPrivateKey: keyFile('alipay_private_pkcs8.pem') });
    // Alipay's notifications land here and are answered `success`; the tests hand them to the library.
    collector = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('success'));
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    const notifyUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/notify`;
    alipay.sim.controls.registerApp({ appId: APP_ID, publicKey: vectors.keys.app.publicKeySpkiPem, notifyUrl });
    alipay.sim.controls.registerApp({ appId: OTHER_APP_ID, publicKey: vectors.keys.app.publicKeySpkiPem, notifyUrl });
    db = await createIsolatedDatabase(engine, 'notifications');
    a = await instance('instance-a', true);
    b = await instance('instance-b');
  });

  afterAll(async () => {
    for (const ctx of contexts) await ctx.close();
    await new Promise((r) => collector?.close(r));
    await alipay?.close();
    await db?.drop();
  });

  const svc = (ctx = a) => ctx.get(AlipayTokenService);
  const store = (ctx = a) => ctx.get<AlipayTokenStore>(AlipayTokenStore);
  /** A cancellation envelope sent now by the simulator's clock. */
  const msg = (biz: unknown, extra: Record<string, string> = {}) => envelope(biz, { utc_timestamp: String(alipay.clock()), ...extra });
  const sent = (notifyId: string) => alipay.sim.controls.notifications().find((n) => n.notifyId === notifyId)!.params;

  async function authorized(appId = APP_ID, ctx = a): Promise<string> {
    const id = `20210066${String(++seq).padStart(8, '0')}`;
    const { app_auth_code } = alipay.sim.controls.authorize(appId, { authAppId: id });
    await svc(ctx).exchangeCode(app_auth_code);
    return id;
  }

  async function cancelAtAlipay(id: string, appId = APP_ID): Promise<Record<string, string>> {
    const res = await alipay.sim.controls.cancelAuthorization(appId, id);
    return sent(res.notification!.notifyId);
  }

  it('a replay after the merchant authorized again leaves the new authorization active, on every instance', async () => {
    const id = await authorized();
    const message = await cancelAtAlipay(id);
    await expect(svc().handleNotification(message)).resolves.toMatchObject({ handled: true, authAppId: id, action: 'cancelled' });
    const version = (await store().find(APP_ID, id))!.version;
    alipay.advance(1000);
    await authorized().then(() => undefined); // another merchant; keeps seq moving
    const { app_auth_code } = alipay.sim.controls.authorize(APP_ID, { authAppId: id });
    await svc().exchangeCode(app_auth_code);
    // Alipay resends (or someone replays) the captured message, to either instance, several times.
    for (const ctx of [a, b, a, b, b]) await expect(svc(ctx).handleNotification(message)).resolves.toMatchObject({ handled: true, action: 'duplicate' });
    const row = await store().find(APP_ID, id);
    expect(row).toMatchObject({ status: 'active', version: version + 1 });
    await expect(svc().getAppAuthToken(id)).resolves.toBeTruthy();
  });

  it('a cancellation older than the current authorization is stale even under a new notify_id', async () => {
    const id = await authorized();
    const before = Date.now() - 60_000; // sent before the merchant authorized (again)
    const message = sign(msg({ detail: { app_id: APP_ID, auth_app_id: id, auth_time: before } }, { utc_timestamp: String(before) }));
    await expect(svc().handleNotification(message)).resolves.toMatchObject({ action: 'stale', authAppId: id });
    expect((await svc().get(id))!.status).toBe('active');
  });

  it('finds the merchant at the top level, under detail, by msg_app_id, or by the token it carries', async () => {
    const shapes = [
      (id: string) => ({ biz: { auth_app_id: id } }),
      (id: string) => ({ biz: { detail: { auth_app_id: id } } }),
      (id: string) => ({ biz: {}, extra: { msg_app_id: id } }),
    ];
    for (const shape of shapes) {
      const id = await authorized();
      const { biz, extra } = { extra: {}, ...shape(id) };
      await expect(svc().handleNotification(sign(msg(biz, extra)))).resolves.toMatchObject({ action: 'cancelled', authAppId: id });
    }
    // Only the token: found through the keyed hash, without decrypting the table.
    const id = await authorized();
    const token = await svc().getAppAuthToken(id);
    const ds = a.get(DataSource);
    const [raw] = await ds.query(`SELECT token_hash FROM ${alipayAuthorizationsTable(ds)} WHERE auth_app_id = '${id}'`);
    expect(raw.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(raw.token_hash).not.toContain(token);
    await expect(svc().handleNotification(sign(msg({ app_auth_token: token })))).resolves.toMatchObject({ action: 'cancelled', authAppId: id });
  });

  it('an unidentifiable cancellation is acknowledged and settled by the status check', async () => {
    const id = await authorized();
    const userId = (await svc().get(id))!.userId!;
    await alipay.sim.controls.cancelAuthorization(APP_ID, id); // cancelled at Alipay
    // A shape nothing here knows: no ids, no token, only the merchant's user id in the envelope.
    const result = await svc().handleNotification(sign(msg({ something: 'else' }, { msg_uid: userId })));
    expect(result).toMatchObject({ handled: true, action: 'status-check-requested' });
    expect((await svc().get(id))!.status).toBe('active');
    const checks = await instance(`checker-${seq}`, false, { refresh: { enabled: false, statusCheckIntervalMs: DAY } });
    const run = await checks.get(AlipayTokenRefreshScheduler).refreshDue();
    expect(run.cancelledFound).toBeGreaterThanOrEqual(1);
    expect((await svc().get(id))!.status).toBe('cancelled');
  });

  it('a message for another app id, in detail or at the top, is verified and ignored', async () => {
    const id = await authorized();
    for (const [biz, extra] of [
      [{ detail: { app_id: OTHER_APP_ID, auth_app_id: id } }, {}],
      [{ auth_app_id: id }, { app_id: OTHER_APP_ID }],
    ] as const) {
      await expect(svc().handleNotification(sign(msg(biz, extra)))).resolves.toMatchObject({ handled: false, action: 'ignored' });
    }
    expect((await svc().get(id))!.status).toBe('active');
  });

  it('accepts a V2-signed message (sign_type in the signed content) as the official Node SDK does', async () => {
    const id = await authorized();
    await expect(svc().handleNotification(sign(msg({ auth_app_id: id }), 'v2'))).resolves.toMatchObject({ action: 'cancelled' });
  });

  it('open_app_auth_notify stores a usable authorization, once', async () => {
    const id = `20210066${String(++seq).padStart(8, '0')}`;
    const res = await alipay.sim.controls.notifyAuthorized(APP_ID, { authAppId: id });
    const message = sent(res.notifications![0].notifyId);
    expect(message).toMatchObject({ notify_type: 'open_app_auth_notify', status: 'execute_auth' });
    await expect(svc().handleNotification(message)).resolves.toMatchObject({ handled: true, action: 'authorized', authAppId: id });
    const row = await svc().get(id);
    expect(row).toMatchObject({ status: 'active' });
    expect(row!.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 300 * DAY);
    // The stored token works for merchant calls.
    const err = await a
      .get(AlipayOpenApiClient)
      .request({ method: 'POST', path: '/v3/alipay/trade/query', body: { out_trade_no: 'x' }, authAppId: id })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AlipayApiError);
    expect((err as AlipayApiError).code).toBe('ACQ.TRADE_NOT_EXIST');
    await expect(svc(b).handleNotification(message)).resolves.toMatchObject({ action: 'duplicate' });
  });

  it('escapes values from unauthenticated requests in log lines', () => {
    expect(escapeLogValue('1234\n[Nest] 1 - LOG forged')).toBe('"1234\\n[Nest] 1 - LOG forged"');
    expect(escapeLogValue(undefined)).toBe('-');
  });

  it('property: forged, truncated and reordered envelopes never change a row', async () => {
    const id = await authorized();
    const genuine = sign(msg({ detail: { app_id: APP_ID, auth_app_id: id } }));
    const ds = a.get(DataSource);
    const snapshot = async () => JSON.stringify(await ds.query(`SELECT * FROM ${alipayAuthorizationsTable(ds)} ORDER BY id`));
    const before = await snapshot();
    const keys = Object.keys(genuine).filter((k) => k !== 'sign');
    const mutation = fc.oneof(
      // A changed value (any field but the signature).
      fc.record({ kind: fc.constant('change' as const), key: fc.constantFrom(...keys), value: fc.string({ maxLength: 40 }) }),
      // A dropped field.
      fc.record({ kind: fc.constant('drop' as const), key: fc.constantFrom(...keys) }),
      // An added field.
      fc.record({ kind: fc.constant('add' as const), key: fc.stringMatching(/^[a-z_]{1,12}$/), value: fc.string({ minLength: 1, maxLength: 20 }) }),
      // A truncated or altered signature.
      fc.record({ kind: fc.constant('sign' as const), cut: fc.integer({ min: 0, max: 340 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.boolean(), async (mutations, reorder) => {
        let forged: Record<string, string> = { ...genuine };
        for (const m of mutations) {
          if (m.kind === 'change' && forged[m.key] !== m.value) forged[m.key] = m.value;
          else if (m.kind === 'drop' && forged[m.key] !== '') delete forged[m.key];
          else if (m.kind === 'add' && !(m.key in genuine)) forged[m.key] = m.value;
          else if (m.kind === 'sign') forged.sign = forged.sign.slice(0, m.cut) + (m.cut % 2 ? 'A' : '');
        }
        if (reorder) forged = Object.fromEntries(Object.entries(forged).reverse());
        // Some mutations leave the signed content as it was (dropping sign_type, reordering): still genuine, not a forgery.
        fc.pre(!(forged.sign === genuine.sign && buildNotifySignContent(forged) === buildNotifySignContent(genuine)));
        const outcome = await svc()
          .handleNotification(forged)
          .then(
            () => 'accepted',
            (e: unknown) => (e instanceof Error ? e.name : 'error'),
          );
        expect(outcome).toBe('AlipaySignatureError');
        expect(await snapshot()).toBe(before);
      }),
      { numRuns: 300 },
    );
    expect((await svc().get(id))!.status).toBe('active');
  });
});
