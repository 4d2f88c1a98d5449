/**
 * The Alipay simulator, proved against Alipay's official Node SDK (alipay-sdk 4.14.0) and then used by our
 * own client. If the official SDK and the simulator disagree, the simulator is wrong.
 */
import { Test } from '@nestjs/testing';
import { AlipayRequestError, AlipaySdk } from 'alipay-sdk';
import request from 'supertest';
import { AlipayApiError, AlipayAuthModule, AlipayAuthModuleOptions, AlipayNetworkError, AlipayOpenApiClient, AlipaySignatureError } from 'nestjs-alipay-auth';
import { AlipaySigner, aesEncrypt, buildNotifySignContent, loadAesKey, loadPrivateKey, loadPublicKey, rsaVerify } from 'nestjs-alipay-auth/protocol';
import { AlipaySimulator, QUERY_PATH, startAlipaySimulator, TOKEN_PATH } from 'nestjs-alipay-auth-simulator';
import { vectors } from '../fixtures/vectors';
import { rawRequest, RawResponse, responseSigned, signedRequest, startNotifyReceiver } from '../fixtures/simulator/wire';

const APP = '2021004100000001'; // key mode
const ENC_APP = '2021004100000002'; // key mode + AES encrypt key
const CERT_APP = '2021004100000003'; // certificate mode
const OTHER_APP = '2021004100000004'; // another ISV app
const ENCRYPT_KEY = 'aYA0GP8JEW+D7/UFaskCWA==';
const HOUR = 3600_000;
const DAY = 24 * HOUR;

const appPrivatePem: string = vectors.keys.app.privateKeyPkcs8Pem;
const appPrivate = loadPrivateKey(appPrivatePem);
const appPublicPem: string = vectors.keys.app.publicKeySpkiPem;
const otherPrivatePem: string = vectors.keys.alipay.privateKeyPkcs1Pem; // any key that is not the app's
const gen = vectors.certificates.generated;
const TOKEN_RE = /^\d{6}BB[0-9a-f]{29}[A-Z]\d{2}$/; // 40 characters, the shape of real tokens
const CODE_RE = /^[0-9a-f]{29}[A-Z]\d{2}$/; // 32 characters

let sim: AlipaySimulator;

function sdk(extra: Record<string, unknown> = {}): AlipaySdk {
  return new AlipaySdk({
    appId: APP,
    privateKey: appPrivatePem,
    alipayPublicKey: sim.alipayPublicKeyPem,
    endpoint: sim.url,
    keyType: 'PKCS8',
    ...extra,
  } as any);
}

function certSdk(extra: Record<string, unknown> = {}): AlipaySdk {
  return new AlipaySdk({
    appId: CERT_APP,
    privateKey: appPrivatePem,
    keyType: 'PKCS8',
    endpoint: sim.url,
    appCertContent: gen.appCert.pem,
    alipayPublicCertContent: gen.alipayPublicCert.pem,
    alipayRootCertContent: gen.alipayRootCertBundle.pem,
    ...extra,
  } as any);
}

const exchangeBody = (code: string) => ({ body: { grant_type: 'authorization_code', code } });
const refreshBody = (refresh_token: string) => ({ body: { grant_type: 'refresh_token', refresh_token } });

async function sdkError(p: Promise<unknown>): Promise<AlipayRequestError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AlipayRequestError);
  return e as AlipayRequestError;
}

async function clientFor(extra: Partial<AlipayAuthModuleOptions> = {}) {
  const moduleRef = await Test.createTestingModule({
    imports: [
      AlipayAuthModule.forRoot({ appId: APP, privateKey: appPrivatePem, alipayPublicKey: sim.alipayPublicKeyPem, gateway: sim.url, retries: 0, ...extra }),
    ],
  }).compile();
  return { client: moduleRef.get(AlipayOpenApiClient), signer: moduleRef.get(AlipaySigner), close: () => moduleRef.close() };
}

/** A hand-signed call at the simulator's clock (needed once the clock has been moved). */
function call(o: {
  appId?: string;
  method?: string;
  uri?: string;
  body?: unknown;
  appAuthToken?: string;
  timestamp?: number;
  headers?: Record<string, string>;
}) {
  return signedRequest(sim.url, {
    appId: o.appId ?? APP,
    key: appPrivate,
    method: o.method ?? 'POST',
    uri: o.uri ?? TOKEN_PATH,
    body: o.body === undefined ? '' : typeof o.body === 'string' ? o.body : JSON.stringify(o.body),
    timestamp: o.timestamp ?? sim.controls.now(),
    appAuthToken: o.appAuthToken,
    headers: o.headers,
  });
}

const json = (r: RawResponse) => JSON.parse(r.body);

beforeAll(async () => {
  sim = await startAlipaySimulator({
    alipayPrivateKey: vectors.keys.alipay.privateKeyPkcs8Pem,
    certificate: { alipayCertPem: gen.alipayPublicCert.pem, alipayRootCertPem: gen.alipayRootCertBundle.pem },
    apps: [
      { appId: APP, publicKey: appPublicPem },
      { appId: ENC_APP, publicKey: vectors.keys.app.publicKeySpkiBase64, encryptKey: ENCRYPT_KEY },
      { appId: CERT_APP, appCert: gen.appCert.pem },
      { appId: OTHER_APP, publicKey: appPublicPem },
    ],
  });
});
afterAll(() => sim.close());
beforeEach(() => sim.controls.reset());

