import { Column, Entity, MigrationInterface, PrimaryColumn, QueryRunner, Table } from 'typeorm';

/**
 * The sample's own table: exchanged authorization codes (hashed) and what the success page showed, so that
 * any instance answers a reloaded callback. No tokens: only merchant app ids and user ids.
 */
@Entity('sample_callback_replay')
export class CallbackReplayEntity {
  /** SHA-256 of the app_auth_code, hex. */
  @PrimaryColumn({ name: 'code_hash', type: 'varchar', length: 64 }) codeHash!: string;
  /** SHA-256 of the browser's nonce cookie, hex: only that browser sees the details again. */
  @Column({ name: 'binding', type: 'varchar', length: 64 }) binding!: string;
  /** JSON array of { authAppId, userId }. */
  @Column({ name: 'result', type: 'text' }) result!: string;
  /** Epoch milliseconds (a number, so every engine compares it the same way). */
  @Column({ name: 'expires_at', type: 'bigint' }) expiresAt!: string | number;
}

/** Portable (Table API): SQLite, PostgreSQL and MySQL/MariaDB. Runs after the library's migrations. */
export class SampleCallbackReplay1790000000000 implements MigrationInterface {
  name = 'SampleCallbackReplay1790000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'sample_callback_replay',
        columns: [
          { name: 'code_hash', type: 'varchar', length: '64', isPrimary: true },
          { name: 'binding', type: 'varchar', length: '64' },
          { name: 'result', type: 'text' },
          { name: 'expires_at', type: 'bigint' },
        ],
        indices: [{ name: 'IDX_sample_callback_replay_expires', columnNames: ['expires_at'] }],
      }),
      true,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('sample_callback_replay', true);
  }
}
