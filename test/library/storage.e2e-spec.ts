/**
 * The TypeORM token store, the same tests on every engine: SQLite always, PostgreSQL and MariaDB
 * (required with CI=true, see test/support/databases.ts). The schema comes from the library's migrations.
 */
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
// Imported module by module, not from the package entry: the entry loads the Nest module (ESM-only
// packages), and this suite must also run under a plain `npx jest` without --experimental-vm-modules.
import { ALIPAY_AUTH_ENTITIES } from 'nestjs-alipay-auth/typeorm/alipay-authorization.entity';
import type { AlipayAuthorization, AlipayAuthorizationStatus, AlipayIssuedTokens, AlipayRefreshFailure } from 'nestjs-alipay-auth/storage/alipay-token-store';
import { alipayAuthMigrations } from 'nestjs-alipay-auth/typeorm/migrations/alipay-auth-migrations';
import { alipayAuthorizationsTable, alipayMaintenanceTable, AlipayAuthDatabaseType } from 'nestjs-alipay-auth/typeorm/sql-dialect';
import { AlipayTokenCipher } from 'nestjs-alipay-auth/storage/token-cipher';
import { createTypeOrmTokenStore, TypeOrmAlipayTokenStore } from 'nestjs-alipay-auth/typeorm/typeorm-token.store';
import { createIsolatedDatabase, IsolatedDatabase, TestEngine, testDatabaseEngines } from '../support/databases';

const engines = testDatabaseEngines();

const APP = '2021004100000001';
const OTHER_APP = '2021004100000002';
const T0 = Date.UTC(2025, 0, 15, 8, 30, 0, 123);
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const at = (offset: number) => new Date(T0 + offset);

const k1 = { id: 'k1', key: randomBytes(32) };
const k2 = { id: 'k2', key: randomBytes(32) };

let seq = 0;
/** A token pair whose values are unique and easy to search for in raw rows. */
function tokens(overrides: Partial<AlipayIssuedTokens> = {}): AlipayIssuedTokens {
  seq++;
  return {
    appAuthToken: `202501BBsecretAccess${seq}x${randomBytes(6).toString('hex')}`,
    appRefreshToken: `202501BBsecretRefresh${seq}x${randomBytes(6).toString('hex')}`,
    expiresAt: at(300 * DAY + 7),
    refreshExpiresAt: at(330 * DAY + 9),
    issuedAt: at(0),
    ...overrides,
  };
}

const merchant = (i: number) => `20880000${String(i).padStart(8, '0')}`;

