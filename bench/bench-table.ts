/*
 * The start of the claim and scale benchmarks: an isolated database with the library's migrations run, a
 * token cipher under a fresh key, and the test app's resolved configuration. The caller seeds the table.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { AlipayTokenCipher, ResolvedAlipayAuthConfig } from 'nestjs-alipay-auth';
import { resolveAlipayAuthConfig } from 'nestjs-alipay-auth/alipay-auth.config';
import { ALIPAY_AUTH_ENTITIES, alipayAuthMigrations, alipayAuthorizationsTable } from 'nestjs-alipay-auth/typeorm';
import { createIsolatedDatabase, IsolatedDatabase, TestEngine } from '../test/support/databases';

const vectors = JSON.parse(readFileSync(join(process.cwd(), 'test/fixtures/alipay-v3-vectors/alipay-v3-signing.json'), 'utf8'));

export interface BenchTable {
  db: IsolatedDatabase;
  /** Initialized; the caller destroys it, then drops `db`. */
  ds: DataSource;
  /** The authorizations table's name, as raw SQL writes it. */
  t: string;
  /** Taken once the migrations have run. */
  now: number;
  cipher: AlipayTokenCipher;
  config: ResolvedAlipayAuthConfig;
}

export async function openBenchTable(engine: TestEngine, suite: string, appId: string): Promise<BenchTable> {
  const db = await createIsolatedDatabase(engine, suite);
  const options = db.options({ entities: ALIPAY_AUTH_ENTITIES, logging: false });
  const ds = new DataSource({ ...options, migrations: alipayAuthMigrations(options.type as 'postgres') });
  await ds.initialize();
  try {
    await ds.runMigrations();
  } catch (e) {
    // The caller's clean-up is not in place yet.
    await ds.destroy();
    await db.drop();
    throw e;
  }
  return {
    db,
    ds,
    t: alipayAuthorizationsTable(ds),
    now: Date.now(),
    cipher: new AlipayTokenCipher([{ id: 'k1', key: randomBytes(32) }]),
    config: resolveAlipayAuthConfig({ appId, privateKey: vectors.keys.app.privateKeyPkcs8Pem, alipayPublicKey: vectors.keys.alipay.publicKeySpkiPem }),
  };
}
