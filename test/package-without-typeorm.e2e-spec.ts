/**
 * typeorm and @nestjs/typeorm are optional peers: an app with its own `store` runs without them. Here
 * both fail to load, as they do when not installed (the consumer suite installs an app without them).
 */
import { jest } from '@jest/globals';

/** What the loader throws for a package that is not installed (Jest's wording; Node's differs, also covered). */
const notInstalled = (name: string) => () => {
  throw Object.assign(new Error(`Cannot find module '${name}' from 'libs/alipay-auth/src/storage/typeorm-storage.module.ts'`), { code: 'MODULE_NOT_FOUND' });
};
jest.unstable_mockModule('@nestjs/typeorm', notInstalled('@nestjs/typeorm'));
jest.unstable_mockModule('typeorm', notInstalled('typeorm'));

const { Logger } = await import('@nestjs/common');
const { Test } = await import('@nestjs/testing');
const { AlipayAuthModule, AlipayConfigError, AlipayTokenService } = await import('nestjs-alipay-auth');
const { AlipayAuthTestingKit, AlipayAuthTestingModule, InMemoryAlipayTokenStore } = await import('nestjs-alipay-auth/testing');

describe('without typeorm and @nestjs/typeorm', () => {
  let kit: InstanceType<typeof AlipayAuthTestingKit>;
  const options = (extra: object = {}) => ({ ...kit.moduleOptions(), store: undefined, ...extra });

  beforeAll(async () => {
    kit = await AlipayAuthTestingKit.start();
  });
  afterAll(() => kit?.close());

  it('the TypeORM entry does not load: the packages are really missing here', async () => {
    await expect(import('nestjs-alipay-auth/typeorm')).rejects.toThrow(/Cannot find module '(@nestjs\/)?typeorm'/);
  });

  it.each([
    ['forRoot', () => AlipayAuthModule.forRoot(options({ store: new InMemoryAlipayTokenStore() }))],
    ['forRootAsync', () => AlipayAuthModule.forRootAsync({ useFactory: () => options({ store: InMemoryAlipayTokenStore }) })],
  ])('%s with a custom store boots and exchanges a code', async (_how, registration) => {
    const app = await Test.createTestingModule({ imports: [registration()] }).compile();
    await app.init();
    try {
      const [row] = await app.get(AlipayTokenService).exchangeCode(kit.mintAuthCode());
      expect(await app.get(AlipayTokenService).get(row.authAppId)).toMatchObject({ status: 'active' });
    } finally {
      await app.close();
    }
  });

  it('the testing module (forRootAsync with its in-memory store) works', async () => {
    const app = await Test.createTestingModule({ imports: [AlipayAuthTestingModule.forRoot()] }).compile();
    await app.init();
    try {
      expect(await app.get(AlipayTokenService).exchangeCode(app.get(AlipayAuthTestingKit).mintAuthCode())).toHaveLength(1);
    } finally {
      await app.close();
    }
  });

  it('no store: client-only mode, with a warning and token calls that name the missing package and the store option', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const app = await Test.createTestingModule({ imports: [AlipayAuthModule.forRoot(options())] }).compile();
      await app.init();
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/"@nestjs\/typeorm" package is not installed.*"store" option.*Token storage is disabled/));
      const exchange = app.get(AlipayTokenService).exchangeCode(kit.mintAuthCode());
      await expect(exchange).rejects.toBeInstanceOf(AlipayConfigError);
      await expect(exchange).rejects.toThrow(/"@nestjs\/typeorm" package is not installed: .*npm install typeorm @nestjs\/typeorm.*"store" option/);
      await app.close();
    } finally {
      warn.mockRestore();
    }
  });

  it('a named data source needs TypeORM: the boot stops with an AlipayConfigError naming the package', async () => {
    const named = Test.createTestingModule({ imports: [AlipayAuthModule.forRoot({ ...options(), dataSource: 'tokens' })] }).compile();
    await expect(named).rejects.toBeInstanceOf(AlipayConfigError);
    await expect(Test.createTestingModule({ imports: [AlipayAuthModule.forRoot({ ...options(), dataSource: 'tokens' })] }).compile()).rejects.toThrow(
      /"@nestjs\/typeorm" package is not installed.*\(option "dataSource": "tokens"\)/,
    );
  });
});
