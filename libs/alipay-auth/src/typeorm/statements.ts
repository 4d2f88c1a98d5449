import type { DataSource, QueryRunner } from 'typeorm';
import { alipayAuthorizationsTable, alipayMaintenanceTable, alipayNotificationsTable, alipaySqlDialect, AlipaySqlDialect, databaseNowSql } from './sql-dialect';
import { bindIntegersAsParameters } from './sqlite-parameters';
import { rowColumns } from './row-codec';

export type Row = Record<string, unknown>;
export type Params = Record<string, unknown>;

/** Driver error codes for "duplicate key" on the three engines. */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { driverError?: { code?: unknown; errno?: unknown }; code?: unknown; errno?: unknown };
  const d = e?.driverError ?? e;
  return (
    d?.code === '23505' ||
    d?.code === 'ER_DUP_ENTRY' ||
    d?.errno === 1062 ||
    d?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    d?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

/** MariaDB/MySQL deadlock or lock wait timeout: the transaction was rolled back and may be retried. */
export function isRetryableLock(error: unknown): boolean {
  const e = error as { driverError?: { errno?: unknown }; errno?: unknown };
  const errno = e?.driverError?.errno ?? e?.errno;
  return errno === 1213 || errno === 1205;
}

/**
 * The TypeORM store's SQL plumbing on one DataSource: raw statements with bound parameters, the escaped
 * table paths, the database clock of its dialect, and one-row writes read back on every engine.
 */
export class TypeOrmStatements {
  readonly dialect: AlipaySqlDialect;
  private tableName?: string;
  private notificationsTableName?: string;
  private maintenanceTableName?: string;

  constructor(readonly dataSource: DataSource) {
    this.dialect = alipaySqlDialect(dataSource.options.type);
  }

  /** Escaped table path; resolved on first use because PostgreSQL's schema is known after connecting. */
  get table(): string {
    return (this.tableName ??= alipayAuthorizationsTable(this.dataSource));
  }

  get notifications(): string {
    return (this.notificationsTableName ??= alipayNotificationsTable(this.dataSource));
  }

  get maintenance(): string {
    return (this.maintenanceTableName ??= alipayMaintenanceTable(this.dataSource));
  }

  /** The database clock in SQL (leases never use an instance's clock). */
  get dbNow(): string {
    return databaseNowSql(this.dialect);
  }

  async run(sql: string, params: Params, runner?: QueryRunner): Promise<{ rows: Row[]; affected: number }> {
    const [query, bound] = this.dataSource.driver.escapeQueryWithParameters(sql, bindIntegersAsParameters(this.dataSource.options.type, params));
    const qr = runner ?? this.dataSource.createQueryRunner();
    try {
      const result = await qr.query(query, bound, true);
      const rows: Row[] = Array.isArray(result.records) ? result.records : [];
      return { rows, affected: typeof result.affected === 'number' ? result.affected : rows.length };
    } finally {
      if (!runner) await qr.release();
    }
  }

  private get returning(): boolean {
    return this.dialect !== 'mysql';
  }

  async selectOne(appId: string, authAppId: string, runner?: QueryRunner): Promise<Row | null> {
    const { rows } = await this.run(
      `SELECT ${rowColumns()} FROM ${this.table} WHERE app_id = :appId AND auth_app_id = :authAppId`,
      { appId, authAppId },
      runner,
    );
    return rows[0] ?? null;
  }

  /**
   * UPDATE (or INSERT) of one row identified by (appId, authAppId), returning the row as written, or null
   * when none matched. PostgreSQL and SQLite use RETURNING; MariaDB/MySQL write and read back inside one
   * READ COMMITTED transaction, so the row lock keeps other writers out until the read is done.
   */
  async writeOne(sql: string, params: Params & { appId: string; authAppId: string }): Promise<Row | null> {
    if (this.returning) {
      const { rows } = await this.run(`${sql} RETURNING ${rowColumns()}`, params);
      return rows[0] ?? null;
    }
    const qr = this.dataSource.createQueryRunner();
    try {
      await qr.startTransaction('READ COMMITTED');
      const { affected } = await this.run(sql, params, qr);
      const row = affected > 0 ? await this.selectOne(params.appId, params.authAppId, qr) : null;
      await qr.commitTransaction();
      return row;
    } catch (e) {
      if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
      throw e;
    } finally {
      await qr.release();
    }
  }
}