// Both forms occur on the wire (protocol doc §9.1): the official SDK must accept either.
describe.each(['number', 'string'] as const)('official alipay-sdk against the simulator (durations as %s)', (durationsAs) => {
  beforeEach(() => sim.controls.configure({ durationsAs }));
  const duration = (sec: number) => (durationsAs === 'number' ? sec : String(sec));

  it('exchanges a batch code for one token per authorized app, then refreshes and queries', async () => {
    const { app_auth_code } = sim.controls.authorize(APP, { authAppIds: ['2021000000000011', '2021000000000012'], userId: '2088000000000001' });
    expect(app_auth_code).toMatch(CODE_RE);
    const res = await sdk().curl<any>('POST', TOKEN_PATH, exchangeBody(app_auth_code));
    expect(res.responseHttpStatus).toBe(200);
    expect(res.traceId).toMatch(/^0b[0-9a-f]{30}$/);
    const data = res.data;
    expect(data.tokens).toHaveLength(2);
    expect(data.tokens.map((t: any) => t.auth_app_id)).toEqual(['2021000000000011', '2021000000000012']);
    for (const t of data.tokens) {
      expect(Object.keys(t).sort()).toEqual(['app_auth_token', 'app_refresh_token', 'auth_app_id', 'expires_in', 're_expires_in', 'user_id']);
      expect(t).toMatchObject({ user_id: '2088000000000001', expires_in: duration(31_536_000), re_expires_in: duration(32_140_800) });
      expect(t.app_auth_token).toMatch(TOKEN_RE);
      expect(t.app_refresh_token).toMatch(TOKEN_RE);
    }
    const { tokens, ...top } = data;
    expect(top).toEqual(tokens[0]);
    expect(tokens[0].app_auth_token).not.toBe(tokens[1].app_auth_token);

    const refreshed = (await sdk().curl<any>('POST', TOKEN_PATH, refreshBody(tokens[0].app_refresh_token))).data;
    expect(refreshed.auth_app_id).toBe('2021000000000011');
    expect(refreshed.tokens).toHaveLength(1);
    expect(refreshed.app_auth_token).not.toBe(tokens[0].app_auth_token);

    const now = await sdk().curl<any>('GET', QUERY_PATH, { query: { app_auth_token: refreshed.app_auth_token } });
    expect(now.data).toMatchObject({ auth_app_id: '2021000000000011', user_id: '2088000000000001', status: 'valid', is_by_app_auth: true });
    expect(now.data.expires_in).toBe(31_536_000); // an integer in the query, whatever the token call sends
    expect(now.data.auth_start).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(now.data.auth_end).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(Array.isArray(now.data.auth_methods)).toBe(true);
    const old = await sdk().curl<any>('GET', QUERY_PATH, { query: { app_auth_token: tokens[0].app_auth_token } });
    expect(old.data.status).toBe('invalid');
    const sibling = await sdk().curl<any>('GET', QUERY_PATH, { query: { app_auth_token: tokens[1].app_auth_token } });
    expect(sibling.data.status).toBe('valid'); // refreshing one app of a batch leaves the other alone
  });

  it('decrypts an encrypted exchange and encrypts the answer (needEncrypt)', async () => {
    const { app_auth_code } = sim.controls.authorize(ENC_APP, { authAppId: '2021000000000021' });
    const res = await sdk({ appId: ENC_APP, encryptKey: ENCRYPT_KEY }).curl<any>('POST', TOKEN_PATH, { ...exchangeBody(app_auth_code), needEncrypt: true });
    // The SDK verified the signature over the ciphertext and decrypted it: a plaintext answer would fail to decrypt.
    expect(res.data.auth_app_id).toBe('2021000000000021');
    expect(res.data.app_auth_token).toMatch(TOKEN_RE);
    expect(sim.controls.stats().exchanges).toBe(1);
  });

  it('rejects a reused, unknown or foreign code with the business codes', async () => {
    const { app_auth_code } = sim.controls.authorize(APP);
    await sdk().curl('POST', TOKEN_PATH, exchangeBody(app_auth_code));
    const reused = await sdkError(sdk().curl('POST', TOKEN_PATH, exchangeBody(app_auth_code)));
    expect(reused).toMatchObject({ code: 'AUTH_CODE_NOT_VALID', responseHttpStatus: 400 });
    expect(reused.traceId).toMatch(/^0b/);
    expect((reused as any).links[0].link).toBe(`https://open.alipay.com/api/errCheck?traceId=${reused.traceId}`);
    expect(await sdkError(sdk().curl('POST', TOKEN_PATH, exchangeBody('0'.repeat(32))))).toMatchObject({ code: 'AUTH_CODE_NOT_EXIST' });
    const foreign = sim.controls.authorize(OTHER_APP).app_auth_code;
    expect(await sdkError(sdk().curl('POST', TOKEN_PATH, exchangeBody(foreign)))).toMatchObject({ code: 'APP_ID_NOT_CONSISTENT' });
    expect(await sdkError(sdk().curl('POST', TOKEN_PATH, { body: { grant_type: 'password' } }))).toMatchObject({ code: 'GRANT_TYPE_INVALID' });
  });

  it('rejects a request signed with the wrong private key', async () => {
    const { app_auth_code } = sim.controls.authorize(APP);
    const e = await sdkError(sdk({ privateKey: otherPrivatePem, keyType: 'PKCS1' }).curl('POST', TOKEN_PATH, exchangeBody(app_auth_code)));
    expect(e).toMatchObject({ code: 'invalid-signature', responseHttpStatus: 401 });
    // Nothing happened: the code is still good.
    expect((await sdk().curl<any>('POST', TOKEN_PATH, exchangeBody(app_auth_code))).responseHttpStatus).toBe(200);
  });

  it("answers a 'bad-signature' fault that the SDK's own response verification rejects", async () => {
    const { app_auth_code } = sim.controls.authorize(APP);
    sim.controls.addFault({ route: TOKEN_PATH, kind: 'bad-signature', count: 1 });
    const e = await sdkError(sdk().curl('POST', TOKEN_PATH, exchangeBody(app_auth_code)));
    expect(e.code).toBe('response-signature-verify-error');
    expect(sim.controls.stats()).toMatchObject({ exchanges: 1, faultsInjected: 1 }); // the operation did happen
  });

  it('serves certificate mode: app_cert_sn, alipay-root-cert-sn, alipay-sn', async () => {
    const { app_auth_code } = sim.controls.authorize(CERT_APP, { authAppId: '2021000000000031' });
    const res = await certSdk().curl<any>('POST', TOKEN_PATH, exchangeBody(app_auth_code));
    expect(res.data.auth_app_id).toBe('2021000000000031');
    const q = await certSdk().curl<any>('GET', QUERY_PATH, { query: { app_auth_token: res.data.app_auth_token } });
    expect(q.data.status).toBe('valid');

    // Wrong root bundle (the real Alipay roots), wrong app cert, or key-mode signing of a cert-mode app.
    const fixtures = vectors.certificates.sdkFixtures;
    expect(
      await sdkError(certSdk({ alipayRootCertContent: fixtures.alipayRootCertBundle.pem }).curl('GET', QUERY_PATH, { query: { app_auth_token: 'x' } })),
    ).toMatchObject({
      code: 'invalid-alipay-root-cert-sn',
      responseHttpStatus: 401,
    });
    expect(await sdkError(certSdk({ appCertContent: fixtures.appCert.pem }).curl('GET', QUERY_PATH, { query: { app_auth_token: 'x' } }))).toMatchObject({
      code: 'app-cert-not-exist',
    });
    expect(await sdkError(sdk({ appId: CERT_APP }).curl('GET', QUERY_PATH, { query: { app_auth_token: 'x' } }))).toMatchObject({ code: 'missing-app-cert-sn' });
  });

  it('puts the Alipay cert SN in alipay-sn for certificate-mode callers only', async () => {
    const cert = await signedRequest(sim.url, {
      appId: CERT_APP,
      key: appPrivate,
      appCertSn: gen.appCert.expectedAppCertSn,
      method: 'GET',
      uri: `${QUERY_PATH}?app_auth_token=nope`,
      timestamp: Date.now(),
      headers: { 'alipay-root-cert-sn': gen.alipayRootCertBundle.expectedAlipayRootCertSn },
    });
    expect(json(cert).code).toBe('AUTH_TOKEN_NOT_EXISTED'); // authenticated, then a business error
    expect(cert.headers['alipay-sn']).toBe(gen.alipayPublicCert.expectedAlipayCertSn);
    const key = await call({ method: 'GET', uri: `${QUERY_PATH}?app_auth_token=nope` });
    expect(key.headers['alipay-sn']).toBeUndefined();
  });
});

