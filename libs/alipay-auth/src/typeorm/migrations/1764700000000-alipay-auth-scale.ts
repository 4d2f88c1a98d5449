import type { MigrationInterface, QueryRunner } from 'typeorm';
import { alipayAuthorizationsTable } from '../sql-dialect';

/*
 * Third schema version, an upgrade of a table that already holds rows (a million merchants on one database):
 * - `check_due_at`: the instant the row's status-check clock runs from: its last check, or 0 when a check
 *   is asked for (never checked, `requestStatusCheck`). Not null, so one (app_id, status, check_due_at, id)
 *   index range answers the status-check claim in order and stops at its limit; the interval stays a runtime
 *   choice (no row is rewritten when it changes). Existing rows are filled from `last_checked_at`.
 * - the (app_id, status, last_checked_at) index goes: no query reads it any more (NULLs sort differently on
 *   each engine, so it never served the claim's order).
 */
const BACKFILL = `COALESCE(last_checked_at, 0)`;

export class AlipayAuthScalePostgres1764700000000 implements MigrationInterface {
  name = 'AlipayAuthScalePostgres1764700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    const schema = t.includes('.') ? `${t.split('.')[0]}.` : '';
    // A constant default is a catalogue change only; the backfill is one pass over the table.
    await queryRunner.query(`ALTER TABLE ${t} ADD COLUMN "check_due_at" bigint NOT NULL DEFAULT 0`);
    await queryRunner.query(`UPDATE ${t} SET "check_due_at" = ${BACKFILL} WHERE "last_checked_at" IS NOT NULL`);
    await queryRunner.query(`CREATE INDEX "IDX_alipay_auth_check_due" ON ${t} ("app_id", "status", "check_due_at", "id")`);
    await queryRunner.query(`DROP INDEX ${schema}"IDX_alipay_auth_due_checked"`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    const schema = t.includes('.') ? `${t.split('.')[0]}.` : '';
    await queryRunner.query(`CREATE INDEX "IDX_alipay_auth_due_checked" ON ${t} ("app_id", "status", "last_checked_at")`);
    await queryRunner.query(`DROP INDEX ${schema}"IDX_alipay_auth_check_due"`);
    await queryRunner.query(`ALTER TABLE ${t} DROP COLUMN "check_due_at"`);
  }
}

export class AlipayAuthScaleMysql1764700000000 implements MigrationInterface {
  name = 'AlipayAuthScaleMysql1764700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    // One ALTER: InnoDB rebuilds the table (or adds the column instantly) once.
    await queryRunner.query(
      `ALTER TABLE ${t} ADD COLUMN \`check_due_at\` bigint NOT NULL DEFAULT 0,
        ADD INDEX \`IDX_alipay_auth_check_due\` (\`app_id\`, \`status\`, \`check_due_at\`, \`id\`),
        DROP INDEX \`IDX_alipay_auth_due_checked\``,
    );
    await queryRunner.query(`UPDATE ${t} SET \`check_due_at\` = ${BACKFILL} WHERE \`last_checked_at\` IS NOT NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    await queryRunner.query(
      `ALTER TABLE ${t} ADD INDEX \`IDX_alipay_auth_due_checked\` (\`app_id\`, \`status\`, \`last_checked_at\`),
        DROP INDEX \`IDX_alipay_auth_check_due\`, DROP COLUMN \`check_due_at\``,
    );
  }
}

export class AlipayAuthScaleSqlite1764700000000 implements MigrationInterface {
  name = 'AlipayAuthScaleSqlite1764700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    await queryRunner.query(`ALTER TABLE ${t} ADD COLUMN "check_due_at" bigint NOT NULL DEFAULT (0)`);
    await queryRunner.query(`UPDATE ${t} SET "check_due_at" = ${BACKFILL} WHERE "last_checked_at" IS NOT NULL`);
    await queryRunner.query(`CREATE INDEX "IDX_alipay_auth_check_due" ON ${t} ("app_id", "status", "check_due_at", "id")`);
    await queryRunner.query(`DROP INDEX "IDX_alipay_auth_due_checked"`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    await queryRunner.query(`CREATE INDEX "IDX_alipay_auth_due_checked" ON ${t} ("app_id", "status", "last_checked_at")`);
    await queryRunner.query(`DROP INDEX "IDX_alipay_auth_check_due"`);
    await queryRunner.query(`ALTER TABLE ${t} DROP COLUMN "check_due_at"`);
  }
}
