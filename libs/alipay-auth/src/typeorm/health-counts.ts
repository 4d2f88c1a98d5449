import { ALIPAY_AUTHORIZATION_STATUSES, ALIPAY_ROW_UNREADABLE, AlipayAuthorizationCounts, AlipayAuthorizationStatus } from '../storage/alipay-token-store';
import { isRetryableLock, isUniqueViolation, TypeOrmStatements } from './statements';

/** The task's name in the maintenance table; its `fingerprint` holds the totals, `finished_at` when counted. */
const TASK = 'row-totals';
/** The lease of one recount (a count of 1M rows takes about a second). */
const LEASE_MS = 60_000;
/** Default `quickCountMs`. */
const QUICK_COUNT_MS = 100;

/** What `healthCounts` returns: problem counts exact, totals as last counted. */
export interface AlipayHealthCounts {
  /** `failing`, `verifying`, `unreadable` (active rows): exact, read now. The four statuses: the stored totals. */
  counts: AlipayAuthorizationCounts;
  /** Active rows whose due time (refresh window or retry) passed before `overdueBefore`: exact. */
  overdue: number;
  /** Age of the totals on the database's clock (ms). */
  totalsAgeMs: number;
}

export interface AlipayHealthCountsOptions {
  /** Lease owner of a recount (the instance id). */
  owner: string;
  /** Totals older than this are counted again, once for the cluster, in the background. */
  totalsMaxAgeMs: number;
  /**
   * A table this instance last counted quicker than this is counted at every read instead (totals then agree
   * with the problem counts on small installs). Default 100 ms; 0 always uses the stored totals.
   */
  quickCountMs?: number;
}

/**
 * Health counts at a cost that does not grow with the table: the problem rows are index ranges that hold only
 * them ((app_id, status, failure_count) for failing rows, (app_id, status, due_at) for overdue ones), and the
 * totals per status come from the maintenance table, counted again when older than `totalsMaxAgeMs` by one
 * instance of the cluster under a lease on the database's clock, without making a probe wait.
 */
export class TypeOrmHealthCounts {
  private recount?: Promise<void>;
  /** How long this instance's last count of the totals took (unknown: assumed slow). */
  private lastCountMs = Infinity;

  constructor(
    private readonly sql: TypeOrmStatements,
    private readonly now: () => number,
  ) {}

  async read(appId: string, overdueBefore: number, options: AlipayHealthCountsOptions): Promise<AlipayHealthCounts> {
    const { rows: problem } = await this.sql.run(
      `SELECT COUNT(*) AS failing, SUM(CASE WHEN verify_at IS NOT NULL THEN 1 ELSE 0 END) AS verifying,
         SUM(CASE WHEN last_error_code = :unreadable THEN 1 ELSE 0 END) AS unreadable
       FROM ${this.sql.table} WHERE app_id = :appId AND status = 'active' AND failure_count > 0`,
      { appId, unreadable: ALIPAY_ROW_UNREADABLE },
    );
    const { rows: late } = await this.sql.run(`SELECT COUNT(*) AS n FROM ${this.sql.table} WHERE app_id = :appId AND status = 'active' AND due_at <= :before`, {
      appId,
      before: overdueBefore,
    });
    const { totals, ageMs } = await this.totals(appId, options);
    const p = problem[0] ?? {};
    return {
      counts: { ...totals, failing: Number(p.failing ?? 0), verifying: Number(p.verifying ?? 0), unreadable: Number(p.unreadable ?? 0) },
      overdue: Number(late[0]?.n ?? 0),
      totalsAgeMs: ageMs,
    };
  }

  /** The stored totals; never stored yet: counted now (the first probe of a cluster waits once). */
  private async totals(appId: string, options: AlipayHealthCountsOptions): Promise<{ totals: Record<AlipayAuthorizationStatus, number>; ageMs: number }> {
    const stored = await this.stored(appId);
    const quick = this.lastCountMs < (options.quickCountMs ?? QUICK_COUNT_MS);
    if (stored && !quick && stored.ageMs <= options.totalsMaxAgeMs) return stored;
    if (quick) {
      // A small table: counted now, so that a probe never pairs fresh problem counts with older totals.
      const totals = await this.countAll(appId);
      return { totals, ageMs: 0 };
    }
    this.recount ??= this.countOnce(appId, options).finally(() => (this.recount = undefined));
    if (stored) {
      this.recount.catch(() => undefined);
      return stored;
    }
    await this.recount;
    return (await this.stored(appId)) ?? { totals: await this.countAll(appId), ageMs: 0 };
  }

