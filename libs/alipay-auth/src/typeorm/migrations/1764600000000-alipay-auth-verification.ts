import type { MigrationInterface, QueryRunner } from 'typeorm';
import { alipayAuthorizationsTable, alipayNotificationsTable } from '../sql-dialect';

/*
 * Second schema version, an upgrade of a table that already holds rows:
 * - `verify_at`: set when a refresh ended without a trustworthy answer (timeout, reset, 5xx, unverifiable
 *   signature); the stored pair is then only a belief, checked and repaired at that instant. Existing rows
 *   get NULL (nothing in doubt).
 * - an index on (app_id, status, next_attempt_at), so rows whose refresh failed are claimed for their retry
 *   whether or not they are inside the refresh window.
 * - `token_hash`: a keyed hash of the current token, so a notification naming a token finds its merchant
 *   without decrypting the table (NULL on existing rows until their next write or re-encryption).
 * - `alipay_auth_notifications`: notify ids already handled, so replays are acknowledged and ignored.
 * - `due_at`: when the row next needs work (its refresh window opens, or its retry after a failure), with
 *   an index, so claiming is one ordered index range whatever the backlog. Existing rows are filled here
 *   with the default windows (30 days before either expiry); the store re-computes it at start-up for the
 *   windows actually configured.
 */
const DEFAULT_WINDOW_MS = 30 * 24 * 3600_000;
/** due_at of an existing row under the default windows: its retry time, else 30 days before the earlier expiry. */
const BACKFILL = `CASE
  WHEN next_attempt_at IS NOT NULL THEN next_attempt_at
  WHEN expires_at IS NULL THEN refresh_expires_at - ${DEFAULT_WINDOW_MS}
  WHEN refresh_expires_at IS NULL OR expires_at < refresh_expires_at THEN expires_at - ${DEFAULT_WINDOW_MS}
  ELSE refresh_expires_at - ${DEFAULT_WINDOW_MS} END`;
export class AlipayAuthVerificationPostgres1764600000000 implements MigrationInterface {
  name = 'AlipayAuthVerificationPostgres1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    await queryRunner.query(`ALTER TABLE ${t} ADD COLUMN "verify_at" bigint`);
    await queryRunner.query(`ALTER TABLE ${t} ADD COLUMN "token_hash" character varying(64)`);
    await queryRunner.query(`ALTER TABLE ${t} ADD COLUMN "due_at" bigint`);
    await queryRunner.query(`UPDATE ${t} SET "due_at" = ${BACKFILL}`);
    await queryRunner.query(`CREATE INDEX "IDX_alipay_auth_due_at" ON ${t} ("app_id", "status", "due_at")`);
    await queryRunner.query(`CREATE INDEX "IDX_alipay_auth_retry" ON ${t} ("app_id", "status", "next_attempt_at")`);
    await queryRunner.query(`CREATE INDEX "IDX_alipay_auth_token_hash" ON ${t} ("app_id", "token_hash")`);
    const n = alipayNotificationsTable(queryRunner.connection);
    await queryRunner.query(`CREATE TABLE ${n} (
      "id" SERIAL NOT NULL,
      "app_id" character varying(32) NOT NULL,
      "notify_id" character varying(64) NOT NULL,
      "handled_at" bigint NOT NULL,
      "expires_at" bigint NOT NULL,
      CONSTRAINT "PK_alipay_auth_notifications" PRIMARY KEY ("id")
    )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_alipay_auth_notification" ON ${n} ("app_id", "notify_id")`);
    await queryRunner.query(`CREATE INDEX "IDX_alipay_auth_notification_expires" ON ${n} ("expires_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    const schema = t.includes('.') ? `${t.split('.')[0]}.` : '';
    await queryRunner.query(`DROP TABLE ${alipayNotificationsTable(queryRunner.connection)}`);
    await queryRunner.query(`DROP INDEX ${schema}"IDX_alipay_auth_token_hash"`);
    await queryRunner.query(`DROP INDEX ${schema}"IDX_alipay_auth_due_at"`);
    await queryRunner.query(`ALTER TABLE ${t} DROP COLUMN "due_at"`);
    await queryRunner.query(`DROP INDEX ${schema}"IDX_alipay_auth_retry"`);
    await queryRunner.query(`ALTER TABLE ${t} DROP COLUMN "token_hash"`);
    await queryRunner.query(`ALTER TABLE ${t} DROP COLUMN "verify_at"`);
  }
}

export class AlipayAuthVerificationMysql1764600000000 implements MigrationInterface {
  name = 'AlipayAuthVerificationMysql1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    // One ALTER: InnoDB rebuilds the table once (instant ADD COLUMN where the server supports it).
    await queryRunner.query(
      `ALTER TABLE ${t} ADD COLUMN \`verify_at\` bigint NULL, ADD COLUMN \`token_hash\` varchar(64) NULL, ADD COLUMN \`due_at\` bigint NULL,
        ADD INDEX \`IDX_alipay_auth_due_at\` (\`app_id\`, \`status\`, \`due_at\`),
        ADD INDEX \`IDX_alipay_auth_retry\` (\`app_id\`, \`status\`, \`next_attempt_at\`),
        ADD INDEX \`IDX_alipay_auth_token_hash\` (\`app_id\`, \`token_hash\`)`,
    );
    await queryRunner.query(`UPDATE ${t} SET \`due_at\` = ${BACKFILL}`);
    await queryRunner.query(`CREATE TABLE ${alipayNotificationsTable(queryRunner.connection)} (
      \`id\` int NOT NULL AUTO_INCREMENT,
      \`app_id\` varchar(32) NOT NULL,
      \`notify_id\` varchar(64) NOT NULL,
      \`handled_at\` bigint NOT NULL,
      \`expires_at\` bigint NOT NULL,
      UNIQUE INDEX \`UQ_alipay_auth_notification\` (\`app_id\`, \`notify_id\`),
      INDEX \`IDX_alipay_auth_notification_expires\` (\`expires_at\`),
      PRIMARY KEY (\`id\`)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    await queryRunner.query(`DROP TABLE ${alipayNotificationsTable(queryRunner.connection)}`);
    await queryRunner.query(
      `ALTER TABLE ${t} DROP INDEX \`IDX_alipay_auth_token_hash\`, DROP INDEX \`IDX_alipay_auth_retry\`, DROP INDEX \`IDX_alipay_auth_due_at\`, DROP COLUMN \`token_hash\`, DROP COLUMN \`verify_at\`, DROP COLUMN \`due_at\``,
    );
  }
}

