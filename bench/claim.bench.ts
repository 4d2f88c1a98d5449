/*
 * Claim time per batch of 100 with 100,000 rows, all due (after an outage, or a first deployment), and
 * with 1 % due. Rows are inserted with SQL in bulk, each with its own tokens encrypted for its row (the
 * claim decrypts what it returns, as in production; a value copied between rows would fail its
 * authentication and measure the error path instead).
 * Run: npm run bench:claim   (BENCH_DB=postgres|mariadb|sqlite, BENCH_ROWS=100000)
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { dueCriteria } from 'nestjs-alipay-auth/tokens/refresh-policy';
import { alipayTokenAad, TypeOrmAlipayTokenStore } from 'nestjs-alipay-auth/typeorm';
import type { TestEngine } from '../test/support/databases';
import { openBenchTable } from './bench-table';

const ENGINE = (process.env.BENCH_DB ?? 'postgres') as TestEngine;
const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const APP = '2021004100000001';
const DAY = 86_400_000;

export async function claimBench(engine: TestEngine, rows: number): Promise<Record<string, number[]>> {
  const { db, ds, t, now, cipher, config } = await openBenchTable(engine, 'bench-claim', APP);
  try {
    const policy = config.refresh;
    const results: Record<string, number[]> = {};
    for (const share of [0.01, 1]) {
      await ds.query(`DELETE FROM ${t}`);
      const chunk = engine === 'sqlite' ? 500 : 2000;
      for (let i = 0; i < rows; i += chunk) {
        const values: string[] = [];
        for (let j = i; j < Math.min(rows, i + chunk); j++) {
          const due = j < rows * share;
          const expires = due ? now + 10 * DAY + j : now + 200 * DAY + j;
          const authAppId = String(j).padStart(16, '0');
          const token = cipher.encrypt(`202612BB${randomBytes(16).toString('hex')}`, alipayTokenAad(APP, authAppId, 'app_auth_token'));
          const refresh = cipher.encrypt(`202612BB${randomBytes(16).toString('hex')}`, alipayTokenAad(APP, authAppId, 'app_refresh_token'));
          values.push(
            `('${APP}', '${authAppId}', '${token}', '${refresh}', ${expires}, ${expires + 7 * DAY}, ${now}, 'active', ${now}, ${now}, 0, 1, ${now}, ${now})`,
          );
        }
        await ds.query(
          `INSERT INTO ${t} (app_id, auth_app_id, app_auth_token_enc, app_refresh_token_enc, expires_at, refresh_expires_at, token_issued_at, status, authorized_at, last_checked_at, failure_count, version, created_at, updated_at) VALUES ${values.join(',')}`,
        );
      }
      const store = new TypeOrmAlipayTokenStore(ds, cipher, Date.now, policy);
      // Rows written in bulk have no due_at yet: what start-up does for rows that predate it.
      const syncStarted = performance.now();
      await store.syncDueAt(APP);
      results[`${share === 1 ? 'all due' : '1 % due'}: start-up due_at sync of all rows`] = [performance.now() - syncStarted];
      // Fresh statistics, as autovacuum (PostgreSQL) or InnoDB's persistent stats would have them.
      if (engine === 'postgres') await ds.query(`ANALYZE ${t}`);
      if (engine === 'mariadb') await ds.query(`ANALYZE TABLE ${t}`);
      const times: number[] = [];
      const claims = Math.min(20, Math.floor((rows * share) / 100));
      for (let k = 0; k < claims; k++) {
        const started = performance.now();
        const got = await store.claimDue(APP, dueCriteria(now, policy), { owner: `bench-${k}`, ms: 600_000 }, 100);
        times.push(performance.now() - started);
        if (got.length !== 100) throw new Error(`claimed ${got.length}, expected 100`);
        if (got.some((r) => r.unreadable)) throw new Error('a claimed row could not be decrypted');
      }
      results[share === 1 ? 'all due' : '1 % due'] = times;
    }
    return results;
  } finally {
    await ds.destroy();
    await db.drop();
  }
}

if (require.main === module) {
  void claimBench(ENGINE, ROWS).then((r) => {
    for (const [k, v] of Object.entries(r)) {
      const sorted = [...v].sort((a, b) => a - b);
      console.log(
        `${ENGINE} ${ROWS} rows, ${k}: median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms per claim of 100`,
      );
    }
  });
}
