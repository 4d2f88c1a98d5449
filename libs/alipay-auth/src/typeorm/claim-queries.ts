import { AlipayAuthorization, AlipayDueCriteria, AlipayLease } from '../storage/alipay-token-store';
import { AlipayRefreshWindow } from '../storage/refresh-window';
import { AlipayRowCodec, id, ms, num, rowColumns } from './row-codec';
import { isRetryableLock, Params, Row, TypeOrmStatements } from './statements';

/** Upper bound of rows one claim call leases (bigger batches are cut to this). */
export const ALIPAY_MAX_CLAIM_BATCH = 1000;

export function batch(limit: number): number {
  if (typeof limit !== 'number' || !Number.isFinite(limit)) throw new TypeError('limit must be a number');
  return Math.min(Math.max(Math.floor(limit), 0), ALIPAY_MAX_CLAIM_BATCH);
}

export function owner(lease: AlipayLease): string {
  return id(lease?.owner, 'lease.owner', 128);
}

export function leaseMs(lease: AlipayLease): number {
  if (typeof lease?.ms !== 'number' || !Number.isFinite(lease.ms) || lease.ms < 0) throw new TypeError('lease.ms must be a non-negative number');
  return Math.floor(lease.ms);
}

/** Orders claimed rows like the claim query did (RETURNING does not keep the order). */
type RowOrder = (a: Row, b: Row) => number;
const nullsLast = (a: unknown, b: unknown) => (a === null || a === undefined ? 1 : 0) - (b === null || b === undefined ? 1 : 0);
const byDue: RowOrder = (a, b) => nullsLast(a.expires_at, b.expires_at) || (num(a.expires_at) ?? 0) - (num(b.expires_at) ?? 0) || Number(a.id) - Number(b.id);
const byDueAt: RowOrder = (a, b) => (num(a.due_at) ?? 0) - (num(b.due_at) ?? 0) || Number(a.id) - Number(b.id);
const byCheckDue: RowOrder = (a, b) => (num(a.check_due_at) ?? 0) - (num(b.check_due_at) ?? 0) || Number(a.id) - Number(b.id);

/** The "due" condition shared by claiming and counting. */
export function dueCondition(criteria: AlipayDueCriteria): { cond: string; params: Params } {
  const params: Params = {
    now: ms(criteria?.now, 'criteria.now'),
    expiresBefore: ms(criteria.expiresBefore, 'criteria.expiresBefore'),
    refreshExpiresBefore: ms(criteria.refreshExpiresBefore, 'criteria.refreshExpiresBefore'),
  };
  let age = '';
  if (criteria.issuedBefore !== null && criteria.issuedBefore !== undefined) {
    params.issuedBefore = ms(criteria.issuedBefore, 'criteria.issuedBefore');
    age = ' OR token_issued_at <= :issuedBefore';
  }
  return { cond: `expires_at <= :expiresBefore OR refresh_expires_at <= :refreshExpiresBefore${age}`, params };
}

/**
 * Claims: leases the most urgent due rows in one atomic step per dialect (see `TypeOrmAlipayTokenStore`);
 * `window`: the store's refresh windows, for which `due_at` answers the claim alone.
 */
export class AlipayClaimQueries {
  constructor(
    private readonly sql: TypeOrmStatements,
    private readonly codec: AlipayRowCodec,
    private readonly window: AlipayRefreshWindow,
  ) {}

  async claimDue(appId: string, criteria: AlipayDueCriteria, lease: AlipayLease, limit: number): Promise<AlipayAuthorization[]> {
    if (this.usesWindow(criteria)) {
      // due_at folds the three windows and the retry time into one indexed instant: an ordered range scan
      // that stops at `limit`, however large the backlog.
      return this.claim(
        `app_id = :appId AND status = 'active' AND due_at <= :now AND (lease_until IS NULL OR lease_until <= ${this.sql.dbNow})`,
        'due_at, id',
        byDueAt,
        { appId, now: ms(criteria.now, 'criteria.now') },
        lease,
        limit,
      );
    }
    const { cond, params } = dueCondition(criteria);
    // A failed refresh is retried when its back-off ends, inside the refresh window or not (a forced
    // refresh of a row that is not due, an ambiguous outcome to verify): next_attempt_at is set only by failures.
    return this.claim(
      `app_id = :appId AND status = 'active'
       AND (next_attempt_at IS NULL OR next_attempt_at <= :now)
       AND (lease_until IS NULL OR lease_until <= ${this.sql.dbNow})
       AND (${cond} OR next_attempt_at <= :now)`,
      'CASE WHEN expires_at IS NULL THEN 1 ELSE 0 END, expires_at, id',
      byDue,
      { appId, ...params },
      lease,
      limit,
    );
  }

  /**
   * Rows never checked or asked to be (`check_due_at` 0) first, then the oldest check: `check_due_at` is never
   * null, so the (app_id, status, check_due_at, id) index yields the rows in this order and the scan stops
   * at `limit`, however many are due.
   */
  async claimStatusCheckDue(appId: string, checkedBefore: Date, lease: AlipayLease, limit: number): Promise<AlipayAuthorization[]> {
    return this.claim(
      `app_id = :appId AND status = 'active' AND check_due_at < :checkedBefore AND (lease_until IS NULL OR lease_until <= ${this.sql.dbNow})`,
      'check_due_at, id',
      byCheckDue,
      { appId, checkedBefore: ms(checkedBefore, 'checkedBefore') },
      lease,
      limit,
    );
  }

