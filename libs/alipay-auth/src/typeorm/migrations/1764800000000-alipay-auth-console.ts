import type { MigrationInterface, QueryRunner } from 'typeorm';
import { alipayAuthorizationsTable } from '../sql-dialect';

/*
 * Third schema version: two indexes for the operators' lists (`list` with `state` and `search`), so the
 * queue of rows needing attention and a search by id stay index lookups at any number of merchants:
 * - (app_id, status, failure_count): failing, verifying and unreadable rows are active rows with failures;
 * - (app_id, user_id): a search by the merchant's Alipay user id (the merchant app id has the unique key).
 */
/** PostgreSQL and SQLite: the same statements. */
async function createIndexes(queryRunner: QueryRunner): Promise<void> {
  const t = alipayAuthorizationsTable(queryRunner.connection);
  await queryRunner.query(`CREATE INDEX "IDX_alipay_auth_failures" ON ${t} ("app_id", "status", "failure_count")`);
  await queryRunner.query(`CREATE INDEX "IDX_alipay_auth_user" ON ${t} ("app_id", "user_id")`);
}

export class AlipayAuthConsolePostgres1764800000000 implements MigrationInterface {
  name = 'AlipayAuthConsolePostgres1764800000000';

  up(queryRunner: QueryRunner): Promise<void> {
    return createIndexes(queryRunner);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    const schema = t.includes('.') ? `${t.split('.')[0]}.` : '';
    await queryRunner.query(`DROP INDEX ${schema}"IDX_alipay_auth_user"`);
    await queryRunner.query(`DROP INDEX ${schema}"IDX_alipay_auth_failures"`);
  }
}

export class AlipayAuthConsoleMysql1764800000000 implements MigrationInterface {
  name = 'AlipayAuthConsoleMysql1764800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    await queryRunner.query(
      `ALTER TABLE ${t} ADD INDEX \`IDX_alipay_auth_failures\` (\`app_id\`, \`status\`, \`failure_count\`), ADD INDEX \`IDX_alipay_auth_user\` (\`app_id\`, \`user_id\`)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const t = alipayAuthorizationsTable(queryRunner.connection);
    await queryRunner.query(`ALTER TABLE ${t} DROP INDEX \`IDX_alipay_auth_user\`, DROP INDEX \`IDX_alipay_auth_failures\``);
  }
}

export class AlipayAuthConsoleSqlite1764800000000 implements MigrationInterface {
  name = 'AlipayAuthConsoleSqlite1764800000000';

  up(queryRunner: QueryRunner): Promise<void> {
    return createIndexes(queryRunner);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "IDX_alipay_auth_user"`);
    await queryRunner.query(`DROP INDEX "IDX_alipay_auth_failures"`);
  }
}
