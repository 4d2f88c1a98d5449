/**
 * The testing kit (`nestjs-alipay-auth/testing`) as an app's test would use it: a controller of the app's
 * own, the library wired by `AlipayAuthTestingModule`, codes minted by the kit, the clock moved, faults injected.
 */
import { Body, Controller, Get, INestApplication, Module, Param, Post } from '@nestjs/common';
import { EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { AlipayAuthEvent, AlipayAuthEventPayload, AlipayStoreUnavailableError, AlipayTokenService } from 'nestjs-alipay-auth';
import { AlipayAuthTestingKit, AlipayAuthTestingModule, InMemoryAlipayTokenStore, TOKEN_PATH } from 'nestjs-alipay-auth/testing';

const DAY = 24 * 3600 * 1000;

/** The app's own code under test. */
@Controller('merchants')
class MerchantsController {
  constructor(private readonly tokens: AlipayTokenService) {}

  @Post('authorized')
  async authorized(@Body() body: { code: string }) {
    const [first] = await this.tokens.exchangeCode(body.code);
    return { authAppId: first.authAppId, status: first.status };
  }

  @Get(':id/token')
  async token(@Param('id') id: string) {
    return { token: await this.tokens.getAppAuthToken(id) };
  }
}

class Listener {
  readonly refreshed: string[] = [];
  @OnEvent(AlipayAuthEvent.Refreshed)
  onRefreshed(payload: AlipayAuthEventPayload) {
    this.refreshed.push(payload.authorization.authAppId);
  }
}

@Module({ controllers: [MerchantsController], providers: [Listener] })
class MerchantsModule {}

describe('nestjs-alipay-auth/testing', () => {
  let app: INestApplication;
  let kit: AlipayAuthTestingKit;

  beforeEach(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [EventEmitterModule.forRoot(), AlipayAuthTestingModule.forRoot(), MerchantsModule],
    }).compile();
    app = await moduleRef.createNestApplication().init();
    kit = app.get(AlipayAuthTestingKit);
  });

  afterEach(async () => {
    await app?.close();
  });

  it("exchanges a minted code through the app's controller and serves the token", async () => {
    const { app_auth_code, auth_app_ids } = kit.authorize();
    const res = await request(app.getHttpServer()).post('/merchants/authorized').send({ code: app_auth_code }).expect(201);
    expect(res.body).toEqual({ authAppId: auth_app_ids[0], status: 'active' });
    const token = (await request(app.getHttpServer()).get(`/merchants/${auth_app_ids[0]}/token`).expect(200)).body.token;
    expect(token).toMatch(/^[A-Za-z0-9]{20,}$/);
    // The kit's store holds it: in memory, and in the kit's hands for assertions.
    expect(kit.store).toBeInstanceOf(InMemoryAlipayTokenStore);
    expect((await kit.store.find(kit.appId, auth_app_ids[0]))!.appAuthToken).toBe(token);
    // A code is spent once, as on Alipay.
    await request(app.getHttpServer()).post('/merchants/authorized').send({ code: app_auth_code }).expect(500);
  });

  it('moves the clock of the library and the simulator together: an old token is refreshed on demand', async () => {
    const code = kit.mintAuthCode({ authAppId: '2021009900000001' });
    await app.get(AlipayTokenService).exchangeCode(code);
    const first = await app.get(AlipayTokenService).getAppAuthToken('2021009900000001');
    kit.advance(360 * DAY);
    const second = await app.get(AlipayTokenService).getAppAuthToken('2021009900000001');
    expect(second).not.toBe(first);
    expect(await app.get(AlipayTokenService).getAppAuthToken('2021009900000001')).toBe(second);
    expect(app.get(Listener).refreshed).toEqual(['2021009900000001']);
    expect(kit.simulator.controls.stats().requests.byGrantType).toEqual({ authorization_code: 1, refresh_token: 1 });
  });

  it('injects faults: a 503 on the token route fails the exchange, and the code stays usable', async () => {
    const code = kit.mintAuthCode();
    kit.fault({ route: TOKEN_PATH, kind: 'http-503', count: 1 });
    await expect(app.get(AlipayTokenService).exchangeCode(code)).rejects.toThrow();
    expect(kit.simulator.controls.stats().faultsInjected).toBe(1);
    await expect(app.get(AlipayTokenService).exchangeCode(code)).resolves.toHaveLength(1);
  });

  it('fails a store call on demand (a database outage seen from the library)', async () => {
    const store = kit.store as InMemoryAlipayTokenStore;
    const down = new Error('database is down');
    store.failNext('saveAuthorization', down);
    // As from a real database: the library's typed error, the store's own as its cause.
    const e = await app
      .get(AlipayTokenService)
      .exchangeCode(kit.mintAuthCode())
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AlipayStoreUnavailableError);
    expect(e).toMatchObject({ operation: 'saveAuthorization', cause: down });
    expect(store.all()).toEqual([]);
  });
});
