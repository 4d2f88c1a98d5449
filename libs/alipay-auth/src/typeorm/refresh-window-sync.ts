import { AlipayRefreshWindow, refreshDueAt } from '../storage/refresh-window';
import { date, num } from './row-codec';
import { owner as leaseOwner, leaseMs as checkedLeaseMs } from './claim-queries';
import { isRetryableLock, isUniqueViolation, Params, TypeOrmStatements } from './statements';

/** The task's name in the maintenance table. */
const TASK = 'due-window';
/** Rows per compare-and-set statement. */
const WRITE_CHUNK = 500;

/** What `applyRefreshWindows` found or did. */
export interface AlipayRefreshWindowSync {
  /**
   * `current`: the rows already follow these windows (one row read); `applied`: this call finished the
   * re-application; `busy`: another instance holds the task's lease (it goes on, or its lease runs out and
   * a later call resumes); `paused`: this call stopped early (`maxBatches`, `stopped`), progress kept.
   */
  state: 'current' | 'applied' | 'busy' | 'paused';
  /** Rows whose due_at this call changed. */
  changed: number;
}

export interface AlipayRefreshWindowSyncOptions {
  /** Lease owner (the instance id). */
  owner: string;
  /** The task's lease on the database's clock, renewed at every batch. Default 60 s. */
  leaseMs?: number;
  /** Row ids per batch (one primary-key range per statement). Default 5,000. */
  batchSize?: number;
  /** Stop after this many batches (progress kept; the next call resumes). Default: to the end. */
  maxBatches?: number;
  /** Asked before each batch: true stops there (`paused`; shutdown), progress kept. */
  stopped?: () => boolean;
}

/** due_at of a stored row under `w`, in SQL: the earliest of the windows' instants (NULLs ignored), as `refreshDueAt` computes it. */
export function dueAtSql(w: AlipayRefreshWindow): { expr: string; params: Params } {
  const minOf = (xs: string[]): string =>
    xs.length === 1
      ? xs[0]
      : `CASE WHEN ${xs[0]} IS NULL THEN ${minOf(xs.slice(1))} WHEN ${minOf(xs.slice(1))} IS NULL THEN ${xs[0]} WHEN ${xs[0]} < ${minOf(xs.slice(1))} THEN ${xs[0]} ELSE ${minOf(xs.slice(1))} END`;
  const expr = minOf(['expires_at - :ahead', 'refresh_expires_at - :safety', ...(w.maxTokenAgeMs > 0 ? ['token_issued_at + :maxAge'] : [])]);
  return { expr, params: { ahead: w.refreshAheadMs, safety: w.refreshTokenSafetyMs, maxAge: w.maxTokenAgeMs } };
}

function integer(n: number): number {
  if (!Number.isSafeInteger(n)) throw new TypeError(`expected an integer, got ${n}`);
  return n;
}

/** A stable name for the windows: the task is done again only when they change. */
export function refreshWindowFingerprint(w: AlipayRefreshWindow): string {
  return `v1:${w.refreshAheadMs}:${w.refreshTokenSafetyMs}:${w.maxTokenAgeMs}`;
}

/**
 * Re-applies the store's refresh windows to `due_at` when they changed since the rows were written: once
 * for the cluster (the maintenance row names the windows applied), under a lease on the database's clock,
 * in primary-key ranges of `batchSize` ids, each batch recorded (`after_id`), so an interrupted run (a
 * crash, a deploy) is resumed where it stopped by whichever instance next gets the lease. Rows written
 * meanwhile get due_at from their writer's windows already. Unchanged windows cost one primary-key read.
 */
export class TypeOrmRefreshWindowSync {
  constructor(
    private readonly sql: TypeOrmStatements,
    private readonly window: AlipayRefreshWindow,
    private readonly now: () => number,
  ) {}

  async apply(appId: string, options: AlipayRefreshWindowSyncOptions): Promise<AlipayRefreshWindowSync> {
    const fingerprint = refreshWindowFingerprint(this.window);
    const key = { appId, task: TASK };
    const state = await this.read(appId);
    if (state && state.fingerprint === fingerprint && state.finished_at !== null) return { state: 'current', changed: 0 };
    if (!state) await this.insert({ ...key, fingerprint, now: this.now() });
    else if (state.fingerprint !== fingerprint) {
      // Other windows than the ones applied (or being applied): start over for these, from the first row.
      await this.sql.run(
        `UPDATE ${this.sql.maintenance} SET fingerprint = :fingerprint, after_id = 0, finished_at = NULL, updated_at = :now
         WHERE app_id = :appId AND task = :task AND fingerprint = :old`,
        { ...key, fingerprint, old: state.fingerprint, now: this.now() },
      );
    }
    const owner = leaseOwner({ owner: options.owner, ms: 0 });
    const leaseMs = checkedLeaseMs({ owner, ms: options.leaseMs ?? 60_000 });
    const lease = { ...key, owner, fingerprint, leaseMs };
    if (!(await this.renew(lease, true))) return { state: 'busy', changed: 0 };
    const batch = Math.max(1, Math.floor(options.batchSize ?? 5_000));
    const maxBatches = options.maxBatches ?? Infinity;
    const { rows: top } = await this.sql.run(`SELECT MAX(id) AS id FROM ${this.sql.table}`, {});
    const lastId = Number(top[0]?.id ?? 0);
    let changed = 0;
    for (let done = 0; ; done++) {
      const progress = await this.read(appId);
      if (!progress || progress.fingerprint !== fingerprint || progress.lease_owner !== owner) return { state: 'busy', changed };
      const after = Number(progress.after_id);
      if (after >= lastId) {
        await this.sql.run(
          `UPDATE ${this.sql.maintenance} SET finished_at = :now, lease_owner = NULL, lease_until = NULL, updated_at = :now
           WHERE app_id = :appId AND task = :task AND fingerprint = :fingerprint AND lease_owner = :owner`,
          { ...lease, now: this.now() },
        );
        return { state: 'applied', changed };
      }
      if (done >= maxBatches || options.stopped?.()) return { state: 'paused', changed };
      // The batch starts at the next row that exists: gaps in the ids cost no empty batches.
      const { rows: next } = await this.sql.run(`SELECT MIN(id) AS id FROM ${this.sql.table} WHERE id > :after`, { after });
      const from = Math.max(after, Number(next[0]?.id ?? lastId + 1) - 1);
      const until = Math.min(from + batch, lastId);
      changed += await this.applyRange(appId, from, until);
      await this.sql.run(
        `UPDATE ${this.sql.maintenance} SET after_id = :until, updated_at = :now WHERE app_id = :appId AND task = :task AND fingerprint = :fingerprint AND lease_owner = :owner`,
        { ...lease, until, now: this.now() },
      );
      if (!(await this.renew(lease, false))) return { state: 'busy', changed };
    }
  }

