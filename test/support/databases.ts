/**
 * Databases for the integration suites: SQLite always; PostgreSQL and MariaDB on loopback.
 *
 * Which engines run:
 * - neither (`npm test`, the fast default): SQLite only.
 * - `CI=true` or `npm run test:all`: all three, and PostgreSQL/MariaDB are REQUIRED: unreachable means the suite fails.
 * - `ALIPAY_TEST_DATABASES=sqlite,postgres,mariadb` (any subset): those engines (SQLite always runs);
 *   an engine named there is required as well.
 *
 * Isolation: every `createIsolatedDatabase()` gets its own namespace, so suites (and Jest workers) never
 * share tables: a PostgreSQL schema in database `test`, a MariaDB database, a SQLite file in a temp dir.
 * `drop()` removes it; namespaces left by crashed runs are dropped after two hours.
 *
 * Connection settings: PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE (default 127.0.0.1:5432 postgres, trust,
 * `test`), MYSQL_HOST/MYSQL_PORT/MYSQL_USER/MYSQL_PASSWORD/MYSQL_DATABASE (default 127.0.0.1:3306 root,
 * empty password, `test`).
 *
 * Typical use:
 *   const engines = testDatabaseEngines();
 *   describe.each(engines)('%s', (engine) => {
 *     let db: IsolatedDatabase;
 *     beforeAll(async () => { db = await createIsolatedDatabase(engine, 'my-suite'); });
 *     afterAll(() => db?.drop());
 *     // new DataSource(db.options({ entities, migrations }))
 *   });
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DataSource, DataSourceOptions } from 'typeorm';

export type TestEngine = 'sqlite' | 'postgres' | 'mariadb';

const ALL: TestEngine[] = ['sqlite', 'postgres', 'mariadb'];
const STALE_MS = 2 * 3600_000;
const NAME_PREFIX = 'alipay_t_';

const pg = {
  host: process.env.PGHOST || '127.0.0.1',
  port: Number(process.env.PGPORT || 5432),
  username: process.env.PGUSER || 'postgres',
  password: process.env.PGPASSWORD || undefined,
  database: process.env.PGDATABASE || 'test',
};
const my = {
  host: process.env.MYSQL_HOST || '127.0.0.1',
  port: Number(process.env.MYSQL_PORT || 3306),
  username: process.env.MYSQL_USER || 'root',
  password: process.env.MYSQL_PASSWORD ?? '',
  database: process.env.MYSQL_DATABASE || 'test',
};

function requested(): TestEngine[] | null {
  const raw = process.env.ALIPAY_TEST_DATABASES;
  if (!raw || !raw.trim()) return null;
  const list = raw
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((s) => (s.toLowerCase() === 'mysql' ? 'mariadb' : s.toLowerCase()));
  const unknown = list.filter((s) => !ALL.includes(s as TestEngine));
  if (unknown.length) throw new Error(`ALIPAY_TEST_DATABASES: unknown engine(s) ${unknown.join(', ')}; use sqlite, postgres, mariadb`);
  return list as TestEngine[];
}

/** Whether an unreachable engine must fail the run instead of being skipped. */
export function isEngineRequired(engine: TestEngine): boolean {
  if (engine === 'sqlite') return true;
  return process.env.CI === 'true' || (requested()?.includes(engine) ?? false);
}

/** Admin DataSource options (database `test` itself), for creating and dropping namespaces. */
function adminOptions(engine: Exclude<TestEngine, 'sqlite'>): DataSourceOptions {
  return engine === 'postgres' ? { type: 'postgres', ...pg } : { type: 'mariadb', ...my };
}

/**
 * Connects (TCP, login, `SELECT 1`) to PostgreSQL and MariaDB in a child process, synchronously: Jest
 * needs the engine list while it collects `describe` blocks, and top-level await does not type-check
 * under the repository's CommonJS tsconfig. Returns null per reachable engine, else the problem.
 */
function probeSync(engines: Array<Exclude<TestEngine, 'sqlite'>>): Record<string, string | null> {
  if (!engines.length) return {};
  const script = `
    const { createRequire } = require('node:module');
    const req = createRequire(process.env.PROBE_ROOT + '/package.json');
    const cfg = JSON.parse(process.env.PROBE_CONFIG);
    const out = {};
    const timeout = (ms) => new Promise((_, rej) => setTimeout(() => rej(new Error('timed out after ' + ms + ' ms')), ms));
    async function pgProbe() {
      const { Client } = req('pg');
      const c = new Client({ ...cfg.pg, user: cfg.pg.username, connectionTimeoutMillis: 4000 });
      try { await c.connect(); await c.query('SELECT 1'); } finally { await c.end().catch(() => {}); }
    }
    async function myProbe() {
      const mysql = req('mysql2/promise');
      const c = await mysql.createConnection({ ...cfg.my, user: cfg.my.username, connectTimeout: 4000 });
      try { await c.query('SELECT 1'); } finally { await c.end().catch(() => {}); }
    }
    (async () => {
      for (const e of cfg.engines) {
        try { await Promise.race([e === 'postgres' ? pgProbe() : myProbe(), timeout(6000)]); out[e] = null; }
        catch (err) { out[e] = String(err && (err.message || err.code) || err); }
      }
      process.stdout.write(JSON.stringify(out));
      process.exit(0);
    })();
  `;
  const child = spawnSync(process.execPath, ['-e', script], {
    env: { ...process.env, NODE_OPTIONS: '', PROBE_ROOT: process.cwd(), PROBE_CONFIG: JSON.stringify({ engines, pg, my }) },
    encoding: 'utf8',
    timeout: 20_000,
  });
  try {
    return JSON.parse(child.stdout);
  } catch {
    const why = `probe failed: ${child.error?.message ?? (child.stderr || 'no output').trim().split('\n')[0]}`;
    return Object.fromEntries(engines.map((e) => [e, why]));
  }
}

