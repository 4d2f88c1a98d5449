import type { DataSource, QueryRunner } from 'typeorm';
import type { ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import {
  ALIPAY_ROW_UNREADABLE,
  AlipayAuthorization,
  AlipayAuthorizationCounts,
  AlipayAuthorizationFilter,
  AlipayAuthorizationStatus,
  AlipayAuthorizationWrite,
  AlipayDueCriteria,
  AlipayIssuedTokens,
  AlipayLease,
  AlipayPage,
  AlipayPageResult,
  AlipayRefreshFailure,
  AlipayTokenStore,
} from '../storage/alipay-token-store';
import { alipayAuthorizationsTable, alipayNotificationsTable, alipaySqlDialect, AlipaySqlDialect, databaseNowSql } from './sql-dialect';
import { bindIntegersAsParameters } from './sqlite-parameters';
import { AlipayTokenCipher, AlipayTokenDecryptError } from '../storage/token-cipher';
import { AlipayRefreshWindow, DEFAULT_REFRESH_WINDOW, refreshDueAt } from '../storage/refresh-window';

const STATUSES: readonly AlipayAuthorizationStatus[] = ['active', 'reauthorization_required', 'revoked', 'cancelled'];
const TOKEN_FIELD = 'app_auth_token';
const REFRESH_FIELD = 'app_refresh_token';
/** Upper bound of rows one claim call leases (bigger batches are cut to this). */
export const ALIPAY_MAX_CLAIM_BATCH = 1000;
const DEFAULT_PAGE = 50;
const MAX_PAGE = 1000;

type Row = Record<string, unknown>;
type Params = Record<string, unknown>;

/** Additional authenticated data binding an encrypted token to its row and field. */
export function alipayTokenAad(appId: string, authAppId: string, field: 'app_auth_token' | 'app_refresh_token'): string {
  return `${appId}:${authAppId}:${field}`;
}

function ms(value: Date, name: string): number {
  const t = value instanceof Date ? value.getTime() : NaN;
  if (!Number.isFinite(t)) throw new TypeError(`${name} must be a valid Date`);
  return t;
}

function msOrNull(value: Date | null | undefined, name: string): number | null {
  return value === null || value === undefined ? null : ms(value, name);
}

function num(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function date(value: unknown): Date | null {
  return value === null || value === undefined ? null : new Date(Number(value));
}

function str(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

function text(value: string | null | undefined, max: number): string | null {
  if (value === null || value === undefined) return null;
  const s = String(value);
  return s.length > max ? s.slice(0, max) : s;
}

function id(value: string, name: string, max = 32): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) throw new TypeError(`${name} must be a string of 1-${max} characters`);
  return value;
}

function owner(lease: AlipayLease): string {
  return id(lease?.owner, 'lease.owner', 128);
}

function leaseMs(lease: AlipayLease): number {
  if (typeof lease?.ms !== 'number' || !Number.isFinite(lease.ms) || lease.ms < 0) throw new TypeError('lease.ms must be a non-negative number');
  return Math.floor(lease.ms);
}

/** The version a compare-and-set was decided on (null: "no row yet", where allowed). */
function expected(value: number | null, nullable = false): number | null {
  if (nullable && value === null) return null;
  if (!Number.isInteger(value)) throw new TypeError(`expectedVersion must be an integer${nullable ? ' or null' : ''}`);
  return value;
}

function status(value: AlipayAuthorizationStatus): AlipayAuthorizationStatus {
  if (!STATUSES.includes(value)) throw new TypeError(`status must be one of ${STATUSES.join(', ')}`);
  return value;
}

function batch(limit: number): number {
  if (typeof limit !== 'number' || !Number.isFinite(limit)) throw new TypeError('limit must be a number');
  return Math.min(Math.max(Math.floor(limit), 0), ALIPAY_MAX_CLAIM_BATCH);
}

/** Driver error codes for "duplicate key" on the three engines. */
function isUniqueViolation(error: unknown): boolean {
  const e = error as { driverError?: { code?: unknown; errno?: unknown }; code?: unknown; errno?: unknown };
  const d = e?.driverError ?? e;
  return d?.code === '23505' || d?.code === 'ER_DUP_ENTRY' || d?.errno === 1062 || d?.code === 'SQLITE_CONSTRAINT_UNIQUE' || d?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** MariaDB/MySQL deadlock or lock wait timeout: the transaction was rolled back and may be retried. */
function isRetryableLock(error: unknown): boolean {
  const e = error as { driverError?: { errno?: unknown }; errno?: unknown };
  const errno = e?.driverError?.errno ?? e?.errno;
  return errno === 1213 || errno === 1205;
}

/** Orders claimed rows like the claim query did (RETURNING does not keep the order). */
type RowOrder = (a: Row, b: Row) => number;
const nullsLast = (a: unknown, b: unknown) => (a === null || a === undefined ? 1 : 0) - (b === null || b === undefined ? 1 : 0);
const byDue: RowOrder = (a, b) =>
  nullsLast(a.expires_at, b.expires_at) || (num(a.expires_at) ?? 0) - (num(b.expires_at) ?? 0) || Number(a.id) - Number(b.id);
const byDueAt: RowOrder = (a, b) => (num(a.due_at) ?? 0) - (num(b.due_at) ?? 0) || Number(a.id) - Number(b.id);
const byChecked: RowOrder = (a, b) =>
  -nullsLast(a.last_checked_at, b.last_checked_at) || (num(a.last_checked_at) ?? 0) - (num(b.last_checked_at) ?? 0) || Number(a.id) - Number(b.id);

/** The "due" condition shared by claiming and counting. */
function dueCondition(criteria: AlipayDueCriteria): { cond: string; params: Params } {
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
 * Instants come from the callers (`criteria.now`) or from `clock` (created/updated/refreshed), except
 * leases: they are written and compared on the database's own clock, so instances whose clocks disagree
 * never take each other's live lease.
 */
export class TypeOrmAlipayTokenStore implements AlipayTokenStore {
  private readonly dialect: AlipaySqlDialect;
  private tableName?: string;
  private notificationsTableName?: string;

  private readonly window: AlipayRefreshWindow;

  /**
   * `window`: the refresh windows of the module (`refresh.refreshAheadMs`, …), from which each row's
   * `due_at` is computed; claims whose criteria use the same windows read `due_at` alone (one ordered
   * index range), others fall back to the three criteria.
   */
  constructor(
    private readonly dataSource: DataSource,
    private readonly cipher: AlipayTokenCipher,
    private readonly clock: () => number = Date.now,
    window: Partial<AlipayRefreshWindow> = {},
  ) {
    this.dialect = alipaySqlDialect(dataSource.options.type);
    this.window = { ...DEFAULT_REFRESH_WINDOW, ...window };
  }

  /** Escaped table path; resolved on first use because PostgreSQL's schema is known after connecting. */
  private get table(): string {
    return (this.tableName ??= alipayAuthorizationsTable(this.dataSource));
  }

  private get notifications(): string {
    return (this.notificationsTableName ??= alipayNotificationsTable(this.dataSource));
  }

  private now(): number {
    const t = this.clock();
    if (!Number.isFinite(t)) throw new TypeError('clock() must return epoch milliseconds');
    return Math.floor(t);
  }

  // ---------------------------------------------------------------- SQL plumbing

  private async run(sql: string, params: Params, runner?: QueryRunner): Promise<{ rows: Row[]; affected: number }> {
    const [query, bound] = this.dataSource.driver.escapeQueryWithParameters(sql, bindIntegersAsParameters(this.dataSource.options.type, params));
    const qr = runner ?? this.dataSource.createQueryRunner();
    try {
      const result = await qr.query(query, bound, true);
      const rows: Row[] = Array.isArray(result.records) ? result.records : [];
      return { rows, affected: typeof result.affected === 'number' ? result.affected : rows.length };
    } finally {
      if (!runner) await qr.release();
    }
  }

  private get returning(): boolean {
    return this.dialect !== 'mysql';
  }

  private async selectOne(appId: string, authAppId: string, runner?: QueryRunner): Promise<Row | null> {
    const { rows } = await this.run(`SELECT * FROM ${this.table} WHERE app_id = :appId AND auth_app_id = :authAppId`, { appId, authAppId }, runner);
    return rows[0] ?? null;
  }

  /**
   * UPDATE (or INSERT) of one row identified by (appId, authAppId), returning the row as written, or null
   * when none matched. PostgreSQL and SQLite use RETURNING; MariaDB/MySQL write and read back inside one
   * READ COMMITTED transaction, so the row lock keeps other writers out until the read is done.
   */
  private async writeOne(sql: string, params: Params & { appId: string; authAppId: string }): Promise<Row | null> {
    if (this.returning) {
      const { rows } = await this.run(`${sql} RETURNING *`, params);
      return rows[0] ?? null;
    }
    const qr = this.dataSource.createQueryRunner();
    try {
      await qr.startTransaction('READ COMMITTED');
      const { affected } = await this.run(sql, params, qr);
      const row = affected > 0 ? await this.selectOne(params.appId, params.authAppId, qr) : null;
      await qr.commitTransaction();
      return row;
    } catch (e) {
      if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
      throw e;
    } finally {
      await qr.release();
    }
  }

  /** A row whose tokens cannot be decrypted comes back with `unreadable` set and empty tokens: one bad row never fails a batch. */
  private toDomain(r: Row): AlipayAuthorization {
    const appId = String(r.app_id);
    const authAppId = String(r.auth_app_id);
    let tokens = { appAuthToken: '', appRefreshToken: '' };
    let unreadable: string | null = null;
    try {
      tokens = {
        appAuthToken: this.open(r.app_auth_token_enc, appId, authAppId, TOKEN_FIELD),
        appRefreshToken: this.open(r.app_refresh_token_enc, appId, authAppId, REFRESH_FIELD),
      };
    } catch (e) {
      if (!(e instanceof AlipayTokenDecryptError)) throw e;
      unreadable = `${e.reason}: ${e.message}`;
    }
    const { appAuthToken, appRefreshToken } = tokens;
    return {
      appId,
      authAppId,
      userId: str(r.user_id),
      appAuthToken,
      appRefreshToken,
      unreadable,
      expiresAt: date(r.expires_at),
      refreshExpiresAt: date(r.refresh_expires_at),
      tokenIssuedAt: date(r.token_issued_at)!,
      status: String(r.status) as AlipayAuthorizationStatus,
      statusReason: str(r.status_reason),
      authorizedAt: date(r.authorized_at)!,
      lastRefreshedAt: date(r.last_refreshed_at),
      lastCheckedAt: date(r.last_checked_at),
      failureCount: num(r.failure_count) ?? 0,
      lastErrorCode: str(r.last_error_code),
      nextAttemptAt: date(r.next_attempt_at),
      verifyAt: date(r.verify_at),
      dueAt: date(r.due_at),
      version: num(r.version) ?? 0,
      leaseOwner: str(r.lease_owner),
      leaseUntil: date(r.lease_until),
      createdAt: date(r.created_at)!,
      updatedAt: date(r.updated_at)!,
    };
  }

  private open(stored: unknown, appId: string, authAppId: string, field: typeof TOKEN_FIELD | typeof REFRESH_FIELD): string {
    try {
      return this.cipher.decrypt(String(stored), alipayTokenAad(appId, authAppId, field));
    } catch (e) {
      if (e instanceof AlipayTokenDecryptError) {
        throw new AlipayTokenDecryptError(e.reason, `${e.message} (merchant app ${authAppId}, column ${field}_enc)`, e.keyId);
      }
      throw e;
    }
  }

  /** due_at of a fresh pair: the earliest instant its refresh window opens (null: never). */
  private dueAt(tokens: AlipayIssuedTokens): number | null {
    return refreshDueAt({ expiresAt: tokens.expiresAt, refreshExpiresAt: tokens.refreshExpiresAt, tokenIssuedAt: tokens.issuedAt }, this.window);
  }

  private seal(appId: string, authAppId: string, tokens: AlipayIssuedTokens): Params {
    if (!tokens || typeof tokens.appAuthToken !== 'string' || !tokens.appAuthToken || typeof tokens.appRefreshToken !== 'string' || !tokens.appRefreshToken) {
      throw new TypeError('tokens.appAuthToken and tokens.appRefreshToken must be non-empty strings');
    }
    return {
      tokenEnc: this.cipher.encrypt(tokens.appAuthToken, alipayTokenAad(appId, authAppId, TOKEN_FIELD)),
      tokenHash: this.cipher.lookupHash(tokens.appAuthToken),
      refreshEnc: this.cipher.encrypt(tokens.appRefreshToken, alipayTokenAad(appId, authAppId, REFRESH_FIELD)),
      expiresAt: msOrNull(tokens.expiresAt, 'tokens.expiresAt'),
      refreshExpiresAt: msOrNull(tokens.refreshExpiresAt, 'tokens.refreshExpiresAt'),
      issuedAt: ms(tokens.issuedAt, 'tokens.issuedAt'),
      dueAt: this.dueAt(tokens),
    };
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
      ...this.seal(appId, authAppId, input.tokens),
      authorizedAt: ms(input.authorizedAt, 'authorizedAt'),
      now: this.now(),
    };
    if (expectedVersion === null) {
      try {
        const inserted = await this.writeOne(
          `INSERT INTO ${this.table} (app_id, auth_app_id, user_id, app_auth_token_enc, app_refresh_token_enc, token_hash, expires_at, refresh_expires_at,
             token_issued_at, status, authorized_at, last_checked_at, due_at, failure_count, version, created_at, updated_at)
           VALUES (:appId, :authAppId, :userId, :tokenEnc, :refreshEnc, :tokenHash, :expiresAt, :refreshExpiresAt, :issuedAt, 'active', :authorizedAt, :now, :dueAt, 0, 1, :now, :now)`,
          params,
        );
        return inserted ? this.toDomain(inserted) : null;
      } catch (e) {
        // Another writer inserted the merchant first (on MariaDB the racing inserts may deadlock instead).
        if (isUniqueViolation(e) || isRetryableLock(e)) return null;
        throw e;
      }
    }
    const updated = await this.writeOne(
      `UPDATE ${this.table} SET user_id = COALESCE(:userId, user_id), app_auth_token_enc = :tokenEnc, app_refresh_token_enc = :refreshEnc, token_hash = :tokenHash,
        expires_at = :expiresAt, refresh_expires_at = :refreshExpiresAt, token_issued_at = :issuedAt, authorized_at = :authorizedAt, due_at = :dueAt,
        status = 'active', status_reason = NULL, last_refreshed_at = NULL, last_checked_at = :now,
        failure_count = 0, last_error_code = NULL, next_attempt_at = NULL, verify_at = NULL, lease_owner = NULL, lease_until = NULL,
        version = version + 1, updated_at = :now
       WHERE app_id = :appId AND auth_app_id = :authAppId AND version = :expectedVersion`,
      params,
    );
    return updated ? this.toDomain(updated) : null;
  }

  async saveRefreshed(appId: string, authAppId: string, expectedVersion: number, tokens: AlipayIssuedTokens): Promise<AlipayAuthorization | null> {
    if (!Number.isInteger(expectedVersion)) throw new TypeError('expectedVersion must be an integer');
    const row = await this.writeOne(
      `UPDATE ${this.table} SET app_auth_token_enc = :tokenEnc, app_refresh_token_enc = :refreshEnc, token_hash = :tokenHash, expires_at = :expiresAt,
         refresh_expires_at = :refreshExpiresAt, token_issued_at = :issuedAt, last_refreshed_at = :now, last_checked_at = :now, due_at = :dueAt,
         failure_count = 0, last_error_code = NULL, next_attempt_at = NULL, verify_at = NULL, lease_owner = NULL, lease_until = NULL,
         version = version + 1, updated_at = :now
       WHERE app_id = :appId AND auth_app_id = :authAppId AND version = :expectedVersion AND status = 'active'`,
      { appId, authAppId, expectedVersion, ...this.seal(appId, authAppId, tokens), now: this.now() },
    );
    return row ? this.toDomain(row) : null;
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
    const { affected } = await this.run(
      `UPDATE ${this.table} SET failure_count = failure_count + 1, last_error_code = :errorCode, next_attempt_at = :nextAttemptAt,
         due_at = COALESCE(:nextAttemptAt, due_at)${verify},
         updated_at = :now${release}
       WHERE app_id = :appId AND auth_app_id = :authAppId AND version = :expectedVersion`,
      params,
    );
    return affected > 0;
  }

  async setStatus(appId: string, authAppId: string, expectedVersion: number, next: AlipayAuthorizationStatus, reason: string | null): Promise<AlipayAuthorization | null> {
    const row = await this.writeOne(
      `UPDATE ${this.table} SET status = :status, status_reason = :reason, lease_owner = NULL, lease_until = NULL,
         version = version + 1, updated_at = :now
       WHERE app_id = :appId AND auth_app_id = :authAppId AND version = :expectedVersion`,
      { appId, authAppId, expectedVersion: expected(expectedVersion), status: status(next), reason: text(reason, 255), now: this.now() },
    );
    return row ? this.toDomain(row) : null;
  }

  async markChecked(appId: string, authAppId: string, expectedVersion: number, at: Date): Promise<boolean> {
    const { affected } = await this.run(
      `UPDATE ${this.table} SET last_checked_at = :at, updated_at = :now WHERE app_id = :appId AND auth_app_id = :authAppId AND version = :expectedVersion`,
      { appId, authAppId, expectedVersion: expected(expectedVersion), at: ms(at, 'at'), now: this.now() },
    );
    return affected > 0;
  }

  // ---------------------------------------------------------------- reads

  async find(appId: string, authAppId: string): Promise<AlipayAuthorization | null> {
    const row = await this.selectOne(appId, authAppId);
    return row ? this.toDomain(row) : null;
  }

  async list(appId: string, filter: AlipayAuthorizationFilter = {}, page: AlipayPage = {}): Promise<AlipayPageResult<AlipayAuthorization>> {
    const where = ['app_id = :appId'];
    const params: Params = { appId };
    if (filter.status !== undefined) {
      const statuses = (Array.isArray(filter.status) ? filter.status : [filter.status]).map(status);
      if (!statuses.length) return { items: [], total: 0 };
      where.push('status IN (:...statuses)');
      params.statuses = [...new Set(statuses)];
    }
    if (filter.authAppIds !== undefined) {
      if (!filter.authAppIds.length) return { items: [], total: 0 };
      where.push('auth_app_id IN (:...authAppIds)');
      params.authAppIds = [...new Set(filter.authAppIds)];
    }
    if (filter.userId !== undefined) {
      where.push('user_id = :userId');
      params.userId = filter.userId;
    }
    const offset = Number.isFinite(page.offset) ? Math.max(0, Math.floor(page.offset!)) : 0;
    const limit = Number.isFinite(page.limit) ? Math.min(MAX_PAGE, Math.max(0, Math.floor(page.limit!))) : DEFAULT_PAGE;
    const cond = where.join(' AND ');
    const { rows: counted } = await this.run(`SELECT COUNT(*) AS n FROM ${this.table} WHERE ${cond}`, params);
    const total = Number(counted[0]?.n ?? 0);
    if (limit === 0 || offset >= total) return { items: [], total };
    const { rows } = await this.run(
      `SELECT * FROM ${this.table} WHERE ${cond} ORDER BY authorized_at DESC, id DESC LIMIT ${limit} OFFSET ${offset}`,
      params,
    );
    return { items: rows.map((r) => this.toDomain(r)), total };
  }

  async countByStatus(appId: string): Promise<AlipayAuthorizationCounts> {
    const { rows } = await this.run(
      `SELECT status, COUNT(*) AS n, SUM(CASE WHEN failure_count > 0 THEN 1 ELSE 0 END) AS failing,
         SUM(CASE WHEN verify_at IS NOT NULL THEN 1 ELSE 0 END) AS verifying,
         SUM(CASE WHEN last_error_code = :unreadable THEN 1 ELSE 0 END) AS unreadable
       FROM ${this.table} WHERE app_id = :appId GROUP BY status`,
      { appId, unreadable: ALIPAY_ROW_UNREADABLE },
    );
    const counts: AlipayAuthorizationCounts = { active: 0, reauthorization_required: 0, revoked: 0, cancelled: 0, failing: 0, verifying: 0, unreadable: 0 };
    for (const r of rows) {
      const s = String(r.status) as AlipayAuthorizationStatus;
      if (!STATUSES.includes(s)) continue;
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
    const { rows } = await this.run(`SELECT COUNT(*) AS n FROM ${this.table} WHERE app_id = :appId AND status = 'active' AND (${cond})`, { appId, ...params });
    return Number(rows[0]?.n ?? 0);
  }

  async findByToken(appId: string, appAuthToken: string): Promise<AlipayAuthorization | null> {
    if (typeof appAuthToken !== 'string' || !appAuthToken) return null;
    const { rows } = await this.run(`SELECT * FROM ${this.table} WHERE app_id = :appId AND token_hash IN (:...hashes)`, {
      appId,
      hashes: this.cipher.lookupHashes(appAuthToken),
    });
    // A hash match is confirmed against the decrypted token: the hash only narrows the search.
    return rows.map((r) => this.toDomain(r)).find((row) => row.appAuthToken === appAuthToken) ?? null;
  }

  async requestStatusCheck(appId: string, filter: { userId: string } | { authAppId: string }): Promise<number> {
    const byApp = filter && 'authAppId' in filter;
    const { affected } = await this.run(
      `UPDATE ${this.table} SET last_checked_at = NULL, updated_at = :now WHERE app_id = :appId AND ${byApp ? 'auth_app_id = :value' : 'user_id = :value'} AND status = 'active'`,
      { appId, value: byApp ? id(filter.authAppId, 'authAppId') : id((filter as { userId: string })?.userId, 'userId'), now: this.now() },
    );
    return affected;
  }

  async isNotificationHandled(appId: string, notifyId: string): Promise<boolean> {
    const { rows } = await this.run(`SELECT 1 AS found FROM ${this.notifications} WHERE app_id = :appId AND notify_id = :notifyId AND expires_at > :now`, {
      appId,
      notifyId: id(notifyId, 'notifyId', 64),
      now: this.now(),
    });
    return rows.length > 0;
  }

  async markNotificationHandled(appId: string, notifyId: string, expiresAt: Date): Promise<void> {
    const params = { appId, notifyId: id(notifyId, 'notifyId', 64), expiresAt: ms(expiresAt, 'expiresAt'), now: this.now() };
    await this.run(`DELETE FROM ${this.notifications} WHERE expires_at <= :now OR (app_id = :appId AND notify_id = :notifyId)`, params);
    try {
      await this.run(`INSERT INTO ${this.notifications} (app_id, notify_id, handled_at, expires_at) VALUES (:appId, :notifyId, :now, :expiresAt)`, params);
    } catch (e) {
      // Another instance handled the same message at the same moment: remembered either way.
      if (!isUniqueViolation(e) && !isRetryableLock(e)) throw e;
    }
  }

  async databaseNow(): Promise<number> {
    const { rows } = await this.run(`SELECT ${this.dbNow} AS now`, {});
    return Number(rows[0]?.now);
  }

  /** Rows whose stored values name a key id that is not configured (or are malformed): they cannot be read. */
  async countUnknownKeyRows(appId?: string): Promise<number> {
    const known = [...this.cipher.keyIds].map((k) => `v1.${k}.%`);
    const params: Params = appId ? { appId } : {};
    const readable = (column: string) => {
      const alts = [`${column} LIKE 'v0.%'`, ...known.map((_, i) => `${column} LIKE :k${i}`)];
      return `(${alts.join(' OR ')})`;
    };
    known.forEach((k, i) => (params[`k${i}`] = k));
    const { rows } = await this.run(
      `SELECT COUNT(*) AS n FROM ${this.table} WHERE ${appId ? 'app_id = :appId AND ' : ''}NOT (${readable('app_auth_token_enc')} AND ${readable('app_refresh_token_enc')})`,
      params,
    );
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Re-encrypts up to `limit` rows with `id > afterId` whose tokens are not under the current key. Each row is
   * rewritten only if its ciphertext is still what was read (compare-and-set), so instances can run this at
   * once and a concurrent refresh always wins. `version` does not move: the tokens are the same.
   */
  async reencryptBatch(afterId: number, limit: number): Promise<{ lastId: number | null; scanned: number; rewritten: number; unreadable: number }> {
    const n = Math.max(1, batch(limit));
    const { rows } = await this.run(`SELECT * FROM ${this.table} WHERE id > :afterId ORDER BY id LIMIT ${n}`, { afterId: Math.floor(afterId) });
    let rewritten = 0;
    let unreadable = 0;
    const current = this.cipher.currentKeyId;
    for (const r of rows) {
      const stale = r.token_hash === null || [r.app_auth_token_enc, r.app_refresh_token_enc].some((v) => AlipayTokenCipher.keyIdOf(String(v)) !== current);
      if (!stale) continue;
      const row = this.toDomain(r);
      if (row.unreadable) {
        unreadable++;
        continue;
      }
      const sealed = this.seal(row.appId, row.authAppId, { appAuthToken: row.appAuthToken, appRefreshToken: row.appRefreshToken, expiresAt: null, refreshExpiresAt: null, issuedAt: new Date(0) });
      const { affected } = await this.run(
        `UPDATE ${this.table} SET app_auth_token_enc = :tokenEnc, app_refresh_token_enc = :refreshEnc, token_hash = :tokenHash
         WHERE id = :id AND app_auth_token_enc = :oldToken AND app_refresh_token_enc = :oldRefresh`,
        { id: Number(r.id), tokenEnc: sealed.tokenEnc, refreshEnc: sealed.refreshEnc, tokenHash: sealed.tokenHash, oldToken: r.app_auth_token_enc, oldRefresh: r.app_refresh_token_enc },
      );
      rewritten += affected > 0 ? 1 : 0;
    }
    return { lastId: rows.length ? Number(rows[rows.length - 1].id) : null, scanned: rows.length, rewritten, unreadable };
  }

  // ---------------------------------------------------------------- leases

  async claimDue(appId: string, criteria: AlipayDueCriteria, lease: AlipayLease, limit: number): Promise<AlipayAuthorization[]> {
    if (this.usesWindow(criteria)) {
      // due_at folds the three windows and the retry time into one indexed instant: an ordered range scan
      // that stops at `limit`, however large the backlog.
      return this.claim(
        `app_id = :appId AND status = 'active' AND due_at <= :now AND (lease_until IS NULL OR lease_until <= ${this.dbNow})`,
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
       AND (lease_until IS NULL OR lease_until <= ${this.dbNow})
       AND (${cond} OR next_attempt_at <= :now)`,
      'CASE WHEN expires_at IS NULL THEN 1 ELSE 0 END, expires_at, id',
      byDue,
      { appId, ...params },
      lease,
      limit,
    );
  }

  /** Rows never checked (`last_checked_at` null) are due, first. */
  async claimStatusCheckDue(appId: string, checkedBefore: Date, lease: AlipayLease, limit: number): Promise<AlipayAuthorization[]> {
    return this.claim(
      `app_id = :appId AND status = 'active'
       AND (last_checked_at IS NULL OR last_checked_at < :checkedBefore)
       AND (lease_until IS NULL OR lease_until <= ${this.dbNow})`,
      'CASE WHEN last_checked_at IS NULL THEN 0 ELSE 1 END, last_checked_at, id',
      byChecked,
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

  /**
   * Re-computes due_at of active rows that are not waiting for a retry, from this store's windows: at
   * start-up, so a change of the refresh windows (or rows written before due_at existed) takes effect.
   * Returns the number of rows changed.
   */
  async syncDueAt(appId: string): Promise<number> {
    const w = this.window;
    const minOf = (xs: string[]): string => (xs.length === 1 ? xs[0] : `CASE WHEN ${xs[0]} IS NULL THEN ${minOf(xs.slice(1))} WHEN ${minOf(xs.slice(1))} IS NULL THEN ${xs[0]} WHEN ${xs[0]} < ${minOf(xs.slice(1))} THEN ${xs[0]} ELSE ${minOf(xs.slice(1))} END`);
    const candidates = ['expires_at - :ahead', 'refresh_expires_at - :safety', ...(w.maxTokenAgeMs > 0 ? ['token_issued_at + :maxAge'] : [])];
    const expr = minOf(candidates);
    const { affected } = await this.run(
      `UPDATE ${this.table} SET due_at = ${expr}
       WHERE app_id = :appId AND status = 'active' AND next_attempt_at IS NULL AND (due_at IS NULL OR due_at <> ${expr})`,
      { appId, ahead: w.refreshAheadMs, safety: w.refreshTokenSafetyMs, maxAge: w.maxTokenAgeMs },
    );
    return affected;
  }

  /** The database clock in SQL (leases never use an instance's clock). */
  private get dbNow(): string {
    return databaseNowSql(this.dialect);
  }

  private async claim(due: string, orderBy: string, order: RowOrder, base: Params, lease: AlipayLease, limit: number): Promise<AlipayAuthorization[]> {
    const n = batch(limit);
    const params = { ...base, owner: owner(lease), leaseMs: leaseMs(lease) };
    if (n === 0) return [];
    let rows: Row[];
    if (this.dialect === 'postgres') {
      // The CTE is MATERIALIZED so the locking subquery runs exactly once; SKIP LOCKED lets concurrent
      // claimers pass over rows another transaction is leasing, and the row lock re-checks `due`.
      ({ rows } = await this.run(
        `WITH picked AS MATERIALIZED (
           SELECT id FROM ${this.table} WHERE ${due} ORDER BY ${orderBy} LIMIT ${n} FOR UPDATE SKIP LOCKED
         )
         UPDATE ${this.table} AS t SET lease_owner = :owner, lease_until = ${this.dbNow} + :leaseMs
         FROM picked WHERE t.id = picked.id
         RETURNING t.*`,
        params,
      ));
    } else if (this.dialect === 'sqlite') {
      // One statement under SQLite's database write lock: no other writer can interleave.
      ({ rows } = await this.run(
        `UPDATE ${this.table} SET lease_owner = :owner, lease_until = ${this.dbNow} + :leaseMs
         WHERE id IN (SELECT id FROM ${this.table} WHERE ${due} ORDER BY ${orderBy} LIMIT ${n})
         RETURNING *`,
        params,
      ));
    } else {
      rows = await this.claimMysql(due, orderBy, n, params);
    }
    return rows.sort(order).map((r) => this.toDomain(r));
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
      const qr = this.dataSource.createQueryRunner();
      try {
        await qr.startTransaction('READ COMMITTED');
        let rows: Row[] = [];
        const { rows: candidates } = await this.run(`SELECT id FROM ${this.table} WHERE ${due} ORDER BY ${orderBy} LIMIT ${window}`, params, qr);
        // Lock the candidates in urgency order, a chunk of exactly the missing count at a time, so every
        // row locked is a row taken; rows other claimers hold are skipped and the next chunk fills in.
        const ids: number[] = [];
        for (let i = 0, rounds = 0; i < candidates.length && ids.length < n && rounds < 8; rounds++) {
          const chunk = candidates.slice(i, i + (n - ids.length)).map((r) => Number(r.id));
          i += chunk.length;
          const { rows: locked } = await this.run(
            `SELECT id FROM ${this.table} WHERE id IN (:...chunk) AND ${due} FOR UPDATE SKIP LOCKED`,
            { ...params, chunk },
            qr,
          );
          ids.push(...locked.map((r) => Number(r.id)));
        }
        if (ids.length) {
          await this.run(`UPDATE ${this.table} SET lease_owner = :owner, lease_until = ${this.dbNow} + :leaseMs WHERE id IN (:...ids)`, { ...params, ids }, qr);
          ({ rows } = await this.run(`SELECT * FROM ${this.table} WHERE id IN (:...ids)`, { ids }, qr));
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

  async tryLease(appId: string, authAppId: string, lease: AlipayLease, opts: { takeOverAfterMs?: number } = {}): Promise<AlipayAuthorization | null> {
    const leaseOwner = owner(lease);
    const params: Params & { appId: string; authAppId: string } = { appId, authAppId, owner: leaseOwner, leaseMs: leaseMs(lease) };
    let silent = '';
    if (opts.takeOverAfterMs !== undefined) {
      // Taken at lease_until - leaseMs; silent for longer than takeOverAfterMs means no call is in flight.
      params.takeOverAfterMs = Math.max(0, Math.floor(opts.takeOverAfterMs));
      silent = ` OR lease_until <= ${this.dbNow} + :leaseMs - :takeOverAfterMs`;
    }
    // lease_until is assigned before lease_owner: MySQL evaluates SET left to right with the new values.
    const row = await this.writeOne(
      `UPDATE ${this.table} SET lease_until = ${this.dbNow} + :leaseMs, lease_owner = :owner
       WHERE app_id = :appId AND auth_app_id = :authAppId
         AND (lease_owner IS NULL OR lease_until IS NULL OR lease_until <= ${this.dbNow} OR lease_owner = :owner${silent})`,
      params,
    );
    // The UPDATE matched only if the lease was free, expired or already ours; the row read back must say so.
    return row && row.lease_owner === leaseOwner ? this.toDomain(row) : null;
  }

  async releaseLease(appId: string, authAppId: string, leaseOwner: string): Promise<void> {
    await this.run(
      `UPDATE ${this.table} SET lease_owner = NULL, lease_until = NULL WHERE app_id = :appId AND auth_app_id = :authAppId AND lease_owner = :owner`,
      { appId, authAppId, owner: leaseOwner },
    );
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
