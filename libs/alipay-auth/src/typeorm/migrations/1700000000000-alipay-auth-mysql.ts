import type { MigrationInterface, QueryRunner } from 'typeorm';
import { alipayAuthorizationsTable } from '../sql-dialect';

/**
 * MariaDB (>= 10.6) / MySQL (>= 8.0): the authorizations table, InnoDB, utf8mb4. Instants are bigint
 * epoch milliseconds (see the entity). Claiming uses `FOR UPDATE SKIP LOCKED`, hence the versions.
 */
export class AlipayAuthMysql1700000000000 implements MigrationInterface {
  name = 'AlipayAuthMysql1700000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    await queryRunner.query(`CREATE TABLE ${t} (
      \`id\` int NOT NULL AUTO_INCREMENT,
      \`app_id\` varchar(32) NOT NULL,
      \`auth_app_id\` varchar(32) NOT NULL,
      \`user_id\` varchar(32) NULL,
      \`app_auth_token_enc\` text NOT NULL,
      \`app_refresh_token_enc\` text NOT NULL,
      \`expires_at\` bigint NULL,
      \`refresh_expires_at\` bigint NULL,
      \`token_issued_at\` bigint NOT NULL,
      \`status\` varchar(32) NOT NULL,
      \`status_reason\` varchar(255) NULL,
      \`authorized_at\` bigint NOT NULL,
      \`last_refreshed_at\` bigint NULL,
      \`last_checked_at\` bigint NULL,
      \`failure_count\` int NOT NULL DEFAULT 0,
      \`last_error_code\` varchar(64) NULL,
      \`next_attempt_at\` bigint NULL,
      \`version\` int NOT NULL DEFAULT 1,
      \`lease_owner\` varchar(128) NULL,
      \`lease_until\` bigint NULL,
      \`created_at\` bigint NOT NULL,
      \`updated_at\` bigint NOT NULL,
      PRIMARY KEY (\`id\`),
      UNIQUE INDEX \`UQ_alipay_auth_app_auth_app\` (\`app_id\`, \`auth_app_id\`),
      INDEX \`IDX_alipay_auth_due_expires\` (\`app_id\`, \`status\`, \`expires_at\`),
      INDEX \`IDX_alipay_auth_due_refresh_expires\` (\`app_id\`, \`status\`, \`refresh_expires_at\`),
      INDEX \`IDX_alipay_auth_due_issued\` (\`app_id\`, \`status\`, \`token_issued_at\`),
      INDEX \`IDX_alipay_auth_due_checked\` (\`app_id\`, \`status\`, \`last_checked_at\`),
      INDEX \`IDX_alipay_auth_authorized\` (\`app_id\`, \`authorized_at\`)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE ${alipayAuthorizationsTable(queryRunner.connection)}`);
  }
}
