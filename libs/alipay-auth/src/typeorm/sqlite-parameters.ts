/**
 * TypeORM's SQLite drivers write number parameters into the SQL text (`expires_at = 1827677272503`), so
 * nearly every write of the store (timestamps change on every call) was a new statement: better-sqlite3
 * prepared each one and kept it, about 30 KB of native memory that V8 does not see, until a garbage
 * collection found its tiny JS handle. Under load that is hundreds of MB (issue 13: 10k refreshes).
 * A BigInt is bound as a parameter instead (an INTEGER, as the literal was), so the text repeats and
 * TypeORM's statement cache reuses the prepared statement. Other drivers bind numbers already.
 */
export function bindIntegersAsParameters<T extends Record<string, unknown>>(databaseType: string, params: T): T {
  if (databaseType !== 'better-sqlite3') return params;
  let out: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(params)) {
    if (typeof value === 'number' && Number.isSafeInteger(value)) (out ??= { ...params })[key] = BigInt(value);
  }
  return (out ?? params) as T;
}
