/*
 * Scale (issue 21): what one instance's database work costs at 10k, 100k (and, with BENCH_SCALE_1M=1, 1M)
 * rows on PostgreSQL (and MariaDB with BENCH_SCALE_ENGINES=postgres,mariadb): the status-check claim, the refresh claim, the count behind the health summary, and
 * the start-up statements. Rows are seeded set-based (one INSERT ... SELECT FROM generate_series); the rows
 * the claims take (the first 4,000 in each claim order) then get tokens encrypted for their own row, so the
 * claims decrypt as in production.
 * Run: npm run bench:scale   (BENCH_SCALE_SIZES=10000,100000)
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { dueCriteria } from 'nestjs-alipay-auth/tokens/refresh-policy';
import { alipayTokenAad, TypeOrmAlipayTokenStore } from 'nestjs-alipay-auth/typeorm';
import { AlipayAuthHealthService } from 'nestjs-alipay-auth/health/alipay-auth-health.service';
import type { AlipayOpenApiClient } from 'nestjs-alipay-auth/client/alipay-openapi.client';
import type { AlipayTokenRefreshScheduler } from 'nestjs-alipay-auth/refresh/token-refresh.scheduler';
import type { AlipayAuthEventPublisher } from 'nestjs-alipay-auth/tokens/alipay-auth.events';
import { AlipayConfigurationCircuit } from 'nestjs-alipay-auth/tokens/configuration-circuit';
import { openBenchTable } from './bench-table';

const APP = '2021004100000001';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const CLAIMED = 4_000;
/** Failing rows at every size: the health probe's problem ranges hold these, whatever the table's size. */
const PROBLEM_ROWS = 50;

export type ScaleEngine = 'postgres' | 'mariadb';