describe('our AlipayOpenApiClient against the simulator', () => {
  it('exchanges, refreshes and queries in key mode', async () => {
    const { client, close } = await clientFor();
    try {
      const { app_auth_code } = sim.controls.authorize(APP, { authAppId: '2021000000000041' });
      const data = await client.request<any>({ method: 'POST', path: TOKEN_PATH, body: { grant_type: 'authorization_code', code: app_auth_code } });
      expect(data).toMatchObject({ auth_app_id: '2021000000000041', expires_in: 31_536_000 });
      expect(data.tokens).toHaveLength(1);
      const next = await client.request<any>({
        method: 'POST',
        path: TOKEN_PATH,
        body: { grant_type: 'refresh_token', refresh_token: data.app_refresh_token },
      });
      expect(next.app_auth_token).not.toBe(data.app_auth_token);
      const q = await client.requestWithMeta<any>({ method: 'GET', path: QUERY_PATH, query: { app_auth_token: next.app_auth_token } });
      expect(q.data.status).toBe('valid');
      expect(q.traceId).toMatch(/^0b/);
      expect(sim.controls.stats().refreshesByMerchant).toEqual({ '2021000000000041': 1 });
    } finally {
      await close();
    }
  });

  it('encrypts the exchange with the encryptKey option', async () => {
    const { client, close } = await clientFor({ appId: ENC_APP, encryptKey: ENCRYPT_KEY });
    try {
      const { app_auth_code } = sim.controls.authorize(ENC_APP, { authAppId: '2021000000000042' });
      const data = await client.request<any>({
        method: 'POST',
        path: TOKEN_PATH,
        body: { grant_type: 'authorization_code', code: app_auth_code },
        encrypt: true,
      });
      expect(data.auth_app_id).toBe('2021000000000042');
    } finally {
      await close();
    }
  });

  it('works in certificate mode', async () => {
    const { client, close } = await clientFor({
      appId: CERT_APP,
      alipayPublicKey: undefined,
      appCert: gen.appCert.pem,
      alipayPublicCert: gen.alipayPublicCert.pem,
      alipayRootCert: gen.alipayRootCertBundle.pem,
    });
    try {
      const { app_auth_code } = sim.controls.authorize(CERT_APP, { authAppId: '2021000000000043' });
      const data = await client.request<any>({ method: 'POST', path: TOKEN_PATH, body: { grant_type: 'authorization_code', code: app_auth_code } });
      expect(data.auth_app_id).toBe('2021000000000043');
      // A business error in certificate mode is signed with alipay-sn too, and our client verifies it.
      await expect(client.request({ method: 'GET', path: QUERY_PATH, query: { app_auth_token: 'nope' } })).rejects.toMatchObject({
        code: 'AUTH_TOKEN_NOT_EXISTED',
      });
    } finally {
      await close();
    }
  });

  it('raises typed errors: AlipayApiError, AlipaySignatureError, AlipayNetworkError', async () => {
    const { client, close } = await clientFor();
    try {
      const exchange = (code: string) => client.request({ method: 'POST', path: TOKEN_PATH, body: { grant_type: 'authorization_code', code } });
      const code1 = sim.controls.authorize(APP).app_auth_code;
      await exchange(code1);
      const apiErr = await exchange(code1).catch((e: unknown) => e);
      expect(apiErr).toBeInstanceOf(AlipayApiError);
      expect(apiErr).toMatchObject({ status: 400, code: 'AUTH_CODE_NOT_VALID' });
      expect((apiErr as AlipayApiError).traceId).toMatch(/^0b/);
      expect((apiErr as AlipayApiError).links[0].link).toContain((apiErr as AlipayApiError).traceId);

      sim.controls.addFault({ route: TOKEN_PATH, kind: 'bad-signature', count: 1 });
      const sigErr = await exchange(sim.controls.authorize(APP).app_auth_code).catch((e: unknown) => e);
      expect(sigErr).toBeInstanceOf(AlipaySignatureError);
      expect(sigErr).toMatchObject({ code: 'response-signature-verify-error' });

      sim.controls.addFault({ route: '*', kind: 'reset', count: 1 });
      const code3 = sim.controls.authorize(APP).app_auth_code;
      const netErr = await exchange(code3).catch((e: unknown) => e);
      expect(netErr).toBeInstanceOf(AlipayNetworkError);
      expect(netErr).toMatchObject({ kind: 'reset', sent: true });
      expect(await exchange(code3)).toBeTruthy(); // 'reset' did not perform the operation

      sim.controls.addFault({ route: TOKEN_PATH, kind: 'http-500', count: 1 });
      const code4 = sim.controls.authorize(APP).app_auth_code;
      await expect(exchange(code4)).rejects.toMatchObject({ status: 500, code: 'unknow-error' });
      expect(await exchange(code4)).toBeTruthy(); // nor did 'http-500'

      sim.controls.addFault({ route: TOKEN_PATH, kind: 'rate-limit', count: 1 });
      await expect(exchange(sim.controls.authorize(APP).app_auth_code)).rejects.toMatchObject({ status: 429, code: 'app-call-limited' });

      sim.controls.addFault({ route: TOKEN_PATH, kind: 'drop-after-issue', count: 1 });
      const code6 = sim.controls.authorize(APP).app_auth_code;
      await expect(exchange(code6)).rejects.toMatchObject({ kind: 'reset' });
      await expect(exchange(code6)).rejects.toMatchObject({ code: 'AUTH_CODE_NOT_VALID' }); // it did happen
    } finally {
      await close();
    }
  });
});

