/**
 * Issue 19, observation 5: a database connection that dies under the app reaches `getAppAuthToken` callers
 * as the library's `AlipayStoreUnavailableError` (the driver's error as `cause`), answered 503 by
 * `AlipayAuthExceptionFilter`, never as a raw TypeORM or driver error.
 *
 * The connection is made to die while the app's query is on it, as a database restart or failover does:
 * an admin session locks the table, the app's read waits on the lock, and the admin terminates that
 * backend (PostgreSQL `pg_terminate_backend`: 57P01) or kills that connection (MariaDB `KILL`).
 * SQLite has no server connection to lose: skipped.
 */
import { Controller, Get, INestApplication, Param, UseFilters } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import request from 'supertest';
import { DataSource, QueryRunner } from 'typeorm';
import { AlipayAuthExceptionFilter, AlipayAuthModule, AlipayStoreUnavailableError, AlipayTokenService, AlipayTokenStore } from 'nestjs-alipay-auth';
import {
  ALIPAY_AUTH_ENTITIES,
  ALIPAY_AUTHORIZATIONS_TABLE,
  alipayAuthMigrations,
  alipayAuthorizationsTable,
  TypeOrmAlipayTokenStore,
} from 'nestjs-alipay-auth/typeorm';
import { createIsolatedDatabase, IsolatedDatabase, TestEngine, testDatabaseEngines } from '../support/databases';
import { SimulatedAlipay, TEST_APP_ID as APP_ID } from '../support/simulated-alipay';

/** What each driver says when the server ends the connection under a running query. */
const DRIVER_CODES: Record<Exclude<TestEngine, 'sqlite'>, string[]> = {
  postgres: ['57P01'],
  mariadb: ['PROTOCOL_CONNECTION_LOST', 'ER_CONNECTION_KILLED'],
};
const WAIT_MS = 10_000;

@Controller('merchants')
@UseFilters(AlipayAuthExceptionFilter)
class TokenController {
  constructor(private readonly tokens: AlipayTokenService) {}

  @Get(':id/token-length')
  async token(@Param('id') id: string): Promise<{ length: number }> {
    return { length: (await this.tokens.getAppAuthToken(id)).length };
  }
}

const servers = testDatabaseEngines().filter((e): e is Exclude<TestEngine, 'sqlite'> => e !== 'sqlite');
if (!servers.length) it.skip('store unavailable: no PostgreSQL or MariaDB reachable', () => undefined);

