/**
 * The library's set-up shared by the suites judged at the simulator (recovery, row integrity; the TypeORM
 * module also notifications and the refresh suites): app instances (Nest contexts with their own pools) on
 * one isolated database and one simulated Alipay, merchants authorized through the callback code, a
 * merchant API call saying whether Alipay accepts a token, and the suite's results table for docs/reliability.md.
 */
import { DynamicModule, INestApplicationContext } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AlipayApiError, AlipayAuthModule, AlipayAuthModuleOptions, AlipayOpenApiClient, AlipayTokenService } from 'nestjs-alipay-auth';
import { ALIPAY_AUTH_ENTITIES, alipayAuthMigrations, alipayAuthorizationsTable } from 'nestjs-alipay-auth/typeorm';
import type { IsolatedDatabase } from './databases';
import type { SimulatedAlipay } from './simulated-alipay';

export const DAY = 86_400_000;
export const MIN = 60_000;
export const TRADE_QUERY_PATH = '/v3/alipay/trade/query';
/** A merchant call the simulator accepts with a valid token (it holds no trades). */
export const ACCEPTED = 'ACQ.TRADE_NOT_EXIST';
export const TIMEOUT_MS = 2000;
/** timeoutMs x (retries + 1) + margin: the longest call, hence the least lease and the verification delay. */
export const LEASE_MS = 6000;
export const OTHER_APP_ID = '2021004100000002';

/** The TypeORM module of one app instance: the library's tables on `db`, migrated when `migrate`; `extra` overrides. */
export function libraryTypeOrm(db: IsolatedDatabase, migrate: boolean, extra: Record<string, unknown> = {}): DynamicModule {
  const options = db.options();
  return TypeOrmModule.forRoot({
    ...options,
    entities: ALIPAY_AUTH_ENTITIES,
    migrations: alipayAuthMigrations(options.type as 'postgres'),
    migrationsRun: migrate,
    ...extra,
  } as never);
}

/**
 * One app instance on `db`, talking to `on`; `migrate` for the first. Short calls and leases, no status
 * checks, back-off from a minute, no rate limit: `extra` (and `extra.refresh`) override.
 */
export async function startInstance(
  db: IsolatedDatabase,
  on: SimulatedAlipay,
  name: string,
  extra: Partial<AlipayAuthModuleOptions> = {},
  migrate = false,
): Promise<INestApplicationContext> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      EventEmitterModule.forRoot(),
      libraryTypeOrm(db, migrate),
      AlipayAuthModule.forRoot(
        on.moduleOptions({
          instanceId: name,
          timeoutMs: TIMEOUT_MS,
          ...extra,
          refresh: { leaseMs: LEASE_MS, statusCheckIntervalMs: 0, backoffBaseMs: MIN, ratePerSecond: 1000, ...extra.refresh },
        }),
      ),
    ],
  }).compile();
  return moduleRef.init();
}

/** Empties the authorizations table: the clock only moves forward, so rows of earlier scenarios would be due again. */
export async function clearAuthorizations(ctx: INestApplicationContext): Promise<void> {
  const ds = ctx.get(DataSource);
  await ds.query(`DELETE FROM ${alipayAuthorizationsTable(ds)}`);
}

/** The merchant `authAppId` authorizes (again) app `appId` at `on`: the callback exchanges the code on `ctx`. */
export async function authorizeMerchant(ctx: INestApplicationContext, on: SimulatedAlipay, appId: string, authAppId: string): Promise<string> {
  const { app_auth_code } = on.sim.controls.authorize(appId, { authAppId });
  await ctx.get(AlipayTokenService).exchangeCode(app_auth_code);
  return authAppId;
}

/** A merchant API call; returns Alipay's code (`ACCEPTED` means the token was accepted). */
export async function merchantCall(
  ctx: INestApplicationContext,
  target: { authAppId: string } | { appAuthToken: string },
  outTradeNo: string,
): Promise<string> {
  const e = await ctx
    .get(AlipayOpenApiClient)
    .request({ method: 'POST', path: TRADE_QUERY_PATH, body: { out_trade_no: outTradeNo }, ...target })
    .then(
      () => null,
      (err: unknown) => err,
    );
  if (!(e instanceof AlipayApiError)) throw e ?? new Error('the simulator answered a trade query with success');
  return e.code;
}

/**
 * The suite's table, printed after it as `[suite] results`: one row per scenario, one column per engine
 * (and variant; blank: not passed). Returns the recorder.
 */
export function resultsTable(suite: string): (column: string, scenario: string, result: string) => void {
  const results: Array<{ column: string; scenario: string; result: string }> = [];
  afterAll(() => {
    if (!results.length) return;
    const columns = [...new Set(results.map((r) => r.column))];
    const scenarios = [...new Set(results.map((r) => r.scenario))];
    const lines = [
      `| scenario | ${columns.join(' | ')} | result |`,
      `|---|${columns.map(() => '---|').join('')}---|`,
      ...scenarios.map((sc) => {
        const rows = results.filter((r) => r.scenario === sc);
        const cells = columns.map((c) => (rows.some((r) => r.column === c) ? 'pass' : ''));
        return `| ${sc} | ${cells.join(' | ')} | ${[...new Set(rows.map((r) => r.result))].join('; ')} |`;
      }),
    ];
    console.log(`[${suite}] results\n${lines.join('\n')}`);
  });
  return (column, scenario, result) => results.push({ column, scenario, result });
}
