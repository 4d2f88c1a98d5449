import { Column, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn, ValueTransformer } from 'typeorm';
import type { AlipayAuthorizationStatus } from '../storage/alipay-token-store';
import { ALIPAY_AUTHORIZATIONS_TABLE, ALIPAY_MAINTENANCE_TABLE, ALIPAY_NOTIFICATIONS_TABLE } from './sql-dialect';

export { ALIPAY_AUTHORIZATIONS_TABLE, ALIPAY_MAINTENANCE_TABLE, ALIPAY_NOTIFICATIONS_TABLE };

/**
 * Instants are stored as `bigint` milliseconds since the epoch (UTC) instead of native timestamp types:
 * - identical on SQLite, PostgreSQL and MariaDB/MySQL: SQLite has no timestamp type (TypeORM would store
 *   text whose comparisons depend on the format), MySQL's DATETIME carries no zone and mysql2 converts
 *   with the process time zone, PostgreSQL's timestamptz is fine but would make it the odd one out;
 * - exact to the millisecond everywhere, with no precision or rounding rules per engine;
 * - comparisons (`expires_at <= ?`) are plain integer comparisons with a number parameter, so the due
 *   queries are the same SQL on every engine and use the indexes;
 * - every instant comes from the module clock (`clock()`), never from the database's NOW(), so tests
 *   and several instances with skewed database clocks agree.
 * Drivers return bigint as string (pg, mysql2 with TypeORM's bigNumberStrings) or number (SQLite):
 * the transformer accepts both.
 */
export const epochMsTransformer: ValueTransformer = {
  to: (value: Date | null | undefined) => (value === null || value === undefined ? value : value.getTime()),
  from: (value: string | number | null | undefined) => (value === null || value === undefined ? null : new Date(Number(value))),
};

const INSTANT = { type: 'bigint', transformer: epochMsTransformer } as const;

/**
 * One merchant authorization per (app_id, auth_app_id). Tokens are stored encrypted (see
 * `AlipayTokenCipher`); `TypeOrmAlipayTokenStore` reads and writes this table with raw SQL so that
 * compare-and-set and leasing are single statements. Add it to your DataSource with `ALIPAY_AUTH_ENTITIES`
 * and create the table with the migrations from `alipayAuthMigrations(type)`.
 *
 * `version` is a plain int managed by the store in its UPDATE statements (`version = version + 1 ...
 * WHERE version = :expected`), not a `@VersionColumn`: leases, failure bookkeeping and status checks
 * must not move it, and TypeORM's repository `save()` would.
 *
 * Indexes serve the scheduler: `due_at` and `check_due_at` answer the refresh and status-check claims as
 * one ordered index range each; each branch of the "due" condition (`expires_at`, `refresh_expires_at`,
 * `token_issued_at`) has an (app_id, status, <instant>) index for claims with other windows (PostgreSQL
 * bitmap-OR, MariaDB index merge); (app_id, authorized_at) serves the paginated list; (app_id, status, failure_count) the rows
 * needing attention (failing, verifying, unreadable), (app_id, user_id) a search by the merchant's user id and
 * (app_id, last_failure_at, id) the list by last failure (on PostgreSQL created DESC NULLS LAST, see the migration).
 */
@Entity(ALIPAY_AUTHORIZATIONS_TABLE)
@Index('UQ_alipay_auth_app_auth_app', ['appId', 'authAppId'], { unique: true })
@Index('IDX_alipay_auth_due_expires', ['appId', 'status', 'expiresAt'])
@Index('IDX_alipay_auth_due_refresh_expires', ['appId', 'status', 'refreshExpiresAt'])
@Index('IDX_alipay_auth_due_issued', ['appId', 'status', 'tokenIssuedAt'])
@Index('IDX_alipay_auth_authorized', ['appId', 'authorizedAt'])
@Index('IDX_alipay_auth_retry', ['appId', 'status', 'nextAttemptAt'])
@Index('IDX_alipay_auth_token_hash', ['appId', 'tokenHash'])
@Index('IDX_alipay_auth_due_at', ['appId', 'status', 'dueAt'])
@Index('IDX_alipay_auth_check_due', ['appId', 'status', 'checkDueAt', 'id'])
@Index('IDX_alipay_auth_failures', ['appId', 'status', 'failureCount'])
@Index('IDX_alipay_auth_user', ['appId', 'userId'])
@Index('IDX_alipay_auth_last_failure', ['appId', 'lastFailureAt', 'id'])
export class AlipayAuthorizationEntity {
  /**
   * Internal surrogate key (the domain key is app_id + auth_app_id). A 32-bit auto-increment integer, not
   * bigint: SQLite only auto-increments an `INTEGER PRIMARY KEY`, and TypeORM would emit
   * `bigint ... AUTOINCREMENT`, which SQLite rejects; one row per merchant keeps 2^31 out of reach.
   */
  @PrimaryGeneratedColumn('increment', { name: 'id', primaryKeyConstraintName: 'PK_alipay_app_authorizations' })
  id: number;

  @Column({ name: 'app_id', type: 'varchar', length: 32 })
  appId: string;

  @Column({ name: 'auth_app_id', type: 'varchar', length: 32 })
  authAppId: string;

  @Column({ name: 'user_id', type: 'varchar', length: 32, nullable: true })
  userId: string | null;

  /** `v1.<keyId>.<iv>.<ciphertext>.<tag>` (or `v0.` when no key is configured). */
  @Column({ name: 'app_auth_token_enc', type: 'text' })
  appAuthTokenEnc: string;

