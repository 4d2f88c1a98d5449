import { AlipayAuthError, AlipayStoreUnavailableError, AlipayTokenUnreadableError } from '../errors/alipay-auth.errors';
import { InMemoryAlipayTokenStore } from '../testing/in-memory-token-store';
import type { AlipayTokenStore } from './alipay-token-store';
import { guardTokenStore } from './guarded-token-store';

const SQL = 'SELECT * FROM "alipay_authorizations" WHERE "app_auth_token_hash" = $1';
const TOKEN = '202611BB4f0c1c3e9a5d4e7f8a9b0c1d2e3f4A99';

/** What node-postgres rejects with when an administrator terminates the backend. */
const pgTerminated = () =>
  Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01', severity: 'FATAL', query: SQL, parameters: [TOKEN] });
/** What mysql2 emits when the server goes away. */
const mysqlLost = () => Object.assign(new Error('Connection lost: The server closed the connection.'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true });
/** TypeORM's QueryFailedError: the driver's fields copied onto it, plus the SQL and its parameters. */
const queryFailed = () => {
  const driverError = pgTerminated();
  return Object.assign(new Error(`${driverError.message}`), { name: 'QueryFailedError', query: SQL, parameters: [TOKEN], driverError });
};

class FakeStore {
  readonly kind = 'fake';
  #secret = 'private field';
  failWith?: unknown;
  calls = 0;

  async find(appId: string, authAppId: string) {
    this.calls++;
    if (this.failWith) throw this.failWith;
    return { appId, authAppId, from: this.#secret };
  }

  async countUnknownKeyRows() {
    if (this.failWith) throw this.failWith;
    return 7;
  }

  databaseNow() {
    // Not async: a synchronous failure.
    if (this.failWith) throw this.failWith;
    return Promise.resolve(42);
  }

  get status() {
    return `${this.kind}:${this.#secret}`;
  }
}

const guard = (fake = new FakeStore()) => ({ fake, store: guardTokenStore(fake as unknown as AlipayTokenStore) as unknown as FakeStore });

describe('guardTokenStore', () => {
  it.each([
    ['a pg connection terminated (57P01)', pgTerminated, '57P01'],
    ['a mysql connection lost', mysqlLost, 'PROTOCOL_CONNECTION_LOST'],
    ["TypeORM's QueryFailedError around it", queryFailed, '57P01'],
    ['a refused connection', () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }), 'ECONNREFUSED'],
    ['SQLite busy', () => Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }), 'SQLITE_BUSY'],
    ['an error with no code', () => new Error(`Connection terminated unexpectedly while running ${SQL}`), 'Error'],
    ['a wrapped driver error', () => new Error('pool failed', { cause: mysqlLost() }), 'PROTOCOL_CONNECTION_LOST'],
  ])('%s: AlipayStoreUnavailableError naming the method and the code, the original as cause', async (_what, make, reason) => {
    const { fake, store } = guard();
    const original = make();
    fake.failWith = original;
    const e = (await store.find('2021004100000001', '2021007700000001').catch((x: unknown) => x)) as AlipayStoreUnavailableError;
    expect(e).toBeInstanceOf(AlipayStoreUnavailableError);
    expect(e).toBeInstanceOf(AlipayAuthError);
    expect(e).toMatchObject({ name: 'AlipayStoreUnavailableError', operation: 'find', reason, cause: original });
    expect(e.message).toBe(`Token store unavailable: find failed (${reason})`);
    expect(e.message).not.toMatch(/SELECT|alipay_authorizations|\$1/);
    expect(e.message).not.toContain(TOKEN);
    expect(JSON.stringify(e)).not.toContain(TOKEN);
  });

  it('ignores a code that is not a short identifier (it could carry data)', async () => {
    const { fake, store } = guard();
    fake.failWith = Object.assign(new Error('x'), { code: `duplicate ${TOKEN} in ${SQL}` });
    await expect(store.find('a', 'b')).rejects.toMatchObject({ reason: 'Error', message: 'Token store unavailable: find failed (Error)' });
  });

  it('converts synchronous throws of a method as well', () => {
    const { fake, store } = guard();
    fake.failWith = mysqlLost();
    expect(() => store.databaseNow()).toThrow(AlipayStoreUnavailableError);
  });

  it('TypeError and RangeError (argument checks: the caller’s bug) pass through as they are', async () => {
    const { fake, store } = guard();
    for (const error of [new TypeError('lease.ms must be a non-negative number'), new RangeError('limit')]) {
      fake.failWith = error;
      await expect(store.find('a', 'b')).rejects.toBe(error);
      expect(() => store.databaseNow()).toThrow(error);
    }
  });

  it('the library’s own errors pass through as they are', async () => {
    const { fake, store } = guard();
    const error = new AlipayTokenUnreadableError('2021007700000001', 'unknown key');
    fake.failWith = error;
    await expect(store.find('a', 'b')).rejects.toBe(error);
  });

  it('results pass through, methods run on the store itself (private fields work)', async () => {
    const { fake, store } = guard();
    await expect(store.find('2021004100000001', '2021007700000001')).resolves.toEqual({
      appId: '2021004100000001',
      authAppId: '2021007700000001',
      from: 'private field',
    });
    await expect(store.countUnknownKeyRows()).resolves.toBe(7);
    await expect(store.databaseNow()).resolves.toBe(42);
    expect(fake.calls).toBe(1);
  });

  it('keeps instanceof, properties, getters and writes', () => {
    const { fake, store } = guard();
    expect(store).toBeInstanceOf(FakeStore);
    expect(store.kind).toBe('fake');
    expect(store.status).toBe('fake:private field');
    store.calls = 5;
    expect(fake.calls).toBe(5);
    expect(store.find).toBe(store.find);
    expect(store.find.name).toBe('find');
  });

  it('invents no lifecycle hook and no then; passes real hooks through unconverted', async () => {
    const { store } = guard();
    const s = store as unknown as Record<string, unknown>;
    for (const hook of ['onModuleInit', 'onApplicationBootstrap', 'onModuleDestroy', 'beforeApplicationShutdown', 'onApplicationShutdown', 'then'])
      expect(s[hook]).toBeUndefined();
    expect(await Promise.resolve(store)).toBe(store);
    const failure = new Error('hook failed');
    const withHook = guardTokenStore(Object.assign(new FakeStore(), { onModuleDestroy: () => Promise.reject(failure) }) as unknown as AlipayTokenStore);
    await expect((withHook as unknown as { onModuleDestroy(): Promise<void> }).onModuleDestroy()).rejects.toBe(failure);
  });

  it('guards a store once; keeps the in-memory store’s test helpers', async () => {
    const memory = new InMemoryAlipayTokenStore();
    const store = guardTokenStore(memory);
    expect(guardTokenStore(store)).toBe(store);
    expect(store).toBeInstanceOf(InMemoryAlipayTokenStore);
    const down = new Error('database is down');
    store.failNext('find', down);
    await expect(store.find('2021004100000001', '2021007700000001')).rejects.toMatchObject({
      name: 'AlipayStoreUnavailableError',
      operation: 'find',
      cause: down,
    });
    await expect(store.find('2021004100000001', '2021007700000001')).resolves.toBeNull();
  });
});
