/**
 * One test per confirmed fact of the protocol doc (§9), each against the simulator's faithful defaults,
 * plus the stricter variants that stay available through `controls.configure` for negative tests.
 * Calls are signed by hand at the simulator clock, so the clock can move by months.
 */
import { AlipaySdk } from 'alipay-sdk';
import request from 'supertest';
import { buildNotifySignContent, loadPrivateKey, loadPublicKey, rsaVerify } from 'nestjs-alipay-auth/protocol';
import { AlipaySimulator, QUERY_PATH, startAlipaySimulator, TOKEN_PATH, TRADE_QUERY_PATH } from 'nestjs-alipay-auth-simulator';
import { vectors } from '../fixtures/vectors';
import { RawResponse, signedRequest, startNotifyReceiver } from '../fixtures/simulator/wire';

const APP = '2021004100000001';
const SELF_APP = '2021004100000009'; // a self-developed app, not a third-party one
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const TOKEN_RE = /^\d{6}BB[0-9a-f]{29}[A-Z]\d{2}$/;
const CODE_RE = /^[0-9a-f]{29}[A-Z]\d{2}$/;

const appPrivate = loadPrivateKey(vectors.keys.app.privateKeyPkcs8Pem);
const appPublicPem: string = vectors.keys.app.publicKeySpkiPem;

let sim: AlipaySimulator;

beforeAll(async () => {
  sim = await startAlipaySimulator({
    apps: [
      { appId: APP, publicKey: appPublicPem },
      { appId: SELF_APP, publicKey: appPublicPem, isv: false },
    ],
  });
});
afterAll(() => sim.close());
beforeEach(() => sim.controls.reset()); // also undoes configure()

const json = (r: RawResponse) => JSON.parse(r.body);

function call(o: { appId?: string; method?: string; uri?: string; body?: unknown; appAuthToken?: string }) {
  return signedRequest(sim.url, {
    appId: o.appId ?? APP,
    key: appPrivate,
    method: o.method ?? 'POST',
    uri: o.uri ?? TOKEN_PATH,
    body: o.body === undefined ? '' : JSON.stringify(o.body),
    timestamp: sim.controls.now(),
    appAuthToken: o.appAuthToken,
  });
}

const exchange = async (code: string) => call({ body: { grant_type: 'authorization_code', code } });
const refresh = async (refreshToken: string) => call({ body: { grant_type: 'refresh_token', refresh_token: refreshToken } });
const query = async (token: string) => json(await call({ method: 'GET', uri: `${QUERY_PATH}?app_auth_token=${token}` }));
const codeOf = (r: RawResponse) => [r.status, json(r).code];

async function authorizedPair(authAppId = '2021000000000301') {
  const r = await exchange(sim.controls.authorize(APP, { authAppId }).app_auth_code);
  expect(r.status).toBe(200);
  return json(r);
}

describe('codes', () => {
  it("a single authorization's code lives 24 h, a batch authorization's 10 minutes", async () => {
    const single = sim.controls.authorize(APP).app_auth_code;
    const batch = sim.controls.authorize(APP, { authAppIds: ['2021000000000311', '2021000000000312'] }).app_auth_code;
    const batchOfOne = sim.controls.authorize(APP, { authAppId: '2021000000000313', batch: true }).app_auth_code;
    sim.controls.advanceClock(10 * MINUTE + 1000);
    expect(codeOf(await exchange(batch))).toEqual([400, 'AUTH_CODE_NOT_VALID']);
    expect(codeOf(await exchange(batchOfOne))).toEqual([400, 'AUTH_CODE_NOT_VALID']);
    expect((await exchange(single)).status).toBe(200);

    const young = sim.controls.authorize(APP, { applicationType: 'TINYAPP,WEBAPP', authAppIds: ['2021000000000314'] }).app_auth_code;
    sim.controls.advanceClock(9 * MINUTE);
    expect((await exchange(young)).status).toBe(200);
  });

  it('are 32 characters and tokens 40, in the shape of real ones', async () => {
    const { app_auth_code } = sim.controls.authorize(APP);
    expect(app_auth_code).toHaveLength(32);
    expect(app_auth_code).toMatch(CODE_RE);
    const t = json(await exchange(app_auth_code));
    for (const token of [t.app_auth_token, t.app_refresh_token]) {
      expect(token).toHaveLength(40);
      expect(token).toMatch(TOKEN_RE);
    }
  });
});

