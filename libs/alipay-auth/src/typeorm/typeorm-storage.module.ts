import { DynamicModule, Module } from '@nestjs/common';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayConfigError } from '../errors/alipay-auth.errors';
import { ALIPAY_AUTH_ENTITIES } from './alipay-authorization.entity';
import { ALIPAY_TYPEORM_STORAGE, AlipayTypeOrmStorage } from '../storage/alipay-typeorm-storage';
import { alipayAuthorizationsTable, alipayNotificationsTable } from './sql-dialect';
import { createTypeOrmTokenStore } from './typeorm-token.store';

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
          `synchronize with autoLoadEntities: true or entities: [...ALIPAY_AUTH_ENTITIES] (both from nestjs-alipay-auth/typeorm)`,
      );
    }
  }
}

/**
 * The only file of the module's wiring that loads `@nestjs/typeorm` and `typeorm`, imported lazily by
 * `alipayTypeOrmStorageModule()` when a registration may use the TypeORM store.
 */
@Module({})
export class AlipayTypeOrmStorageModule {
  static forDataSource(dataSourceName?: string): DynamicModule {
    // Registers the entities as `TypeOrmModule.forFeature` does, so `autoLoadEntities: true` picks them up
    // (the repository providers it would add are not needed: the store runs its own SQL).
    TypeOrmModule.forFeature(ALIPAY_AUTH_ENTITIES, dataSourceName);
    return {
      module: AlipayTypeOrmStorageModule,
      providers: [
        {
          provide: ALIPAY_TYPEORM_STORAGE,
          inject: [{ token: getDataSourceToken(dataSourceName), optional: true }],
          useFactory: (dataSource?: DataSource): AlipayTypeOrmStorage => ({
            createStore: dataSource
              ? async (config: ResolvedAlipayAuthConfig) => {
                  await assertTablesExist(dataSource, dataSourceName);
                  return createTypeOrmTokenStore(dataSource, config);
                }
              : undefined,
          }),
        },
      ],
      exports: [ALIPAY_TYPEORM_STORAGE],
    };
  }
}
