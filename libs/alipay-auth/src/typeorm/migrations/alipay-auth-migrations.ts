import type { MigrationInterface } from 'typeorm';
import { alipaySqlDialect, AlipayAuthDatabaseType } from '../sql-dialect';
import { AlipayAuthMysql1700000000000 } from './1700000000000-alipay-auth-mysql';
import { AlipayAuthPostgres1700000000000 } from './1700000000000-alipay-auth-postgres';
import { AlipayAuthSqlite1700000000000 } from './1700000000000-alipay-auth-sqlite';
import {
  AlipayAuthVerificationMysql1764600000000,
  AlipayAuthVerificationPostgres1764600000000,
  AlipayAuthVerificationSqlite1764600000000,
} from './1764600000000-alipay-auth-verification';
import { AlipayAuthScaleMysql1764700000000, AlipayAuthScalePostgres1764700000000, AlipayAuthScaleSqlite1764700000000 } from './1764700000000-alipay-auth-scale';
import {
  AlipayAuthConsoleMysql1764800000000,
  AlipayAuthConsolePostgres1764800000000,
  AlipayAuthConsoleSqlite1764800000000,
} from './1764800000000-alipay-auth-console';
import {
  AlipayAuthLastFailureMysql1764900000000,
  AlipayAuthLastFailurePostgres1764900000000,
  AlipayAuthLastFailureSqlite1764900000000,
} from './1764900000000-alipay-auth-last-failure';

export {
  AlipayAuthMysql1700000000000,
  AlipayAuthPostgres1700000000000,
  AlipayAuthSqlite1700000000000,
  AlipayAuthVerificationMysql1764600000000,
  AlipayAuthVerificationPostgres1764600000000,
  AlipayAuthVerificationSqlite1764600000000,
  AlipayAuthScaleMysql1764700000000,
  AlipayAuthScalePostgres1764700000000,
  AlipayAuthScaleSqlite1764700000000,
  AlipayAuthConsoleMysql1764800000000,
  AlipayAuthConsolePostgres1764800000000,
  AlipayAuthConsoleSqlite1764800000000,
  AlipayAuthLastFailureMysql1764900000000,
  AlipayAuthLastFailurePostgres1764900000000,
  AlipayAuthLastFailureSqlite1764900000000,
};

/**
 * The library's migrations for one DataSource type, in order. Add them to your DataSource's `migrations`
 * (e.g. `migrations: [...alipayAuthMigrations('postgres'), ...yours]`) and run them with your other
 * migrations; do not rely on `synchronize` in production.
 */
export function alipayAuthMigrations(type: AlipayAuthDatabaseType): Array<new () => MigrationInterface> {
  switch (alipaySqlDialect(type)) {
    case 'sqlite':
      return [
        AlipayAuthSqlite1700000000000,
        AlipayAuthVerificationSqlite1764600000000,
        AlipayAuthScaleSqlite1764700000000,
        AlipayAuthConsoleSqlite1764800000000,
        AlipayAuthLastFailureSqlite1764900000000,
      ];
    case 'postgres':
      return [
        AlipayAuthPostgres1700000000000,
        AlipayAuthVerificationPostgres1764600000000,
        AlipayAuthScalePostgres1764700000000,
        AlipayAuthConsolePostgres1764800000000,
        AlipayAuthLastFailurePostgres1764900000000,
      ];
    case 'mysql':
      return [
        AlipayAuthMysql1700000000000,
        AlipayAuthVerificationMysql1764600000000,
        AlipayAuthScaleMysql1764700000000,
        AlipayAuthConsoleMysql1764800000000,
        AlipayAuthLastFailureMysql1764900000000,
      ];
  }
}