describe('token call answers', () => {
  it('sends expires_in / re_expires_in as JSON numbers by default, as strings on request', async () => {
    const n = await authorizedPair('2021000000000321');
    expect(n).toMatchObject({ expires_in: 31_536_000, re_expires_in: 32_140_800 });
    expect(n.tokens[0]).toMatchObject({ expires_in: 31_536_000, re_expires_in: 32_140_800 });
    sim.controls.configure({ durationsAs: 'string' });
    const s = await authorizedPair('2021000000000322');
    expect(s).toMatchObject({ expires_in: '31536000', re_expires_in: '32140800' });
    expect(json(await refresh(s.app_refresh_token)).tokens[0]).toMatchObject({ expires_in: '31536000', re_expires_in: '32140800' });
  });

  it('answers only tokens[] when tokensOnly is set, and the official SDK takes it as is', async () => {
    sim.controls.configure({ tokensOnly: true });
    const { app_auth_code } = sim.controls.authorize(APP, { authAppId: '2021000000000323' });
    const sdk = new AlipaySdk({
      appId: APP,
      privateKey: vectors.keys.app.privateKeyPkcs8Pem,
      alipayPublicKey: sim.alipayPublicKeyPem,
      endpoint: sim.url,
      keyType: 'PKCS8',
    });
    const data = (await sdk.curl<any>('POST', TOKEN_PATH, { body: { grant_type: 'authorization_code', code: app_auth_code } })).data;
    expect(Object.keys(data)).toEqual(['tokens']);
    expect(data.tokens[0]).toMatchObject({ auth_app_id: '2021000000000323', expires_in: 31_536_000 });
    expect(Object.keys(json(await refresh(data.tokens[0].app_refresh_token)))).toEqual(['tokens']);
  });
});

describe('after a refresh or a re-authorization', () => {
  it('the old refresh token keeps working until its own re_expires_in', async () => {
    const first = await authorizedPair('2021000000000331');
    sim.controls.advanceClock(100 * DAY);
    const second = json(await refresh(first.app_refresh_token));
    sim.controls.advanceClock(200 * DAY);
    const third = await refresh(first.app_refresh_token); // superseded 200 days ago, issued 300 days ago
    expect(third.status).toBe(200);
    expect(json(third).app_auth_token).not.toBe(second.app_auth_token);
    sim.controls.advanceClock(72 * DAY + 1000); // 372 days after `first` was issued
    expect(codeOf(await refresh(first.app_refresh_token))).toEqual([400, 'REFRESH_TOKEN_TIME_OUT']);
    expect((await refresh(second.app_refresh_token)).status).toBe(200);
  });

  it('the old app_auth_token stops at once by default, and works for tokenOverlapMs when configured', async () => {
    const first = await authorizedPair('2021000000000332');
    const second = json(await refresh(first.app_refresh_token));
    expect((await query(first.app_auth_token)).status).toBe('invalid');

    sim.controls.configure({ tokenOverlapMs: 5 * MINUTE });
    const third = json(await refresh(second.app_refresh_token));
    expect((await query(second.app_auth_token)).status).toBe('valid');
    expect((await query(third.app_auth_token)).status).toBe('valid');
    sim.controls.advanceClock(5 * MINUTE);
    expect((await query(second.app_auth_token)).status).toBe('invalid');
  });

  it('a re-authorization issues a new pair; the old refresh token then refreshes the current authorization', async () => {
    sim.controls.configure({ tokenOverlapMs: MINUTE });
    const old = await authorizedPair('2021000000000333');
    const fresh = await authorizedPair('2021000000000333');
    expect(fresh.app_auth_token).not.toBe(old.app_auth_token);
    expect((await query(old.app_auth_token)).status).toBe('valid'); // inside the overlap
    const viaOld = json(await refresh(old.app_refresh_token));
    expect(viaOld.auth_app_id).toBe('2021000000000333');
    expect((await query(viaOld.app_auth_token)).status).toBe('valid');
    sim.controls.advanceClock(MINUTE);
    expect((await query(fresh.app_auth_token)).status).toBe('invalid'); // superseded by viaOld a minute ago

    sim.controls.configure({ refreshGraceMs: 0 }); // the strict variant: superseded refresh tokens die at once
    expect(codeOf(await refresh(fresh.app_refresh_token))).toEqual([400, 'REFRESH_TOKEN_NOT_VALID']);
  });
});