describe('gateway rules', () => {
  it("answers the gateway's own refusals as the live gateway does: 400 missing-timestamp, 400 invalid-app-id, unsigned", async () => {
    const r = await rawRequest(sim.url, 'POST', TOKEN_PATH, { 'content-type': 'application/json' }, '{}');
    expect(r.status).toBe(400);
    const traceId = r.headers['alipay-trace-id'] as string;
    expect(traceId).toMatch(/^0b[0-9a-f]{30}$/);
    expect(json(r)).toEqual({
      code: 'missing-timestamp',
      message: expect.any(String),
      links: [{ link: `https://open.alipay.com/api/errCheck?traceId=${traceId}`, desc: '解决方案' }],
    });
    expect(r.headers['alipay-signature']).toBeUndefined();
    // A malformed Authorization is no better than none.
    const malformed = await rawRequest(
      sim.url,
      'POST',
      TOKEN_PATH,
      { 'content-type': 'application/json', authorization: 'ALIPAY-SHA256withRSA app_id=1' },
      '{}',
    );
    expect([malformed.status, json(malformed).code]).toEqual([400, 'missing-timestamp']);

    const unknownApp = await signedRequest(sim.url, {
      appId: '2021009999999999',
      key: appPrivate,
      method: 'POST',
      uri: TOKEN_PATH,
      body: '{}',
      timestamp: Date.now(),
    });
    expect([unknownApp.status, json(unknownApp).code]).toEqual([400, 'invalid-app-id']);
    expect(unknownApp.headers['alipay-signature']).toBeUndefined();
    const notFound = await call({ uri: '/v3/alipay/trade/pay', body: {} });
    expect([notFound.status, json(notFound).code]).toEqual([404, 'not-found']);
  });

  it('business errors are signed in the kind variant and unsigned in the strict one (signErrors: false)', async () => {
    const badJson = await call({ body: '{"grant_type":' });
    expect([badJson.status, json(badJson).code]).toEqual([400, 'invalid-parameter']);
    expect(responseSigned(badJson, loadPublicKey(sim.alipayPublicKeyPem))).toBe(true);
    sim.controls.configure({ signErrors: false });
    const strict = await call({ body: { grant_type: 'authorization_code', code: 'nope' } });
    expect([strict.status, json(strict).code]).toEqual([400, 'AUTH_CODE_NOT_EXIST']);
    expect(strict.headers['alipay-signature']).toBeUndefined();
    // The official SDK reads both the same way (it never verifies errors).
    for (const signErrors of [true, false]) {
      sim.controls.configure({ signErrors });
      const e = await sdkError(sdk().curl('POST', TOKEN_PATH, exchangeBody('nope')));
      expect([e.responseHttpStatus, e.code]).toEqual([400, 'AUTH_CODE_NOT_EXIST']);
    }
  });

  it('signs success answers over the raw body', async () => {
    const { app_auth_code } = sim.controls.authorize(APP);
    const r = await call({ body: { grant_type: 'authorization_code', code: app_auth_code } });
    expect(r.status).toBe(200);
    expect(r.headers['alipay-timestamp']).toMatch(/^\d{13}$/);
    expect(r.headers['alipay-nonce']).toBeTruthy();
    expect(responseSigned(r, loadPublicKey(sim.alipayPublicKeyPem))).toBe(true);
    expect(responseSigned({ ...r, body: `${r.body} ` }, loadPublicKey(sim.alipayPublicKeyPem))).toBe(false);
  });

  it('enforces the timestamp window against the simulator clock', async () => {
    const uri = `${QUERY_PATH}?app_auth_token=nope`;
    const at = async (ts: number) => json(await call({ method: 'GET', uri, timestamp: ts })).code;
    const now = sim.controls.now();
    expect(await at(now - 14 * 60_000)).toBe('AUTH_TOKEN_NOT_EXISTED');
    expect(await at(now + 14 * 60_000)).toBe('AUTH_TOKEN_NOT_EXISTED');
    expect(await at(now - 16 * 60_000)).toBe('invalid-timestamp');
    expect(await at(now + 16 * 60_000)).toBe('invalid-timestamp');
    sim.controls.advanceClock(20 * 60_000);
    expect(await at(Date.now())).toBe('invalid-timestamp'); // a real-time client is now 20 min behind
    expect(await at(sim.controls.now())).toBe('AUTH_TOKEN_NOT_EXISTED');
  });

  it('verifies against the raw request line and the app auth token line', async () => {
    const { app_auth_code } = sim.controls.authorize(APP);
    const token = json(await call({ body: { grant_type: 'authorization_code', code: app_auth_code } })).app_auth_token;
    const base = { appId: APP, key: appPrivate, method: 'GET', timestamp: Date.now() };
    const uri = `${QUERY_PATH}?app_auth_token=${token}&note=a%20b~`;
    expect(json(await signedRequest(sim.url, { ...base, uri })).status).toBe('valid');
    // Same parameters, other percent-encoding: the server must not re-encode the query it received.
    expect(json(await signedRequest(sim.url, { ...base, uri, signedUri: `${QUERY_PATH}?app_auth_token=${token}&note=a+b%7E` })).code).toBe('invalid-signature');
    // The merchant token is the 5th signed line when the header is present.
    expect(json(await signedRequest(sim.url, { ...base, uri, appAuthToken: token })).status).toBe('valid');
    expect(json(await signedRequest(sim.url, { ...base, uri, appAuthToken: token, omitTokenLine: true })).code).toBe('invalid-signature');
    expect(json(await signedRequest(sim.url, { ...base, uri, appAuthToken: `${token}x` })).code).toBe('invalid-app-auth-token');
  });

  it('rejects encrypted requests it cannot decrypt', async () => {
    const enc = { 'content-type': 'text/plain', 'alipay-encrypt-type': 'AES' };
    const cipher = aesEncrypt(loadAesKey(ENCRYPT_KEY), '{"grant_type":"authorization_code","code":"x"}');
    const noKey = await call({ body: cipher, headers: enc });
    expect([noKey.status, json(noKey).code]).toEqual([400, 'missing-encrypt-key']);
    const garbage = await call({ appId: ENC_APP, body: 'bm90IGEgY2lwaGVydGV4dA==', headers: enc });
    expect([garbage.status, json(garbage).code]).toEqual([400, 'decryption-error']);
    const ok = await call({ appId: ENC_APP, body: cipher, headers: enc });
    expect(json(ok).code).toBe('AUTH_CODE_NOT_EXIST'); // decrypted and processed
  });

  it('survives garbage', async () => {
    const cases: Array<[string, string, Record<string, string>, string]> = [
      ['POST', TOKEN_PATH, { authorization: 'ALIPAY-SHA256withRSA ,sign=' }, '\u0000\u0001'],
      ['POST', TOKEN_PATH, { authorization: 'ALIPAY-SHA256withRSA app_id=2021004100000001,nonce=n,timestamp=abc,sign=%%%' }, '{'],
      ['POST', TOKEN_PATH, { authorization: 'Bearer x' }, 'x'.repeat(2_000_000)],
      ['GET', `${QUERY_PATH}?%%%`, { authorization: `ALIPAY-SHA256withRSA app_id=${APP},nonce=n,timestamp=${Date.now()},sign=AAAA` }, ''],
      ['PUT', '/%zz/../..', {}, ''],
    ];
    for (const [method, uri, headers, body] of cases) {
      const r = await rawRequest(sim.url, method, uri, headers, body);
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(typeof json(r).code).toBe('string');
    }
    const arrayBody = await call({ body: '[1,2]' });
    expect(json(arrayBody).code).toBe('invalid-parameter');
    expect((await rawRequest(sim.url, 'GET', '/__simulator/health')).status).toBe(200);
  });

  it('keeps a code for 24 hours by the simulator clock', async () => {
    const young = sim.controls.authorize(APP).app_auth_code;
    const old = sim.controls.authorize(APP).app_auth_code;
    sim.controls.advanceClock(23 * HOUR);
    expect((await call({ body: { grant_type: 'authorization_code', code: young } })).status).toBe(200);
    sim.controls.advanceClock(HOUR + 1000);
    const r = await call({ body: { grant_type: 'authorization_code', code: old } });
    expect([r.status, json(r).code]).toEqual([400, 'AUTH_CODE_NOT_VALID']);
  });

  it('keeps the previous refresh token usable for the grace period only (refreshGraceMs, the strict variant)', async () => {
    sim.controls.configure({ refreshGraceMs: DAY });
    const { app_auth_code } = sim.controls.authorize(APP, { authAppId: '2021000000000051' });
    const first = json(await call({ body: { grant_type: 'authorization_code', code: app_auth_code } }));
    const refresh = async (rt: string) => call({ body: { grant_type: 'refresh_token', refresh_token: rt } });
    const second = json(await refresh(first.app_refresh_token));
    // The old access token is dead at once; the old refresh token still works (a lost answer can be retried).
    expect(json(await call({ method: 'GET', uri: `${QUERY_PATH}?app_auth_token=${first.app_auth_token}` })).status).toBe('invalid');
    sim.controls.advanceClock(23 * HOUR);
    const third = await refresh(first.app_refresh_token);
    expect(third.status).toBe(200);
    sim.controls.advanceClock(HOUR + 1000);
    const late = await refresh(first.app_refresh_token);
    expect([late.status, json(late).code]).toEqual([400, 'REFRESH_TOKEN_NOT_VALID']);
    expect((await refresh(json(third).app_refresh_token)).status).toBe(200); // the latest one is fine
    // `second` was superseded when `third` was issued (at 23 h), so its own grace runs until 47 h.
    sim.controls.advanceClock(23 * HOUR);
    expect(json(await refresh(second.app_refresh_token)).code).toBe('REFRESH_TOKEN_NOT_VALID');
    expect(json(await refresh('202601BB' + '0'.repeat(29) + 'A00')).code).toBe('REFRESH_TOKEN_NOT_EXIST');
    expect(sim.controls.stats().refreshesByMerchant).toEqual({ '2021000000000051': 3 });
  });

  it('times out a refresh token after re_expires_in and rejects foreign tokens', async () => {
    const { app_auth_code } = sim.controls.authorize(APP);
    const t = json(await call({ body: { grant_type: 'authorization_code', code: app_auth_code } }));
    const foreign = await call({ appId: OTHER_APP, method: 'GET', uri: `${QUERY_PATH}?app_auth_token=${t.app_auth_token}` });
    expect([foreign.status, json(foreign).code]).toEqual([400, 'AUTH_TOKEN_NOT_CONSISTENT']);
    sim.controls.advanceClock(32_140_800_000 + 1000);
    const q = json(await call({ method: 'GET', uri: `${QUERY_PATH}?app_auth_token=${t.app_auth_token}` }));
    expect([q.status, q.expires_in]).toEqual(['invalid', 0]);
    expect(json(await call({ body: { grant_type: 'refresh_token', refresh_token: t.app_refresh_token } })).code).toBe('REFRESH_TOKEN_TIME_OUT');
  });
});

