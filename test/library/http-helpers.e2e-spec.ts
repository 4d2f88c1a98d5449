/**
 * The HTTP pieces a user's own controller calls (AlipayAuthorizationCallback, AlipayNotificationEndpoint),
 * over real HTTP against the simulator: the authorization link and its cookie, the callback's checks and
 * exchange, the notification endpoint's raw form, signature and answers. No cookie parser is installed:
 * the helpers read the Cookie header themselves.
 */
import { Controller, Get, INestApplication, Logger, Module, Post, Req, Res } from '@nestjs/common';
import { APP_FILTER, NestFactory } from '@nestjs/core';
import { jest } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import request from 'supertest';
import {
  AlipayAuthExceptionFilter,
  AlipayAuthModule,
  AlipayAuthorizationCallback,
  AlipayAuthorizationLinkService,
  AlipayNotificationEndpoint,
  AlipayTokenService,
  type AlipayHttpRequest,
} from 'nestjs-alipay-auth';
import { InMemoryAlipayTokenStore } from 'nestjs-alipay-auth/testing';
import { startAlipaySimulator, type AlipaySimulator } from 'nestjs-alipay-auth-simulator';
import { freePort } from '../support/free-port';

const APP_ID = '2021004100000777';
const MERCHANT = '2021004199997001';
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKey = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const publicKey = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();

interface Reply {
  status(code: number): Reply;
  setHeader(name: string, value: string): void;
  type(t: string): Reply;
  send(body: string): void;
  redirect(status: number, url: string): void;
}

@Controller('alipay')
class AlipayController {
  constructor(
    private readonly callback: AlipayAuthorizationCallback,
    private readonly notifications: AlipayNotificationEndpoint,
  ) {}

  @Get('auth/authorize')
  authorize(@Req() req: AlipayHttpRequest, @Res() res: Reply): void {
    const start = this.callback.start(req);
    res.setHeader('set-cookie', start.setCookie);
    res.redirect(302, start.url);
  }

  @Get('auth/callback')
  async done(@Req() req: AlipayHttpRequest): Promise<{ authorized: string[] }> {
    const authorizations = await this.callback.complete(req);
    return { authorized: authorizations.map((a) => a.authAppId) };
  }

  @Post('notify')
  async notify(@Req() req: AlipayHttpRequest, @Res() res: Reply): Promise<void> {
    const answer = await this.notifications.receive(req);
    res.status(answer.status).type('text/plain').send(answer.body);
  }
}

