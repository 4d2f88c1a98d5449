/**
 * The sample app end to end, against the Alipay simulator started in this process: authorization link,
 * the simulator's consent page, the callback (state, cookie, replays, bad input), the operators' pages,
 * the notification endpoint, health, and configuration validation.
 */
import type { NestExpressApplication } from '@nestjs/platform-express';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildNotifySignContent, loadPrivateKey, rsaSign } from 'nestjs-alipay-auth/protocol';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AlipaySimulator, startAlipaySimulator, TOKEN_PATH } from 'nestjs-alipay-auth-simulator';
import { SIMULATION_APP_ID } from '../src/alipay/alipay-setup';
import { createSampleApp } from '../src/sample-app';
import { vectors } from '../../../test/fixtures/vectors';
import { freePort } from '../../../test/support/free-port';

const APP_ID = '2021004100000001';
const ADMIN_TOKEN = 'operator-token-0123456789';
const appPrivatePem: string = vectors.keys.app.privateKeyPkcs8Pem;
const appPublicPem: string = vectors.keys.app.publicKeySpkiPem;
const alipayPrivatePem: string = vectors.keys.alipay.privateKeyPkcs1Pem;

let sim: AlipaySimulator;
let app: NestExpressApplication;
let base: string;
let dir: string;
const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PORT: new URL(base).port,
    PUBLIC_BASE_URL: base,
    ALIPAY_APP_ID: APP_ID,
    ALIPAY_PRIVATE_KEY: appPrivatePem,
    ALIPAY_PUBLIC_KEY: sim.alipayPublicKeyPem,
    ALIPAY_GATEWAY: sim.url,
    ALIPAY_TOKEN_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    SQLITE_PATH: join(dir, 'sample.sqlite'),
    STATE_SECRET: randomBytes(32).toString('base64url'),
    ADMIN_TOKEN,
    ...extra,
  };
}

/** Path and query of a URL, for supertest against another origin. */
function pathOf(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}

function cookieFrom(res: request.Response, name: string): string {
  const raw = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith(`${name}=`));
  if (!raw) throw new Error(`no ${name} cookie`);
  return raw;
}

/** The csrf field of a merchant's "Refresh now" form on the operators' page. */
function csrfOf(page: string, authAppId: string): string {
  const csrf = new RegExp(`action="/alipay/merchants/${authAppId}/refresh">\\s*<input type="hidden" name="csrf" value="([^"]+)"`).exec(page)?.[1];
  if (!csrf) throw new Error(`no Refresh now form for ${authAppId}`);
  return csrf;
}

async function merchants(): Promise<{ items: any[]; total: number }> {
  const res = await request(base).get('/alipay/merchants?limit=1000').set(bearer).expect(200);
  return res.body;
}

async function exchanges(): Promise<number> {
  return sim.controls.stats().exchanges;
}

/** Authorize link -> simulator page -> approve: the callback URL Alipay sends the browser to, and the cookie. */
async function approveInSimulator(authAppId: string, userId = '2088000000000001'): Promise<{ callback: string; cookie: string; state: string }> {
  const start = await request(base).get('/alipay/auth/authorize').expect(302);
  const cookie = cookieFrom(start, 'alipay_auth_nonce').split(';')[0];
  const page = new URL(start.headers.location);
  const consent = await request(sim.url).get(pathOf(page.toString())).expect(200);
  expect(consent.text).toContain('id="authorize"');
  const approved = await request(sim.url)
    .post(page.pathname)
    .type('form')
    .send({
      app_id: page.searchParams.get('app_id'),
      redirect_uri: page.searchParams.get('redirect_uri'),
      state: page.searchParams.get('state'),
      auth_app_id: authAppId,
      user_id: userId,
      action: 'authorize',
    })
    .expect(302);
  return { callback: approved.headers.location, cookie, state: page.searchParams.get('state')! };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sample-e2e-'));
  base = `http://127.0.0.1:${await freePort()}`;
  sim = await startAlipaySimulator({
    alipayPrivateKey: alipayPrivatePem,
    apps: [{ appId: APP_ID, publicKey: appPublicPem, redirectUris: [`${base}/alipay/auth/callback`], notifyUrl: `${base}/alipay/notify` }],
  });
  app = await createSampleApp({ logger: false, env: env(), alipay: { refresh: { enabled: false }, retries: 0 } });
  await app.listen(Number(new URL(base).port), '127.0.0.1');
});

