import type { DataSource } from 'typeorm';
import { AlipayConfigError } from '../errors/alipay-auth.errors';

/** Table names before any `entityPrefix` of the DataSource (here, not in the entity file: no `typeorm` at run time). */
export const ALIPAY_AUTHORIZATIONS_TABLE = 'alipay_app_authorizations';
export const ALIPAY_NOTIFICATIONS_TABLE = 'alipay_auth_notifications';
export const ALIPAY_MAINTENANCE_TABLE = 'alipay_auth_maintenance';

/** The SQL families the TypeORM store and the migrations support. */
export type AlipaySqlDialect = 'sqlite' | 'postgres' | 'mysql';

/** DataSource types accepted by `alipayAuthMigrations()` and the TypeORM store. */
export type AlipayAuthDatabaseType = 'better-sqlite3' | 'sqlite' | 'postgres' | 'mysql' | 'mariadb';

/** Maps a TypeORM DataSource type to its SQL family; other engines are refused with a clear error. */
export function alipaySqlDialect(type: string): AlipaySqlDialect {
  switch (type) {
    case 'better-sqlite3':
    case 'sqlite':
      return 'sqlite';
    case 'postgres':
    case 'aurora-postgres':
      return 'postgres';
    case 'mysql':
    case 'mariadb':
    case 'aurora-mysql':
      return 'mysql';
    default:
      throw new AlipayConfigError(
        `The TypeORM token store supports better-sqlite3, postgres, mysql and mariadb DataSources, not "${type}"; provide your own AlipayTokenStore`,
      );
  }
}

/**
 * Escaped, schema-qualified name of the authorizations table for this DataSource: honours `entityPrefix`
 * and, on PostgreSQL, the DataSource `schema` (else the connection's current schema). Used by the
 * migrations and the store, so both address the table TypeORM's metadata describes.
 */
export function alipayAuthorizationsTable(dataSource: DataSource): string {
  return alipayTable(dataSource, ALIPAY_AUTHORIZATIONS_TABLE);
}

/** The same for the table of handled notification ids. */
export function alipayNotificationsTable(dataSource: DataSource): string {
  return alipayTable(dataSource, ALIPAY_NOTIFICATIONS_TABLE);
}

/** The same for the table of cluster-wide upkeep tasks (the refresh windows' re-application). */
export function alipayMaintenanceTable(dataSource: DataSource): string {
  return alipayTable(dataSource, ALIPAY_MAINTENANCE_TABLE);
}

function alipayTable(dataSource: DataSource, table: string): string {
  const driver = dataSource.driver as DataSource['driver'] & { schema?: string };
  const prefix = dataSource.options.entityPrefix;
  const name = prefix ? dataSource.namingStrategy.prefixTableName(prefix, table) : table;
  const parts = alipaySqlDialect(dataSource.options.type) === 'postgres' && driver.schema ? [driver.schema, name] : [name];
  return parts.map((p) => driver.escape(p)).join('.');
}

/**
 * The database's own time in epoch milliseconds, as an SQL expression. Leases are written and compared
 * with it, so instances whose clocks disagree still agree on who holds a lease.
 */
export function databaseNowSql(dialect: AlipaySqlDialect): string {
  switch (dialect) {
    case 'postgres':
      return `CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS bigint)`;
    case 'mysql':
      return `CAST(FLOOR(UNIX_TIMESTAMP(NOW(3)) * 1000) AS SIGNED)`;
    case 'sqlite':
      return `CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)`;
  }
}