  /** Whether the criteria are this store's windows at `criteria.now` (then due_at answers them). */
  private usesWindow(c: AlipayDueCriteria): boolean {
    const now = c?.now?.getTime();
    const w = this.window;
    return (
      c.expiresBefore.getTime() - now === w.refreshAheadMs &&
      c.refreshExpiresBefore.getTime() - now === w.refreshTokenSafetyMs &&
      (w.maxTokenAgeMs > 0 ? c.issuedBefore !== null && now - c.issuedBefore.getTime() === w.maxTokenAgeMs : c.issuedBefore === null)
    );
  }

  private async claim(due: string, orderBy: string, order: RowOrder, base: Params, lease: AlipayLease, limit: number): Promise<AlipayAuthorization[]> {
    const n = batch(limit);
    const params = { ...base, owner: owner(lease), leaseMs: leaseMs(lease) };
    if (n === 0) return [];
    let rows: Row[];
    if (this.sql.dialect === 'postgres') {
      // The CTE is MATERIALIZED so the locking subquery runs exactly once; SKIP LOCKED lets concurrent
      // claimers pass over rows another transaction is leasing, and the row lock re-checks `due`.
      ({ rows } = await this.sql.run(
        `WITH picked AS MATERIALIZED (
           SELECT id FROM ${this.sql.table} WHERE ${due} ORDER BY ${orderBy} LIMIT ${n} FOR UPDATE SKIP LOCKED
         )
         UPDATE ${this.sql.table} AS t SET lease_owner = :owner, lease_until = ${this.sql.dbNow} + :leaseMs
         FROM picked WHERE t.id = picked.id
         RETURNING ${rowColumns('t')}`,
        params,
      ));
    } else if (this.sql.dialect === 'sqlite') {
      // One statement under SQLite's database write lock: no other writer can interleave.
      ({ rows } = await this.sql.run(
        `UPDATE ${this.sql.table} SET lease_owner = :owner, lease_until = ${this.sql.dbNow} + :leaseMs
         WHERE id IN (SELECT id FROM ${this.sql.table} WHERE ${due} ORDER BY ${orderBy} LIMIT ${n})
         RETURNING ${rowColumns()}`,
        params,
      ));
    } else {
      rows = await this.claimMysql(due, orderBy, n, params);
    }
    return rows.sort(order).map((r) => this.codec.toDomain(r));
  }

  /**
   * MariaDB >= 10.6 / MySQL >= 8, in one READ COMMITTED transaction (no gap locks; locking reads see the
   * latest committed rows):
   * 1. a plain read picks the most urgent candidates (a window of 4 x limit);
   * 2. `SELECT id ... WHERE id IN (<next chunk>) AND <due> FOR UPDATE SKIP LOCKED`, in urgency order, each
   *    chunk as large as the rows still missing: primary-key lookups that re-check `due` on the latest
   *    committed row and skip rows another claimer is leasing right now;
   * 3. UPDATE those ids with the lease and read them back.
   * Locking straight from the urgency ORDER BY ... LIMIT would make InnoDB lock every due row before the
   * sort (filesort), so concurrent claimers would find nothing while one transaction runs; the chunks lock
   * only rows that are taken.
   */
  private async claimMysql(due: string, orderBy: string, n: number, params: Params): Promise<Row[]> {
    const window = Math.min(4 * n, 4 * ALIPAY_MAX_CLAIM_BATCH);
    for (let attempt = 0; ; attempt++) {
      const qr = this.sql.dataSource.createQueryRunner();
      try {
        await qr.startTransaction('READ COMMITTED');
        let rows: Row[] = [];
        const { rows: candidates } = await this.sql.run(`SELECT id FROM ${this.sql.table} WHERE ${due} ORDER BY ${orderBy} LIMIT ${window}`, params, qr);
        // Lock the candidates in urgency order, a chunk of exactly the missing count at a time, so every
        // row locked is a row taken; rows other claimers hold are skipped and the next chunk fills in.
        const ids: number[] = [];
        for (let i = 0, rounds = 0; i < candidates.length && ids.length < n && rounds < 8; rounds++) {
          const chunk = candidates.slice(i, i + (n - ids.length)).map((r) => Number(r.id));
          i += chunk.length;
          const { rows: locked } = await this.sql.run(
            `SELECT id FROM ${this.sql.table} WHERE id IN (:...chunk) AND ${due} FOR UPDATE SKIP LOCKED`,
            { ...params, chunk },
            qr,
          );
          ids.push(...locked.map((r) => Number(r.id)));
        }
        if (ids.length) {
          await this.sql.run(
            `UPDATE ${this.sql.table} SET lease_owner = :owner, lease_until = ${this.sql.dbNow} + :leaseMs WHERE id IN (:...ids)`,
            { ...params, ids },
            qr,
          );
          ({ rows } = await this.sql.run(`SELECT ${rowColumns()} FROM ${this.sql.table} WHERE id IN (:...ids)`, { ids }, qr));
        }
        await qr.commitTransaction();
        return rows;
      } catch (e) {
        if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
        if (attempt < 3 && isRetryableLock(e)) continue;
        throw e;
      } finally {
        await qr.release();
      }
    }
  }
}
