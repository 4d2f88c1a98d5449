/*
 * Scheduled-refresh throughput: N due authorizations refreshed by 1 instance, then by 3 instances
 * (separate Nest contexts and connection pools on one database), against the local simulator.
 * Run: npm run bench:refresh   (BENCH_DB=postgres|mariadb|sqlite, BENCH_N=2000)
 * Everything runs on this machine's 2 cores: the simulator, the instances and the database share them.
 */
import 'reflect-metadata';
import { Module, DynamicModule, INestApplicationContext, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ALIPAY_AUTH_ENTITIES,
  alipayAuthMigrations,
  AlipayAuthModule,
  AlipayTokenRefreshScheduler,
  AlipayTokenService,
} from '../libs/alipay-auth/src';
import { startAlipaySimulator } from '../apps/alipay-simulator/src';
import { createIsolatedDatabase, IsolatedDatabase, TestEngine } from '../test/support/databases';

const vectors = JSON.parse(readFileSync(join(process.cwd(), 'test/fixtures/alipay-v3-vectors/alipay-v3-signing.json'), 'utf8'));
const APP_ID = '2021004100000001';
const DAY = 86_400_000;
const N = Number(process.env.BENCH_N ?? 2000);
const ENGINE = (process.env.BENCH_DB ?? 'postgres') as TestEngine;
const TOKEN_KEY = randomBytes(32).toString('base64');

type Sim = Awaited<ReturnType<typeof startAlipaySimulator>>;

async function instance(sim: Sim, db: IsolatedDatabase, name: string, clock: () => number, migrate: boolean): Promise<INestApplicationContext> {
  const options = db.options();
  @Module({})
  class BenchModule {
    static forRoot(): DynamicModule {
      return {
        module: BenchModule,
        imports: [
          TypeOrmModule.forRoot({ ...options, entities: ALIPAY_AUTH_ENTITIES, migrations: alipayAuthMigrations(options.type as 'postgres'), migrationsRun: migrate } as never),
          AlipayAuthModule.forRoot({
            appId: APP_ID,
            privateKey: vectors.keys.app.privateKeyPkcs8Pem,
            alipayPublicKey: sim.alipayPublicKeyPem,
            gateway: sim.url,
            tokenEncryptionKeys: TOKEN_KEY,
            instanceId: name,
            clock,
            refresh: { enabled: false, batchSize: 100, concurrency: 16, ratePerSecond: 1_000_000, statusCheckIntervalMs: 0 },
          }),
        ],
      };
    }
  }
  return NestFactory.createApplicationContext(BenchModule.forRoot(), { logger: ['error'] });
}

async function scenario(instances: number): Promise<number> {
  const sim = await startAlipaySimulator({ port: 0 });
  sim.controls.registerApp({ appId: APP_ID, publicKey: vectors.keys.app.publicKeySpkiPem });
  const db = await createIsolatedDatabase(ENGINE, 'bench-refresh');
  let offset = 0;
  const clock = () => Date.now() + offset;
  const contexts: INestApplicationContext[] = [];
  try {
    for (let i = 0; i < instances; i++) contexts.push(await instance(sim, db, `bench-${i}`, clock, i === 0));
    const svc = contexts[0].get(AlipayTokenService);
    let seq = 0;
    for (let i = 0; i < N; i += 100) {
      const ids = Array.from({ length: Math.min(100, N - i) }, () => `20210099${String(++seq).padStart(8, '0')}`);
      await svc.exchangeCode(sim.controls.authorize(APP_ID, { authAppIds: ids }).app_auth_code);
    }
    offset += 340 * DAY;
    sim.controls.advanceClock(340 * DAY);
    const t0 = performance.now();
    const runs = await Promise.all(contexts.map((c) => c.get(AlipayTokenRefreshScheduler).refreshDue()));
    const seconds = (performance.now() - t0) / 1000;
    const refreshed = runs.reduce((n, r) => n + r.refreshed, 0);
    const twice = Object.values(sim.controls.stats().refreshesByMerchant).filter((n) => n !== 1).length;
    if (refreshed !== N || twice !== 0) throw new Error(`expected ${N} refreshed once each, got ${refreshed} (${twice} not exactly once)`);
    const rate = refreshed / seconds;
    console.log(`${ENGINE.padEnd(8)} ${instances} instance(s): ${refreshed} refreshed in ${seconds.toFixed(2)} s = ${rate.toFixed(0)} /s  (split ${runs.map((r) => r.refreshed).join('/')})`);
    return rate;
  } finally {
    for (const c of contexts) await c.close();
    await sim.close();
    await db.drop();
  }
}

async function hotPath(): Promise<void> {
  const sim = await startAlipaySimulator({ port: 0 });
  sim.controls.registerApp({ appId: APP_ID, publicKey: vectors.keys.app.publicKeySpkiPem });
  const db = await createIsolatedDatabase(ENGINE, 'bench-hot');
  const ctx = await instance(sim, db, 'bench-hot', Date.now, true);
  try {
    const svc = ctx.get(AlipayTokenService);
    const ids = Array.from({ length: 100 }, (_, i) => `20210098${String(i).padStart(8, '0')}`);
    await svc.exchangeCode(sim.controls.authorize(APP_ID, { authAppIds: ids }).app_auth_code);
    for (const [label, invalidate] of [['cached', false], ['database read', true]] as const) {
      const n = invalidate ? 2000 : 200_000;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const id = ids[i % ids.length];
        if (invalidate) svc.invalidate(id);
        await svc.getAppAuthToken(id);
      }
      const rate = n / ((performance.now() - t0) / 1000);
      console.log(`${ENGINE.padEnd(8)} getAppAuthToken (${label}): ${rate.toFixed(0)} /s`);
    }
  } finally {
    await ctx.close();
    await sim.close();
    await db.drop();
  }
}

async function main() {
  Logger.overrideLogger(['error']);
  console.log(`node ${process.version}, ${N} authorizations, engine ${ENGINE}`);
  const one = await scenario(1);
  const three = await scenario(3);
  console.log(`${ENGINE.padEnd(8)} speed-up with 3 instances: x${(three / one).toFixed(2)}`);
  await hotPath();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