describe('HTTP helpers in a controller of your own', () => {
  let sim: AlipaySimulator;
  let app: INestApplication;
  let base: string;
  const store = new InMemoryAlipayTokenStore();

  async function build(rawBody: boolean): Promise<INestApplication> {
    @Module({
      imports: [
        AlipayAuthModule.forRoot({
          appId: APP_ID,
          privateKey,
          alipayPublicKey: sim.alipayPublicKeyPem,
          gateway: sim.url,
          retries: 0,
          store,
          refresh: { enabled: false },
          authorizationLink: { stateSecret: 'x'.repeat(32), redirectUri: `${base}/alipay/auth/callback` },
        }),
      ],
      controllers: [AlipayController],
      providers: [{ provide: APP_FILTER, useClass: AlipayAuthExceptionFilter }],
    })
    class AppModule {}
    return NestFactory.create(AppModule, { rawBody, logger: false });
  }

  beforeAll(async () => {
    sim = await startAlipaySimulator({ port: 0 });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    app = await build(true);
    await app.listen(port, '127.0.0.1');
    sim.controls.registerApp({ appId: APP_ID, publicKey, redirectUris: [`${base}/alipay/auth/callback`], notifyUrl: `${base}/alipay/notify` });
  });

  afterAll(async () => {
    await app?.close();
    await sim?.close();
  });

  /** authorize → the simulator's page → approve: the callback URL and the cookie the browser holds. */
  async function approve(authAppId: string): Promise<{ callback: string; cookie: string; setCookie: string }> {
    const start = await request(base).get('/alipay/auth/authorize').expect(302);
    const setCookie = ([] as string[]).concat(start.headers['set-cookie'] ?? [])[0];
    const page = new URL(start.headers.location);
    const approved = await request(sim.url)
      .post(page.pathname)
      .type('form')
      .send({
        app_id: page.searchParams.get('app_id'),
        redirect_uri: page.searchParams.get('redirect_uri'),
        state: page.searchParams.get('state'),
        auth_app_id: authAppId,
        user_id: '2088000000000001',
        action: 'authorize',
      })
      .expect(302);
    const callback = new URL(approved.headers.location);
    return { callback: `${callback.pathname}${callback.search}`, cookie: setCookie.split(';')[0], setCookie };
  }

  it("authorize: a 302 to the authorization page and an HttpOnly, SameSite=Lax nonce cookie for the callback's folder; a second tab reuses the nonce", async () => {
    const { setCookie, cookie } = await approve('2021004199997000');
    expect(setCookie).toMatch(/^alipay_auth_nonce=[A-Za-z0-9_-]{22}; Path=\/alipay\/auth; Max-Age=600; HttpOnly; SameSite=Lax$/);
    const again = await request(base).get('/alipay/auth/authorize').set('cookie', cookie).expect(302);
    expect(([] as string[]).concat(again.headers['set-cookie'] ?? [])[0].split(';')[0]).toBe(cookie);
    // The second tab's state is bound to the same nonce.
    const nonce = cookie.split('=')[1];
    expect(app.get(AlipayAuthorizationLinkService).verifyState(new URL(again.headers.location).searchParams.get('state'), nonce)).toBe(nonce);
  });

  it('callback: state and cookie verified, the code exchanged and stored', async () => {
    const { callback, cookie } = await approve(MERCHANT);
    const res = await request(base).get(callback).set('cookie', `other=1; ${cookie}`).expect(200);
    expect(res.body).toEqual({ authorized: [MERCHANT] });
    expect(await app.get(AlipayTokenService).get(MERCHANT)).toMatchObject({ status: 'active' });
  });

  it('callback without the cookie: 400 naming the problem, without blaming the browser, and the code is not spent', async () => {
    const exchanges = sim.controls.stats().exchanges;
    const { callback } = await approve('2021004199997002');
    const res = await request(base).get(callback).expect(400);
    expect(res.body.error).toMatchObject({ type: 'authorization-state', reason: 'no-cookie' });
    expect(res.body.error.message).toMatch(/without the cookie set by the authorization link/);
    expect(res.body.error.message).not.toMatch(/browser/);
    expect(sim.controls.stats().exchanges).toBe(exchanges);
  });

  it('callback input: a missing or malformed code, another app, no state: 400 invalid-input naming the field, logged as a warning only', async () => {
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      const field = async (query: string) => (await request(base).get(`/alipay/auth/callback?${query}`).expect(400)).body.error;
      expect(await field(`app_id=${APP_ID}&state=x`)).toMatchObject({ type: 'invalid-input', field: 'app_auth_code' });
      expect(await field(`app_id=${APP_ID}&app_auth_code=%3Cscript%3E`)).toMatchObject({ type: 'invalid-input', field: 'app_auth_code' });
      expect(await field(`app_id=2021004100000009&app_auth_code=abcdefgh12`)).toMatchObject({ type: 'invalid-input', field: 'app_id' });
      expect(await field(`app_id=${APP_ID}&app_id=${APP_ID}&app_auth_code=abcdefgh12`)).toMatchObject({ type: 'invalid-input', field: 'app_id' });
      expect(await field(`app_id=${APP_ID}&app_auth_code=abcdefgh12`)).toMatchObject({ type: 'invalid-input', field: 'state' });
      expect(error).not.toHaveBeenCalled();
    } finally {
      error.mockRestore();
    }
  });

  it("notification: Alipay's signed cancellation is answered success and cancels the merchant; a forged one gets 400 fail", async () => {
    const forged = await request(base)
      .post('/alipay/notify')
      .type('form')
      .send({ msg_method: 'alipay.open.auth.appauth.cancelled', app_id: APP_ID, notify_id: 'forged-1', sign: 'AAAA', biz_content: '{}' })
      .expect(400);
    expect(forged.text).toBe('fail');
    expect(forged.headers['content-type']).toMatch(/^text\/plain/);
    const result = await sim.controls.cancelAuthorization(APP_ID, MERCHANT);
    expect(result.notification).toMatchObject({ status: 200, body: 'success' });
    expect(await app.get(AlipayTokenService).get(MERCHANT)).toMatchObject({ status: 'cancelled' });
  });

  it('notification without rawBody: 500 fail (Alipay resends) and an error naming the missing option', async () => {
    const bare = await build(false);
    await bare.init();
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      const res = await request(bare.getHttpServer()).post('/alipay/notify').type('form').send({ notify_id: 'n-1' }).expect(500);
      expect(res.text).toBe('fail');
      expect(error).toHaveBeenCalledWith(expect.stringContaining('NestFactory.create(AppModule, { rawBody: true })'));
    } finally {
      error.mockRestore();
      await bare.close();
    }
  });
});