describe('merchant authorization page', () => {
  const redirect = 'https://isv.example.com/alipay/callback';
  const page = (path: string, q: Record<string, string>) => rawRequest(sim.url, 'GET', `${path}?${new URLSearchParams(q)}`);
  const approve = (path: string, form: Record<string, string>) =>
    rawRequest(sim.url, 'POST', path, { 'content-type': 'application/x-www-form-urlencoded' }, new URLSearchParams(form).toString());

  it('renders the consent page and redirects with exactly the documented parameters', async () => {
    const get = await page('/oauth2/appToAppAuth.htm', { app_id: APP, redirect_uri: redirect, state: 'xyz 1' });
    expect(get.status).toBe(200);
    expect(get.headers['content-type']).toMatch(/^text\/html/);
    expect(get.body).toContain('id="authorize"');
    expect(get.body).toContain(APP);
    expect(get.body).toMatch(/name="auth_app_id" value="2021\d{12}"/);

    const post = await approve('/oauth2/appToAppAuth.htm', {
      app_id: APP,
      redirect_uri: redirect,
      state: 'xyz 1',
      auth_app_id: '2021000000000061',
      user_id: '2088000000000061',
      action: 'authorize',
    });
    expect(post.status).toBe(302);
    const loc = new URL(post.headers.location!);
    expect(`${loc.origin}${loc.pathname}`).toBe(redirect);
    expect([...loc.searchParams.keys()]).toEqual(['app_id', 'source', 'app_auth_code', 'state']);
    expect(loc.searchParams.get('app_id')).toBe(APP);
    expect(loc.searchParams.get('source')).toBe('alipay_app_auth');
    expect(loc.searchParams.get('state')).toBe('xyz 1');
    const code = loc.searchParams.get('app_auth_code')!;
    expect(code).toMatch(CODE_RE);
    const data = (await sdk().curl<any>('POST', TOKEN_PATH, exchangeBody(code))).data;
    expect(data).toMatchObject({ auth_app_id: '2021000000000061', user_id: '2088000000000061' });
  });

  it('omits state when absent, appends to an existing query, and supports the batch page', async () => {
    const noState = await approve('/oauth2/appToAppAuth.htm', { app_id: APP, redirect_uri: `${redirect}?tenant=7`, action: 'authorize' });
    const loc = new URL(noState.headers.location!);
    expect([...loc.searchParams.keys()]).toEqual(['tenant', 'app_id', 'source', 'app_auth_code']);

    const batchGet = await page('/oauth2/appToAppBatchAuth.htm', { app_id: APP, redirect_uri: redirect, application_type: 'TINYAPP,WEBAPP' });
    expect(batchGet.status).toBe(200);
    expect(batchGet.body).toContain('id="authorize"');
    const batch = await approve('/oauth2/appToAppBatchAuth.htm', {
      app_id: APP,
      redirect_uri: redirect,
      application_type: 'TINYAPP,WEBAPP',
      auth_app_ids: '2021000000000071,2021000000000072',
      action: 'authorize',
    });
    const bl = new URL(batch.headers.location!);
    expect([...bl.searchParams.keys()]).toEqual(['app_id', 'source', 'app_auth_code', 'application_type']);
    expect(bl.searchParams.get('application_type')).toBe('TINYAPP,WEBAPP');
    const data = (await sdk().curl<any>('POST', TOKEN_PATH, exchangeBody(bl.searchParams.get('app_auth_code')!))).data;
    expect(data.tokens.map((t: any) => t.auth_app_id)).toEqual(['2021000000000071', '2021000000000072']);
  });

  it('refuses unknown apps and bad or unregistered redirect URIs; cancel makes no callback', async () => {
    expect((await page('/oauth2/appToAppAuth.htm', { app_id: '2021009999999999', redirect_uri: redirect })).status).toBe(400);
    expect((await page('/oauth2/appToAppAuth.htm', { app_id: APP })).status).toBe(400);
    expect((await page('/oauth2/appToAppAuth.htm', { app_id: APP, redirect_uri: 'javascript:alert(1)' })).status).toBe(400);
    sim.controls.registerApp({ appId: OTHER_APP, publicKey: appPublicPem, redirectUris: [redirect] });
    try {
      expect((await page('/oauth2/appToAppAuth.htm', { app_id: OTHER_APP, redirect_uri: `${redirect}/other` })).status).toBe(400);
      expect((await page('/oauth2/appToAppAuth.htm', { app_id: OTHER_APP, redirect_uri: redirect })).status).toBe(200);
    } finally {
      sim.controls.registerApp({ appId: OTHER_APP, publicKey: appPublicPem });
    }
    const cancel = await approve('/oauth2/appToAppAuth.htm', { app_id: APP, redirect_uri: redirect, action: 'cancel' });
    expect(cancel.status).toBe(200);
    expect(cancel.headers.location).toBeUndefined();
  });
});

