import { Logger, Provider } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayConfigError } from '../errors/alipay-auth.errors';
import { AlipayTokenStore } from './alipay-token-store';
import { alipayAuthorizationsTable, alipayNotificationsTable } from './sql-dialect';
import { AlipayTokenCipher, assertTokenEncryptionConfigured } from './token-cipher';
import { TypeOrmAlipayTokenStore } from './typeorm-token.store';

/** Nest probes every provider for these; the stand-in must not answer them with a rejecting function. */
const LIFECYCLE_HOOKS = new Set(['onModuleInit', 'onApplicationBootstrap', 'onModuleDestroy', 'beforeApplicationShutdown', 'onApplicationShutdown', 'then']);

/** Stands in when there is no store: the client still works; token calls say what is missing. */
function missingStore(message: string): AlipayTokenStore {
  return new Proxy({} as AlipayTokenStore, {
    get: (_t, prop) => (typeof prop !== 'string' || LIFECYCLE_HOOKS.has(prop) ? undefined : () => Promise.reject(new AlipayConfigError(message))),
  });
}

/**
 * Fails start-up when the tables are missing, before the first exchange spends a merchant's one-time code
 * on a write that cannot land.
 */
async function assertTablesExist(dataSource: DataSource, dataSourceName?: string): Promise<void> {
  for (const table of [alipayAuthorizationsTable(dataSource), alipayNotificationsTable(dataSource)]) {
    try {
      await dataSource.query(`SELECT 1 FROM ${table} WHERE 1 = 0`);
    } catch {
      throw new AlipayConfigError(
        `Table ${table} does not exist in the ${dataSourceName ? `"${dataSourceName}"` : 'default'} data source: run the library's migrations ` +
          `(migrations: alipayAuthMigrations('${dataSource.options.type}'), migrationsRun: true), or for development ` +
          `synchronize with autoLoadEntities: true or entities: [...ALIPAY_AUTH_ENTITIES]`,
      );
    }
  }
}

/**
 * The store named by the `store` option, or the TypeORM store on the app's own connection
 * (`TypeOrmModule.forRoot`, or the data source named by `dataSource`). Injecting the data source
 * (optionally) makes Nest build it first.
 */
export function alipayTokenStoreProvider(dataSourceName?: string): Provider {
  return {
    provide: AlipayTokenStore,
    inject: [ALIPAY_AUTH_CONFIG, ModuleRef, { token: getDataSourceToken(dataSourceName), optional: true }],
    useFactory: async (config: ResolvedAlipayAuthConfig, moduleRef: ModuleRef, dataSource?: DataSource): Promise<AlipayTokenStore> => {
      const custom = config.store;
      if (custom) return typeof custom === 'function' ? moduleRef.create(custom) : custom;
      if (!dataSource) {
        // A named data source is a deliberate choice: a typo there must not quietly disable storage.
        if (dataSourceName) throw new AlipayConfigError(`No TypeORM data source named "${dataSourceName}" (option "dataSource"): check the name given to TypeOrmModule.forRoot({ name })`);
        const message = 'No TypeORM data source (default) for token storage: import TypeOrmModule.forRoot(...) with ALIPAY_AUTH_ENTITIES, or pass the "store" option';
        new Logger('AlipayAuthModule').warn(`${message}. Token storage is disabled; the OpenAPI client works.`);
        return missingStore(message);
      }
      assertTokenEncryptionConfigured(config, new Logger('AlipayAuthModule'));
      await assertTablesExist(dataSource, dataSourceName);
      return new TypeOrmAlipayTokenStore(dataSource, new AlipayTokenCipher(config.tokenEncryptionKeys), config.clock, config.refresh);
    },
  };
}