export interface ScaleResult {
  engine: ScaleEngine;
  rows: number;
  seedMs: number;
  statusCheckClaimMs: number[];
  refreshClaimMs: number[];
  healthCountMs: number[];
  /** Start-up now (fingerprint read, key sample) and before (syncDueAt, countUnknownKeyRows over the table). */
  bootMs: number[];
  formerBootMs: number[];
  /** The one-time re-application of changed windows (every row, in batches). */
  reapplyMs: number[];
  /** AlipayAuthHealthService.summary() per probe, counting at every probe (countsMaxAgeMs 0). */
  healthProbeMs: number[];
  /** The status-check candidates read as before check_due_at (ORDER BY CASE over last_checked_at), and as now: SELECT only. */
  formerCheckSelectMs: number[];
  checkSelectMs: number[];
  /** PostgreSQL's plan of the status-check claim's locking subquery. */
  statusCheckPlan: string;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function scaleBench(rows: number, engine: ScaleEngine = 'postgres'): Promise<ScaleResult> {
  const { db, ds, t, now, cipher, config } = await openBenchTable(engine, 'bench-scale', APP);
  const pg = engine === 'postgres';
  // Statements written for PostgreSQL ($n placeholders), sent to MariaDB with ? in their order.
  const query = (sql: string, params: unknown[] = []) => {
    if (pg) return ds.query(sql, params);
    const ordered: unknown[] = [];
    return ds.query(
      sql.replace(/\$(\d+)/g, (_, n: string) => (ordered.push(params[Number(n) - 1]), '?')),
      ordered,
    );
  };
  try {
    const policy = config.refresh;
    // 1 % due for refresh (at least 2,500 rows: 20 claims of 100 at every size), their windows open within the hour (due, not
    // overdue: the health probe's overdue range holds the overdue rows only); 30 % due for a status check
    // (checked 2-3 days ago, in another order than the ids), the rest checked within the day.
    const seedStarted = performance.now();
    const columns = `app_id, auth_app_id, app_auth_token_enc, app_refresh_token_enc, expires_at, refresh_expires_at, token_issued_at, status,
         authorized_at, last_checked_at, check_due_at, due_at, failure_count, version, created_at, updated_at`;
    if (pg) {
      await ds.query(
        `INSERT INTO ${t} (${columns})
         SELECT $1, lpad(g::text, 16, '0'), 'v1.k1.seed', 'v1.k1.seed', e, e + ${7 * DAY}, $2::bigint, 'active', $2::bigint, c, c, e - ${30 * DAY},
           CASE WHEN g % ($3::int / ${PROBLEM_ROWS}) = 1 THEN 1 ELSE 0 END, 1, $2::bigint, $2::bigint
         FROM generate_series(0, $3::int - 1) AS g,
           LATERAL (SELECT CASE WHEN g < greatest($3::int / 100, 2500) THEN $2::bigint + ${30 * DAY - HOUR} + g ELSE $2::bigint + ${200 * DAY} + g END AS e,
                           CASE WHEN g % 10 IN (3, 6, 9) THEN $2::bigint - ${2 * DAY} - (g::bigint * 7919) % ${DAY} ELSE $2::bigint - (g::bigint * 7919) % ${DAY / 2} END AS c) AS v`,
        [APP, now, rows],
      );
    } else {
      // The same rows from MariaDB's sequence engine (seq_0_to_N), in one statement.
      await ds.query(
        `INSERT INTO ${t} (${columns})
         SELECT ?, lpad(g, 16, '0'), 'v1.k1.seed', 'v1.k1.seed', e, e + ${7 * DAY}, ?, 'active', ?, c, c, e - ${30 * DAY},
           CASE WHEN g % ${Math.floor(rows / PROBLEM_ROWS)} = 1 THEN 1 ELSE 0 END, 1, ?, ?
         FROM (SELECT seq AS g,
                 CASE WHEN seq < ${Math.max(Math.floor(rows / 100), 2500)} THEN ? + ${30 * DAY - HOUR} + seq ELSE ? + ${200 * DAY} + seq END AS e,
                 CASE WHEN seq % 10 IN (3, 6, 9) THEN ? - ${2 * DAY} - (seq * 7919) % ${DAY} ELSE ? - (seq * 7919) % ${DAY / 2} END AS c
               FROM seq_0_to_${rows - 1}) AS v`,
        [APP, now, now, now, now, now, now, now, now],
      );
    }
    // Real ciphertexts where the claims will read.
    const readable = (await ds.query(
      `(SELECT id, auth_app_id FROM ${t} ORDER BY due_at, id LIMIT ${CLAIMED}) UNION (SELECT id, auth_app_id FROM ${t} ORDER BY check_due_at, id LIMIT ${CLAIMED})`,
    )) as Array<{ id: number; auth_app_id: string }>;
    for (let i = 0; i < readable.length; i += 1000) {
      const chunk = readable.slice(i, i + 1000);
      const sealed = chunk.map((r) => ({
        id: Number(r.id),
        a: cipher.encrypt(`202612BB${randomBytes(16).toString('hex')}`, alipayTokenAad(APP, r.auth_app_id, 'app_auth_token')),
        b: cipher.encrypt(`202612BB${randomBytes(16).toString('hex')}`, alipayTokenAad(APP, r.auth_app_id, 'app_refresh_token')),
      }));
      if (pg) {
        const values = chunk.map((r, k) => `($${3 * k + 1}::int, $${3 * k + 2}, $${3 * k + 3})`).join(',');
        await ds.query(
          `UPDATE ${t} AS r SET app_auth_token_enc = v.a, app_refresh_token_enc = v.b FROM (VALUES ${values}) AS v(id, a, b) WHERE r.id = v.id`,
          sealed.flatMap((v) => [v.id, v.a, v.b]),
        );
      } else {
        const cases = sealed.map(() => 'WHEN ? THEN ?').join(' ');
        await ds.query(`UPDATE ${t} SET app_auth_token_enc = CASE id ${cases} END, app_refresh_token_enc = CASE id ${cases} END WHERE id IN (?)`, [
          ...sealed.flatMap((v) => [v.id, v.a]),
          ...sealed.flatMap((v) => [v.id, v.b]),
          sealed.map((v) => v.id),
        ]);
      }
    }
    await ds.query(pg ? `VACUUM ANALYZE ${t}` : `ANALYZE TABLE ${t}`);
    const seedMs = performance.now() - seedStarted;

    const store = new TypeOrmAlipayTokenStore(ds, cipher, Date.now, policy);
    const timed = async (n: number, fn: (k: number) => Promise<unknown>) => {
      const times: number[] = [];
      for (let k = 0; k < n; k++) {
        const started = performance.now();
        await fn(k);
        times.push(performance.now() - started);
      }
      return times;
    };
    const claimed = (what: string) => (got: Array<{ unreadable: string | null }>) => {
      if (got.length !== 100) throw new Error(`${what}: claimed ${got.length}, expected 100`);
      if (got.some((r) => r.unreadable)) throw new Error(`${what}: a claimed row could not be decrypted`);
    };
    // Each claim's rows then leave the claim's range, untimed, as the check or the refresh would move them:
    // rows left leased stay in the index range, and each later claim would walk past them (1,900 rows and
    // their heap pages by the 20th claim; at 1M rows those pages are rarely cached).
    const claims = async (what: string, column: string, claim: (k: number) => Promise<Array<{ authAppId: string; unreadable: string | null }>>) => {
      const times: number[] = [];
      for (let k = 0; k < 20; k++) {
        const started = performance.now();
        const got = await claim(k);
        times.push(performance.now() - started);
        claimed(what)(got);
        await query(
          `UPDATE ${t} SET ${column} = $3, lease_owner = NULL, lease_until = NULL WHERE app_id = $1 AND auth_app_id ${pg ? '= ANY($2)' : 'IN ($2)'}`,
          [APP, got.map((r) => r.authAppId), now + 300 * DAY],
        );
      }
      return times;
    };
    const checkedBefore = new Date(now - policy.statusCheckIntervalMs);
    const statusCheckClaimMs = await claims('status check', 'check_due_at', (k) =>
      store.claimStatusCheckDue(APP, checkedBefore, { owner: `check-${k}`, ms: 600_000 }, 100),
    );
    const refreshClaimMs = await claims('refresh', 'due_at', (k) => store.claimDue(APP, dueCriteria(now, policy), { owner: `refresh-${k}`, ms: 600_000 }, 100));
    const healthCountMs = await timed(5, async () => {
      await store.countByStatus(APP);
      await store.countDue(APP, dueCriteria(now - DAY, policy));
    });
    // Changed windows, re-applied once for the cluster (in the background of one instance's boot).
    const wider = new TypeOrmAlipayTokenStore(ds, cipher, Date.now, { ...policy, refreshAheadMs: 60 * DAY });
    const reapplyMs = await timed(1, async () => {
      const r = await wider.applyRefreshWindows(APP, { owner: 'bench' });
      if (r.state !== 'applied') throw new Error(`re-application: ${r.state}`);
    });
    // What every later start-up runs: the windows' fingerprint (one row) and a sample of key ids.
    const bootMs = await timed(5, async () => {
      const r = await wider.applyRefreshWindows(APP, { owner: 'bench' });
      if (r.state !== 'current') throw new Error(`start-up: ${r.state}`);
      await wider.sampleUnknownKeyRows();
    });
    const formerBootMs = await timed(3, async () => {
      await store.syncDueAt(APP);
      await store.countUnknownKeyRows();
    });
    // Health probes: the summary as a load balancer sees it, counts shared for countsMaxAgeMs.
    const health = new AlipayAuthHealthService(
      store,
      config,
      new AlipayConfigurationCircuit(config, { emit: () => undefined } as unknown as AlipayAuthEventPublisher),
      { lastCompletedRun: undefined } as unknown as AlipayTokenRefreshScheduler,
      {} as AlipayOpenApiClient,
    );
    await health.summary();
    // Counting at every probe (no sharing): the problem ranges and the stored totals.
    const healthProbeMs = await timed(200, () => health.summary({ countsMaxAgeMs: 0 }));
    const select = (order: string, where: string) => () =>
      query(`SELECT id FROM ${t} WHERE app_id = $1 AND status = 'active' AND ${where} ORDER BY ${order} LIMIT 100`, [APP, checkedBefore.getTime()]);
    const formerCheckSelectMs = await timed(
      5,
      select('CASE WHEN last_checked_at IS NULL THEN 0 ELSE 1 END, last_checked_at, id', '(last_checked_at IS NULL OR last_checked_at < $2)'),
    );
    const checkSelectMs = await timed(5, select('check_due_at, id', 'check_due_at < $2'));
    const plan = (await query(
      `EXPLAIN SELECT id FROM ${t} WHERE app_id = $1 AND status = 'active' AND check_due_at < $2 AND (lease_until IS NULL OR lease_until <= $3)
       ORDER BY check_due_at, id LIMIT 100${pg ? ' FOR UPDATE SKIP LOCKED' : ''}`,
      [APP, checkedBefore.getTime(), now],
    )) as Array<Record<string, unknown>>;
    return {
      engine,
      rows,
      seedMs,
      statusCheckClaimMs,
      refreshClaimMs,
      healthCountMs,
      bootMs,
      formerBootMs,
      reapplyMs,
      healthProbeMs,
      formerCheckSelectMs,
      checkSelectMs,
      statusCheckPlan: pg
        ? plan.map((p) => String(p['QUERY PLAN']).trim()).join(' / ')
        : plan.map((p) => `${p.type} on ${p.key ?? '-'} (rows ${p.rows}; ${p.Extra ?? ''})`).join(' / '),
    };
  } finally {
    await ds.destroy();
    await db.drop();
  }
}

/** BENCH_SCALE_ENGINES (default postgres,mariadb): the engines of the scale figures. */
export function scaleEngines(): ScaleEngine[] {
  return (process.env.BENCH_SCALE_ENGINES ?? 'postgres,mariadb').split(',').map((e) => e.trim() as ScaleEngine);
}

export function scaleSizes(): number[] {
  const sizes = (process.env.BENCH_SCALE_SIZES ?? '10000,100000').split(',').map(Number);
  if (process.env.BENCH_SCALE_1M === '1' && !sizes.includes(1_000_000)) sizes.push(1_000_000);
  return sizes;
}

if (require.main === module) {
  void (async () => {
    for (const engine of scaleEngines())
      for (const n of scaleSizes()) {
        const r = await scaleBench(n, engine);
        console.log(
          `${engine} ${n} rows (seeded in ${(r.seedMs / 1000).toFixed(1)} s): status-check claim ${median(r.statusCheckClaimMs).toFixed(2)} ms, refresh claim ${median(r.refreshClaimMs).toFixed(2)} ms, ` +
            `health count ${median(r.healthCountMs).toFixed(1)} ms, health probe ${median(r.healthProbeMs).toFixed(3)} ms, ` +
            `start-up ${median(r.bootMs).toFixed(2)} ms (formerly ${median(r.formerBootMs).toFixed(1)} ms), re-application ${median(r.reapplyMs).toFixed(0)} ms, ` +
            `check candidates ${median(r.checkSelectMs).toFixed(2)} ms (formerly ${median(r.formerCheckSelectMs).toFixed(1)} ms)\n  plan: ${r.statusCheckPlan}`,
        );
      }
  })();
}
