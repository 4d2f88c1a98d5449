import type { MigrationInterface, QueryRunner } from 'typeorm';
import { alipayAuthorizationsTable } from '../sql-dialect';

/*
 * Second schema version, an upgrade of a table that already holds rows:
 * - `verify_at`: set when a refresh ended without a trustworthy answer (timeout, reset, 5xx, unverifiable
 *   signature); the stored pair is then only a belief, checked and repaired at that instant. Existing rows
 *   get NULL (nothing in doubt).
 * - an index on (app_id, status, next_attempt_at), so rows whose refresh failed are claimed for their retry
 *   whether or not they are inside the refresh window.
 */
export class AlipayAuthVerificationPostgres1764600000000 implements MigrationInterface {
  name = 'AlipayAuthVerificationPostgres1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    await queryRunner.query(`ALTER TABLE ${t} ADD COLUMN "verify_at" bigint`);
    await queryRunner.query(`CREATE INDEX "IDX_alipay_auth_retry" ON ${t} ("app_id", "status", "next_attempt_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    const schema = t.includes('.') ? `${t.split('.')[0]}.` : '';
    await queryRunner.query(`DROP INDEX ${schema}"IDX_alipay_auth_retry"`);
    await queryRunner.query(`ALTER TABLE ${t} DROP COLUMN "verify_at"`);
  }
}

export class AlipayAuthVerificationMysql1764600000000 implements MigrationInterface {
  name = 'AlipayAuthVerificationMysql1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    // One ALTER: InnoDB rebuilds the table once (instant ADD COLUMN where the server supports it).
    await queryRunner.query(
      `ALTER TABLE ${t} ADD COLUMN \`verify_at\` bigint NULL, ADD INDEX \`IDX_alipay_auth_retry\` (\`app_id\`, \`status\`, \`next_attempt_at\`)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    await queryRunner.query(`ALTER TABLE ${t} DROP INDEX \`IDX_alipay_auth_retry\`, DROP COLUMN \`verify_at\``);
  }
}

export class AlipayAuthVerificationSqlite1764600000000 implements MigrationInterface {
  name = 'AlipayAuthVerificationSqlite1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    await queryRunner.query(`ALTER TABLE ${t} ADD COLUMN "verify_at" bigint`);
    await queryRunner.query(`CREATE INDEX "IDX_alipay_auth_retry" ON ${t} ("app_id", "status", "next_attempt_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    await queryRunner.query(`DROP INDEX "IDX_alipay_auth_retry"`);
    await queryRunner.query(`ALTER TABLE ${t} DROP COLUMN "verify_at"`);
  }
}
