import type { MigrationInterface, QueryRunner } from 'typeorm';
import { alipayAuthorizationsTable, alipayMaintenanceTable } from '../sql-dialect';

/*
 * Third schema version, an upgrade of a table that already holds rows (a million merchants on one database):
 * - `check_due_at`: the instant the row's status-check clock runs from: its last check, or 0 when a check
 *   is asked for (never checked, `requestStatusCheck`). Not null, so one (app_id, status, check_due_at, id)
 *   index range answers the status-check claim in order and stops at its limit; the interval stays a runtime
 *   choice (no row is rewritten when it changes). Existing rows are filled from `last_checked_at`.
 * - the (app_id, status, last_checked_at) index goes: no query reads it any more (NULLs sort differently on
 *   each engine, so it never served the claim's order).
 * - `alipay_auth_maintenance`: one row per app and upkeep task, so a task over every row (re-applying changed
 *   refresh windows to `due_at`) runs once for the cluster, under a lease, in batches, resumable from
 *   `after_id`; start-up reads one row instead of the table.
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
    await queryRunner.query(`CREATE TABLE ${alipayMaintenanceTable(queryRunner.connection)} (
      "app_id" character varying(32) NOT NULL,
      "task" character varying(32) NOT NULL,
      "fingerprint" character varying(128) NOT NULL,
      "after_id" integer NOT NULL DEFAULT 0,
      "finished_at" bigint,
      "lease_owner" character varying(128),
      "lease_until" bigint,
      "updated_at" bigint NOT NULL,
      CONSTRAINT "PK_alipay_auth_maintenance" PRIMARY KEY ("app_id", "task")
    )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    const schema = t.includes('.') ? `${t.split('.')[0]}.` : '';
    await queryRunner.query(`DROP TABLE ${alipayMaintenanceTable(queryRunner.connection)}`);
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
    await queryRunner.query(`CREATE TABLE ${alipayMaintenanceTable(queryRunner.connection)} (
      \`app_id\` varchar(32) NOT NULL,
      \`task\` varchar(32) NOT NULL,
      \`fingerprint\` varchar(128) NOT NULL,
      \`after_id\` int NOT NULL DEFAULT 0,
      \`finished_at\` bigint NULL,
      \`lease_owner\` varchar(128) NULL,
      \`lease_until\` bigint NULL,
      \`updated_at\` bigint NOT NULL,
      PRIMARY KEY (\`app_id\`, \`task\`)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    await queryRunner.query(`DROP TABLE ${alipayMaintenanceTable(queryRunner.connection)}`);
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
    await queryRunner.query(`CREATE TABLE ${alipayMaintenanceTable(queryRunner.connection)} (
      "app_id" varchar(32) NOT NULL,
      "task" varchar(32) NOT NULL,
      "fingerprint" varchar(128) NOT NULL,
      "after_id" integer NOT NULL DEFAULT (0),
      "finished_at" bigint,
      "lease_owner" varchar(128),
      "lease_until" bigint,
      "updated_at" bigint NOT NULL,
      PRIMARY KEY ("app_id", "task")
    )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    await queryRunner.query(`DROP TABLE ${alipayMaintenanceTable(queryRunner.connection)}`);
    await queryRunner.query(`CREATE INDEX "IDX_alipay_auth_due_checked" ON ${t} ("app_id", "status", "last_checked_at")`);
    await queryRunner.query(`DROP INDEX "IDX_alipay_auth_check_due"`);
    await queryRunner.query(`ALTER TABLE ${t} DROP COLUMN "check_due_at"`);
  }
}