// Without a server engine (a local run on SQLite only) the table is empty, which describe.each refuses.
(servers.length ? describe.each(servers) : describe.skip.each<Exclude<TestEngine, 'sqlite'>>(['postgres']))(
  'a database connection lost under the app (%s)',
  (engine) => {
    let alipay: SimulatedAlipay;
    let db: IsolatedDatabase;
    let app: INestApplication;
    let admin: DataSource;
    let authAppId: string;

    beforeAll(async () => {
      alipay = await SimulatedAlipay.start();
      db = await createIsolatedDatabase(engine, 'store-unavailable');
      const options = db.options();
      const moduleRef = await Test.createTestingModule({
        imports: [
          TypeOrmModule.forRoot({ ...options, entities: ALIPAY_AUTH_ENTITIES, migrations: alipayAuthMigrations(engine), migrationsRun: true } as never),
          // cacheTtlMs 0: every getAppAuthToken reads the row.
          AlipayAuthModule.forRoot(alipay.moduleOptions({ cacheTtlMs: 0 })),
        ],
        controllers: [TokenController],
      }).compile();
      app = moduleRef.createNestApplication({ logger: false });
      await app.init();
      admin = new DataSource(db.options());
      await admin.initialize();
      authAppId = '2021007799990001';
      const { app_auth_code } = alipay.sim.controls.authorize(APP_ID, { authAppId });
      await app.get(AlipayTokenService).exchangeCode(app_auth_code);
    });

    afterAll(async () => {
      await app?.close();
      await admin?.destroy();
      await alipay?.close();
      await db?.drop();
    });

    /**
     * Runs `call` while its read of the authorizations table is held by an admin lock, kills the app's
     * connection that waits on it, then releases the lock. Returns how `call` settled.
     */
    async function killedUnder<T>(call: () => Promise<T>): Promise<{ value?: T; error?: unknown }> {
      const table = alipayAuthorizationsTable(app.get(DataSource));
      const locker: QueryRunner = admin.createQueryRunner();
      await locker.connect();
      try {
        if (engine === 'postgres') {
          await locker.startTransaction();
          await locker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
        } else {
          await locker.query(`LOCK TABLES ${table} WRITE`);
        }
        const settled = call().then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        );
        const victim = await waitingSession(locker, ALIPAY_AUTHORIZATIONS_TABLE);
        await locker.query(
          engine === 'postgres' ? 'SELECT pg_terminate_backend($1)' : `KILL CONNECTION ${Number(victim)}`,
          engine === 'postgres' ? [victim] : [],
        );
        return await settled;
      } finally {
        if (engine === 'postgres') await locker.rollbackTransaction().catch(() => undefined);
        else await locker.query('UNLOCK TABLES').catch(() => undefined);
        await locker.release();
      }
    }

    /** The app's session blocked on the lock (bounded wait). */
    async function waitingSession(locker: QueryRunner, table: string): Promise<number> {
      const sql =
        engine === 'postgres'
          ? `SELECT pid AS id FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database() AND wait_event_type = 'Lock' AND position($1 in query) > 0`
          : `SELECT ID AS id FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND DB = DATABASE() AND COMMAND = 'Query' AND LOCATE(?, INFO) > 0`;
      for (const deadline = Date.now() + WAIT_MS; Date.now() < deadline; await new Promise((r) => setTimeout(r, 25))) {
        const rows: Array<{ id: number | string }> = await locker.query(sql, [table]);
        if (rows.length === 1) return Number(rows[0].id);
        if (rows.length > 1) throw new Error(`expected one waiting session, found ${rows.length}`);
      }
      throw new Error(`no session of the app waited on the lock within ${WAIT_MS} ms`);
    }

    /**
     * `call` once the pool has replaced the dead connection (bounded). node-postgres can hand out the
     * terminated client once more before its socket's end is seen ("Connection terminated unexpectedly"):
     * that failure must be typed as well.
     */
    async function recovered<T>(call: () => Promise<T>): Promise<T> {
      for (const deadline = Date.now() + WAIT_MS; ; await new Promise((r) => setTimeout(r, 50))) {
        try {
          return await call();
        } catch (e) {
          expect(e).toBeInstanceOf(AlipayStoreUnavailableError);
          if (Date.now() > deadline) throw e;
        }
      }
    }

    const driverCode = (e: unknown): string | undefined => {
      const d = (e as { driverError?: { code?: string }; code?: string }) ?? {};
      return d.driverError?.code ?? d.code;
    };

    it('getAppAuthToken rejects with AlipayStoreUnavailableError, the driver error as cause', async () => {
      const token = await app.get(AlipayTokenService).getAppAuthToken(authAppId);
      const { error } = await killedUnder(() => app.get(AlipayTokenService).getAppAuthToken(authAppId));
      expect(error).toBeInstanceOf(AlipayStoreUnavailableError);
      const e = error as AlipayStoreUnavailableError;
      expect(e.operation).toBe('find');
      const cause = e.cause as Error;
      expect(cause).toBeInstanceOf(Error);
      expect(cause).not.toBeInstanceOf(AlipayStoreUnavailableError);
      expect(DRIVER_CODES[engine]).toContain(driverCode(cause));
      expect(e.reason).toBe(driverCode(cause));
      expect(e.message).toBe(`Token store unavailable: find failed (${e.reason})`);
      expect(e.message).not.toMatch(/SELECT|alipay_app/i);
      expect(e.message).not.toContain(token);
      await expect(recovered(() => app.get(AlipayTokenService).getAppAuthToken(authAppId))).resolves.toBe(token);
    });

    it('AlipayAuthExceptionFilter answers 503 store-unavailable, with nothing of the driver', async () => {
      const { value: res } = await killedUnder(() => request(app.getHttpServer()).get(`/merchants/${authAppId}/token-length`));
      expect(res!.status).toBe(503);
      expect(res!.body).toEqual({ statusCode: 503, error: { type: 'store-unavailable', message: expect.any(String) } });
      expect(JSON.stringify(res!.body)).not.toMatch(/SELECT|alipay_app|57P01|PROTOCOL|ER_/);
      await recovered(async () => {
        const again = await request(app.getHttpServer()).get(`/merchants/${authAppId}/token-length`);
        if (again.status === 503) throw new AlipayStoreUnavailableError('find', again.body);
        expect(again.status).toBe(200);
        expect(again.body).toEqual({ length: 40 });
      });
    });

    it('the injected store is still the TypeORM store (instanceof, its own methods)', async () => {
      const store = app.get<AlipayTokenStore>(AlipayTokenStore);
      expect(store).toBeInstanceOf(TypeOrmAlipayTokenStore);
      expect(await (store as TypeOrmAlipayTokenStore).countUnknownKeyRows(APP_ID)).toBe(0);
    });
  },
);
