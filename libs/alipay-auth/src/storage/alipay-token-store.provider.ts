import { Logger, Provider } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayConfigError } from '../errors/alipay-auth.errors';
import { AlipayTokenStore } from './alipay-token-store';
import { ALIPAY_TYPEORM_STORAGE, AlipayTypeOrmStorage } from './alipay-typeorm-storage';
import { guardTokenStore } from './guarded-token-store';
import { assertTokenEncryptionConfigured } from './token-cipher';

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
 * `alipayTypeOrmStorageModule()` (`typeorm/typeorm-storage.loader.ts`), behind `guardTokenStore`.
 * Injecting it makes Nest build the data source first.
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
        if (dataSourceName)
          throw new AlipayConfigError(
            `No TypeORM data source named "${dataSourceName}" (option "dataSource"): check the name given to TypeOrmModule.forRoot({ name })`,
          );
        return missingStore(
          'No TypeORM data source (default) for token storage: import TypeOrmModule.forRoot(...) with ALIPAY_AUTH_ENTITIES (nestjs-alipay-auth/typeorm), or pass the "store" option',
        );
      }
      assertTokenEncryptionConfigured(config, new Logger('AlipayAuthModule'));
      return guardTokenStore(await createStore(config));
    },
  };
}