let cached: TestEngine[] | undefined;

/**
 * The engines to run, decided synchronously (usable at `describe` time). Throws, failing the suite
 * loudly, when a required engine is unreachable; logs a note for each optional engine it skips.
 */
export function testDatabaseEngines(): TestEngine[] {
  if (cached) return cached;
  // Only the engines asked for (CI=true: all): a contributor's `npm test` stays on SQLite, fast and quiet.
  const tried = (['postgres', 'mariadb'] as const).filter(isEngineRequired);
  const problems = probeSync(tried);
  const engines: TestEngine[] = ['sqlite'];
  const failures: string[] = [];
  for (const engine of tried) {
    const problem = problems[engine];
    const target = engine === 'postgres' ? pg : my;
    const where = `${target.host}:${target.port}/${target.database}`;
    if (!problem) engines.push(engine);
    else failures.push(`${engine} at ${where}: ${problem}`);
  }
  if (failures.length) {
    throw new Error(
      `Required test database(s) unreachable (CI=${process.env.CI ?? ''}, ALIPAY_TEST_DATABASES=${process.env.ALIPAY_TEST_DATABASES ?? ''}):\n  ${failures.join('\n  ')}`,
    );
  }
  return (cached = engines);
}

export interface IsolatedDatabase {
  engine: TestEngine;
  /** Schema (PostgreSQL), database (MariaDB) or file path (SQLite). */
  name: string;
  /** DataSource options pointing at this namespace; call as often as needed (one DataSource per "process"). */
  options(extra?: Partial<DataSourceOptions>): DataSourceOptions;
  /** Drops the namespace and everything in it. */
  drop(): Promise<void>;
}

function namespaceName(suite: string): string {
  const tag = suite
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 20);
  return `${NAME_PREFIX}${Date.now().toString(36)}_${randomBytes(3).toString('hex')}_${tag}`;
}

function isStale(name: string): boolean {
  const stamp = name.slice(NAME_PREFIX.length).split('_')[0];
  const at = parseInt(stamp, 36);
  return Number.isFinite(at) && Date.now() - at > STALE_MS;
}

async function withAdmin<T>(engine: Exclude<TestEngine, 'sqlite'>, fn: (ds: DataSource) => Promise<T>): Promise<T> {
  const ds = new DataSource(adminOptions(engine));
  await ds.initialize();
  try {
    return await fn(ds);
  } finally {
    await ds.destroy();
  }
}

/** A fresh, empty namespace on `engine` for one suite. The caller creates tables (run the migrations). */
export async function createIsolatedDatabase(engine: TestEngine, suite: string): Promise<IsolatedDatabase> {
  const name = namespaceName(suite);
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'alipay-auth-test-'));
    const file = join(dir, `${name}.sqlite`);
    return {
      engine,
      name: file,
      // WAL: several instances share the file without blocking each other's reads (as the sample and the docs advise).
      options: (extra = {}) => ({ type: 'better-sqlite3', database: file, enableWAL: true, ...extra }) as DataSourceOptions,
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  if (engine === 'postgres') {
    await withAdmin('postgres', async (ds) => {
      const rows: Array<{ nspname: string }> = await ds.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE '${NAME_PREFIX}%'`);
      for (const r of rows.filter((r) => isStale(r.nspname))) await ds.query(`DROP SCHEMA IF EXISTS "${r.nspname}" CASCADE`);
      await ds.query(`CREATE SCHEMA "${name}"`);
    });
    return {
      engine,
      name,
      // `schema` makes TypeORM (metadata, migrations table) use it; search_path does the same for raw SQL.
      options: (extra = {}) => ({ type: 'postgres', ...pg, schema: name, extra: { options: `-c search_path=${name}` }, ...extra }) as DataSourceOptions,
      drop: () => withAdmin('postgres', (ds) => ds.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`)),
    };
  }
  await withAdmin('mariadb', async (ds) => {
    const rows: Array<{ name: string }> = await ds.query(
      `SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '${NAME_PREFIX}%'`,
    );
    for (const r of rows.filter((r) => isStale(r.name))) await ds.query(`DROP DATABASE IF EXISTS \`${r.name}\``);
    await ds.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  });
  return {
    engine,
    name,
    options: (extra = {}) => ({ type: 'mariadb', ...my, database: name, ...extra }) as DataSourceOptions,
    drop: () => withAdmin('mariadb', (ds) => ds.query(`DROP DATABASE IF EXISTS \`${name}\``)),
  };
}