  private async stored(appId: string): Promise<{ totals: Record<AlipayAuthorizationStatus, number>; ageMs: number } | null> {
    const { rows } = await this.sql.run(
      `SELECT fingerprint, finished_at, ${this.sql.dbNow} AS db_now FROM ${this.sql.maintenance} WHERE app_id = :appId AND task = :task`,
      { appId, task: TASK },
    );
    const r = rows[0];
    if (!r || r.finished_at === null || r.finished_at === undefined) return null;
    const values = String(r.fingerprint).split('.').map(Number);
    if (values.length !== ALIPAY_AUTHORIZATION_STATUSES.length || values.some((v) => !Number.isInteger(v))) return null;
    const totals = Object.fromEntries(ALIPAY_AUTHORIZATION_STATUSES.map((s, i) => [s, values[i]])) as Record<AlipayAuthorizationStatus, number>;
    return { totals, ageMs: Math.max(0, Number(r.db_now) - Number(r.finished_at)) };
  }

  /** Counts the totals if this instance gets the task's lease (no other instance counting, the stored ones still stale). */
  private async countOnce(appId: string, options: AlipayHealthCountsOptions): Promise<void> {
    const params = { appId, task: TASK, owner: options.owner, leaseMs: LEASE_MS, maxAgeMs: Math.max(0, Math.floor(options.totalsMaxAgeMs)), now: this.now() };
    try {
      await this.sql.run(`INSERT INTO ${this.sql.maintenance} (app_id, task, fingerprint, after_id, updated_at) VALUES (:appId, :task, '', 0, :now)`, params);
    } catch (e) {
      if (!isUniqueViolation(e) && !isRetryableLock(e)) throw e;
    }
    // lease_until is assigned before lease_owner: MySQL evaluates SET left to right with the new values.
    const { affected } = await this.sql.run(
      `UPDATE ${this.sql.maintenance} SET lease_until = ${this.sql.dbNow} + :leaseMs, lease_owner = :owner, updated_at = :now
       WHERE app_id = :appId AND task = :task AND (finished_at IS NULL OR finished_at <= ${this.sql.dbNow} - :maxAgeMs)
         AND (lease_owner IS NULL OR lease_until IS NULL OR lease_until <= ${this.sql.dbNow})`,
      params,
    );
    if (affected === 0) return;
    const totals = await this.countAll(appId);
    // Written only while the lease is still ours.
    await this.sql.run(
      `UPDATE ${this.sql.maintenance} SET fingerprint = :totals, finished_at = ${this.sql.dbNow}, lease_until = NULL, lease_owner = NULL, updated_at = :now
       WHERE app_id = :appId AND task = :task AND lease_owner = :owner`,
      { ...params, totals: ALIPAY_AUTHORIZATION_STATUSES.map((s) => totals[s]).join('.'), now: this.now() },
    );
  }

  private async countAll(appId: string): Promise<Record<AlipayAuthorizationStatus, number>> {
    const started = performance.now();
    const { rows } = await this.sql.run(`SELECT status, COUNT(*) AS n FROM ${this.sql.table} WHERE app_id = :appId GROUP BY status`, { appId });
    const totals = Object.fromEntries(ALIPAY_AUTHORIZATION_STATUSES.map((s) => [s, 0])) as Record<AlipayAuthorizationStatus, number>;
    for (const r of rows)
      if (ALIPAY_AUTHORIZATION_STATUSES.includes(String(r.status) as AlipayAuthorizationStatus))
        totals[String(r.status) as AlipayAuthorizationStatus] = Number(r.n ?? 0);
    this.lastCountMs = performance.now() - started;
    return totals;
  }
}
