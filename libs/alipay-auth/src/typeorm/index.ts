// `nestjs-alipay-auth/typeorm`: the TypeORM token store, its entities and migrations. Only this entry
// loads `typeorm` (an optional peer, as `@nestjs/typeorm` is); an app with its own `store` never imports it.
export {
  AlipayAuthorizationEntity,
  AlipayNotificationEntity,
  AlipayMaintenanceEntity,
  ALIPAY_AUTH_ENTITIES,
  epochMsTransformer,
} from './alipay-authorization.entity';
export {
  ALIPAY_AUTHORIZATIONS_TABLE,
  ALIPAY_NOTIFICATIONS_TABLE,
  ALIPAY_MAINTENANCE_TABLE,
  alipaySqlDialect,
  alipayAuthorizationsTable,
  alipayNotificationsTable,
  alipayMaintenanceTable,
  databaseNowSql,
} from './sql-dialect';
export type { AlipaySqlDialect, AlipayAuthDatabaseType } from './sql-dialect';
export {
  alipayAuthMigrations,
  AlipayAuthSqlite1700000000000,
  AlipayAuthPostgres1700000000000,
  AlipayAuthMysql1700000000000,
  AlipayAuthVerificationSqlite1764600000000,
  AlipayAuthVerificationPostgres1764600000000,
  AlipayAuthVerificationMysql1764600000000,
  AlipayAuthScaleSqlite1764700000000,
  AlipayAuthScalePostgres1764700000000,
  AlipayAuthScaleMysql1764700000000,
  AlipayAuthConsoleSqlite1764800000000,
  AlipayAuthConsolePostgres1764800000000,
  AlipayAuthConsoleMysql1764800000000,
  AlipayAuthLastFailureSqlite1764900000000,
  AlipayAuthLastFailurePostgres1764900000000,
  AlipayAuthLastFailureMysql1764900000000,
} from './migrations/alipay-auth-migrations';
export { TypeOrmAlipayTokenStore, createTypeOrmTokenStore } from './typeorm-token.store';
export type { AlipayRefreshWindowSync, AlipayRefreshWindowSyncOptions } from './refresh-window-sync';
export type { AlipayHealthCounts, AlipayHealthCountsOptions } from './health-counts';
export { alipayTokenAad } from './row-codec';
export { ALIPAY_MAX_CLAIM_BATCH } from './claim-queries';
