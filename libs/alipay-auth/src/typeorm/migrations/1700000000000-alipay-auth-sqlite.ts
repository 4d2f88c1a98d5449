import type { MigrationInterface, QueryRunner } from 'typeorm';
import { alipayAuthorizationsTable } from '../sql-dialect';

/**
 * SQLite (better-sqlite3): the authorizations table. Instants are INTEGER epoch milliseconds (see the
 * entity). `id` must be `integer PRIMARY KEY AUTOINCREMENT` to be SQLite's rowid alias.
 */
export class AlipayAuthSqlite1700000000000 implements MigrationInterface {
  name = 'AlipayAuthSqlite1700000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    await queryRunner.query(`CREATE TABLE ${t} (
      "id" integer PRIMARY KEY AUTOINCREMENT NOT NULL,
      "app_id" varchar(32) NOT NULL,
      "auth_app_id" varchar(32) NOT NULL,
      "user_id" varchar(32),
      "app_auth_token_enc" text NOT NULL,
      "app_refresh_token_enc" text NOT NULL,
      "expires_at" bigint,
      "refresh_expires_at" bigint,
      "token_issued_at" bigint NOT NULL,
      "status" varchar(32) NOT NULL,
      "status_reason" varchar(255),
      "authorized_at" bigint NOT NULL,
      "last_refreshed_at" bigint,
      "last_checked_at" bigint,
      "failure_count" integer NOT NULL DEFAULT (0),
      "last_error_code" varchar(64),
      "next_attempt_at" bigint,
      "version" integer NOT NULL DEFAULT (1),
      "lease_owner" varchar(128),
      "lease_until" bigint,
      "created_at" bigint NOT NULL,
      "updated_at" bigint NOT NULL
    )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_alipay_auth_app_auth_app" ON ${t} ("app_id", "auth_app_id")`);
    await queryRunner.query(`CREATE INDEX "IDX_alipay_auth_due_expires" ON ${t} ("app_id", "status", "expires_at")`);
    await queryRunner.query(`CREATE INDEX "IDX_alipay_auth_due_refresh_expires" ON ${t} ("app_id", "status", "refresh_expires_at")`);
    await queryRunner.query(`CREATE INDEX "IDX_alipay_auth_due_issued" ON ${t} ("app_id", "status", "token_issued_at")`);
    await queryRunner.query(`CREATE INDEX "IDX_alipay_auth_due_checked" ON ${t} ("app_id", "status", "last_checked_at")`);
    await queryRunner.query(`CREATE INDEX "IDX_alipay_auth_authorized" ON ${t} ("app_id", "authorized_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // Dropping the table drops its indexes.
    await queryRunner.query(`DROP TABLE ${alipayAuthorizationsTable(queryRunner.connection)}`);
  }
}