describe('token query', () => {
  it('reports expires_in as the issued 31536000, not a countdown', async () => {
    const t = await authorizedPair('2021000000000341');
    sim.controls.advanceClock(100 * DAY);
    const q = await query(t.app_auth_token);
    expect(q).toMatchObject({ status: 'valid', expires_in: 31_536_000 });
    expect(q.auth_methods).toContain('alipay.trade.query');
  });
});

describe('error codes from the official models', () => {
  it('maps missing parameters of the token call and the query to their codes', async () => {
    expect(codeOf(await call({ body: {} }))).toEqual([400, 'GRANT_TYPE_INVALID']);
    expect(codeOf(await call({ body: { grant_type: 'authorization_code' } }))).toEqual([400, 'AUTH_CODE_NOT_EXIST']);
    expect(codeOf(await call({ body: { grant_type: 'refresh_token', refresh_token: '' } }))).toEqual([400, 'REFRESH_TOKEN_NOT_EXIST']);
    expect(codeOf(await call({ method: 'GET', uri: QUERY_PATH }))).toEqual([400, 'ILLEGAL_PARAM']);
    expect(codeOf(await call({ method: 'GET', uri: `${QUERY_PATH}?app_auth_token=` }))).toEqual([400, 'ILLEGAL_PARAM']);
  });

  it('answers APP_NOT_ISV to a self-developed app', async () => {
    const code = sim.controls.authorize(SELF_APP).app_auth_code;
    expect(codeOf(await call({ appId: SELF_APP, body: { grant_type: 'authorization_code', code } }))).toEqual([400, 'APP_NOT_ISV']);
    expect(codeOf(await call({ appId: SELF_APP, method: 'GET', uri: `${QUERY_PATH}?app_auth_token=x` }))).toEqual([400, 'APP_NOT_ISV']);
  });

  it('refuses a merchant call without alipay-app-auth-token (self-invoke-forbidden), and one the merchant did not grant', async () => {
    const trade = { out_trade_no: 'T-1' };
    expect(codeOf(await call({ uri: TRADE_QUERY_PATH, body: trade }))).toEqual([403, 'self-invoke-forbidden']);
    const t = await authorizedPair('2021000000000351');
    expect(codeOf(await call({ uri: TRADE_QUERY_PATH, body: trade, appAuthToken: t.app_auth_token }))).toEqual([400, 'ACQ.TRADE_NOT_EXIST']);
    expect(codeOf(await call({ uri: TRADE_QUERY_PATH, body: {}, appAuthToken: t.app_auth_token }))).toEqual([400, 'ACQ.INVALID_PARAMETER']);
    expect(codeOf(await call({ uri: TRADE_QUERY_PATH, body: trade, appAuthToken: `${t.app_auth_token}x` }))).toEqual([401, 'invalid-app-auth-token']);

    const narrow = sim.controls.authorize(APP, { authAppId: '2021000000000352', authMethods: ['alipay.trade.pay'] }).app_auth_code;
    const n = json(await exchange(narrow));
    expect(codeOf(await call({ uri: TRADE_QUERY_PATH, body: trade, appAuthToken: n.app_auth_token }))).toEqual([403, 'invalid-app-auth-token-no-api']);
    expect((await query(n.app_auth_token)).auth_methods).toEqual(['alipay.trade.pay']);
    // A self-developed app calls merchant APIs for itself: no token needed.
    expect(codeOf(await call({ appId: SELF_APP, uri: TRADE_QUERY_PATH, body: trade }))).toEqual([400, 'ACQ.TRADE_NOT_EXIST']);
  });

  it('the token routes need no alipay-app-auth-token, and still accept one', async () => {
    const t = await authorizedPair('2021000000000353');
    expect((await query(t.app_auth_token)).status).toBe('valid');
    const withToken = await call({ method: 'GET', uri: `${QUERY_PATH}?app_auth_token=${t.app_auth_token}`, appAuthToken: t.app_auth_token });
    expect(json(withToken).status).toBe('valid');
  });
});