  /**
   * due_at from this store's windows for the active rows with `after < id <= until` that wait for no retry:
   * each row read with its version and the instants due_at derives from, and written (in chunks, one
   * statement each) only if its version is still the one read and it still waits for no retry. A row whose
   * version moved on was rewritten meanwhile with a due_at from its writer's windows: left as it is (an
   * instance on the new windows wrote them already; one still on the old ones writes every row by those
   * anyway until it is replaced, and the last instance to start wins, as before). Token instants change
   * only with the version, so an unchanged version means unchanged inputs.
   */
  private async applyRange(appId: string, after: number, until: number): Promise<number> {
    const { rows } = await this.sql.run(
      `SELECT id, version, expires_at, refresh_expires_at, token_issued_at, due_at FROM ${this.sql.table}
       WHERE id > :after AND id <= :until AND app_id = :appId AND status = 'active' AND next_attempt_at IS NULL`,
      { appId, after, until },
    );
    const moved = rows
      .map((r) => ({
        id: Number(r.id),
        version: Number(r.version),
        was: num(r.due_at),
        due: refreshDueAt(
          { expiresAt: date(r.expires_at), refreshExpiresAt: date(r.refresh_expires_at), tokenIssuedAt: date(r.token_issued_at)! },
          this.window,
        ),
      }))
      .filter((r) => r.due !== r.was);
    let changed = 0;
    for (let i = 0; i < moved.length; i += WRITE_CHUNK) {
      const chunk = moved.slice(i, i + WRITE_CHUNK);
      // Integers read from the table and computed from them, written as literals: no parameter limits, and
      // no engine left to guess a parameter's type inside CASE.
      const int = (n: number | null) => (n === null ? 'NULL' : String(integer(n)));
      const cases = (value: (r: (typeof chunk)[number]) => number | null) => chunk.map((r) => `WHEN ${int(r.id)} THEN ${int(value(r))}`).join(' ');
      const { affected } = await this.sql.run(
        `UPDATE ${this.sql.table} SET due_at = CASE id ${cases((r) => r.due)} END
         WHERE id IN (${chunk.map((r) => int(r.id)).join(', ')}) AND app_id = :appId AND version = CASE id ${cases((r) => r.version)} END
           AND status = 'active' AND next_attempt_at IS NULL`,
        { appId },
      );
      changed += affected;
    }
    return changed;
  }

  /** Takes (`take`) or renews the task's lease; false when another owner holds it or the task moved on. */
  private async renew(lease: Params & { owner: string; leaseMs: number }, take: boolean): Promise<boolean> {
    const free = take ? `lease_owner IS NULL OR lease_until IS NULL OR lease_until <= ${this.sql.dbNow} OR ` : '';
    // lease_until is assigned before lease_owner: MySQL evaluates SET left to right with the new values.
    const { affected } = await this.sql.run(
      `UPDATE ${this.sql.maintenance} SET lease_until = ${this.sql.dbNow} + :leaseMs, lease_owner = :owner, updated_at = :now
       WHERE app_id = :appId AND task = :task AND fingerprint = :fingerprint AND finished_at IS NULL AND (${free}lease_owner = :owner)`,
      { ...lease, now: this.now() },
    );
    return affected > 0;
  }

  private async read(appId: string): Promise<Record<string, unknown> | null> {
    const { rows } = await this.sql.run(`SELECT * FROM ${this.sql.maintenance} WHERE app_id = :appId AND task = :task`, { appId, task: TASK });
    return rows[0] ?? null;
  }

  private async insert(params: Params): Promise<void> {
    try {
      await this.sql.run(
        `INSERT INTO ${this.sql.maintenance} (app_id, task, fingerprint, after_id, updated_at) VALUES (:appId, :task, :fingerprint, 0, :now)`,
        params,
      );
    } catch (e) {
      // Another instance started the task at the same moment.
      if (!isUniqueViolation(e) && !isRetryableLock(e)) throw e;
    }
  }
}