describe('cancellation', () => {
  it('invalidates the authorization and sends a signed notification our signer accepts', async () => {
    const receiver = await startNotifyReceiver('success');
    const { signer, close } = await clientFor();
    sim.controls.registerApp({ appId: APP, publicKey: appPublicPem, notifyUrl: receiver.url });
    try {
      const { app_auth_code } = sim.controls.authorize(APP, { authAppId: '2021000000000081', userId: '2088000000000081' });
      const t = (await sdk().curl<any>('POST', TOKEN_PATH, exchangeBody(app_auth_code))).data;
      const result = await sim.controls.cancelAuthorization(APP, '2021000000000081');
      expect(result).toEqual({ cancelled: true, notification: { status: 200, body: 'success', notifyId: expect.stringMatching(/^[1-9]\d{33}$/) } });
      expect(receiver.received).toHaveLength(1);
      const got = receiver.received[0];
      expect(got.method).toBe('POST');
      expect(got.headers['content-type']).toBe('application/x-www-form-urlencoded; charset=utf-8');
      const params = Object.fromEntries(new URLSearchParams(got.body));
      expect(params).toMatchObject({ msg_method: 'alipay.open.auth.appauth.cancelled', app_id: APP, version: '1.1', charset: 'UTF-8', sign_type: 'RSA2' });
      expect(params.notify_id).toBeTruthy();
      expect(params.utc_timestamp).toMatch(/^\d{13}$/);
      const biz = JSON.parse(params.biz_content);
      expect(biz.detail).toMatchObject({ app_id: APP, auth_app_id: '2021000000000081', user_id: '2088000000000081', app_auth_token: t.app_auth_token });
      expect(rsaVerify(loadPublicKey(sim.alipayPublicKeyPem), buildNotifySignContent(params), params.sign)).toBe(true);
      expect(await signer.verifyNotification(params)).toBe(true);
      expect(await signer.verifyNotification({ ...params, app_id: OTHER_APP })).toBe(false);

      const q = await sdk().curl<any>('GET', QUERY_PATH, { query: { app_auth_token: t.app_auth_token } });
      expect(q.data.status).toBe('invalid');
      expect((await sdkError(sdk().curl('POST', TOKEN_PATH, refreshBody(t.app_refresh_token)))).code).toBe('REFRESH_TOKEN_NOT_VALID');
      expect(await sim.controls.cancelAuthorization(APP, '2021000000000081')).toEqual({ cancelled: false });
    } finally {
      sim.controls.registerApp({ appId: APP, publicKey: appPublicPem });
      await close();
      await receiver.close();
    }
  });
});

