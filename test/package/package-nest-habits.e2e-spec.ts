/**
 * The library used with the usual Nest habits: autoLoadEntities, client-only mode, a named data source,
 * forRootAsync with useClass, feature modules. Each case boots a real module against the kit's simulator.
 */
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  AlipayAuthModule,
  AlipayAuthModuleOptions,
  AlipayApiError,
  AlipayAuthOptionsFactory,
  AlipayConfigError,
  AlipayOpenApiClient,
  AlipayTokenService,
} from 'nestjs-alipay-auth';
import { TOKEN_PATH as TOKEN_APP_PATH } from 'nestjs-alipay-auth/protocol';
import { AlipayAuthTestingKit } from 'nestjs-alipay-auth/testing';

describe('Nest habits', () => {
  let kit: AlipayAuthTestingKit;
  /** Module options against the simulator, without the kit's store: the module picks its own. */
  const options = (extra: Partial<AlipayAuthModuleOptions> = {}): AlipayAuthModuleOptions => ({ ...kit.moduleOptions(), store: undefined, ...extra });
  const sqlite = (extra: object = {}) => TypeOrmModule.forRoot({ type: 'better-sqlite3', database: ':memory:', ...extra });

  beforeAll(async () => {
    kit = await AlipayAuthTestingKit.start();
  });
  afterAll(() => kit?.close());

  it('autoLoadEntities picks up the library entities: synchronize creates the tables and an exchange lands', async () => {
    const app = await Test.createTestingModule({
      imports: [sqlite({ autoLoadEntities: true, synchronize: true }), AlipayAuthModule.forRoot(options())],
    }).compile();
    await app.init();
    try {
      const [row] = await app.get(AlipayTokenService).exchangeCode(kit.mintAuthCode());
      expect(row.status).toBe('active');
    } finally {
      await app.close();
    }
  });

  it('missing tables fail start-up, naming the migrations, before any code is spent', async () => {
    const build = Test.createTestingModule({ imports: [sqlite(), AlipayAuthModule.forRoot(options())] }).compile();
    await expect(build).rejects.toThrow(AlipayConfigError);
    await expect(Test.createTestingModule({ imports: [sqlite(), AlipayAuthModule.forRoot(options())] }).compile()).rejects.toThrow(
      /alipayAuthMigrations\('better-sqlite3'\)/,
    );
  });

  it('client-only mode: no data source, the module boots and the OpenAPI client works; token calls say why not', async () => {
    const app = await Test.createTestingModule({ imports: [AlipayAuthModule.forRoot(options())] }).compile();
    await app.init();
    try {
      // A signed call that reaches the gateway and comes back as Alipay's typed error (the code is bogus).
      await expect(
        app.get(AlipayOpenApiClient).request({ method: 'POST', path: TOKEN_APP_PATH, body: { grant_type: 'authorization_code', code: 'bogus' } }),
      ).rejects.toBeInstanceOf(AlipayApiError);
      await expect(app.get(AlipayTokenService).exchangeCode(kit.mintAuthCode())).rejects.toThrow(/pass the "store" option/);
    } finally {
      await app.close();
    }
  });

  it('a mistyped data source name is an error, not client-only mode', async () => {
    const build = Test.createTestingModule({
      imports: [sqlite({ name: 'tokens', autoLoadEntities: true, synchronize: true }), AlipayAuthModule.forRoot({ ...options(), dataSource: 'token' })],
    }).compile();
    await expect(build).rejects.toThrow('No TypeORM data source named "token"');
  });

  it('a named data source is used when the name matches', async () => {
    const app = await Test.createTestingModule({
      imports: [sqlite({ name: 'tokens', autoLoadEntities: true, synchronize: true }), AlipayAuthModule.forRoot({ ...options(), dataSource: 'tokens' })],
    }).compile();
    await app.init();
    try {
      expect(await app.get(AlipayTokenService).exchangeCode(kit.mintAuthCode())).toHaveLength(1);
    } finally {
      await app.close();
    }
  });

  it('forRootAsync({ useClass }) calls createAlipayAuthOptions(); a feature module injects the services without importing', async () => {
    @Injectable()
    class AlipayConfigService implements AlipayAuthOptionsFactory {
      createAlipayAuthOptions(): AlipayAuthModuleOptions {
        return { ...options(), store: kit.store };
      }
    }
    @Injectable()
    class Payments {
      constructor(readonly tokens: AlipayTokenService) {}
    }
    @Module({ providers: [Payments], exports: [Payments] })
    class PaymentsModule {}
    const app = await Test.createTestingModule({ imports: [AlipayAuthModule.forRootAsync({ useClass: AlipayConfigService }), PaymentsModule] }).compile();
    await app.init();
    try {
      const [row] = await app.get(Payments).tokens.exchangeCode(kit.mintAuthCode());
      expect((await kit.store.find(kit.appId, row.authAppId))?.status).toBe('active');
    } finally {
      await app.close();
    }
  });
});
