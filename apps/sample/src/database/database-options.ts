import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ALIPAY_AUTH_ENTITIES, alipayAuthMigrations } from 'nestjs-alipay-auth/typeorm';
import type { DataSourceOptions } from 'typeorm';
import { CallbackReplayEntity, SampleCallbackReplay1790000000000 } from '../auth/callback-replay.entity';
import type { SampleConfig } from '../config/sample-config';

/**
 * The app's TypeORM connection: the library's table and the sample's callback replay memory. Schema changes come only from the
 * library's migrations (never `synchronize`); they run at start-up unless DB_MIGRATIONS_RUN=false.
 */
export function databaseOptions(config: Pick<SampleConfig, 'database' | 'migrationsRun'>): DataSourceOptions {
  const db = config.database;
  const common = {
    entities: [...ALIPAY_AUTH_ENTITIES, CallbackReplayEntity],
    // The library's migrations, then the sample's own table (the callback replay memory).
    migrations: [...alipayAuthMigrations(db.type), SampleCallbackReplay1790000000000],
    migrationsRun: config.migrationsRun,
    migrationsTransactionMode: 'each' as const,
    synchronize: false,
    logging: ['error' as const, 'migration' as const],
  };
  if (db.type === 'better-sqlite3') {
    if (db.database !== ':memory:') mkdirSync(dirname(db.database), { recursive: true });
    return { ...common, type: 'better-sqlite3', database: db.database, enableWAL: db.database !== ':memory:', timeout: 5000 };
  }
  const ssl = db.ssl ? { rejectUnauthorized: true } : undefined;
  const connection = db.url ? { url: db.url } : { host: db.host, port: db.port, username: db.username, password: db.password, database: db.database };
  // `schema` places TypeORM's tables and migrations table; search_path does the same for the library's raw SQL.
  const schema = db.schema ? { schema: db.schema, extra: { options: `-c search_path=${db.schema}` } } : {};
  return { ...common, ...connection, ...schema, type: db.type, ssl } as DataSourceOptions;
}
