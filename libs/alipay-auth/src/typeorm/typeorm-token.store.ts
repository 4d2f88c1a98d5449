import type { DataSource } from 'typeorm';
import type { ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import {
  ALIPAY_AUTHORIZATION_STATUSES,
  ALIPAY_ROW_UNREADABLE,
  AlipayAuthorization,
  AlipayAuthorizationCounts,
  AlipayAuthorizationFilter,
  AlipayAuthorizationStatus,
  AlipayAuthorizationWrite,
  AlipayDueCriteria,
  AlipayIssuedTokens,
  AlipayLease,
  AlipayListedAuthorization,
  AlipayPage,
  AlipayPageResult,
  AlipayRefreshFailure,
  AlipayTokenStore,
} from '../storage/alipay-token-store';
import { AlipayTokenCipher } from '../storage/token-cipher';
import { AlipayRefreshWindow, DEFAULT_REFRESH_WINDOW } from '../storage/refresh-window';
import { alipayListQuery } from '../storage/list-query';
import { listStatement } from './list-statement';
import { AlipayClaimQueries, dueCondition, leaseMs, owner } from './claim-queries';
import { AlipayHealthCounts, AlipayHealthCountsOptions, TypeOrmHealthCounts } from './health-counts';
import { TypeOrmStoreMaintenance } from './maintenance';
import { TypeOrmNotificationMemory } from './notification-memory';
import { AlipayRefreshWindowSync, AlipayRefreshWindowSyncOptions, TypeOrmRefreshWindowSync } from './refresh-window-sync';
import { AlipayRowCodec, expected, id, ms, msOrNull, rowColumns, status, text } from './row-codec';
import { isRetryableLock, isUniqueViolation, Params, TypeOrmStatements } from './statements';

/**
 * `AlipayTokenStore` on a TypeORM DataSource (better-sqlite3, PostgreSQL, MariaDB >= 10.6 / MySQL >= 8).
 * The table comes from `alipayAuthMigrations(type)`; `ALIPAY_AUTH_ENTITIES` describes it to TypeORM.
 *
 * Every statement is raw SQL with bound parameters so that each guarantee is one statement:
 * - version: bumped by `saveAuthorization`, `saveRefreshed` and `setStatus` (token and status writes).
 *   Leases, `recordFailure` and `markChecked` leave it alone, so bookkeeping can never make an in-flight
 *   refresh lose its compare-and-set (and with it a token pair Alipay has already rotated).
 * - every write is one statement guarded by `version = :expectedVersion` (`saveRefreshed` also by
 *   `status = 'active'`; `saveAuthorization` with no expected version is a plain INSERT that loses to
 *   the unique key), so a write decided on an older row never lands on a newer one.
 * - claiming: PostgreSQL `FOR UPDATE SKIP LOCKED` in a locking CTE feeding one UPDATE ... RETURNING;
 *   MariaDB/MySQL `SELECT ... FOR UPDATE SKIP LOCKED` over a window of candidates, then UPDATE by id, in
 *   one READ COMMITTED transaction; SQLite one `UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING *` (SQLite serializes
 *   writers). Every variant re-checks "lease free or expired" under the row lock.
 * - tokens are encrypted with `cipher` bound to `<appId>:<authAppId>:<field>`; they are never logged and
 *   never part of an error message.
 *
 * Instants come from the callers (`criteria.now`) or from `clock` (created/updated/refreshed/failed), except
 * leases: they are written and compared on the database's own clock, so instances whose clocks disagree
 * never take each other's live lease.
 *
 * This class holds the writes, reads and lease entry points; the rest is split by concern:
 * `statements.ts` (running SQL, one-row writes), `claim-queries.ts`, `row-codec.ts` (rows to
 * authorizations, sealed tokens), `notification-memory.ts` and `maintenance.ts`.
 */
export class TypeOrmAlipayTokenStore implements AlipayTokenStore {
  private readonly sql: TypeOrmStatements;
  private readonly codec: AlipayRowCodec;
  private readonly claims: AlipayClaimQueries;
  private readonly notifications: TypeOrmNotificationMemory;
  private readonly maintenance: TypeOrmStoreMaintenance;
  private readonly windowSync: TypeOrmRefreshWindowSync;
  private readonly health: TypeOrmHealthCounts;

  /**
   * `window`: the refresh windows of the module (`refresh.refreshAheadMs`, …), from which each row's
   * `due_at` is computed; claims whose criteria use the same windows read `due_at` alone (one ordered
   * index range), others fall back to the three criteria.
   */
  constructor(
    dataSource: DataSource,
    private readonly cipher: AlipayTokenCipher,
    private readonly clock: () => number = Date.now,
    window: Partial<AlipayRefreshWindow> = {},
  ) {
    const windows: AlipayRefreshWindow = { ...DEFAULT_REFRESH_WINDOW, ...window };
    this.sql = new TypeOrmStatements(dataSource);
    this.codec = new AlipayRowCodec(cipher, windows);
    this.claims = new AlipayClaimQueries(this.sql, this.codec, windows);
    this.notifications = new TypeOrmNotificationMemory(this.sql, () => this.now());
    this.maintenance = new TypeOrmStoreMaintenance(this.sql, this.codec, cipher, windows);
    this.windowSync = new TypeOrmRefreshWindowSync(this.sql, windows, () => this.now());
    this.health = new TypeOrmHealthCounts(this.sql, () => this.now());
  }

  private now(): number {
    const t = this.clock();
    if (!Number.isFinite(t)) throw new TypeError('clock() must return epoch milliseconds');
    return Math.floor(t);
  }

  // ---------------------------------------------------------------- writes

  async saveAuthorization(input: AlipayAuthorizationWrite): Promise<AlipayAuthorization | null> {
    const appId = id(input?.appId, 'appId');
    const authAppId = id(input.authAppId, 'authAppId');
    const userId = input.userId === null || input.userId === undefined ? null : id(input.userId, 'userId');
    const expectedVersion = expected(input.expectedVersion, true);
    const params = {
      appId,
      authAppId,
      userId,
      expectedVersion,
      ...this.codec.seal(appId, authAppId, input.tokens),
      authorizedAt: ms(input.authorizedAt, 'authorizedAt'),
      now: this.now(),
    };
    if (expectedVersion === null) {
      try {
        const inserted = await this.sql.writeOne(
          `INSERT INTO ${this.sql.table} (app_id, auth_app_id, user_id, app_auth_token_enc, app_refresh_token_enc, token_hash, expires_at, refresh_expires_at,
             token_issued_at, status, authorized_at, last_checked_at, check_due_at, due_at, failure_count, version, created_at, updated_at)
           VALUES (:appId, :authAppId, :userId, :tokenEnc, :refreshEnc, :tokenHash, :expiresAt, :refreshExpiresAt, :issuedAt, 'active', :authorizedAt, :now, :now, :dueAt, 0, 1, :now, :now)`,
          params,
        );
        return inserted ? this.codec.toDomain(inserted) : null;
      } catch (e) {
        // Another writer inserted the merchant first (on MariaDB the racing inserts may deadlock instead).
        if (isUniqueViolation(e) || isRetryableLock(e)) return null;
        throw e;
      }
    }
    const updated = await this.sql.writeOne(
      `UPDATE ${this.sql.table} SET user_id = COALESCE(:userId, user_id), app_auth_token_enc = :tokenEnc, app_refresh_token_enc = :refreshEnc, token_hash = :tokenHash,
        expires_at = :expiresAt, refresh_expires_at = :refreshExpiresAt, token_issued_at = :issuedAt, authorized_at = :authorizedAt, due_at = :dueAt,
        status = 'active', status_reason = NULL, last_refreshed_at = NULL, last_checked_at = :now, check_due_at = :now,
        failure_count = 0, last_error_code = NULL, last_failure_at = NULL, next_attempt_at = NULL, verify_at = NULL, lease_owner = NULL, lease_until = NULL,
        version = version + 1, updated_at = :now
       WHERE app_id = :appId AND auth_app_id = :authAppId AND version = :expectedVersion`,
      params,
    );
    return updated ? this.codec.toDomain(updated) : null;
  }

  async saveRefreshed(appId: string, authAppId: string, expectedVersion: number, tokens: AlipayIssuedTokens): Promise<AlipayAuthorization | null> {
    if (!Number.isInteger(expectedVersion)) throw new TypeError('expectedVersion must be an integer');
    const row = await this.sql.writeOne(
      `UPDATE ${this.sql.table} SET app_auth_token_enc = :tokenEnc, app_refresh_token_enc = :refreshEnc, token_hash = :tokenHash, expires_at = :expiresAt,
         refresh_expires_at = :refreshExpiresAt, token_issued_at = :issuedAt, last_refreshed_at = :now, last_checked_at = :now, check_due_at = :now, due_at = :dueAt,
         failure_count = 0, last_error_code = NULL, next_attempt_at = NULL, verify_at = NULL, lease_owner = NULL, lease_until = NULL,
         version = version + 1, updated_at = :now
       WHERE app_id = :appId AND auth_app_id = :authAppId AND version = :expectedVersion AND status = 'active'`,
      { appId, authAppId, expectedVersion, ...this.codec.seal(appId, authAppId, tokens), now: this.now() },
    );
    return row ? this.codec.toDomain(row) : null;
  }

  async recordFailure(appId: string, authAppId: string, expectedVersion: number, failure: AlipayRefreshFailure): Promise<boolean> {
    const params: Params = {
      appId,
      authAppId,
      expectedVersion: expected(expectedVersion),
      errorCode: text(failure?.errorCode, 64) ?? 'unknown',
      nextAttemptAt: msOrNull(failure.nextAttemptAt, 'nextAttemptAt'),
      now: this.now(),
    };
    // lease_until is assigned before lease_owner: MySQL evaluates SET left to right with the new values.
    let release = '';
    if (failure.owner !== undefined && failure.owner !== null) {
      params.owner = failure.owner;
      release = `, lease_until = CASE WHEN lease_owner = :owner THEN NULL ELSE lease_until END,
        lease_owner = CASE WHEN lease_owner = :owner THEN NULL ELSE lease_owner END`;
    }
    // An ambiguous outcome keeps the row in doubt until verified; a definite failure keeps an earlier doubt.
    const verify = failure.verify ? ', verify_at = :nextAttemptAt' : '';
    const { affected } = await this.sql.run(
      `UPDATE ${this.sql.table} SET failure_count = failure_count + 1, last_error_code = :errorCode, last_failure_at = :now, next_attempt_at = :nextAttemptAt,
         due_at = COALESCE(:nextAttemptAt, due_at)${verify},
         updated_at = :now${release}
       WHERE app_id = :appId AND auth_app_id = :authAppId AND version = :expectedVersion`,
      params,
    );
    return affected > 0;
  }

  async setStatus(
    appId: string,
    authAppId: string,
    expectedVersion: number,
    next: AlipayAuthorizationStatus,
    reason: string | null,
  ): Promise<AlipayAuthorization | null> {
    const row = await this.sql.writeOne(
      `UPDATE ${this.sql.table} SET status = :status, status_reason = :reason, lease_owner = NULL, lease_until = NULL,
         version = version + 1, updated_at = :now
       WHERE app_id = :appId AND auth_app_id = :authAppId AND version = :expectedVersion`,
      { appId, authAppId, expectedVersion: expected(expectedVersion), status: status(next), reason: text(reason, 255), now: this.now() },
    );
    return row ? this.codec.toDomain(row) : null;
  }

  async markChecked(appId: string, authAppId: string, expectedVersion: number, at: Date): Promise<boolean> {
    const { affected } = await this.sql.run(
      `UPDATE ${this.sql.table} SET last_checked_at = :at, check_due_at = :at, updated_at = :now WHERE app_id = :appId AND auth_app_id = :authAppId AND version = :expectedVersion`,
      { appId, authAppId, expectedVersion: expected(expectedVersion), at: ms(at, 'at'), now: this.now() },
    );
    return affected > 0;
  }

  // ---------------------------------------------------------------- reads

  async find(appId: string, authAppId: string): Promise<AlipayAuthorization | null> {
    const row = await this.sql.selectOne(appId, authAppId);
    return row ? this.codec.toDomain(row) : null;
  }

  async list(appId: string, filter: AlipayAuthorizationFilter = {}, page: AlipayPage = {}): Promise<AlipayPageResult<AlipayListedAuthorization>> {
    const q = alipayListQuery(filter, page);
    if (q.empty) return { items: [], total: 0 };
    const { where, orderBy, params } = listStatement(appId, q, this.sql.dialect);
    const { rows: counted } = await this.sql.run(`SELECT COUNT(*) AS n FROM ${this.sql.table} WHERE ${where}`, params);
    const total = Number(counted[0]?.n ?? 0);
    if (q.limit === 0 || q.offset >= total) return { items: [], total };
    const { rows } = await this.sql.run(
      `SELECT ${rowColumns()} FROM ${this.sql.table} WHERE ${where} ORDER BY ${orderBy} LIMIT ${q.limit} OFFSET ${q.offset}`,
      params,
    );
    return { items: rows.map((r) => this.codec.toListed(r)), total };
  }

  async countByStatus(appId: string): Promise<AlipayAuthorizationCounts> {
    const { rows } = await this.sql.run(
      `SELECT status, COUNT(*) AS n, SUM(CASE WHEN failure_count > 0 THEN 1 ELSE 0 END) AS failing,
         SUM(CASE WHEN verify_at IS NOT NULL THEN 1 ELSE 0 END) AS verifying,
         SUM(CASE WHEN last_error_code = :unreadable THEN 1 ELSE 0 END) AS unreadable
       FROM ${this.sql.table} WHERE app_id = :appId GROUP BY status`,
      { appId, unreadable: ALIPAY_ROW_UNREADABLE },
    );
    const counts: AlipayAuthorizationCounts = { active: 0, reauthorization_required: 0, revoked: 0, cancelled: 0, failing: 0, verifying: 0, unreadable: 0 };
    for (const r of rows) {
      const s = String(r.status) as AlipayAuthorizationStatus;
      if (!ALIPAY_AUTHORIZATION_STATUSES.includes(s)) continue;
      counts[s] = Number(r.n ?? 0);
      counts.unreadable += Number(r.unreadable ?? 0);
      if (s === 'active') {
        counts.failing = Number(r.failing ?? 0);
        counts.verifying = Number(r.verifying ?? 0);
      }
    }
    return counts;
  }

  async countDue(appId: string, criteria: AlipayDueCriteria): Promise<number> {
    const { cond, params } = dueCondition(criteria);
    const { rows } = await this.sql.run(`SELECT COUNT(*) AS n FROM ${this.sql.table} WHERE app_id = :appId AND status = 'active' AND (${cond})`, {
      appId,
      ...params,
    });
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * What the health summary needs, at a cost that does not grow with the table: failing, verifying, unreadable
   * and overdue (due before `overdueBefore`, this store's windows) read now from index ranges that hold only
   * such rows; the totals per status as last counted, counted again in the background once they are older
   * than `options.totalsMaxAgeMs` (by one instance of the cluster, under a lease on the database's clock).
   */
  healthCounts(appId: string, overdueBefore: Date, options: AlipayHealthCountsOptions): Promise<AlipayHealthCounts> {
    return this.health.read(appId, ms(overdueBefore, 'overdueBefore'), options);
  }

  async findByToken(appId: string, appAuthToken: string): Promise<AlipayAuthorization | null> {
    if (typeof appAuthToken !== 'string' || !appAuthToken) return null;
    const { rows } = await this.sql.run(`SELECT ${rowColumns()} FROM ${this.sql.table} WHERE app_id = :appId AND token_hash IN (:...hashes)`, {
      appId,
      hashes: this.cipher.lookupHashes(appAuthToken),
    });
    // A hash match is confirmed against the decrypted token: the hash only narrows the search.
    return rows.map((r) => this.codec.toDomain(r)).find((row) => row.appAuthToken === appAuthToken) ?? null;
  }

  async requestStatusCheck(appId: string, filter: { userId: string } | { authAppId: string }): Promise<number> {
    const byApp = filter && 'authAppId' in filter;
    const { affected } = await this.sql.run(
      `UPDATE ${this.sql.table} SET last_checked_at = NULL, check_due_at = 0, updated_at = :now WHERE app_id = :appId AND ${byApp ? 'auth_app_id = :value' : 'user_id = :value'} AND status = 'active'`,
      { appId, value: byApp ? id(filter.authAppId, 'authAppId') : id((filter as { userId: string })?.userId, 'userId'), now: this.now() },
    );
    return affected;
  }

  async databaseNow(): Promise<number> {
    const { rows } = await this.sql.run(`SELECT ${this.sql.dbNow} AS now`, {});
    return Number(rows[0]?.now);
  }

  // ---------------------------------------------------------------- leases

  claimDue(appId: string, criteria: AlipayDueCriteria, lease: AlipayLease, limit: number): Promise<AlipayAuthorization[]> {
    return this.claims.claimDue(appId, criteria, lease, limit);
  }

  claimStatusCheckDue(appId: string, checkedBefore: Date, lease: AlipayLease, limit: number): Promise<AlipayAuthorization[]> {
    return this.claims.claimStatusCheckDue(appId, checkedBefore, lease, limit);
  }

  async tryLease(appId: string, authAppId: string, lease: AlipayLease, opts: { takeOverAfterMs?: number } = {}): Promise<AlipayAuthorization | null> {
    const leaseOwner = owner(lease);
    const params: Params & { appId: string; authAppId: string } = { appId, authAppId, owner: leaseOwner, leaseMs: leaseMs(lease) };
    let silent = '';
    if (opts.takeOverAfterMs !== undefined) {
      // Taken at lease_until - leaseMs; silent for longer than takeOverAfterMs means no call is in flight.
      params.takeOverAfterMs = Math.max(0, Math.floor(opts.takeOverAfterMs));
      silent = ` OR lease_until <= ${this.sql.dbNow} + :leaseMs - :takeOverAfterMs`;
    }
    // lease_until is assigned before lease_owner: MySQL evaluates SET left to right with the new values.
    const row = await this.sql.writeOne(
      `UPDATE ${this.sql.table} SET lease_until = ${this.sql.dbNow} + :leaseMs, lease_owner = :owner
       WHERE app_id = :appId AND auth_app_id = :authAppId
         AND (lease_owner IS NULL OR lease_until IS NULL OR lease_until <= ${this.sql.dbNow} OR lease_owner = :owner${silent})`,
      params,
    );
    // The UPDATE matched only if the lease was free, expired or already ours; the row read back must say so.
    return row && row.lease_owner === leaseOwner ? this.codec.toDomain(row) : null;
  }

  async releaseLease(appId: string, authAppId: string, leaseOwner: string): Promise<void> {
    await this.sql.run(
      `UPDATE ${this.sql.table} SET lease_owner = NULL, lease_until = NULL WHERE app_id = :appId AND auth_app_id = :authAppId AND lease_owner = :owner`,
      { appId, authAppId, owner: leaseOwner },
    );
  }
  // ---------------------------------------------------------------- notifications (AlipayNotificationLog)

  isNotificationHandled(appId: string, notifyId: string): Promise<boolean> {
    return this.notifications.isNotificationHandled(appId, notifyId);
  }

  markNotificationHandled(appId: string, notifyId: string, expiresAt: Date): Promise<void> {
    return this.notifications.markNotificationHandled(appId, notifyId, expiresAt);
  }

  // ---------------------------------------------------------------- maintenance (start-up check, key rotation)

  /** Re-computes due_at of every active row in one statement (see `applyRefreshWindows` for the start-up way). */
  syncDueAt(appId: string): Promise<number> {
    return this.maintenance.syncDueAt(appId);
  }

  /**
   * Re-applies this store's refresh windows to due_at when they changed: once for the cluster, under a
   * lease, in batches, resumable; one row read when they did not (what start-up calls).
   */
  applyRefreshWindows(appId: string, options: AlipayRefreshWindowSyncOptions): Promise<AlipayRefreshWindowSync> {
    return this.windowSync.apply(appId, options);
  }

  /** Rows under unknown key ids among the oldest and newest `limit` (start-up advice, two index ranges). */
  sampleUnknownKeyRows(limit?: number): Promise<{ sampled: number; unknown: number }> {
    return this.maintenance.sampleUnknownKeyRows(limit);
  }

  countUnknownKeyRows(appId?: string): Promise<number> {
    return this.maintenance.countUnknownKeyRows(appId);
  }

  reencryptBatch(afterId: number, limit: number): Promise<{ lastId: number | null; scanned: number; rewritten: number; unreadable: number }> {
    return this.maintenance.reencryptBatch(afterId, limit);
  }
}

/**
 * The default store for a module configuration: a cipher over `config.tokenEncryptionKeys` and the
 * module clock. Call `assertTokenEncryptionConfigured(config, logger)` at start-up as well.
 */
export function createTypeOrmTokenStore(
  dataSource: DataSource,
  config: Pick<ResolvedAlipayAuthConfig, 'tokenEncryptionKeys'> & Partial<Pick<ResolvedAlipayAuthConfig, 'clock'>> & { refresh?: Partial<AlipayRefreshWindow> },
): TypeOrmAlipayTokenStore {
  return new TypeOrmAlipayTokenStore(dataSource, new AlipayTokenCipher(config.tokenEncryptionKeys), config.clock ?? Date.now, config.refresh);
}