  @Column({ name: 'app_refresh_token_enc', type: 'text' })
  appRefreshTokenEnc: string;

  /** Keyed hash (HMAC-SHA256) of the current token: finds the merchant a message names by token, without decrypting the table. */
  @Column({ name: 'token_hash', type: 'varchar', length: 64, nullable: true })
  tokenHash: string | null;

  @Column({ ...INSTANT, name: 'expires_at', nullable: true })
  expiresAt: Date | null;

  @Column({ ...INSTANT, name: 'refresh_expires_at', nullable: true })
  refreshExpiresAt: Date | null;

  @Column({ ...INSTANT, name: 'token_issued_at' })
  tokenIssuedAt: Date;

  @Column({ name: 'status', type: 'varchar', length: 32 })
  status: AlipayAuthorizationStatus;

  @Column({ name: 'status_reason', type: 'varchar', length: 255, nullable: true })
  statusReason: string | null;

  @Column({ ...INSTANT, name: 'authorized_at' })
  authorizedAt: Date;

  @Column({ ...INSTANT, name: 'last_refreshed_at', nullable: true })
  lastRefreshedAt: Date | null;

  @Column({ ...INSTANT, name: 'last_checked_at', nullable: true })
  lastCheckedAt: Date | null;

  @Column({ name: 'failure_count', type: 'int', default: 0 })
  failureCount: number;

  @Column({ name: 'last_error_code', type: 'varchar', length: 64, nullable: true })
  lastErrorCode: string | null;

  /** Written by every failure, kept after a success (history), cleared by a new authorization. */
  @Column({ ...INSTANT, name: 'last_failure_at', nullable: true })
  lastFailureAt: Date | null;

  @Column({ ...INSTANT, name: 'next_attempt_at', nullable: true })
  nextAttemptAt: Date | null;

  /** When the row next needs work: its refresh window opens, or its retry after a failure. Claims read it. */
  @Column({ ...INSTANT, name: 'due_at', nullable: true })
  dueAt: Date | null;

  /**
   * Where the row's status-check clock runs from: its last check, or 0 when a check is asked for. Not
   * null, so the status-check claim is one ordered index range (epoch ms; no transformer: never a Date).
   */
  @Column({ name: 'check_due_at', type: 'bigint', default: 0 })
  checkDueAt: number;

  /** Set after a refresh without a trustworthy answer: when to verify (and repair) the stored pair. */
  @Column({ ...INSTANT, name: 'verify_at', nullable: true })
  verifyAt: Date | null;

  @Column({ name: 'version', type: 'int', default: 1 })
  version: number;

  @Column({ name: 'lease_owner', type: 'varchar', length: 128, nullable: true })
  leaseOwner: string | null;

  @Column({ ...INSTANT, name: 'lease_until', nullable: true })
  leaseUntil: Date | null;

  @Column({ ...INSTANT, name: 'created_at' })
  createdAt: Date;

  @Column({ ...INSTANT, name: 'updated_at' })
  updatedAt: Date;
}

/**
 * Alipay notifications already handled, by `notify_id`, so a message resent (or replayed) later is
 * acknowledged and ignored on every instance. Rows expire (`expires_at`) and are pruned as new ones arrive.
 */
@Entity(ALIPAY_NOTIFICATIONS_TABLE)
@Index('UQ_alipay_auth_notification', ['appId', 'notifyId'], { unique: true })
@Index('IDX_alipay_auth_notification_expires', ['expiresAt'])
export class AlipayNotificationEntity {
  @PrimaryGeneratedColumn('increment', { name: 'id', primaryKeyConstraintName: 'PK_alipay_auth_notifications' })
  id: number;

  @Column({ name: 'app_id', type: 'varchar', length: 32 })
  appId: string;

  @Column({ name: 'notify_id', type: 'varchar', length: 64 })
  notifyId: string;

  @Column({ ...INSTANT, name: 'handled_at' })
  handledAt: Date;

  @Column({ ...INSTANT, name: 'expires_at' })
  expiresAt: Date;
}

/**
 * Upkeep over every row that must run once for the cluster (re-applying changed refresh windows to
 * `due_at`): one row per app and task, with the target (`fingerprint`), progress (`after_id`, the last row id
 * done), completion and a lease on the database's clock.
 */
@Entity(ALIPAY_MAINTENANCE_TABLE)
export class AlipayMaintenanceEntity {
  @PrimaryColumn({ name: 'app_id', type: 'varchar', length: 32, primaryKeyConstraintName: 'PK_alipay_auth_maintenance' })
  appId: string;

  @PrimaryColumn({ name: 'task', type: 'varchar', length: 32, primaryKeyConstraintName: 'PK_alipay_auth_maintenance' })
  task: string;

  @Column({ name: 'fingerprint', type: 'varchar', length: 128 })
  fingerprint: string;

  @Column({ name: 'after_id', type: 'int', default: 0 })
  afterId: number;

  @Column({ ...INSTANT, name: 'finished_at', nullable: true })
  finishedAt: Date | null;

  @Column({ name: 'lease_owner', type: 'varchar', length: 128, nullable: true })
  leaseOwner: string | null;

  @Column({ ...INSTANT, name: 'lease_until', nullable: true })
  leaseUntil: Date | null;

  @Column({ ...INSTANT, name: 'updated_at' })
  updatedAt: Date;
}

/** Add these to your DataSource's `entities` (or `TypeOrmModule.forRoot({ entities })`). */
export const ALIPAY_AUTH_ENTITIES = [AlipayAuthorizationEntity, AlipayNotificationEntity, AlipayMaintenanceEntity];