describe('faults and counters', () => {
  it('applies faults by route, grant type, count and rate, and counts only what happened', async () => {
    const s = sdk();
    const exchange = (authAppId: string) => s.curl<any>('POST', TOKEN_PATH, exchangeBody(sim.controls.authorize(APP, { authAppId }).app_auth_code));
    const first = (await exchange('2021000000000091')).data;

    sim.controls.addFault({ route: TOKEN_PATH, kind: 'http-503', count: 2, grantType: 'refresh_token' });
    sim.controls.addFault({ route: QUERY_PATH, kind: 'http-500', rate: 0 });
    await exchange('2021000000000092'); // grant type does not match: untouched
    expect((await sdkError(s.curl('POST', TOKEN_PATH, refreshBody(first.app_refresh_token)))).responseHttpStatus).toBe(503);
    expect((await sdkError(s.curl('POST', TOKEN_PATH, refreshBody(first.app_refresh_token)))).code).toBe('unknow-error');
    const latest = (await s.curl<any>('POST', TOKEN_PATH, refreshBody(first.app_refresh_token))).data; // count exhausted
    await s.curl('GET', QUERY_PATH, { query: { app_auth_token: latest.app_auth_token } }); // rate 0 never fires

    // The official SDK (urllib 4, socketErrorRetry: 1) silently re-sends a POST once when the socket dies,
    // with the same Authorization header. A dropped refresh is re-sent with the now-superseded refresh token,
    // which still works until its own re_expires_in: two refreshes happen for one call.
    sim.controls.addFault({ route: TOKEN_PATH, kind: 'drop-after-issue', grantType: 'refresh_token', count: 1 });
    const afterDrop = (await s.curl<any>('POST', TOKEN_PATH, refreshBody(latest.app_refresh_token))).data;
    expect(afterDrop.app_auth_token).toMatch(TOKEN_RE);
    // A dropped exchange is re-sent too, and the re-sent code is already used: the caller loses the tokens.
    sim.controls.addFault({ route: TOKEN_PATH, kind: 'drop-after-issue', grantType: 'authorization_code', count: 1 });
    expect((await sdkError(exchange('2021000000000093'))).code).toBe('AUTH_CODE_NOT_VALID');

    sim.controls.addFault({ route: '*', kind: 'latency', latencyMs: 250, count: 1 });
    const t0 = Date.now();
    await s.curl('GET', QUERY_PATH, { query: { app_auth_token: afterDrop.app_auth_token } });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(240);

    const stats = sim.controls.stats();
    expect(stats.requests.total).toBe(11);
    expect(stats.requests.byRoute).toEqual({ [TOKEN_PATH]: 9, [QUERY_PATH]: 2 });
    expect(stats.requests.byGrantType).toEqual({ authorization_code: 4, refresh_token: 5 });
    expect(stats.exchanges).toBe(3); // including the dropped one
    expect(stats.refreshesByMerchant).toEqual({ '2021000000000091': 3 }); // including the dropped one
    expect(stats.errorsByCode).toEqual({ 'unknow-error': 2, AUTH_CODE_NOT_VALID: 1 });
    expect(stats.faultsInjected).toBe(5);

    sim.controls.clearFaults();
    sim.controls.reset();
    expect(sim.controls.stats()).toMatchObject({ exchanges: 0, faultsInjected: 0, requests: { total: 0 } });
    expect((await sdkError(s.curl('POST', TOKEN_PATH, refreshBody(latest.app_refresh_token)))).code).toBe('REFRESH_TOKEN_NOT_EXIST');
  });
});

