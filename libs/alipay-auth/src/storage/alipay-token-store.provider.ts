import { Logger, Provider } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayConfigError } from '../errors/alipay-auth.errors';
import { AlipayTokenStore } from './alipay-token-store';
import { AlipayTokenCipher, assertTokenEncryptionConfigured } from './token-cipher';
import { TypeOrmAlipayTokenStore } from './typeorm-token.store';

/** Stands in when there is no store: the client still works; token calls say what is missing. */
function missingStore(message: string): AlipayTokenStore {
  return new Proxy({} as AlipayTokenStore, {
    get: (_t, prop) => (prop === 'then' ? undefined : () => Promise.reject(new AlipayConfigError(message))),
  });
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
        const message = `No TypeORM data source ${dataSourceName ? `named "${dataSourceName}" (option "dataSource")` : '(default)'} for token storage: import TypeOrmModule.forRoot(...) with ALIPAY_AUTH_ENTITIES, or pass the "store" option`;
        new Logger('AlipayAuthModule').warn(`${message}. Token storage is disabled; the OpenAPI client works.`);
        return missingStore(message);
      }
      assertTokenEncryptionConfigured(config, new Logger('AlipayAuthModule'));
      return new TypeOrmAlipayTokenStore(dataSource, new AlipayTokenCipher(config.tokenEncryptionKeys), config.clock, config.refresh);
    },
  };
}
