/**
 * typeorm and @nestjs/typeorm are optional peers: an app with its own `store` runs without them. Here
 * both fail to load, as they do when not installed (the consumer suite installs an app without them).
 */
import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AlipayAuthTestingKit as Kit } from 'nestjs-alipay-auth/testing';

/** What the loader throws for a package that is not installed (Jest's wording; Node's differs, also covered). */
const notInstalled = (name: string) => () => {
  throw Object.assign(new Error(`Cannot find module '${name}' from 'libs/alipay-auth/src/typeorm/typeorm-storage.module.ts'`), { code: 'MODULE_NOT_FOUND' });
};
jest.unstable_mockModule('@nestjs/typeorm', notInstalled('@nestjs/typeorm'));
jest.unstable_mockModule('typeorm', notInstalled('typeorm'));

describe('without typeorm and @nestjs/typeorm', () => {
  // Loaded after the mocks above (a static import would load the library first).
  let lib: typeof import('nestjs-alipay-auth');
  let testing: typeof import('nestjs-alipay-auth/testing');
  let kit: Kit;
  const options = (extra: object = {}) => ({ ...kit.moduleOptions(), store: undefined, ...extra });

  beforeAll(async () => {
    lib = await import('nestjs-alipay-auth');
    testing = await import('nestjs-alipay-auth/testing');
    kit = await testing.AlipayAuthTestingKit.start();
  });
  afterAll(() => kit?.close());

  it('the TypeORM entry does not load: the packages are really missing here', async () => {
    await expect(import('nestjs-alipay-auth/typeorm')).rejects.toThrow(/Cannot find module '(@nestjs\/)?typeorm'/);
  });

  it.each([
    ['forRoot', () => lib.AlipayAuthModule.forRoot(options({ store: new testing.InMemoryAlipayTokenStore() }))],
    ['forRootAsync', () => lib.AlipayAuthModule.forRootAsync({ useFactory: () => options({ store: testing.InMemoryAlipayTokenStore }) })],
  ])('%s with a custom store boots and exchanges a code', async (_how, registration) => {
    const app = await Test.createTestingModule({ imports: [registration()] }).compile();
    await app.init();
    try {
      const [row] = await app.get(lib.AlipayTokenService).exchangeCode(kit.mintAuthCode());
      expect(await app.get(lib.AlipayTokenService).get(row.authAppId)).toMatchObject({ status: 'active' });
    } finally {
      await app.close();
    }
  });

  it('the testing module (forRootAsync with its in-memory store) works', async () => {
    const app = await Test.createTestingModule({ imports: [testing.AlipayAuthTestingModule.forRoot()] }).compile();
    await app.init();
    try {
      expect(await app.get(lib.AlipayTokenService).exchangeCode(app.get(testing.AlipayAuthTestingKit).mintAuthCode())).toHaveLength(1);
    } finally {
      await app.close();
    }
  });

  it('no store: client-only mode, with a warning and token calls that name the missing package and the store option', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const app = await Test.createTestingModule({ imports: [lib.AlipayAuthModule.forRoot(options())] }).compile();
      await app.init();
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/"@nestjs\/typeorm" package is not installed.*"store" option.*Token storage is disabled/));
      const exchange = app.get(lib.AlipayTokenService).exchangeCode(kit.mintAuthCode());
      await expect(exchange).rejects.toBeInstanceOf(lib.AlipayConfigError);
      await expect(exchange).rejects.toThrow(/"@nestjs\/typeorm" package is not installed: .*npm install typeorm @nestjs\/typeorm.*"store" option/);
      await app.close();
    } finally {
      warn.mockRestore();
    }
  });

  it('a named data source needs TypeORM: the boot stops with an AlipayConfigError naming the package', async () => {
    const named = Test.createTestingModule({ imports: [lib.AlipayAuthModule.forRoot({ ...options(), dataSource: 'tokens' })] }).compile();
    await expect(named).rejects.toBeInstanceOf(lib.AlipayConfigError);
    await expect(Test.createTestingModule({ imports: [lib.AlipayAuthModule.forRoot({ ...options(), dataSource: 'tokens' })] }).compile()).rejects.toThrow(
      /"@nestjs\/typeorm" package is not installed.*\(option "dataSource": "tokens"\)/,
    );
  });
});