describe.each(engines)('TypeOrmAlipayTokenStore on %s', (engine: TestEngine) => {
  let db: IsolatedDatabase;
  let ds: DataSource;
  const extra: DataSource[] = [];
  let nowMs = T0;
  const clock = () => nowMs;
  let store: TypeOrmAlipayTokenStore;
  let table: string;
  let type: AlipayAuthDatabaseType;

  async function open(): Promise<DataSource> {
    const d = new DataSource(db.options({ entities: ALIPAY_AUTH_ENTITIES, logging: false }));
    await d.initialize();
    extra.push(d);
    return d;
  }

  /** Saves over whatever is stored (decided on the current row). */
  async function save(authAppId: string, t: AlipayIssuedTokens = tokens(), extras: { userId?: string | null; authorizedAt?: Date; appId?: string } = {}) {
    const appId = extras.appId ?? APP;
    const row = await store.saveAuthorization({
      appId,
      authAppId,
      userId: extras.userId === undefined ? '2088000000000001' : extras.userId,
      tokens: t,
      authorizedAt: extras.authorizedAt ?? at(0),
      expectedVersion: (await store.find(appId, authAppId))?.version ?? null,
    });
    if (!row) throw new Error(`saveAuthorization of ${authAppId} lost a race no one ran`);
    return row;
  }
  const version = async (authAppId: string) => (await store.find(APP, authAppId))?.version ?? 0;
  const setStatus = async (authAppId: string, next: AlipayAuthorizationStatus, reason: string | null) =>
    store.setStatus(APP, authAppId, await version(authAppId), next, reason);
  const recordFailure = async (authAppId: string, failure: AlipayRefreshFailure) => store.recordFailure(APP, authAppId, await version(authAppId), failure);
  const markChecked = async (authAppId: string, checkedAt: Date) => store.markChecked(APP, authAppId, await version(authAppId), checkedAt);

  /** Sets columns directly (test set-up of states the API reaches only through many steps). */
  async function patch(authAppId: string, columns: Record<string, string | number | null>) {
    const names = Object.keys(columns);
    const [sql, params] = ds.driver.escapeQueryWithParameters(
      `UPDATE ${table} SET ${names.map((n) => `${n} = :${n}`).join(', ')} WHERE app_id = :appId AND auth_app_id = :authAppId`,
      { ...columns, appId: APP, authAppId },
    );
    await ds.query(sql, params);
  }

  beforeAll(async () => {
    db = await createIsolatedDatabase(engine, 'storage');
    const options = db.options({ entities: ALIPAY_AUTH_ENTITIES, logging: false });
    type = options.type as AlipayAuthDatabaseType;
    ds = new DataSource({ ...options, migrations: alipayAuthMigrations(type), migrationsTableName: 'alipay_test_migrations' });
    await ds.initialize();
    await ds.runMigrations({ transaction: 'each' });
    table = alipayAuthorizationsTable(ds);
    store = new TypeOrmAlipayTokenStore(ds, new AlipayTokenCipher([k1]), clock);
  });

  afterAll(async () => {
    for (const d of extra) if (d.isInitialized) await d.destroy();
    if (ds?.isInitialized) await ds.destroy();
    await db?.drop();
  });

  beforeEach(async () => {
    nowMs = T0;
    await ds.query(`DELETE FROM ${table}`);
  });

  it('runs the migrations: the schema matches the entity, and down/up round-trips', async () => {
    const pending = async () => (await ds.driver.createSchemaBuilder().log()).upQueries.map((q) => q.query);
    expect(await pending()).toEqual([]);
    expect(ds.getMetadata(ALIPAY_AUTH_ENTITIES[0]).tableName).toBe('alipay_app_authorizations');

    // The check is not vacuous: a missing index shows up as a pending query.
    await ds.query(type === 'mariadb' ? `DROP INDEX \`IDX_alipay_auth_authorized\` ON ${table}` : `DROP INDEX "IDX_alipay_auth_authorized"`);
    expect((await pending()).join('\n')).toContain('IDX_alipay_auth_authorized');

    // An upgrade of the shipped schema with data in it: rows, back to the first migration's schema,
    // then the later migrations again; the rows read back whole, with nothing in doubt, and the status
    // check claims them in the order their checks (or requests) give.
    const tablePath = ds.getMetadata(ALIPAY_AUTH_ENTITIES[0]).tablePath;
    const qr = ds.createQueryRunner();
    const [, verification, scale, consoleIndexes, lastFailure] = alipayAuthMigrations(type).map((M) => new M().name);
    try {
      const t = tokens();
      await save('before-upgrade', t);
      await save('checked-long-ago');
      await markChecked('checked-long-ago', at(-3 * DAY));
      await save('asked');
      await store.requestStatusCheck(APP, { authAppId: 'asked' });
      await save('failing');
      nowMs = T0 + 7;
      await recordFailure('failing', { errorCode: 'isp.unknow-error', nextAttemptAt: at(HOUR) });
      nowMs = T0;
      // The last failure, the operators' list indexes, the scale migration, then the verification one.
      await ds.undoLastMigration({ transaction: 'each' });
      expect(await qr.hasColumn(tablePath, 'last_failure_at')).toBe(false);
      await ds.undoLastMigration({ transaction: 'each' });
      expect((await pending()).join('\n')).toContain('IDX_alipay_auth_failures');
      await ds.undoLastMigration({ transaction: 'each' });
      expect(await qr.hasColumn(tablePath, 'check_due_at')).toBe(false);
      await ds.undoLastMigration({ transaction: 'each' });
      expect(await qr.hasColumn(tablePath, 'verify_at')).toBe(false);
      expect(Number((await ds.query(`SELECT COUNT(*) AS n FROM ${table}`))[0].n)).toBe(4);
      expect((await ds.runMigrations({ transaction: 'each' })).map((m) => m.name)).toEqual([verification, scale, consoleIndexes, lastFailure]);
      // A row failing at the upgrade gets its last write as its last failure; the others none.
      expect(await store.find(APP, 'failing')).toMatchObject({ failureCount: 1, lastFailureAt: at(7) });
      expect((await store.list(APP, {}, { order: 'lastFailure' })).items.map((r) => r.authAppId)).toEqual([
        'failing',
        'asked',
        'checked-long-ago',
        'before-upgrade',
      ]);
      expect(await store.find(APP, 'before-upgrade')).toMatchObject({
        appAuthToken: t.appAuthToken,
        appRefreshToken: t.appRefreshToken,
        verifyAt: null,
        lastFailureAt: null,
        unreadable: null,
        version: 1,
      });
      const checks = await store.claimStatusCheckDue(APP, at(-DAY), { owner: 'x', ms: MIN }, 10);
      expect(checks.map((r) => r.authAppId)).toEqual(['asked', 'checked-long-ago']);
      for (const r of checks) await store.releaseLease(APP, r.authAppId, 'x');
      await recordFailure('before-upgrade', { errorCode: 'network-timeout', nextAttemptAt: at(0), verify: true });
      expect(
        (await store.claimDue(APP, { now: at(0), expiresBefore: at(0), refreshExpiresBefore: at(0), issuedBefore: null }, { owner: 'x', ms: MIN }, 10)).map(
          (r) => r.authAppId,
        ),
      ).toEqual(['before-upgrade']);

      for (let i = 0; i < alipayAuthMigrations(type).length; i++) await ds.undoLastMigration({ transaction: 'each' });
      expect(await qr.hasTable(tablePath)).toBe(false);
    } finally {
      await qr.release();
    }
    const ran = await ds.runMigrations({ transaction: 'each' });
    expect(ran.map((m) => m.name)).toEqual(alipayAuthMigrations(type).map((M) => new M().name));
    expect(await pending()).toEqual([]);
  });

  it('saves and finds an authorization, Dates exact to the millisecond', async () => {
    const t = tokens({ expiresAt: at(DAY + 1), refreshExpiresAt: at(30 * DAY + 999), issuedAt: at(-457) });
    nowMs = T0 + 5;
    const saved = await save(merchant(1), t, { authorizedAt: at(-451) });
    const found = await store.find(APP, merchant(1));
    const expected: AlipayAuthorization = {
      appId: APP,
      authAppId: merchant(1),
      userId: '2088000000000001',
      appAuthToken: t.appAuthToken,
      appRefreshToken: t.appRefreshToken,
      expiresAt: at(DAY + 1),
      refreshExpiresAt: at(30 * DAY + 999),
      tokenIssuedAt: at(-457),
      status: 'active',
      statusReason: null,
      authorizedAt: at(-451),
      lastRefreshedAt: null,
      // An exchange proves the authorization valid: it counts as a status check.
      lastCheckedAt: at(5),
      failureCount: 0,
      lastErrorCode: null,
      lastFailureAt: null,
      nextAttemptAt: null,
      verifyAt: null,
      // 30 days (the default refresh-ahead window) before the earlier expiry.
      dueAt: at(DAY + 1 - 30 * DAY),
      unreadable: null,
      version: 1,
      leaseOwner: null,
      leaseUntil: null,
      createdAt: at(5),
      updatedAt: at(5),
    };
    expect(saved).toEqual(expected);
    expect(found).toEqual(expected);
    expect(found!.expiresAt!.getTime()).toBe(T0 + DAY + 1);
    expect(await store.find(APP, merchant(2))).toBeNull();
    expect(await store.find(OTHER_APP, merchant(1))).toBeNull();

    // Null expiries and user id.
    const open = await save(merchant(2), tokens({ expiresAt: null, refreshExpiresAt: null }), { userId: null });
    expect(open).toMatchObject({ expiresAt: null, refreshExpiresAt: null, userId: null });
  });

  it('never stores a token in clear: the raw row holds only v1 ciphertext', async () => {
    const t = tokens();
    await save(merchant(1), t);
    const rows: Array<Record<string, unknown>> = await ds.query(`SELECT * FROM ${table}`);
    expect(rows).toHaveLength(1);
    const raw = JSON.stringify(rows);
    for (const secret of [t.appAuthToken, t.appRefreshToken]) {
      expect(raw).not.toContain(secret);
      expect(raw).not.toContain('secret');
      expect(raw).not.toContain(Buffer.from(secret).toString('base64'));
      expect(raw).not.toContain(Buffer.from(secret).toString('base64url'));
      expect(raw).not.toContain(Buffer.from(secret).toString('hex'));
    }
    expect(String(rows[0].app_auth_token_enc)).toMatch(/^v1\.k1\./);
    expect(String(rows[0].app_refresh_token_enc)).toMatch(/^v1\.k1\./);
    expect(rows[0].app_auth_token_enc).not.toEqual(rows[0].app_refresh_token_enc);
  });

  it('without a key stores visibly-unencrypted v0 values', async () => {
    const plain = new TypeOrmAlipayTokenStore(ds, new AlipayTokenCipher([]), clock);
    const t = tokens();
    await plain.saveAuthorization({ appId: APP, authAppId: merchant(1), userId: null, tokens: t, authorizedAt: at(0), expectedVersion: null });
    const [row] = await ds.query(`SELECT app_auth_token_enc FROM ${table}`);
    expect(String(row.app_auth_token_enc)).toMatch(/^v0\./);
    // A keyed store still reads it (and would encrypt on the next write).
    expect((await store.find(APP, merchant(1)))!.appAuthToken).toBe(t.appAuthToken);
  });

  it('upserts: a new authorization replaces the tokens and reactivates the row', async () => {
    const first = await save(merchant(1));
    await recordFailure(merchant(1), { errorCode: 'isp.unknow-error', nextAttemptAt: at(HOUR) });
    await store.tryLease(APP, merchant(1), { owner: 'node-a', ms: MIN });
    await markChecked(merchant(1), at(10));
    const cancelled = await setStatus(merchant(1), 'cancelled', 'merchant cancelled');
    expect(cancelled!.version).toBe(first.version + 1);

    nowMs = T0 + DAY;
    const t = tokens({ issuedAt: at(DAY) });
    const again = await save(merchant(1), t, { userId: null, authorizedAt: at(DAY) });
    expect(again).toMatchObject({
      appAuthToken: t.appAuthToken,
      appRefreshToken: t.appRefreshToken,
      status: 'active',
      statusReason: null,
      failureCount: 0,
      lastErrorCode: null,
      nextAttemptAt: null,
      leaseOwner: null,
      leaseUntil: null,
      lastCheckedAt: at(DAY),
      lastRefreshedAt: null,
      tokenIssuedAt: at(DAY),
      authorizedAt: at(DAY),
      userId: '2088000000000001', // kept when the new exchange carries none
      version: cancelled!.version + 1,
      createdAt: first.createdAt,
      updatedAt: at(DAY),
    });
    const [{ n }] = await ds.query(`SELECT COUNT(*) AS n FROM ${table}`);
    expect(Number(n)).toBe(1);
  });

  it('two processes inserting the same merchant at once: one row, one winner, the loser told', async () => {
    const [a, b] = [await open(), await open()];
    const sa = new TypeOrmAlipayTokenStore(a, new AlipayTokenCipher([k1]), clock);
    const sb = new TypeOrmAlipayTokenStore(b, new AlipayTokenCipher([k1]), clock);
    for (let i = 0; i < 5; i++) {
      const id = merchant(100 + i);
      const [ta, tb] = [tokens(), tokens()];
      const results = await Promise.all([
        sa.saveAuthorization({ appId: APP, authAppId: id, userId: null, tokens: ta, authorizedAt: at(0), expectedVersion: null }),
        sb.saveAuthorization({ appId: APP, authAppId: id, userId: null, tokens: tb, authorizedAt: at(0), expectedVersion: null }),
      ]);
      const winners = results.filter((r): r is AlipayAuthorization => r !== null);
      expect(winners).toHaveLength(1);
      const final = await store.find(APP, id);
      expect(final!.appAuthToken).toBe(winners[0].appAuthToken);
      expect(final!.version).toBe(1);
    }
    const [{ n }] = await ds.query(`SELECT COUNT(*) AS n FROM ${table}`);
    expect(Number(n)).toBe(5);
  });

  it('saveRefreshed is a compare-and-set: of two writers at the same version exactly one wins', async () => {
    const row = await save(merchant(1));
    const [a, b] = [await open(), await open()];
    const sa = new TypeOrmAlipayTokenStore(a, new AlipayTokenCipher([k1]), clock);
    const sb = new TypeOrmAlipayTokenStore(b, new AlipayTokenCipher([k1]), clock);
    const [ta, tb] = [tokens({ issuedAt: at(HOUR) }), tokens({ issuedAt: at(HOUR) })];
    const results = await Promise.all([sa.saveRefreshed(APP, merchant(1), row.version, ta), sb.saveRefreshed(APP, merchant(1), row.version, tb)]);
    const winners = results.filter((r): r is AlipayAuthorization => r !== null);
    expect(winners).toHaveLength(1);
    const final = await store.find(APP, merchant(1));
    expect(final).toEqual(winners[0]);
    expect(final!.version).toBe(row.version + 1);
    expect([ta.appAuthToken, tb.appAuthToken]).toContain(final!.appAuthToken);
    // The stale version loses again; the current one wins.
    expect(await store.saveRefreshed(APP, merchant(1), row.version, tokens())).toBeNull();
    expect(await store.saveRefreshed(APP, merchant(1), final!.version, tokens())).not.toBeNull();
  });

  it('saveRefreshed replaces tokens, clears failure state and the lease, and needs an active row', async () => {
    const row = await save(merchant(1));
    await recordFailure(merchant(1), { errorCode: 'isv.code-invalid', nextAttemptAt: at(HOUR) });
    await store.tryLease(APP, merchant(1), { owner: 'node-a', ms: MIN });
    nowMs = T0 + 42;
    const t = tokens({ expiresAt: at(365 * DAY), refreshExpiresAt: null, issuedAt: at(40) });
    const refreshed = await store.saveRefreshed(APP, merchant(1), row.version, t);
    expect(refreshed).toMatchObject({
      appAuthToken: t.appAuthToken,
      appRefreshToken: t.appRefreshToken,
      expiresAt: at(365 * DAY),
      refreshExpiresAt: null,
      tokenIssuedAt: at(40),
      lastRefreshedAt: at(42),
      updatedAt: at(42),
      failureCount: 0,
      lastErrorCode: null,
      nextAttemptAt: null,
      leaseOwner: null,
      leaseUntil: null,
      version: row.version + 1,
      authorizedAt: row.authorizedAt,
    });
    const revoked = await setStatus(merchant(1), 'revoked', null);
    expect(await store.saveRefreshed(APP, merchant(1), revoked!.version, tokens())).toBeNull();
    expect(await store.saveRefreshed(APP, merchant(9), 1, tokens())).toBeNull();
  });

  describe('claimDue', () => {
    const criteria = (issuedBefore: Date | null = at(-30 * DAY)) => ({
      now: at(0),
      expiresBefore: at(10 * DAY),
      refreshExpiresBefore: at(20 * DAY),
      issuedBefore,
    });
    const far = at(100 * DAY);

    async function claimedIds(c: ReturnType<typeof criteria>, owner = 'node-a', limit = 100) {
      const rows = await store.claimDue(APP, c, { owner, ms: 2 * MIN }, limit);
      for (const r of rows) await store.releaseLease(APP, r.authAppId, owner);
      return rows.map((r) => r.authAppId);
    }

    it('selects by each criterion alone', async () => {
      await save('expires', tokens({ expiresAt: at(5 * DAY), refreshExpiresAt: far }));
      await save('expires-edge', tokens({ expiresAt: at(10 * DAY), refreshExpiresAt: far }));
      await save('expires-later', tokens({ expiresAt: at(10 * DAY + 1), refreshExpiresAt: far }));
      await save('refresh', tokens({ expiresAt: far, refreshExpiresAt: at(15 * DAY) }));
      await save('refresh-edge', tokens({ expiresAt: far, refreshExpiresAt: at(20 * DAY) }));
      await save('refresh-later', tokens({ expiresAt: null, refreshExpiresAt: at(20 * DAY + 1) }));
      await save('old', tokens({ expiresAt: far, refreshExpiresAt: far, issuedAt: at(-40 * DAY) }));
      await save('old-edge', tokens({ expiresAt: null, refreshExpiresAt: null, issuedAt: at(-30 * DAY) }));
      await save('young', tokens({ expiresAt: null, refreshExpiresAt: null, issuedAt: at(-30 * DAY + 1) }));

      expect((await claimedIds(criteria())).sort()).toEqual(['expires', 'expires-edge', 'old', 'old-edge', 'refresh', 'refresh-edge'].sort());
      expect((await claimedIds(criteria(null))).sort()).toEqual(['expires', 'expires-edge', 'refresh', 'refresh-edge'].sort());
      // Only one criterion in reach at a time.
      expect(await claimedIds({ ...criteria(null), refreshExpiresBefore: at(-DAY) })).toEqual(['expires', 'expires-edge']);
      expect((await claimedIds({ ...criteria(null), expiresBefore: at(-DAY) })).sort()).toEqual(['refresh', 'refresh-edge']);
      expect((await claimedIds({ ...criteria(), expiresBefore: at(-DAY), refreshExpiresBefore: at(-DAY) })).sort()).toEqual(['old', 'old-edge']);
    });

    it('leases the rows, most urgent first, up to the limit, without moving the version', async () => {
      for (let i = 0; i < 6; i++) await save(`m${i}`, tokens({ expiresAt: at((6 - i) * DAY), refreshExpiresAt: far }));
      await save('by-refresh', tokens({ expiresAt: null, refreshExpiresAt: at(DAY) }));
      const before = await store.databaseNow();
      const rows = await store.claimDue(APP, criteria(), { owner: 'node-a', ms: 2 * MIN + 7 }, 4);
      const after = await store.databaseNow();
      expect(rows.map((r) => r.authAppId)).toEqual(['m5', 'm4', 'm3', 'm2']);
      // The lease runs on the database's clock, whatever the instance clock says.
      for (const r of rows) {
        expect(r).toMatchObject({ leaseOwner: 'node-a', version: 1 });
        expect(r.leaseUntil!.getTime()).toBeGreaterThanOrEqual(before + 2 * MIN + 7);
        expect(r.leaseUntil!.getTime()).toBeLessThanOrEqual(after + 2 * MIN + 7);
      }
      expect(await store.find(APP, 'm5')).toMatchObject({ leaseOwner: 'node-a', leaseUntil: rows[0].leaseUntil, version: 1 });
      const rest = await store.claimDue(APP, criteria(), { owner: 'node-b', ms: 2 * MIN }, 10);
      expect(rest.map((r) => r.authAppId)).toEqual(['m1', 'm0', 'by-refresh']);
      expect(await store.claimDue(APP, criteria(), { owner: 'node-c', ms: 2 * MIN }, 10)).toEqual([]);
      expect(await store.claimDue(APP, criteria(), { owner: 'node-c', ms: 2 * MIN }, 0)).toEqual([]);
    });

    it('respects nextAttemptAt, skips non-active rows, leased rows and other apps', async () => {
      const due = { expiresAt: at(DAY), refreshExpiresAt: far };
      await save('backoff', tokens(due));
      await recordFailure('backoff', { errorCode: 'aop.SYSTEM_ERROR', nextAttemptAt: at(1) });
      await save('backoff-over', tokens(due));
      await recordFailure('backoff-over', { errorCode: 'aop.SYSTEM_ERROR', nextAttemptAt: at(0) });
      for (const s of ['reauthorization_required', 'revoked', 'cancelled'] as AlipayAuthorizationStatus[]) {
        await save(s, tokens(due));
        await setStatus(s, s, 'test');
      }
      await save('leased', tokens(due));
      await store.tryLease(APP, 'leased', { owner: 'node-x', ms: MIN });
      await save('lease-expired', tokens(due));
      await store.tryLease(APP, 'lease-expired', { owner: 'node-x', ms: 0 });
      await save('other-app', tokens(due), { appId: OTHER_APP });
      // Not due at all, but a failed (e.g. forced) refresh whose back-off has ended: retried all the same.
      const notDue = { expiresAt: far, refreshExpiresAt: far };
      await save('retry-not-due', tokens(notDue));
      await recordFailure('retry-not-due', { errorCode: 'network-timeout', nextAttemptAt: at(0), verify: true });
      await save('retry-later', tokens(notDue));
      await recordFailure('retry-later', { errorCode: 'network-timeout', nextAttemptAt: at(1) });
      await save('not-due', tokens(notDue));
      await new Promise((r) => setTimeout(r, 5));

      expect((await claimedIds(criteria())).sort()).toEqual(['backoff-over', 'lease-expired', 'retry-not-due']);
      // A live lease holds whatever the instance's clock says.
      expect((await claimedIds({ ...criteria(), now: at(HOUR) })).sort()).toEqual(['backoff', 'backoff-over', 'lease-expired', 'retry-later', 'retry-not-due']);
    });

    it('lets another owner re-claim a row whose lease expired', async () => {
      await save('m1', tokens({ expiresAt: at(DAY) }));
      const a = await store.claimDue(APP, criteria(), { owner: 'node-a', ms: 300 }, 10);
      expect(a).toHaveLength(1);
      // An instance whose clock runs 10 minutes ahead still sees the lease.
      expect(await store.claimDue(APP, { ...criteria(), now: at(10 * MIN) }, { owner: 'node-b', ms: 3 * MIN }, 10)).toEqual([]);
      await new Promise((r) => setTimeout(r, 350));
      const b = await store.claimDue(APP, criteria(), { owner: 'node-b', ms: 3 * MIN }, 10);
      expect(b.map((r) => [r.authAppId, r.leaseOwner])).toEqual([['m1', 'node-b']]);
      // node-a's late release and failure must not free node-b's lease.
      await store.releaseLease(APP, 'm1', 'node-a');
      await recordFailure('m1', { errorCode: 'x', nextAttemptAt: null, owner: 'node-a' });
      expect(await store.find(APP, 'm1')).toMatchObject({ leaseOwner: 'node-b', leaseUntil: b[0].leaseUntil });
    });

    it('never hands a row to two of three concurrent claimers (300 rows, batches of 25)', async () => {
      const n = 300;
      await Promise.all(
        Array.from({ length: 6 }, async (_, w) => {
          for (let i = w; i < n; i += 6) await save(merchant(i), tokens({ expiresAt: at(((i * 7919) % 1000) * MIN), refreshExpiresAt: far }));
        }),
      );
      const sources = [await open(), await open(), await open()];
      const started = Date.now();
      const claimed = await Promise.all(
        sources.map(async (d, c) => {
          const s = new TypeOrmAlipayTokenStore(d, new AlipayTokenCipher([k1]), clock);
          const mine: string[] = [];
          for (;;) {
            const batch = await s.claimDue(APP, criteria(), { owner: `claimer-${c}`, ms: 10 * MIN }, 25);
            if (!batch.length) break;
            expect(batch.length).toBeLessThanOrEqual(25);
            for (const r of batch) expect(r.leaseOwner).toBe(`claimer-${c}`);
            mine.push(...batch.map((r) => r.authAppId));
          }
          return mine;
        }),
      );
      const all = claimed.flat();
      expect(all).toHaveLength(n);
      expect(new Set(all).size).toBe(n);
      const rows: Array<{ auth_app_id: string; lease_owner: string }> = await ds.query(`SELECT auth_app_id, lease_owner FROM ${table}`);
      const owners = new Map(rows.map((r) => [r.auth_app_id, r.lease_owner]));
      claimed.forEach((ids, c) => ids.forEach((id) => expect(owners.get(id)).toBe(`claimer-${c}`)));
      console.log(`[${engine}] 3 claimers over ${n} rows: ${claimed.map((c) => c.length).join(' / ')} in ${Date.now() - started} ms`);
    });
  });

  it('keeps due_at (refresh window or retry time) and claims by it alone when the criteria are its windows', async () => {
    const window = { refreshAheadMs: 10 * DAY, refreshTokenSafetyMs: 20 * DAY, maxTokenAgeMs: 0 };
    const w = new TypeOrmAlipayTokenStore(ds, new AlipayTokenCipher([k1]), clock, window);
    const criteria = { now: at(0), expiresBefore: at(10 * DAY), refreshExpiresBefore: at(20 * DAY), issuedBefore: null };
    const save = (id: string, t: AlipayIssuedTokens) =>
      w.saveAuthorization({ appId: APP, authAppId: id, userId: null, tokens: t, authorizedAt: at(0), expectedVersion: null });
    expect((await save('by-expiry', tokens({ expiresAt: at(5 * DAY), refreshExpiresAt: at(100 * DAY) })))!.dueAt).toEqual(at(-5 * DAY));
    expect((await save('by-refresh', tokens({ expiresAt: null, refreshExpiresAt: at(15 * DAY) })))!.dueAt).toEqual(at(-5 * DAY));
    expect((await save('later', tokens({ expiresAt: at(11 * DAY), refreshExpiresAt: at(100 * DAY) })))!.dueAt).toEqual(at(DAY));
    await save('retry', tokens({ expiresAt: at(100 * DAY), refreshExpiresAt: at(100 * DAY) }));
    await w.recordFailure(APP, 'retry', 1, { errorCode: 'x', nextAttemptAt: at(-1) });
    expect((await w.find(APP, 'retry'))!.dueAt).toEqual(at(-1));
    // The fast path reads due_at alone: a stale due_at hides a due row until it is re-computed...
    await patch('by-refresh', { due_at: T0 + 999 * DAY });
    const claimIds = async () => {
      const rows = await w.claimDue(APP, criteria, { owner: 'a', ms: MIN }, 10);
      for (const r of rows) await w.releaseLease(APP, r.authAppId, 'a');
      return rows.map((r) => r.authAppId).sort();
    };
    expect(await claimIds()).toEqual(['by-expiry', 'retry']);
    // ...which start-up does for the configured windows (rows waiting for a retry keep their retry time).
    expect(await w.syncDueAt(APP)).toBe(1);
    expect(await claimIds()).toEqual(['by-expiry', 'by-refresh', 'retry']);
    expect(await w.syncDueAt(APP)).toBe(0);
    // Other criteria still get the three-way condition.
    expect((await w.claimDue(APP, { ...criteria, expiresBefore: at(12 * DAY) }, { owner: 'b', ms: MIN }, 10)).map((r) => r.authAppId).sort()).toEqual([
      'by-expiry',
      'by-refresh',
      'later',
      'retry',
    ]);
  });

  it('re-applies changed refresh windows once for the cluster, in batches under a lease; interrupted half-way, another instance resumes', async () => {
    await ds.query(`DELETE FROM ${alipayMaintenanceTable(ds)}`);
    const ids = Array.from({ length: 40 }, (_, i) => merchant(i));
    for (const id of ids) await save(id, tokens({ expiresAt: at(200 * DAY), refreshExpiresAt: at(400 * DAY) }));
    // A retry time is kept whatever the windows.
    await recordFailure(ids[3], { errorCode: 'x', nextAttemptAt: at(HOUR) });
    // First boot: the windows are recorded (the rows already follow them); later boots read one row.
    expect(await store.applyRefreshWindows(APP, { owner: 'a' })).toEqual({ state: 'applied', changed: 0 });
    expect(await store.applyRefreshWindows(APP, { owner: 'a' })).toEqual({ state: 'current', changed: 0 });

    // A deploy with a 60-day window: the first instance applies two batches of 10 ids, then stops (a crash).
    const wider = { refreshAheadMs: 60 * DAY };
    const b = new TypeOrmAlipayTokenStore(ds, new AlipayTokenCipher([k1]), clock, wider);
    const c = new TypeOrmAlipayTokenStore(ds, new AlipayTokenCipher([k1]), clock, wider);
    expect(await b.applyRefreshWindows(APP, { owner: 'b', batchSize: 10, maxBatches: 2, leaseMs: 500 })).toEqual({ state: 'paused', changed: 19 });
    const dueAts = async () => Promise.all(ids.map(async (id) => (await store.find(APP, id))!.dueAt!.getTime() - T0));
    const applied = (n: number) => ids.map((_, i) => (i === 3 ? HOUR : i < n ? 140 * DAY : 170 * DAY));
    expect(await dueAts()).toEqual(applied(20));
    // Its lease still holds: another instance leaves the task alone.
    expect(await c.applyRefreshWindows(APP, { owner: 'c', batchSize: 10 })).toEqual({ state: 'busy', changed: 0 });
    expect(await dueAts()).toEqual(applied(20));
    // Once it runs out, the next instance resumes where the first stopped: only the remaining rows are written.
    await new Promise((r) => setTimeout(r, 600));
    expect(await c.applyRefreshWindows(APP, { owner: 'c', batchSize: 10 })).toEqual({ state: 'applied', changed: 20 });
    expect(await dueAts()).toEqual(applied(40));
    for (const [s, owner] of [
      [b, 'b'],
      [c, 'c'],
    ] as const)
      expect(await s.applyRefreshWindows(APP, { owner })).toEqual({ state: 'current', changed: 0 });
    // Start-up's key check reads a sample, not the table.
    expect(await store.sampleUnknownKeyRows(10)).toEqual({ sampled: 20, unknown: 0 });
    expect(await new TypeOrmAlipayTokenStore(ds, new AlipayTokenCipher([k2]), clock).sampleUnknownKeyRows(10)).toEqual({ sampled: 20, unknown: 20 });
  });

  it("re-applies windows by compare-and-set on each row's version: rows written between its read and its write keep what their writer wrote", async () => {
    await ds.query(`DELETE FROM ${alipayMaintenanceTable(ds)}`);
    const ids = Array.from({ length: 12 }, (_, i) => merchant(i));
    for (const id of ids) await save(id, tokens({ expiresAt: at(200 * DAY), refreshExpiresAt: at(400 * DAY) }));
    expect(await store.applyRefreshWindows(APP, { owner: 'a' })).toEqual({ state: 'applied', changed: 0 });
    // The instance applying wider windows runs on its own connection; between its batch's read and its write,
    // other writers (on the former windows) refresh one row, record a failure on another, check a third.
    const own = await open();
    const runner = own.createQueryRunner.bind(own);
    let writes = 0;
    const wrapped = new WeakSet<object>();
    own.createQueryRunner = (...args: Parameters<typeof runner>) => {
      const qr = runner(...args);
      // SQLite hands out one runner for its one connection: wrapped once.
      if (wrapped.has(qr)) return qr;
      wrapped.add(qr);
      const query = qr.query.bind(qr);
      qr.query = (async (sql: string, ...rest: unknown[]) => {
        if (/SET due_at = CASE/.test(sql) && writes++ === 0) {
          await store.saveRefreshed(APP, ids[5], await version(ids[5]), tokens({ expiresAt: at(250 * DAY), refreshExpiresAt: at(400 * DAY) }));
          await recordFailure(ids[6], { errorCode: 'network-timeout', nextAttemptAt: at(HOUR) });
          await markChecked(ids[7], at(0));
        }
        return (query as (...a: unknown[]) => Promise<unknown>)(sql, ...rest);
      }) as typeof qr.query;
      return qr;
    };
    const wider = new TypeOrmAlipayTokenStore(own, new AlipayTokenCipher([k1]), clock, { refreshAheadMs: 60 * DAY });
    expect(await wider.applyRefreshWindows(APP, { owner: 'w' })).toEqual({ state: 'applied', changed: 10 });
    expect(writes).toBe(1);
    const dueAts = await Promise.all(ids.map(async (id) => (await store.find(APP, id))!.dueAt!.getTime() - T0));
    // The refreshed row keeps its writer's due_at (250 - 30 days), the failed one its retry time; a check
    // changes no version, so that row gets the new windows like the rest (200 - 60 days).
    expect(dueAts).toEqual(ids.map((_, i) => (i === 5 ? 220 * DAY : i === 6 ? HOUR : 140 * DAY)));
  });

  it('a scheduled refresh decrypts its row once: the claim opens the pair, the re-lease and the write read it back without decrypting', async () => {
    await save('m1', tokens({ expiresAt: at(DAY), refreshExpiresAt: at(100 * DAY) }));
    const cipher = new AlipayTokenCipher([k1]);
    let opened = 0;
    const decrypt = cipher.decrypt.bind(cipher);
    cipher.decrypt = (value: string, context: string) => (opened++, decrypt(value, context));
    // Another instance (its own memory of values), as the one that claims after a restart.
    const instance = new TypeOrmAlipayTokenStore(ds, cipher, clock);
    const [claimed] = await instance.claimDue(
      APP,
      { now: at(0), expiresBefore: at(30 * DAY), refreshExpiresBefore: at(30 * DAY), issuedBefore: null },
      { owner: 'i', ms: MIN },
      10,
    );
    expect(opened).toBe(2);
    const leased = await instance.tryLease(APP, 'm1', { owner: 'i', ms: MIN });
    expect(leased).toMatchObject({ appAuthToken: claimed.appAuthToken, appRefreshToken: claimed.appRefreshToken });
    const next = tokens();
    expect(await instance.saveRefreshed(APP, 'm1', leased!.version, next)).toMatchObject({
      appAuthToken: next.appAuthToken,
      appRefreshToken: next.appRefreshToken,
    });
    expect(await instance.find(APP, 'm1')).toMatchObject({ appAuthToken: next.appAuthToken });
    expect(opened).toBe(2);
    // A value moved to another row still fails its authentication, remembered or not.
    await save('m2');
    const raw = (await ds.query(`SELECT app_auth_token_enc FROM ${table} WHERE auth_app_id = 'm1'`))[0].app_auth_token_enc;
    await patch('m2', { app_auth_token_enc: raw });
    expect((await instance.find(APP, 'm2'))!.unreadable).not.toBeNull();
  });

  it('claimStatusCheckDue leases active rows not checked since the bound, never-checked first', async () => {
    for (const id of ['never', 'long-ago', 'edge', 'recent', 'inactive', 'leased']) await save(id);
    await markChecked('long-ago', at(-3 * DAY));
    await markChecked('edge', at(-DAY));
    await markChecked('recent', at(-HOUR));
    await patch('never', { last_checked_at: null, check_due_at: 0 });
    await setStatus('inactive', 'cancelled', null);
    await store.tryLease(APP, 'leased', { owner: 'node-x', ms: MIN });
    const rows = await store.claimStatusCheckDue(APP, at(-DAY), { owner: 'checker', ms: 500 }, 10);
    expect(rows.map((r) => r.authAppId)).toEqual(['never', 'long-ago']);
    for (const r of rows) expect(r).toMatchObject({ leaseOwner: 'checker', version: 1 });
    expect(await store.claimStatusCheckDue(APP, at(-DAY), { owner: 'other', ms: MIN }, 10)).toEqual([]);
    await new Promise((r) => setTimeout(r, 600));
    const later = await store.claimStatusCheckDue(APP, at(-DAY + 1), { owner: 'other', ms: 2 * MIN }, 1);
    expect(later.map((r) => r.authAppId)).toEqual(['never']);
  });

  it('tryLease and releaseLease follow the owner', async () => {
    const row = await save('m1');
    const a = await store.tryLease(APP, 'm1', { owner: 'node-a', ms: MIN });
    expect(a).toMatchObject({ authAppId: 'm1', leaseOwner: 'node-a', version: row.version });
    expect(await store.tryLease(APP, 'm1', { owner: 'node-b', ms: MIN })).toBeNull();
    // The holder may extend its own lease.
    const extended = await store.tryLease(APP, 'm1', { owner: 'node-a', ms: 2 * MIN });
    expect(extended!.leaseUntil!.getTime()).toBeGreaterThanOrEqual(a!.leaseUntil!.getTime() + MIN);
    await store.releaseLease(APP, 'm1', 'node-b');
    expect(await store.find(APP, 'm1')).toMatchObject({ leaseOwner: 'node-a' });
    await store.releaseLease(APP, 'm1', 'node-a');
    expect(await store.find(APP, 'm1')).toMatchObject({ leaseOwner: null, leaseUntil: null });
    expect(await store.tryLease(APP, 'm1', { owner: 'node-b', ms: 200 })).toMatchObject({ leaseOwner: 'node-b' });
    expect(await store.tryLease(APP, 'm1', { owner: 'node-a', ms: MIN })).toBeNull();
    // Expired on the database's clock: anyone may take it.
    await new Promise((r) => setTimeout(r, 250));
    expect(await store.tryLease(APP, 'm1', { owner: 'node-a', ms: MIN })).toMatchObject({ leaseOwner: 'node-a' });
    // A holder silent for longer than takeOverAfterMs (no call in flight) can be taken over.
    expect(await store.tryLease(APP, 'm1', { owner: 'node-b', ms: MIN }, { takeOverAfterMs: 10_000 })).toBeNull();
    await new Promise((r) => setTimeout(r, 60));
    expect(await store.tryLease(APP, 'm1', { owner: 'node-b', ms: MIN }, { takeOverAfterMs: 50 })).toMatchObject({ leaseOwner: 'node-b' });
    expect(await store.tryLease(APP, 'missing', { owner: 'node-a', ms: MIN })).toBeNull();
    expect((await store.find(APP, 'm1'))!.version).toBe(row.version);
  });

  it("recordFailure counts, keeps the error code and back-off, and releases only the owner's lease", async () => {
    const row = await save('m1');
    await store.tryLease(APP, 'm1', { owner: 'node-a', ms: MIN });
    nowMs = T0 + 3;
    await recordFailure('m1', { errorCode: 'aop.SYSTEM_ERROR', nextAttemptAt: at(HOUR), owner: 'node-b' });
    expect(await store.find(APP, 'm1')).toMatchObject({
      failureCount: 1,
      lastErrorCode: 'aop.SYSTEM_ERROR',
      nextAttemptAt: at(HOUR),
      leaseOwner: 'node-a',
      updatedAt: at(3),
    });
    await recordFailure('m1', { errorCode: 'x'.repeat(80), nextAttemptAt: null });
    expect(await store.find(APP, 'm1')).toMatchObject({ failureCount: 2, lastErrorCode: 'x'.repeat(64), nextAttemptAt: null, leaseOwner: 'node-a' });
    await recordFailure('m1', { errorCode: 'isv.timeout', nextAttemptAt: at(2 * HOUR), owner: 'node-a' });
    const after = await store.find(APP, 'm1');
    expect(after).toMatchObject({ failureCount: 3, lastErrorCode: 'isv.timeout', nextAttemptAt: at(2 * HOUR), leaseOwner: null, leaseUntil: null });
    // Bookkeeping does not move the version: an in-flight refresh keeps its compare-and-set.
    expect(after!.version).toBe(row.version);
    await recordFailure('missing', { errorCode: 'x', nextAttemptAt: null });
  });

  it('setStatus keeps the row, sets the reason, releases the lease and bumps the version', async () => {
    const row = await save('m1');
    await store.tryLease(APP, 'm1', { owner: 'node-a', ms: MIN });
    nowMs = T0 + 9;
    const r = await setStatus('m1', 'reauthorization_required', 'Alipay refused the refresh token (isv.refresh-token-invalid)');
    expect(r).toMatchObject({
      status: 'reauthorization_required',
      statusReason: 'Alipay refused the refresh token (isv.refresh-token-invalid)',
      leaseOwner: null,
      leaseUntil: null,
      version: row.version + 1,
      updatedAt: at(9),
    });
    expect(r!.appAuthToken).toBe(row.appAuthToken);
    const long = await setStatus('m1', 'revoked', 'é'.repeat(300));
    expect(long!.statusReason).toBe('é'.repeat(255));
    const back = await setStatus('m1', 'active', null);
    expect(back).toMatchObject({ status: 'active', statusReason: null, version: row.version + 3 });
    expect(await setStatus('missing', 'revoked', null)).toBeNull();
    await expect(setStatus('m1', 'bogus' as AlipayAuthorizationStatus, null)).rejects.toThrow(TypeError);
  });

  it('markChecked records the check without moving the version', async () => {
    const row = await save('m1');
    await markChecked('m1', at(77));
    expect(await store.find(APP, 'm1')).toMatchObject({ lastCheckedAt: at(77), version: row.version });
  });

  it('health counts: problem rows exact from their index ranges, totals stored and counted again once stale, by one instance', async () => {
    await ds.query(`DELETE FROM ${alipayMaintenanceTable(ds)}`);
    for (let i = 0; i < 8; i++) await save(merchant(i), tokens({ expiresAt: at((i < 2 ? 5 : 300) * DAY), refreshExpiresAt: at(330 * DAY) }));
    await recordFailure(merchant(2), { errorCode: 'network-timeout', nextAttemptAt: at(HOUR) });
    await recordFailure(merchant(3), { errorCode: 'network-reset', nextAttemptAt: at(HOUR), verify: true });
    await recordFailure(merchant(4), { errorCode: 'row-unreadable', nextAttemptAt: at(HOUR) });
    await setStatus(merchant(5), 'cancelled', null);
    await setStatus(merchant(6), 'revoked', null);
    // Overdue: due (window open) before the bound; merchant(0) and (1) opened their windows 25 days ago.
    // quickCountMs 0: the stored totals as on a large table (a small one is counted at every read, below).
    const read = (maxAge: number, owner = 'a', s: TypeOrmAlipayTokenStore = store) =>
      s.healthCounts(APP, at(-DAY), { owner, totalsMaxAgeMs: maxAge, quickCountMs: 0 });
    const first = await read(60_000);
    expect(first.counts).toEqual({ active: 6, reauthorization_required: 0, revoked: 1, cancelled: 1, failing: 3, verifying: 1, unreadable: 1 });
    expect(first.overdue).toBe(2);
    expect(first.totalsAgeMs).toBeLessThan(60_000);

    // A new row: the problem counts see it at once, the totals once they are older than allowed.
    await save(merchant(8));
    await recordFailure(merchant(8), { errorCode: 'network-timeout', nextAttemptAt: at(HOUR) });
    expect((await read(60_000)).counts).toMatchObject({ active: 6, failing: 4 });
    // Stale for every instance: one count for the cluster (the other finds the lease taken or the totals fresh).
    const other = new TypeOrmAlipayTokenStore(await open(), new AlipayTokenCipher([k1]), clock);
    await Promise.all([read(0, 'a'), read(0, 'b', other)]);
    for (let i = 0; i < 100 && (await read(60_000)).counts.active !== 7; i++) await new Promise((r) => setTimeout(r, 20));
    expect((await read(60_000)).counts).toMatchObject({ active: 7, failing: 4 });
    // With a max age of 0 the second instance may count again right after the first: wait for its lease to end too.
    const task = async () => (await ds.query(`SELECT fingerprint, lease_owner FROM ${alipayMaintenanceTable(ds)} WHERE task = 'row-totals'`))[0];
    for (let i = 0; i < 100 && (await task()).lease_owner !== null; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await task()).toMatchObject({ fingerprint: '7.0.1.1', lease_owner: null });

    // By default a table that counts quickly is counted at every read: a new row is in the totals at once.
    await save(merchant(9));
    await store.healthCounts(APP, at(-DAY), { owner: 'a', totalsMaxAgeMs: 60_000 });
    expect((await store.healthCounts(APP, at(-DAY), { owner: 'a', totalsMaxAgeMs: 60_000 })).counts).toMatchObject({ active: 8, failing: 4 });
  });

  it('lists with filters and pagination, newest authorization first, with the total', async () => {
    const statuses: AlipayAuthorizationStatus[] = ['active', 'active', 'cancelled', 'revoked', 'reauthorization_required'];
    for (let i = 0; i < 120; i++) {
      await save(merchant(i), tokens(), { authorizedAt: at(i * MIN), userId: `20880000000000${String(i % 3).padStart(2, '0')}` });
      if (statuses[i % 5] !== 'active') await setStatus(merchant(i), statuses[i % 5], null);
    }
    await save(merchant(5), tokens(), { appId: OTHER_APP });

    const first = await store.list(APP);
    expect(first.total).toBe(120);
    expect(first.items.map((r) => r.authAppId)).toEqual(Array.from({ length: 50 }, (_, k) => merchant(119 - k)));
    const page = await store.list(APP, {}, { offset: 110, limit: 20 });
    expect(page.items.map((r) => r.authAppId)).toEqual(Array.from({ length: 10 }, (_, k) => merchant(9 - k)));
    expect((await store.list(APP, {}, { limit: 5000 })).items).toHaveLength(120);
    expect(await store.list(APP, {}, { offset: 500 })).toEqual({ items: [], total: 120 });

    const cancelled = await store.list(APP, { status: 'cancelled' }, { limit: 1000 });
    expect(cancelled.total).toBe(24);
    expect(cancelled.items.every((r) => r.status === 'cancelled')).toBe(true);
    const gone = await store.list(APP, { status: ['revoked', 'cancelled'] });
    expect(gone.total).toBe(48);

    const some = await store.list(APP, { authAppIds: [merchant(1), merchant(2), merchant(3), 'nope'] });
    expect(some.items.map((r) => r.authAppId)).toEqual([merchant(3), merchant(2), merchant(1)]);
    expect(await store.list(APP, { authAppIds: [] })).toEqual({ items: [], total: 0 });

    const byUser = await store.list(APP, { userId: '2088000000000001', status: 'active' }, { limit: 1000 });
    expect(byUser.items.every((r) => r.userId === '2088000000000001' && r.status === 'active')).toBe(true);
    expect(byUser.total).toBe(Array.from({ length: 120 }, (_, i) => i).filter((i) => i % 3 === 1 && i % 5 < 2).length);
    expect(byUser.items).toHaveLength(byUser.total);

    expect((await store.list(OTHER_APP)).total).toBe(1);
  });

  it('rotates keys: rows written with k1 read under [k2, k1]; new writes use k2; a moved value fails', async () => {
    const t = tokens();
    const row = await save('m1', t);
    const rotated = createTypeOrmTokenStore(ds, { tokenEncryptionKeys: [k2, k1], clock });
    expect(await rotated.find(APP, 'm1')).toMatchObject({ appAuthToken: t.appAuthToken, appRefreshToken: t.appRefreshToken });

    const t2 = tokens();
    await rotated.saveRefreshed(APP, 'm1', row.version, t2);
    const [raw] = await ds.query(`SELECT app_auth_token_enc, app_refresh_token_enc FROM ${table}`);
    expect(String(raw.app_auth_token_enc)).toMatch(/^v1\.k2\./);
    expect(String(raw.app_refresh_token_enc)).toMatch(/^v1\.k2\./);
    expect((await rotated.find(APP, 'm1'))!.appAuthToken).toBe(t2.appAuthToken);

    // A store without k2 reads the row as unreadable, names the key id and leaks nothing.
    const stale = await store.find(APP, 'm1');
    expect(stale).toMatchObject({ authAppId: 'm1', appAuthToken: '', appRefreshToken: '' });
    expect(stale!.unreadable).toMatch(/^unknown-key: .*"k2"/);
    expect(stale!.unreadable).not.toContain(t2.appAuthToken);
    expect(stale!.unreadable).not.toContain(String(raw.app_auth_token_enc).split('.')[3]);
    expect(await (store as TypeOrmAlipayTokenStore).countUnknownKeyRows()).toBe(1);
    expect(await (rotated as TypeOrmAlipayTokenStore).countUnknownKeyRows()).toBe(0);

    // Ciphertext copied onto another merchant's row does not decrypt (AAD binds it to its row).
    await save('m2');
    await patch('m2', { app_auth_token_enc: String(raw.app_auth_token_enc) });
    expect((await rotated.find(APP, 'm2'))!.unreadable).toMatch(/^authentication-failed/);
    // ... nor when swapped between the two columns of the same row.
    await patch('m1', { app_refresh_token_enc: String(raw.app_auth_token_enc) });
    expect((await rotated.find(APP, 'm1'))!.unreadable).toMatch(/^authentication-failed/);
    // One unreadable row never fails a page. A listing decrypts nothing and returns no token: it names
    // the rows under a key id it lacks; an altered value passes until it is used.
    await save('m3');
    const page = await store.list(APP);
    expect(page.items.map((r) => [r.authAppId, r.unreadable === null])).toEqual([
      ['m3', true],
      ['m2', false],
      ['m1', false],
    ]);
    expect(page.items[2].unreadable).toMatch(/^unknown-key: .*"k2".*column app_auth_token_enc/);
    expect(page.items.some((r) => 'appAuthToken' in r || 'appRefreshToken' in r)).toBe(false);
    expect((await rotated.list(APP)).items.map((r) => r.unreadable)).toEqual([null, null, null]);
  });

  it('re-encrypts every row under the current key in batches, safely beside other writers', async () => {
    const old = createTypeOrmTokenStore(ds, { tokenEncryptionKeys: [k1], clock });
    const plain: Record<string, string> = {};
    for (let i = 0; i < 25; i++) {
      const t = tokens();
      plain[merchant(i)] = t.appAuthToken;
      await old.saveAuthorization({ appId: APP, authAppId: merchant(i), userId: null, tokens: t, authorizedAt: at(0), expectedVersion: null });
    }
    await patch(merchant(3), { app_auth_token_enc: 'v1.k9.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA' });
    const rotated = createTypeOrmTokenStore(ds, { tokenEncryptionKeys: [k2, k1], clock }) as TypeOrmAlipayTokenStore;
    // Two instances at once, small batches: each row is rewritten exactly once.
    const [a, b] = await Promise.all(
      [0, 1].map(async () => {
        const totals = { rewritten: 0, unreadable: 0 };
        for (let after = 0; ;) {
          const r = await rotated.reencryptBatch(after, 4);
          if (r.lastId === null) return totals;
          after = r.lastId;
          totals.rewritten += r.rewritten;
          totals.unreadable += r.unreadable;
        }
      }),
    );
    expect(a.rewritten + b.rewritten).toBe(24);
    expect(a.unreadable).toBe(1);
    const raws: Array<{ auth_app_id: string; app_auth_token_enc: string; app_refresh_token_enc: string }> = await ds.query(
      `SELECT auth_app_id, app_auth_token_enc, app_refresh_token_enc FROM ${table}`,
    );
    for (const r of raws.filter((x) => x.auth_app_id !== merchant(3))) {
      expect(r.app_auth_token_enc).toMatch(/^v1\.k2\./);
      expect(r.app_refresh_token_enc).toMatch(/^v1\.k2\./);
    }
    const onlyK2 = createTypeOrmTokenStore(ds, { tokenEncryptionKeys: [k2], clock });
    expect((await onlyK2.find(APP, merchant(7)))!.appAuthToken).toBe(plain[merchant(7)]);
    expect((await rotated.reencryptBatch(0, 100)).rewritten).toBe(0);
  });
});
