import { AlipayRefreshWindow } from '../storage/refresh-window';
import { AlipayTokenCipher } from '../storage/token-cipher';
import { batch } from './claim-queries';
import { dueAtSql } from './refresh-window-sync';
import { AlipayRowCodec } from './row-codec';
import { Params, TypeOrmStatements } from './statements';

/** The store's upkeep: due_at after a change of the refresh windows, rows under unknown keys, key rotation. */
export class TypeOrmStoreMaintenance {
  constructor(
    private readonly sql: TypeOrmStatements,
    private readonly codec: AlipayRowCodec,
    private readonly cipher: AlipayTokenCipher,
    private readonly window: AlipayRefreshWindow,
  ) {}

  /**
   * Re-computes due_at of active rows that are not waiting for a retry, from this store's windows, in one
   * statement over the table (for scripts; start-up uses `TypeOrmRefreshWindowSync`, in batches). Returns
   * the number of rows changed.
   */
  async syncDueAt(appId: string): Promise<number> {
    const { expr, params } = dueAtSql(this.window);
    const { affected } = await this.sql.run(
      `UPDATE ${this.sql.table} SET due_at = ${expr}
       WHERE app_id = :appId AND status = 'active' AND next_attempt_at IS NULL AND (due_at IS NULL OR due_at <> ${expr})`,
      { appId, ...params },
    );
    return affected;
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
    const { rows } = await this.sql.run(
      `SELECT COUNT(*) AS n FROM ${this.sql.table} WHERE ${appId ? 'app_id = :appId AND ' : ''}NOT (${readable('app_auth_token_enc')} AND ${readable('app_refresh_token_enc')})`,
      params,
    );
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Rows under key ids that are not configured (or malformed) among a sample: the `limit` oldest and the
   * `limit` newest rows (two primary-key ranges, whatever the table's size). For start-up advice; the exact
   * number is `countUnknownKeyRows`.
   */
  async sampleUnknownKeyRows(limit = 500): Promise<{ sampled: number; unknown: number }> {
    const n = Math.max(1, batch(limit));
    const pick = (order: 'ASC' | 'DESC') =>
      this.sql.run(`SELECT id, app_auth_token_enc, app_refresh_token_enc FROM ${this.sql.table} ORDER BY id ${order} LIMIT ${n}`, {});
    const byId = new Map<number, Record<string, unknown>>();
    for (const { rows } of [await pick('ASC'), await pick('DESC')]) for (const r of rows) byId.set(Number(r.id), r);
    const known = new Set(this.cipher.keyIds);
    // The same rule as countUnknownKeyRows: v0 (not encrypted) or a configured key id.
    const readable = (v: unknown) => {
      const keyId = AlipayTokenCipher.keyIdOf(String(v));
      return keyId === null || (keyId !== undefined && known.has(keyId));
    };
    let unknown = 0;
    for (const r of byId.values()) if (!readable(r.app_auth_token_enc) || !readable(r.app_refresh_token_enc)) unknown++;
    return { sampled: byId.size, unknown };
  }

  /**
   * Re-encrypts up to `limit` rows with `id > afterId` whose tokens are not under the current key. Each row is
   * rewritten only if its ciphertext is still what was read (compare-and-set), so instances can run this at
   * once and a concurrent refresh always wins. `version` does not move: the tokens are the same.
   */
  async reencryptBatch(afterId: number, limit: number): Promise<{ lastId: number | null; scanned: number; rewritten: number; unreadable: number }> {
    const n = Math.max(1, batch(limit));
    const { rows } = await this.sql.run(`SELECT * FROM ${this.sql.table} WHERE id > :afterId ORDER BY id LIMIT ${n}`, { afterId: Math.floor(afterId) });
    let rewritten = 0;
    let unreadable = 0;
    const current = this.cipher.currentKeyId;
    for (const r of rows) {
      const stale = r.token_hash === null || [r.app_auth_token_enc, r.app_refresh_token_enc].some((v) => AlipayTokenCipher.keyIdOf(String(v)) !== current);
      if (!stale) continue;
      const row = this.codec.toDomain(r);
      if (row.unreadable) {
        unreadable++;
        continue;
      }
      const sealed = this.codec.seal(row.appId, row.authAppId, {
        appAuthToken: row.appAuthToken,
        appRefreshToken: row.appRefreshToken,
        expiresAt: null,
        refreshExpiresAt: null,
        issuedAt: new Date(0),
      });
      const { affected } = await this.sql.run(
        `UPDATE ${this.sql.table} SET app_auth_token_enc = :tokenEnc, app_refresh_token_enc = :refreshEnc, token_hash = :tokenHash
         WHERE id = :id AND app_auth_token_enc = :oldToken AND app_refresh_token_enc = :oldRefresh`,
        {
          id: Number(r.id),
          tokenEnc: sealed.tokenEnc,
          refreshEnc: sealed.refreshEnc,
          tokenHash: sealed.tokenHash,
          oldToken: r.app_auth_token_enc,
          oldRefresh: r.app_refresh_token_enc,
        },
      );
      rewritten += affected > 0 ? 1 : 0;
    }
    return { lastId: rows.length ? Number(rows[rows.length - 1].id) : null, scanned: rows.length, rewritten, unreadable };
  }
}
