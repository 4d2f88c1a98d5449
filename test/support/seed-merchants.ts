/**
 * Seeds many authorized merchants at once, set-based: the sealed columns are computed in memory (the store's
 * own cipher, bound to each row and field, so every row reads back) and written with multi-row INSERTs in one
 * transaction. 10,000 rows take well under a second on SQLite, against ~10 s through the callback.
 */
import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { AlipayTokenCipher, refreshDueAt, ResolvedAlipayAuthConfig } from 'nestjs-alipay-auth';
import { alipayAuthorizationsTable, alipaySqlDialect, alipayTokenAad } from 'nestjs-alipay-auth/typeorm';

const DAY = 86_400_000;
const ROWS_PER_INSERT = 400;

/** What one seeded row is besides healthy. */
export type SeededProblem = 'failing' | 'verifying' | 'reauthorization_required' | 'cancelled';

export interface SeedMerchantsOptions {
  count: number;
  now?: number;
  /** Rows (by index, 0 = the oldest authorization) that are not healthy. */
  problems?: Record<number, SeededProblem>;
}

/** The merchant app id and Alipay user id of seeded row `i`. */
export const seededMerchant = (i: number) => ({ authAppId: `20210041${String(i).padStart(8, '0')}`, userId: `2088${String(i).padStart(12, '0')}` });

export async function seedMerchants(dataSource: DataSource, config: ResolvedAlipayAuthConfig, options: SeedMerchantsOptions): Promise<void> {
  const cipher = new AlipayTokenCipher(config.tokenEncryptionKeys);
  const now = options.now ?? Date.now();
  const dialect = alipaySqlDialect(dataSource.options.type);
  const table = alipayAuthorizationsTable(dataSource);
  const columns = [
    'app_id',
    'auth_app_id',
    'user_id',
    'app_auth_token_enc',
    'app_refresh_token_enc',
    'token_hash',
    'expires_at',
    'refresh_expires_at',
    'token_issued_at',
    'status',
    'status_reason',
    'authorized_at',
    'last_refreshed_at',
    'last_checked_at',
    'failure_count',
    'last_error_code',
    'last_failure_at',
    'next_attempt_at',
    'verify_at',
    'due_at',
    'version',
    'created_at',
    'updated_at',
  ];
  const rowOf = (i: number): unknown[] => {
    const { authAppId, userId } = seededMerchant(i);
    const token = `202612BB${randomBytes(12).toString('hex')}`;
    const refresh = `202612BBr${randomBytes(12).toString('hex')}`;
    // Authorized over the last year, one every ~50 minutes; the current pair issued in the last 200 days (the
    // oldest authorization's first), a year long: no row is due for refresh, none overdue.
    const authorizedAt = now - DAY * 365 + Math.floor((i * DAY * 365) / options.count);
    const issuedAt = Math.max(authorizedAt, now - DAY * 200 + Math.floor((i * DAY * 199) / options.count));
    const expiresAt = issuedAt + 365 * DAY;
    const refreshExpiresAt = issuedAt + 730 * DAY;
    const problem = options.problems?.[i];
    const failures = problem === 'failing' ? 3 : problem === 'verifying' ? 1 : 0;
    const retryAt = failures ? now + 10 * 60_000 : null;
    const status = problem === 'reauthorization_required' || problem === 'cancelled' ? problem : 'active';
    const due =
      retryAt ??
      refreshDueAt({ expiresAt: new Date(expiresAt), refreshExpiresAt: new Date(refreshExpiresAt), tokenIssuedAt: new Date(issuedAt) }, config.refresh);
    return [
      config.appId,
      authAppId,
      userId,
      cipher.encrypt(token, alipayTokenAad(config.appId, authAppId, 'app_auth_token')),
      cipher.encrypt(refresh, alipayTokenAad(config.appId, authAppId, 'app_refresh_token')),
      cipher.lookupHash(token),
      expiresAt,
      refreshExpiresAt,
      issuedAt,
      status,
      problem === 'reauthorization_required' ? 'invalid-app-refresh-token' : problem === 'cancelled' ? 'cancelled by the merchant' : null,
      authorizedAt,
      null,
      issuedAt,
      failures,
      problem === 'failing' ? 'isp.unknow-error' : problem === 'verifying' ? 'network-timeout' : null,
      // The lower the index, the more recent the failure.
      failures ? now - (i + 1) * 60_000 : null,
      retryAt,
      problem === 'verifying' ? retryAt : null,
      due,
      1,
      authorizedAt,
      problem === 'cancelled' ? now - 3_600_000 : authorizedAt,
    ];
  };
  const runner = dataSource.createQueryRunner();
  await runner.startTransaction();
  try {
    for (let start = 0; start < options.count; start += ROWS_PER_INSERT) {
      const values: unknown[] = [];
      const tuples: string[] = [];
      for (let i = start; i < Math.min(options.count, start + ROWS_PER_INSERT); i++) {
        const row = rowOf(i);
        tuples.push(`(${row.map((_, k) => (dialect === 'postgres' ? `$${values.length + k + 1}` : '?')).join(', ')})`);
        values.push(...row);
      }
      await runner.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`, values);
    }
    await runner.commitTransaction();
  } catch (e) {
    await runner.rollbackTransaction();
    throw e;
  } finally {
    await runner.release();
  }
}
