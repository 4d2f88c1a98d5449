import type { MigrationInterface, QueryRunner } from 'typeorm';
import { alipayAuthorizationsTable } from '../sql-dialect';

/*
 * Fifth schema version: `last_failure_at`, when a refresh last failed (epoch ms, nullable: never failed since
 * the merchant authorized), for the operators' "last failure" order and the row's "last failed at …". Kept after
 * a success, cleared by a new authorization. Rows failing at the upgrade get their last write (`updated_at`),
 * the failure or a later check of it: an upper bound, replaced by the next failure; other rows stay null.
 * The index (app_id, last_failure_at, id) serves the order "most recent first, never-failed last": read
 * backwards on SQLite and MariaDB (NULL sorts lowest), built DESC NULLS LAST on PostgreSQL (NULL sorts highest).
 */
const BACKFILL = (t: string, q: string) => `UPDATE ${t} SET ${q}last_failure_at${q} = ${q}updated_at${q} WHERE ${q}failure_count${q} > 0`;

/** PostgreSQL and SQLite: the same statements but the index's column order. */
async function addColumn(queryRunner: QueryRunner, indexColumns: string): Promise<void> {
  const t = alipayAuthorizationsTable(queryRunner.connection);
  // A nullable column without a default is a catalogue change only.
  await queryRunner.query(`ALTER TABLE ${t} ADD COLUMN "last_failure_at" bigint`);
  await queryRunner.query(BACKFILL(t, '"'));
  await queryRunner.query(`CREATE INDEX "IDX_alipay_auth_last_failure" ON ${t} (${indexColumns})`);
}

export class AlipayAuthLastFailurePostgres1764900000000 implements MigrationInterface {
  name = 'AlipayAuthLastFailurePostgres1764900000000';

  up(queryRunner: QueryRunner): Promise<void> {
    return addColumn(queryRunner, `"app_id", "last_failure_at" DESC NULLS LAST, "id" DESC`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    const schema = t.includes('.') ? `${t.split('.')[0]}.` : '';
    await queryRunner.query(`DROP INDEX ${schema}"IDX_alipay_auth_last_failure"`);
    await queryRunner.query(`ALTER TABLE ${t} DROP COLUMN "last_failure_at"`);
  }
}

export class AlipayAuthLastFailureMysql1764900000000 implements MigrationInterface {
  name = 'AlipayAuthLastFailureMysql1764900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    // One ALTER: InnoDB adds the column and builds the index in one pass.
    await queryRunner.query(
      `ALTER TABLE ${t} ADD COLUMN \`last_failure_at\` bigint NULL, ADD INDEX \`IDX_alipay_auth_last_failure\` (\`app_id\`, \`last_failure_at\`, \`id\`)`,
    );
    await queryRunner.query(BACKFILL(t, '`'));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    await queryRunner.query(`ALTER TABLE ${t} DROP INDEX \`IDX_alipay_auth_last_failure\`, DROP COLUMN \`last_failure_at\``);
  }
}

export class AlipayAuthLastFailureSqlite1764900000000 implements MigrationInterface {
  name = 'AlipayAuthLastFailureSqlite1764900000000';

  up(queryRunner: QueryRunner): Promise<void> {
    return addColumn(queryRunner, `"app_id", "last_failure_at", "id"`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    await queryRunner.query(`DROP INDEX "IDX_alipay_auth_last_failure"`);
    await queryRunner.query(`ALTER TABLE ${t} DROP COLUMN "last_failure_at"`);
  }
}