describe('message service', () => {
  const alipayPublic = () => loadPublicKey(sim.alipayPublicKeyPem);

  async function withReceiver(reply: Parameters<typeof startNotifyReceiver>[0], body: (r: Awaited<ReturnType<typeof startNotifyReceiver>>) => Promise<void>) {
    const receiver = await startNotifyReceiver(reply);
    sim.controls.registerApp({ appId: APP, publicKey: appPublicPem, notifyUrl: receiver.url });
    try {
      await body(receiver);
    } finally {
      sim.controls.registerApp({ appId: APP, publicKey: appPublicPem });
      await receiver.close();
    }
  }

  it('sends the cancellation in the documented envelope, signed V1', async () => {
    await withReceiver('success', async (receiver) => {
      const t = await authorizedPair('2021000000000361');
      const { notification } = await sim.controls.cancelAuthorization(APP, '2021000000000361');
      const [p] = receiver.forms();
      expect(Object.keys(p).sort()).toEqual(
        [
          'app_id',
          'biz_content',
          'charset',
          'msg_app_id',
          'msg_method',
          'msg_type',
          'msg_uid',
          'notify_id',
          'sign',
          'sign_type',
          'utc_timestamp',
          'version',
        ].sort(),
      );
      expect(p).toMatchObject({
        msg_method: 'alipay.open.auth.appauth.cancelled',
        app_id: APP,
        version: '1.1',
        charset: 'UTF-8',
        sign_type: 'RSA2',
        msg_app_id: '2021000000000361',
        msg_uid: t.user_id,
      });
      expect(p.notify_id).toMatch(/^[1-9]\d{33}$/);
      expect(p.notify_id).toBe(notification!.notifyId);
      expect(Number(p.utc_timestamp)).toBeLessThanOrEqual(sim.controls.now());
      expect(['sys', 'usr', 'app']).toContain(p.msg_type);
      expect(JSON.parse(p.biz_content).detail).toMatchObject({ auth_app_id: '2021000000000361', app_auth_token: t.app_auth_token });
      expect(rsaVerify(alipayPublic(), buildNotifySignContent(p), p.sign)).toBe(true);
      expect(sim.controls.notifications()).toMatchObject([
        { notifyId: p.notify_id, delivered: true, attempts: [{ status: 200, body: 'success', scheduled: true }] },
      ]);
    });
  });

  it('re-sends on the (compressed) schedule until the ISV answers success', async () => {
    sim.controls.configure({ notifyRetryDelaysMs: [60_000, 120_000, 120_000], notifyTimeScale: 0.0001 });
    await withReceiver(
      (n) => (n < 2 ? 'fail' : 'success'),
      async (receiver) => {
        await authorizedPair('2021000000000362');
        const { notification } = await sim.controls.cancelAuthorization(APP, '2021000000000362');
        expect(notification).toMatchObject({ status: 200, body: 'fail' });
        const settled = await sim.controls.notificationSettled(notification!.notifyId);
        expect(settled.delivered).toBe(true);
        expect(settled.attempts.map((a) => a.body)).toEqual(['fail', 'fail', 'success']);
        // Every attempt is the same message: same notify_id, same signature.
        expect(new Set(receiver.received.map((r) => r.body)).size).toBe(1);
      },
    );
  });

  it('gives up after the default schedule (8 attempts), and an admin call re-delivers a past message', async () => {
    sim.controls.configure({ notifyTimeScale: 1e-6 }); // 24 h 24 min of waits in about 90 ms
    let reply = 'fail';
    await withReceiver(
      () => reply,
      async (receiver) => {
        await authorizedPair('2021000000000363');
        const { notification } = await sim.controls.cancelAuthorization(APP, '2021000000000363');
        const settled = await sim.controls.notificationSettled(notification!.notifyId);
        expect(settled).toMatchObject({ delivered: false });
        expect(settled.attempts).toHaveLength(8);

        reply = 'success';
        const api = request(sim.url);
        const again = await api.post('/__simulator/notifications/redeliver').send({ notifyId: notification!.notifyId }).expect(200);
        expect(again.body).toEqual({ status: 200, body: 'success' });
        expect(receiver.received).toHaveLength(9);
        expect(receiver.received[8].body).toBe(receiver.received[0].body);
        const listed = (await api.get('/__simulator/notifications').expect(200)).body;
        expect(listed).toMatchObject([{ notifyId: notification!.notifyId, delivered: true }]);
        expect(listed[0].attempts.at(-1)).toMatchObject({ scheduled: false, body: 'success' });
        expect((await api.post('/__simulator/notifications/redeliver').send({ notifyId: '1' })).status).toBe(400);
      },
    );
  });

  it('announces an authorization with open_app_auth_notify (v1.0, execute_auth, tokens in detail); its code gives the same tokens once', async () => {
    await withReceiver('success', async (receiver) => {
      const res = await request(sim.url)
        .post('/__simulator/notifications/authorized')
        .send({ appId: APP, authAppId: '2021000000000371', userId: '2088000000000371', trigger: 'agent', triggerContext: { agent_id: 'x' } })
        .expect(200);
      expect(res.body.notifications).toMatchObject([{ status: 200, body: 'success' }]);
      const [p] = receiver.forms();
      expect(p).toMatchObject({ notify_type: 'open_app_auth_notify', status: 'execute_auth', version: '1.0', app_id: APP, sign_type: 'RSA2' });
      expect(p.notify_time).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      expect(rsaVerify(alipayPublic(), buildNotifySignContent(p), p.sign)).toBe(true);
      const biz = JSON.parse(p.biz_content);
      expect(biz.notify_context).toEqual({ trigger: 'agent', trigger_context: { agent_id: 'x' } });
      expect(biz.error).toEqual({});
      const d = biz.detail;
      expect(d).toMatchObject({
        auth_app_id: '2021000000000371',
        user_id: '2088000000000371',
        app_id: APP,
        app_auth_code: res.body.app_auth_code,
        expires_in: 31_536_000,
        re_expires_in: 32_140_800,
      });
      expect(d.app_auth_token).toMatch(TOKEN_RE);
      expect(typeof d.auth_time).toBe('number');
      expect((await query(d.app_auth_token)).status).toBe('valid');

      const exchanged = json(await exchange(d.app_auth_code));
      expect(exchanged).toMatchObject({ app_auth_token: d.app_auth_token, app_refresh_token: d.app_refresh_token });
      expect(codeOf(await exchange(d.app_auth_code))).toEqual([400, 'AUTH_CODE_NOT_VALID']);
    });
  });
});

describe('runtime settings', () => {
  it('reads and changes behaviour over the admin API; reset restores the start options', async () => {
    const api = request(sim.url);
    const start = (await api.get('/__simulator/settings').expect(200)).body;
    expect(start).toMatchObject({
      refreshGraceMs: 'Infinity',
      tokenOverlapMs: 0,
      durationsAs: 'number',
      tokensOnly: false,
      codeTtlMs: DAY,
      batchCodeTtlMs: 10 * MINUTE,
    });
    const changed = (await api.post('/__simulator/settings').send({ durationsAs: 'string', refreshGraceMs: HOUR, tokenOverlapMs: 1000 }).expect(200)).body;
    expect(changed).toMatchObject({ durationsAs: 'string', refreshGraceMs: HOUR, tokenOverlapMs: 1000 });
    expect((await authorizedPair('2021000000000381')).expires_in).toBe('31536000');
    expect((await api.post('/__simulator/settings').send({ durationsAs: 'text' })).status).toBe(400);
    expect((await api.post('/__simulator/settings').send({ tokenOverlapMs: -1 })).status).toBe(400);
    await api.post('/__simulator/reset').send({}).expect(200);
    expect((await api.get('/__simulator/settings')).body).toEqual(start);
  });
});
