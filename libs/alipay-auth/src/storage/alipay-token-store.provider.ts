import { DynamicModule, Logger, Module, Provider } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayConfigError } from '../errors/alipay-auth.errors';
import { AlipayTokenStore } from './alipay-token-store';
import { guardTokenStore } from './guarded-token-store';
import { assertTokenEncryptionConfigured } from './token-cipher';

/**
 * What the TypeORM side hands the store provider: a way to build the TypeORM store on the data source,
 * no `createStore` when the app has no such data source, or the TypeORM package that is not installed.
 */
export interface AlipayTypeOrmStorage {
  missingPackage?: string;
  createStore?: (config: ResolvedAlipayAuthConfig) => Promise<AlipayTokenStore>;
}

export const ALIPAY_TYPEORM_STORAGE = Symbol('AlipayTypeOrmStorage');

/** The optional peers the TypeORM store needs at run time; the rest of the library never loads them. */
const TYPEORM_PACKAGES = ['typeorm', '@nestjs/typeorm'];

/**
 * The TypeORM package a failed import says is missing (Node's CommonJS and ESM loaders, Jest, bundlers),
 * or undefined for any other failure, which must surface as it is.
 */
export function missingTypeOrmPackage(error: unknown): string | undefined {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') return undefined;
  const specifier = /Cannot find (?:module|package) '([^']+)'/.exec(String(message))?.[1] ?? '';
  const name = specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
  return TYPEORM_PACKAGES.includes(name) ? name : undefined;
}

@Module({})
class AlipayTypeOrmUnavailableModule {}

/**
 * The module that provides `ALIPAY_TYPEORM_STORAGE`, imported by a registration that may use the TypeORM
 * store (no `store` in `forRoot`; `forRootAsync`, whose factory decides at run time). Loaded lazily, so
 * `typeorm` and `@nestjs/typeorm` stay optional: without them, a module that says which one is missing.
 * Resolved while Nest scans the modules, before any data source is built, so the entities it registers
 * reach `autoLoadEntities`.
 */
export async function alipayTypeOrmStorageModule(
  dataSourceName?: string,
  load: () => Promise<{ AlipayTypeOrmStorageModule: { forDataSource(name?: string): DynamicModule } }> = () => import('./typeorm-storage.module'),
): Promise<DynamicModule> {
  try {
    return (await load()).AlipayTypeOrmStorageModule.forDataSource(dataSourceName);
  } catch (error) {
    const missingPackage = missingTypeOrmPackage(error);
    if (!missingPackage) throw error;
    const storage: AlipayTypeOrmStorage = { missingPackage };
    return { module: AlipayTypeOrmUnavailableModule, providers: [{ provide: ALIPAY_TYPEORM_STORAGE, useValue: storage }], exports: [ALIPAY_TYPEORM_STORAGE] };
  }
}

/** Nest probes every provider for these; the stand-in must not answer them with a rejecting function. */
const LIFECYCLE_HOOKS = new Set(['onModuleInit', 'onApplicationBootstrap', 'onModuleDestroy', 'beforeApplicationShutdown', 'onApplicationShutdown', 'then']);

/** Stands in when there is no store: the client still works; token calls say what is missing. */
function missingStore(message: string): AlipayTokenStore {
  new Logger('AlipayAuthModule').warn(`${message}. Token storage is disabled; the OpenAPI client works.`);
  return new Proxy({} as AlipayTokenStore, {
    get: (_t, prop) => (typeof prop !== 'string' || LIFECYCLE_HOOKS.has(prop) ? undefined : () => Promise.reject(new AlipayConfigError(message))),
  });
}

/**
 * The store named by the `store` option, or the TypeORM store on the app's own connection
 * (`TypeOrmModule.forRoot`, or the data source named by `dataSource`), handed over by the module of
 * `alipayTypeOrmStorageModule()`, behind `guardTokenStore`. Injecting it makes Nest build the data source first.
 */
export function alipayTokenStoreProvider(dataSourceName?: string): Provider {
  return {
    provide: AlipayTokenStore,
    inject: [ALIPAY_AUTH_CONFIG, ModuleRef, { token: ALIPAY_TYPEORM_STORAGE, optional: true }],
    useFactory: async (config: ResolvedAlipayAuthConfig, moduleRef: ModuleRef, typeorm?: AlipayTypeOrmStorage): Promise<AlipayTokenStore> => {
      const custom = config.store;
      // Guarded: a database failure reaches callers as AlipayStoreUnavailableError, never as a driver's error.
      if (custom) return guardTokenStore(typeof custom === 'function' ? await moduleRef.create(custom) : custom);
      const { missingPackage, createStore } = typeorm ?? { missingPackage: '@nestjs/typeorm' };
      if (missingPackage) {
        const message = `The "${missingPackage}" package is not installed: the TypeORM token store needs typeorm and @nestjs/typeorm (npm install typeorm @nestjs/typeorm), or pass the "store" option`;
        // A named data source is a deliberate choice of TypeORM: without it, the boot stops.
        if (dataSourceName) throw new AlipayConfigError(`${message} (option "dataSource": "${dataSourceName}")`);
        return missingStore(message);
      }
      if (!createStore) {
        if (dataSourceName) throw new AlipayConfigError(`No TypeORM data source named "${dataSourceName}" (option "dataSource"): check the name given to TypeOrmModule.forRoot({ name })`);
        return missingStore(
          'No TypeORM data source (default) for token storage: import TypeOrmModule.forRoot(...) with ALIPAY_AUTH_ENTITIES (nestjs-alipay-auth/typeorm), or pass the "store" option',
        );
      }
      assertTokenEncryptionConfigured(config, new Logger('AlipayAuthModule'));
      return guardTokenStore(await createStore(config));
    },
  };
}