export class AlipayAuthVerificationSqlite1764600000000 implements MigrationInterface {
  name = 'AlipayAuthVerificationSqlite1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    await queryRunner.query(`ALTER TABLE ${t} ADD COLUMN "verify_at" bigint`);
    await queryRunner.query(`ALTER TABLE ${t} ADD COLUMN "token_hash" varchar(64)`);
    await queryRunner.query(`ALTER TABLE ${t} ADD COLUMN "due_at" bigint`);
    await queryRunner.query(`UPDATE ${t} SET "due_at" = ${BACKFILL}`);
    await queryRunner.query(`CREATE INDEX "IDX_alipay_auth_due_at" ON ${t} ("app_id", "status", "due_at")`);
    await queryRunner.query(`CREATE INDEX "IDX_alipay_auth_retry" ON ${t} ("app_id", "status", "next_attempt_at")`);
    await queryRunner.query(`CREATE INDEX "IDX_alipay_auth_token_hash" ON ${t} ("app_id", "token_hash")`);
    const n = alipayNotificationsTable(queryRunner.connection);
    await queryRunner.query(`CREATE TABLE ${n} (
      "id" integer PRIMARY KEY AUTOINCREMENT NOT NULL,
      "app_id" varchar(32) NOT NULL,
      "notify_id" varchar(64) NOT NULL,
      "handled_at" bigint NOT NULL,
      "expires_at" bigint NOT NULL
    )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_alipay_auth_notification" ON ${n} ("app_id", "notify_id")`);
    await queryRunner.query(`CREATE INDEX "IDX_alipay_auth_notification_expires" ON ${n} ("expires_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    await queryRunner.query(`DROP TABLE ${alipayNotificationsTable(queryRunner.connection)}`);
    await queryRunner.query(`DROP INDEX "IDX_alipay_auth_token_hash"`);
    await queryRunner.query(`DROP INDEX "IDX_alipay_auth_due_at"`);
    await queryRunner.query(`ALTER TABLE ${t} DROP COLUMN "due_at"`);
    await queryRunner.query(`DROP INDEX "IDX_alipay_auth_retry"`);
    await queryRunner.query(`ALTER TABLE ${t} DROP COLUMN "token_hash"`);
    await queryRunner.query(`ALTER TABLE ${t} DROP COLUMN "verify_at"`);
  }
}