describe('variants and measurements for issue 19', () => {
  const exchange = async (authAppId: string) =>
    json(await call({ body: { grant_type: 'authorization_code', code: sim.controls.authorize(APP, { authAppId }).app_auth_code } }));
  const refresh = (rt: string) => call({ body: { grant_type: 'refresh_token', refresh_token: rt } });

  it('reauthorizationRetiresRefreshToken: the old refresh token of a replaced authorization is refused, or refreshes the current one', async () => {
    const old = await exchange('2021000000000191');
    const current = await exchange('2021000000000191'); // the merchant authorizes again
    sim.controls.configure({ reauthorizationRetiresRefreshToken: true });
    const refused = await refresh(old.app_refresh_token);
    expect([refused.status, json(refused).code]).toEqual([400, 'REFRESH_TOKEN_NOT_VALID']);
    expect(json(await call({ method: 'GET', uri: `${QUERY_PATH}?app_auth_token=${current.app_auth_token}` })).status).toBe('valid'); // untouched
    sim.controls.configure({ reauthorizationRetiresRefreshToken: false });
    expect((await refresh(old.app_refresh_token)).status).toBe(200);
    expect(json(await call({ method: 'GET', uri: `${QUERY_PATH}?app_auth_token=${current.app_auth_token}` })).status).toBe('invalid'); // rotated by the old one
    expect(() => sim.controls.configure({ reauthorizationRetiresRefreshToken: 'yes' as never })).toThrow(/boolean/);
  });

  it('gateway-error answers the given code and status unsigned, without doing the operation', async () => {
    const first = await exchange('2021000000000192');
    expect(() => sim.controls.addFault({ route: TOKEN_PATH, kind: 'gateway-error' })).toThrow(/code/);
    sim.controls.addFault({ route: TOKEN_PATH, kind: 'gateway-error', code: 'illegal-client-ip', status: 403, grantType: 'refresh_token', count: 1 });
    const r = await refresh(first.app_refresh_token);
    expect([r.status, json(r).code, r.headers['alipay-signature'], r.headers['alipay-trace-id'] !== undefined]).toEqual([
      403,
      'illegal-client-ip',
      undefined,
      true,
    ]);
    expect(sim.controls.stats().refreshesByMerchant).toEqual({});
  });

  it('refreshOverlaps counts refreshes of one merchant that are handled at the same time', async () => {
    const first = await exchange('2021000000000193');
    const other = await exchange('2021000000000194');
    sim.controls.addFault({ route: TOKEN_PATH, kind: 'latency', latencyMs: 1500, grantType: 'refresh_token', count: 1 });
    const slow = refresh(first.app_refresh_token);
    while (sim.controls.stats().requests.byGrantType.refresh_token < 1) await new Promise((r) => setTimeout(r, 5)); // held now
    await refresh(other.app_refresh_token); // another merchant: no overlap
    expect(sim.controls.stats().refreshOverlaps).toBe(0);
    await refresh(first.app_refresh_token); // while the slow one is still held
    await slow;
    await refresh(first.app_refresh_token); // after it: none
    expect(sim.controls.stats().refreshOverlaps).toBe(1);
  });
});

describe('admin HTTP API', () => {
  let own: AlipaySimulator;
  beforeAll(async () => {
    own = await startAlipaySimulator(); // generated Alipay key, nothing registered
  });
  afterAll(() => own.close());

  it('drives a fresh simulator over plain HTTP', async () => {
    const api = request(own.url);
    expect((await api.get('/__simulator/health')).body).toEqual({ ok: true });
    const reg = await api.post('/__simulator/apps').send({ appId: APP, publicKey: vectors.keys.app.publicKeySpkiBase64 });
    expect(reg.status).toBe(200);
    expect(reg.body.alipayPublicKey).toBe(own.alipayPublicKeyPem);
    expect(reg.body.alipayPublicCert).toBeUndefined();
    expect(own.alipayPublicKeyBase64).toBe(own.alipayPublicKeyPem.replace(/-----[A-Z ]+-----|\s/g, ''));
    expect((await api.post('/__simulator/apps').send({ appId: APP })).status).toBe(400);
    expect((await api.post('/__simulator/apps').send('not json').set('content-type', 'application/json')).status).toBe(400);

    const auth = await api
      .post('/__simulator/authorizations')
      .send({ appId: APP, authAppIds: ['2021000000000101', '2021000000000102'], userId: '2088000000000101' });
    expect(auth.status).toBe(200);
    expect(auth.body.app_auth_code).toMatch(CODE_RE);
    expect((await api.post('/__simulator/authorizations').send({ appId: '2021009999999999' })).status).toBe(400);

    const s = new AlipaySdk({ appId: APP, privateKey: appPrivatePem, alipayPublicKey: reg.body.alipayPublicKey, endpoint: own.url, keyType: 'PKCS8' });
    const data = (await s.curl<any>('POST', TOKEN_PATH, exchangeBody(auth.body.app_auth_code))).data;
    expect(data.tokens).toHaveLength(2);

    const clock0 = (await api.get('/__simulator/clock')).body.nowMs;
    const moved = (await api.post('/__simulator/clock').send({ advanceMs: DAY })).body.nowMs;
    expect(moved - clock0).toBeGreaterThanOrEqual(DAY);
    expect((await api.post('/__simulator/clock').send({ nowMs: 1_700_000_000_000 })).body.nowMs).toBeLessThan(1_700_000_001_000);
    expect((await api.post('/__simulator/clock').send({})).status).toBe(400);
    await api.post('/__simulator/clock').send({ nowMs: Date.now() });

    const fault = await api.post('/__simulator/faults').send({ route: TOKEN_PATH, kind: 'rate-limit' });
    expect(fault.body.id).toEqual(expect.any(String));
    expect((await api.post('/__simulator/faults').send({ route: TOKEN_PATH, kind: 'meteor' })).status).toBe(400);
    expect((await sdkError(s.curl('POST', TOKEN_PATH, refreshBody(data.app_refresh_token)))).code).toBe('app-call-limited');
    await api.delete('/__simulator/faults').expect(200);
    await s.curl('POST', TOKEN_PATH, refreshBody(data.app_refresh_token));

    const cancel = await api.post('/__simulator/authorizations/cancel').send({ appId: APP, authAppId: '2021000000000102' });
    expect(cancel.body).toEqual({ cancelled: true });

    const stats = (await api.get('/__simulator/stats')).body;
    expect(stats).toMatchObject({
      exchanges: 1,
      refreshesByMerchant: { '2021000000000101': 1 },
      errorsByCode: { 'app-call-limited': 1 },
      faultsInjected: 1,
      cancellations: 1,
    });

    await api.post('/__simulator/reset').send({}).expect(200);
    expect((await api.get('/__simulator/stats')).body.exchanges).toBe(0);
    expect((await sdkError(s.curl('POST', TOKEN_PATH, refreshBody(data.app_refresh_token)))).code).toBe('REFRESH_TOKEN_NOT_EXIST'); // app kept
    await api.post('/__simulator/reset').send({ apps: true }).expect(200);
    expect((await sdkError(s.curl('POST', TOKEN_PATH, refreshBody(data.app_refresh_token)))).code).toBe('invalid-app-id');
    expect((await api.get('/__simulator/nope')).status).toBe(404);
  });
});
