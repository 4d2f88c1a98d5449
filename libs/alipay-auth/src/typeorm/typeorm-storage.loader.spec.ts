import { ALIPAY_TYPEORM_STORAGE } from '../storage/alipay-typeorm-storage';
import { alipayTypeOrmStorageModule, missingTypeOrmPackage } from './typeorm-storage.loader';

const loadError = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('missingTypeOrmPackage', () => {
  it.each([
    [
      "Cannot find module '@nestjs/typeorm'\nRequire stack:\n- /app/node_modules/nestjs-alipay-auth/dist/typeorm/typeorm-storage.module.js",
      'MODULE_NOT_FOUND',
      '@nestjs/typeorm',
    ],
    ["Cannot find package 'typeorm' imported from /app/node_modules/@nestjs/typeorm/dist/index.js", 'ERR_MODULE_NOT_FOUND', 'typeorm'],
    ["Cannot find module 'typeorm/browser' from 'src/x.ts'", 'MODULE_NOT_FOUND', 'typeorm'],
    ["Cannot find module '@nestjs/typeorm/dist/common' from 'src/x.ts'", 'MODULE_NOT_FOUND', '@nestjs/typeorm'],
  ])('names the TypeORM package a loader could not find: %s', (message, code, name) => {
    expect(missingTypeOrmPackage(loadError(message, code))).toBe(name);
  });

  it.each([
    ["Cannot find module 'pg'", 'MODULE_NOT_FOUND'],
    ["Cannot find module 'typeorm-extension'", 'MODULE_NOT_FOUND'],
    ["Cannot find package '@nestjs/typeorm-x' imported from /app/x.js", 'ERR_MODULE_NOT_FOUND'],
    ["Cannot find module 'typeorm'", 'ERR_REQUIRE_ESM'],
  ])('leaves other failures alone: %s (%s)', (message, code) => {
    expect(missingTypeOrmPackage(loadError(message, code))).toBeUndefined();
  });

  it('leaves non-errors alone', () => {
    expect(missingTypeOrmPackage(undefined)).toBeUndefined();
    expect(missingTypeOrmPackage('typeorm')).toBeUndefined();
  });
});

describe('alipayTypeOrmStorageModule', () => {
  it('without the packages: a module that says which one is missing', async () => {
    const module = await alipayTypeOrmStorageModule(undefined, () =>
      Promise.reject(loadError("Cannot find package 'typeorm' imported from /x.js", 'ERR_MODULE_NOT_FOUND')),
    );
    expect(module.providers).toEqual([{ provide: ALIPAY_TYPEORM_STORAGE, useValue: { missingPackage: 'typeorm' } }]);
    expect(module.exports).toEqual([ALIPAY_TYPEORM_STORAGE]);
  });

  it('any other load failure surfaces as it is', async () => {
    const broken = new SyntaxError('Unexpected token');
    await expect(alipayTypeOrmStorageModule(undefined, () => Promise.reject(broken))).rejects.toBe(broken);
  });

  it('with the packages: the TypeORM storage module for the named data source', async () => {
    const module = await alipayTypeOrmStorageModule('tokens');
    expect(module.exports).toEqual([ALIPAY_TYPEORM_STORAGE]);
    expect(module.providers).toEqual([expect.objectContaining({ provide: ALIPAY_TYPEORM_STORAGE, inject: [{ token: 'tokensDataSource', optional: true }] })]);
  });
});