afterAll(async () => {
  await app?.close();
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('authorization flow', () => {
  const MERCHANT = '2021004199990001';
  let flow: { callback: string; cookie: string; state: string };

  it('redirects to the authorization page with app_id, redirect_uri and a signed state bound to an HttpOnly cookie', async () => {
    const res = await request(base).get('/alipay/auth/authorize').expect(302);
    const location = new URL(res.headers.location);
    expect(`${location.origin}${location.pathname}`).toBe(`${sim.url}/oauth2/appToAppAuth.htm`);
    expect(location.searchParams.get('app_id')).toBe(APP_ID);
    expect(location.searchParams.get('redirect_uri')).toBe(`${base}/alipay/auth/callback`);
    const state = location.searchParams.get('state')!;
    // Standard base64 within Alipay's 100 characters: version, expiry, nonce (bytes 7-22), HMAC.
    expect(state).toMatch(/^[A-Za-z0-9+/]{74}==$/);
    const cookie = cookieFrom(res, 'alipay_auth_nonce');
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Max-Age=600/);
    expect(cookie.split(';')[0]).toBe(`alipay_auth_nonce=${Buffer.from(state, 'base64').subarray(7, 23).toString('base64url')}`);
  });

  it('approve on the simulator, callback with code + state + cookie: success, merchant listed', async () => {
    flow = await approveInSimulator(MERCHANT);
    const cb = new URL(flow.callback);
    expect(cb.searchParams.get('source')).toBe('alipay_app_auth');
    expect(cb.searchParams.get('state')).toBe(flow.state);

    const res = await request(base).get(pathOf(flow.callback)).set('cookie', flow.cookie).expect(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.text).toContain('Authorization complete');
    expect(res.text).toContain(MERCHANT);
    expect(res.headers['referrer-policy']).toBe('no-referrer');

    const list = await merchants();
    const m = list.items.find((i) => i.authAppId === MERCHANT);
    expect(m).toMatchObject({ status: 'active', userId: '2088000000000001', appId: APP_ID });
    // The list has no token, not even masked (nothing decrypted); one merchant's JSON shows it masked.
    expect(JSON.stringify(list)).not.toMatch(/appAuthToken|appRefreshToken|app_refresh_token|maskedToken/);
    const one = await request(base).get(`/alipay/merchants/${MERCHANT}`).set(bearer).expect(200);
    expect(one.body.maskedToken).toContain('…');

    const home = await request(base).get('/').set(bearer).expect(200);
    expect(home.text).toContain(MERCHANT);
    expect(home.text).toContain('Refresh now');
    expect(home.text).toContain('<svg');
    expect(home.text).toContain(`${base}/alipay/auth/authorize`);
  });

  it('a replayed callback is answered from memory (200, no second call to Alipay); the details only in the same browser', async () => {
    const before = await exchanges();
    // reload in the same browser
    const again = await request(base).get(pathOf(flow.callback)).set('cookie', flow.cookie).expect(200);
    expect(again.text).toContain('Authorization complete');
    expect(again.text).toContain(MERCHANT);
    // the same URL opened elsewhere (no cookie): it worked, but not for whom
    const json = await request(base).get(pathOf(flow.callback)).set('accept', 'application/json').expect(200);
    expect(json.body).toEqual({ status: 'authorized', replayed: true });
    const page = await request(base).get(pathOf(flow.callback)).expect(200);
    expect(page.text).toContain('already complete');
    expect(page.text).not.toContain(MERCHANT);
    // without its state, too (the code is what counts)
    const cb = new URL(flow.callback);
    cb.searchParams.delete('state');
    await request(base).get(pathOf(cb.toString())).set('cookie', flow.cookie).expect(200);
    expect(await exchanges()).toBe(before);
  });

  it('operator routes need ADMIN_TOKEN (Bearer or Basic password)', async () => {
    const res = await request(base).get('/').expect(401);
    expect(res.headers['www-authenticate']).toMatch(/^Basic/);
    await request(base).get('/alipay/merchants').set('authorization', 'Bearer wrong-token-wrong-token').expect(401);
    await request(base).get('/').auth('operator', ADMIN_TOKEN).expect(200);
  });

  it('"Refresh now": form with the session-bound csrf redirects back, one notice; without it 403; JSON with Bearer', async () => {
    const browser = request.agent(base);
    const home = await browser.get('/').auth('ops', ADMIN_TOKEN).expect(200);
    const csrf = csrfOf(home.text, MERCHANT);
    await browser.post(`/alipay/merchants/${MERCHANT}/refresh`).auth('ops', ADMIN_TOKEN).type('form').send({}).expect(403);
    // The token is worthless without this browser's session cookie.
    await request(base).post(`/alipay/merchants/${MERCHANT}/refresh`).auth('ops', ADMIN_TOKEN).type('form').send({ csrf }).expect(403);
    const done = await browser.post(`/alipay/merchants/${MERCHANT}/refresh`).auth('ops', ADMIN_TOKEN).type('form').send({ csrf }).expect(303);
    expect(done.headers.location).toBe('/');
    const shown = await browser.get('/').auth('ops', ADMIN_TOKEN).expect(200);
    expect(shown.text).toContain(`Refreshed the token of merchant app ${MERCHANT}.`);
    const reloaded = await browser.get('/').auth('ops', ADMIN_TOKEN).expect(200);
    expect(reloaded.text).not.toContain('id="notice"');
    const json = await request(base).post(`/alipay/merchants/${MERCHANT}/refresh`).set(bearer).set('accept', 'application/json').expect(200);
    expect(json.body.result).toBe('refreshed');
    expect(json.body.authorization.lastRefreshedAt).toBeTruthy();
    expect(sim.controls.stats().refreshesByMerchant[MERCHANT]).toBe(2);
  });
});

describe('callback input', () => {
  async function expectNothingStored(run: () => Promise<unknown>): Promise<void> {
    const [total, calls] = [(await merchants()).total, await exchanges()];
    await run();
    expect((await merchants()).total).toBe(total);
    expect(await exchanges()).toBe(calls);
  }

  it('a forged state -> 400, nothing stored', async () => {
    const flow = await approveInSimulator('2021004199990002');
    const cb = new URL(flow.callback);
    const forged = Buffer.from(flow.state, 'base64');
    forged[forged.length - 1] ^= 0x01;
    await expectNothingStored(async () => {
      cb.searchParams.set('state', forged.toString('base64'));
      const res = await request(base).get(pathOf(cb.toString())).set('cookie', flow.cookie).expect(400);
      // The merchant reads merchant words; the JSON answer names the parameter for operators.
      expect(res.text).toContain('data-problem="invalid-link"');
      expect(res.text).toContain('The link is incomplete or was changed.');
      expect(/<main[\s\S]*<\/main>/.exec(res.text)![0]).not.toMatch(/state|parameter/i);
      const forgedJson = await request(base).get(pathOf(cb.toString())).set('cookie', flow.cookie).set('accept', 'application/json').expect(400);
      expect(forgedJson.body.error.message).toContain('not issued by this application');
      // A well-signed state from another browser (other cookie).
      cb.searchParams.set('state', flow.state);
      const other = await request(base).get(pathOf(cb.toString())).set('cookie', 'alipay_auth_nonce=AAAAAAAAAAAAAAAAAAAAAA').expect(400);
      expect(other.text).toContain('started in another browser or app');
      // The right state without its cookie.
      await request(base).get(pathOf(cb.toString())).expect(400);
    });
    expect((await merchants()).items.map((i) => i.authAppId)).not.toContain('2021004199990002');
  });

  it('missing or malformed app_auth_code, wrong app_id or source -> 400, nothing stored', async () => {
    const { app_auth_code: code } = sim.controls.authorize(APP_ID, { authAppId: '2021004199990003' });
    await expectNothingStored(async () => {
      const missing = await request(base).get(`/alipay/auth/callback?app_id=${APP_ID}&source=alipay_app_auth`).set('accept', 'application/json').expect(400);
      expect(missing.body.error.message).toContain('"app_auth_code" parameter is missing');
      const wrongApp = await request(base).get(`/alipay/auth/callback?app_id=2021004100000009&source=alipay_app_auth&app_auth_code=${code}`).expect(400);
      expect(wrongApp.text).toContain('data-problem="invalid-link"');
      await request(base).get(`/alipay/auth/callback?app_auth_code=${code}`).expect(400);
      await request(base).get(`/alipay/auth/callback?app_id=${APP_ID}&source=evil&app_auth_code=${code}`).expect(400);
      await request(base)
        .get(`/alipay/auth/callback?app_id=${APP_ID}&app_auth_code=${encodeURIComponent('<script>x</script>')}`)
        .expect(400);
      await request(base).get(`/alipay/auth/callback?app_id=${APP_ID}&app_id=${APP_ID}&app_auth_code=${code}`).expect(400);
    });
  });

  it('without state (console-started authorization): accepted by default', async () => {
    const { app_auth_code: code } = sim.controls.authorize(APP_ID, { authAppId: '2021004199990004' });
    const res = await request(base)
      .get(`/alipay/auth/callback?app_id=${APP_ID}&source=alipay_app_auth&app_auth_code=${code}`)
      .set('accept', 'application/json')
      .expect(200);
    expect(res.body).toMatchObject({ status: 'authorized', replayed: false });
    expect((await merchants()).items.map((i) => i.authAppId)).toContain('2021004199990004');
  });

  it('without state: ALIPAY_CALLBACK_WITHOUT_STATE=reject answers 400 and stores nothing', async () => {
    const strict = await createSampleApp({
      logger: false,
      env: env({ ALIPAY_CALLBACK_WITHOUT_STATE: 'reject', SQLITE_PATH: join(dir, 'strict.sqlite') }),
      alipay: { refresh: { enabled: false } },
    });
    await strict.init();
    try {
      const before = await exchanges();
      const { app_auth_code: code } = sim.controls.authorize(APP_ID, { authAppId: '2021004199990005' });
      const res = await request(strict.getHttpServer()).get(`/alipay/auth/callback?app_id=${APP_ID}&source=alipay_app_auth&app_auth_code=${code}`).expect(400);
      expect(res.text).toContain('data-problem="invalid-link"');
      expect(res.text).not.toContain('&quot;state&quot;');
      expect(await exchanges()).toBe(before);
      const list = await request(strict.getHttpServer()).get('/alipay/merchants').set(bearer).expect(200);
      expect(list.body.total).toBe(0);
    } finally {
      await strict.close();
    }
  });

  it("Alipay's refusal -> 502 page with Alipay's code and trace id", async () => {
    const res = await request(base).get(`/alipay/auth/callback?app_id=${APP_ID}&app_auth_code=0123456789abcdef0123456789abcdef`).expect(502);
    expect(res.text).toContain('AUTH_CODE_NOT_EXIST');
    expect(res.text).toMatch(/id="trace-id">0b[0-9a-f]+</);
  });
});

describe('our side failing', () => {
  it('a callback that fails on our side (database down) says to authorize again, with the link', async () => {
    const broken = await createSampleApp({ logger: false, env: env({ SQLITE_PATH: join(dir, 'broken.sqlite') }), alipay: { refresh: { enabled: false } } });
    await broken.init();
    try {
      await broken.get(DataSource).destroy();
      const { app_auth_code: code } = sim.controls.authorize(APP_ID, { authAppId: '2021004199990030' });
      const res = await request(broken.getHttpServer()).get(`/alipay/auth/callback?app_id=${APP_ID}&app_auth_code=${code}`).expect(500);
      expect(res.text).toContain('Something failed on our side. Please authorize again');
      expect(res.text).toContain('id="retry" href="/alipay/auth/authorize"');
      expect(res.text).not.toContain(code);
    } finally {
      await broken.close().catch(() => undefined);
    }
  });
});

describe('notifications', () => {
  const MERCHANT = '2021004199990010';

  function signed(params: Record<string, string>): Record<string, string> {
    const sign = rsaSign(loadPrivateKey(alipayPrivatePem), buildNotifySignContent(params));
    return { ...params, sign_type: 'RSA2', sign };
  }

  beforeAll(async () => {
    const { app_auth_code: code } = sim.controls.authorize(APP_ID, { authAppId: MERCHANT });
    await request(base).get(`/alipay/auth/callback?app_id=${APP_ID}&app_auth_code=${code}`).expect(200);
  });

  it('a tampered cancellation gets 400 "fail" and changes nothing', async () => {
    const good = signed({
      msg_method: 'alipay.open.auth.appauth.cancelled',
      app_id: APP_ID,
      notify_id: 'n-1',
      utc_timestamp: String(Date.now()),
      version: '1.1',
      charset: 'UTF-8',
      biz_content: JSON.stringify({ detail: { auth_app_id: '2021004199990001' } }),
    });
    const tampered = { ...good, biz_content: JSON.stringify({ detail: { auth_app_id: MERCHANT } }) };
    const res = await request(base).post('/alipay/notify').type('form').send(tampered).expect(400);
    expect(res.text).toBe('fail');
    await request(base)
      .post('/alipay/notify')
      .type('form')
      .send({ ...good, sign: undefined })
      .expect(400);
    const m = await request(base).get(`/alipay/merchants/${MERCHANT}`).set(bearer).expect(200);
    expect(m.body.status).toBe('active');
  });

  it('a verified message of another kind is acknowledged with "success"', async () => {
    const other = signed({
      msg_method: 'alipay.open.some.other.message',
      app_id: APP_ID,
      notify_id: 'n-2',
      utc_timestamp: String(Date.now()),
      biz_content: '{}',
    });
    const res = await request(base).post('/alipay/notify').type('form').send(other).expect(200);
    expect(res.text).toBe('success');
  });

  it("the simulator's signed cancellation marks the merchant cancelled", async () => {
    const result = await sim.controls.cancelAuthorization(APP_ID, MERCHANT);
    expect(result.notification).toMatchObject({ status: 200, body: 'success' });
    const m = await request(base).get(`/alipay/merchants/${MERCHANT}`).set(bearer).expect(200);
    expect(m.body.status).toBe('cancelled');
    const home = await request(base).get('/').set(bearer).expect(200);
    expect(home.text).toMatch(new RegExp(`data-auth-app-id="${MERCHANT}"[\\s\\S]*?status cancelled`));
    // The JSON API answers through the library's exception filter: 409, the merchant and why.
    const refused = await request(base).post(`/alipay/merchants/${MERCHANT}/refresh`).set(bearer).set('accept', 'application/json').expect(409);
    expect(refused.body).toEqual({
      statusCode: 409,
      error: expect.objectContaining({ type: 'authorization-required', authAppId: MERCHANT, reason: expect.any(String) }),
    });
  });
});

describe('health and docs', () => {
  it('GET /health: database up, token refresh up; the details to operators only', async () => {
    expect((await request(base).get('/health').expect(200)).body).toEqual({ status: 'ok' });
    const res = await request(base).get('/health').set(bearer).expect(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.details.database.status).toBe('up');
    expect(res.body.details.token_refresh).toMatchObject({ status: 'up', failing: 0 });
    await request(base).get('/health/live').expect(200);
  });

  it('GET /health is down when the share of failing refreshes passes the threshold', async () => {
    sim.controls.addFault({ route: TOKEN_PATH, kind: 'http-503', grantType: 'refresh_token' });
    try {
      const list = (await merchants()).items.filter((i) => i.status === 'active');
      for (const m of list) {
        const res = await request(base).post(`/alipay/merchants/${m.authAppId}/refresh`).set(bearer).set('accept', 'application/json').expect(502);
        expect(res.body.error).toMatchObject({ type: 'alipay-error', alipayCode: 'unknow-error' });
        expect(res.body.error.traceId).toBeTruthy();
      }
      expect((await request(base).get('/health').expect(503)).body).toEqual({ status: 'error' });
      const res = await request(base).get('/health').set(bearer).expect(503);
      expect(res.body.details.token_refresh).toMatchObject({ status: 'down', failing: list.length, active: list.length });

      // The page tells the truth: a failing badge, the retry time, needs attention.
      const browser = request.agent(base);
      const id = list[0].authAppId;
      const home = await browser.get('/').set(bearer).expect(200);
      // An HTTP 503 after sending is ambiguous: the library verifies the stored pair before retrying.
      const row = new RegExp(`<tr id="m-${id}" data-auth-app-id="${id}" data-state="verifying" class="attention">[\\s\\S]*?</tr>`).exec(home.text)?.[0];
      expect(row).toBeDefined();
      expect(row).toContain('status verifying');
      expect(row).toContain('needs attention');
      expect(row).toMatch(/check<\/span> <time datetime="[^"]+"/);
      expect(row).not.toContain('status active');

      // From the page: back to it with Alipay's code and trace id once, no token.
      const back = await browser
        .post(`/alipay/merchants/${id}/refresh`)
        .set(bearer)
        .type('form')
        .send({ csrf: csrfOf(home.text, id) })
        .expect(303);
      expect(back.headers.location).toBe('/');
      const shown = await browser.get('/').set(bearer).expect(200);
      // The notice says what the row says (one sentence per code), with the code and the trace id.
      const sentence = 'Alipay answered with an internal error; the result is unknown, so the stored tokens will be checked before the next try.';
      expect(shown.text).toMatch(
        new RegExp(`Refresh of merchant app \\d+ failed: ${sentence.replace(/[.;]/g, '\\$&')} \\(code unknow-error\\)\\. Trace id 0b[0-9a-f]+`),
      );
      expect(new RegExp(`<tr id="m-${id}"[\\s\\S]*?</tr>`).exec(shown.text)?.[0]).toContain(sentence);
      expect((await browser.get('/').set(bearer).expect(200)).text).not.toContain('failed: Alipay answered');
      // The page says that health is down, and why (the same thresholds as /health).
      expect(shown.text).toMatch(/id="health-banner" role="alert">[\s\S]*Health is down[\s\S]*active row\(s\) (failing to refresh|awaiting verification)/);
      const forged = await request(base)
        .get('/')
        .set(bearer)
        .set('cookie', `alipay_ops_notice=${encodeURIComponent(`refresh-failed|${id}|Call +86 555 now`)}`)
        .expect(200);
      expect(forged.text).not.toContain('Call +86');
      expect(forged.text).not.toContain('id="notice"');
    } finally {
      sim.controls.clearFaults();
    }
  });

  it('OpenAPI at /docs: the operator responses, the callback parameters, our own health example', async () => {
    const res = await request(base).get('/docs-json').expect(200);
    const paths = res.body.paths;
    expect(Object.keys(paths)).toEqual(
      expect.arrayContaining(['/alipay/auth/authorize', '/alipay/auth/callback', '/alipay/notify', '/alipay/merchants', '/health']),
    );
    expect(Object.keys(paths['/alipay/merchants/{authAppId}/refresh'].post.responses)).toEqual(
      expect.arrayContaining(['200', '303', '401', '403', '409', '502']),
    );
    expect(paths['/alipay/auth/callback'].get.parameters.map((p: { name: string }) => p.name)).toContain('application_type');
    expect(paths['/'].get.parameters.find((p: { name: string }) => p.name === 'view').description).toBeTruthy();
    expect(JSON.stringify(paths['/health'])).not.toMatch(/redis/i);
    await request(base).get('/docs').expect(200);
  });

  it('in production /docs is an operator route; /health tells anonymous callers only up or down', async () => {
    const token = randomBytes(24).toString('base64url');
    const prod = await createSampleApp({
      logger: false,
      env: env({ NODE_ENV: 'production', HOST: '127.0.0.1', ADMIN_TOKEN: token, SQLITE_PATH: join(dir, 'production.sqlite') }),
      alipay: { refresh: { enabled: false } },
    });
    await prod.init();
    try {
      const server = prod.getHttpServer();
      for (const path of ['/docs', '/docs-json']) {
        const res = await request(server).get(path).expect(401);
        expect(res.headers['www-authenticate']).toMatch(/^Basic/);
        await request(server)
          .get(path)
          .auth('ops', token)
          .expect((r) => expect([200, 301]).toContain(r.status));
      }
      expect((await request(server).get('/health').expect(200)).body).toEqual({ status: 'ok' });
      expect((await request(server).get('/health').set('authorization', `Bearer ${token}`).expect(200)).body.details.token_refresh.status).toBe('up');
    } finally {
      await prod.close();
    }
  });

  it('security headers on every route, /docs included; the pages keep their own strict policy', async () => {
    for (const path of ['/docs', '/health/live', '/alipay/auth/authorize']) {
      const res = await request(base).get(path);
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'self'");
      expect(res.headers['x-powered-by']).toBeUndefined();
    }
    const page = await request(base).get('/').set(bearer).expect(200);
    expect(page.headers['content-security-policy']).toMatch(/^default-src 'none'/);
  });

  it('pages are compressed for clients that accept it; the notification answer stays plain "success"', async () => {
    const page = await request(base).get('/').set(bearer).set('accept-encoding', 'gzip').expect(200);
    expect(page.headers['content-encoding']).toBe('gzip');
    expect(page.text).toContain('Authorized merchants');
    const plain = await request(base).get('/').set(bearer).set('accept-encoding', 'identity').expect(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
  });

  it('"Refresh now" as JSON with any Bearer when ADMIN_TOKEN is unset (Swagger\'s "Try it out"); a cookie-only post is refused', async () => {
    const open = await createSampleApp({
      logger: false,
      env: env({ ADMIN_TOKEN: '', SQLITE_PATH: join(dir, 'open.sqlite') }),
      alipay: { refresh: { enabled: false } },
    });
    await open.init();
    try {
      const { app_auth_code: code } = sim.controls.authorize(APP_ID, { authAppId: '2021004199990020' });
      await request(open.getHttpServer()).get(`/alipay/auth/callback?app_id=${APP_ID}&app_auth_code=${code}`).expect(200);
      await request(open.getHttpServer()).post('/alipay/merchants/2021004199990020/refresh').set('accept', 'application/json').expect(403);
      const res = await request(open.getHttpServer())
        .post('/alipay/merchants/2021004199990020/refresh')
        .set('authorization', 'Bearer anything')
        .set('accept', 'application/json')
        .expect(200);
      expect(res.body.result).toBe('refreshed');
    } finally {
      await open.close();
    }
  });
});

describe('configuration', () => {
  it('a bad value stops the boot with a message naming the variable', async () => {
    await expect(createSampleApp({ logger: false, env: env({ ALIPAY_APP_ID: '12345' }) })).rejects.toThrow(/ALIPAY_APP_ID must be the 16-digit Alipay app id/);
    await expect(createSampleApp({ logger: false, env: env({ ALIPAY_CALLBACK_WITHOUT_STATE: 'maybe' }) })).rejects.toThrow(
      /ALIPAY_CALLBACK_WITHOUT_STATE must be one of accept, reject/,
    );
    await expect(createSampleApp({ logger: false, env: env({ ALIPAY_PRIVATE_KEY: 'not a key' }) })).rejects.toThrow(
      /ALIPAY_PRIVATE_KEY is not a readable RSA private key/,
    );
    await expect(createSampleApp({ logger: false, env: env({ ALIPAY_TOKEN_ENCRYPTION_KEYS: 'k1:short' }) })).rejects.toThrow(
      /ALIPAY_TOKEN_ENCRYPTION_KEYS entry 1 must be base64 of 32 bytes/,
    );
    const missing = env();
    delete missing.STATE_SECRET;
    await expect(createSampleApp({ logger: false, env: missing })).rejects.toThrow(/STATE_SECRET is required/);
    await expect(createSampleApp({ logger: false, env: { NODE_ENV: 'production' } })).rejects.toThrow(/ALIPAY_APP_ID is required when NODE_ENV=production/);
    // Production with the operators' routes open to the network: refused, naming the variable.
    const production = { ...env({ NODE_ENV: 'production' }), ADMIN_TOKEN: '' };
    await expect(createSampleApp({ logger: false, env: production })).rejects.toThrow(
      /ADMIN_TOKEN is required when NODE_ENV=production and HOST \(0\.0\.0\.0\) is not loopback/,
    );
    await expect(createSampleApp({ logger: false, env: { ...production, HOST: '127.0.0.1', ALIPAY_APP_ID: 'x' } })).rejects.not.toThrow(/ADMIN_TOKEN/);
    // Production refuses placeholders (not only short values) and a plain-http public address that is not loopback.
    const placeholders = env({
      NODE_ENV: 'production',
      STATE_SECRET: 'change-me-change-me-change-me-change-me',
      ADMIN_TOKEN: 'aaaaaaaaaaaaaaaaaaaaaaaa',
      PUBLIC_BASE_URL: 'http://isv.example.com',
    });
    const refused = createSampleApp({ logger: false, env: placeholders });
    await expect(refused).rejects.toThrow(/STATE_SECRET looks like a placeholder/);
    await expect(refused).rejects.toThrow(/ADMIN_TOKEN looks hand-made/);
    await expect(refused).rejects.toThrow(/PUBLIC_BASE_URL must be https:\/\/ when NODE_ENV=production/);
    const message = await refused.catch((e: Error) => e.message);
    expect(message).not.toContain('change-me');
  });

  it('without credentials: simulation mode with the simulator in process', async () => {
    const simDir = join(dir, 'simulation');
    const local = await createSampleApp({
      logger: false,
      env: { PORT: '3999', ALIPAY_SIMULATOR_PORT: '0', SIMULATION_DATA_DIR: simDir, SQLITE_PATH: join(simDir, 'sample.sqlite') },
    });
    await local.init();
    try {
      // Opened at another address than PUBLIC_BASE_URL: first moved there, so the cookie lands where the callback arrives.
      const moved = await request(local.getHttpServer()).get('/alipay/auth/authorize?batch=1').set('host', '127.0.0.1:3999').expect(302);
      expect(moved.headers.location).toBe('http://localhost:3999/alipay/auth/authorize?batch=1&moved=1');
      expect(moved.headers['set-cookie']).toBeUndefined();
      const batch = new URL(
        (await request(local.getHttpServer()).get('/alipay/auth/authorize?batch=1&moved=1').set('host', 'localhost:3999').expect(302)).headers.location,
      );
      expect(batch.pathname).toBe('/oauth2/appToAppBatchAuth.htm');
      expect(batch.searchParams.get('application_type')).toBe('TINYAPP,WEBAPP');
      expect(batch.searchParams.get('state')).toBeTruthy();

      const res = await request(local.getHttpServer()).get('/alipay/auth/authorize').set('host', 'localhost:3999').expect(302);
      const page = new URL(res.headers.location);
      expect(page.searchParams.get('app_id')).toBe(SIMULATION_APP_ID);
      expect(page.searchParams.get('redirect_uri')).toBe('http://localhost:3999/alipay/auth/callback');
      // The simulator knows our app and our callback.
      const consent = await request(page.origin).get(pathOf(page.toString())).expect(200);
      expect(consent.text).toContain(SIMULATION_APP_ID);
      const home = await request(local.getHttpServer()).get('/').expect(200);
      expect(home.text).toContain('LOCAL SIMULATION');
      expect(home.text).toContain('id="batch-authorize-link" href="http://localhost:3999/alipay/auth/authorize?batch=1"');
      expect(home.text).toMatch(/id="qr-warning">Simulation: this QR code points to http:\/\/localhost:3999, which a phone cannot reach/);
    } finally {
      await local.close();
    }
  });
});
