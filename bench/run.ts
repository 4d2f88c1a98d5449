/*
 * `npm run bench`: every figure of docs/benchmarks.md in one run, written there and to bench/results.json.
 * Each figure is the median of several repetitions (interleaved where they compete for the same cores),
 * with its spread. No test asserts a time: the report says where a target is missed and why.
 * BENCH_REFRESH_N (default 10000, as issue 13 asks) sets the scheduled-refresh size, BENCH_REFRESH_REPS (default 3) its repetitions;
 * BENCH_ROWS (default 100000) the claim table.
 * BENCH_ONLY=signer,hot,refresh,refresh3,claim,scale,sample,console runs only those parts and prints them (nothing is written).
 * BENCH_SCALE_SIZES (default 10000,100000) and BENCH_SCALE_1M=1: the table sizes of the scale part (bench/scale.bench.ts); BENCH_SCALE_ENGINES (default postgres,mariadb) its engines.
 * BENCH_SAMPLE_REPS (default 3): repetitions of the sample app's memory run (bench/sample-memory.ts).
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { createSign, createVerify, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AlipayAuthModule, AlipayTokenService } from 'nestjs-alipay-auth';
import { resolveAlipayAuthConfig } from 'nestjs-alipay-auth/alipay-auth.config';
import { buildResponseSignContent, loadPrivateKey, loadPublicKey, RsaAlipaySigner } from 'nestjs-alipay-auth/protocol';
import { ALIPAY_AUTH_ENTITIES, alipayAuthMigrations } from 'nestjs-alipay-auth/typeorm';
import { startAlipaySimulator } from 'nestjs-alipay-auth-simulator';
import { createIsolatedDatabase, IsolatedDatabase, TestEngine } from '../test/support/databases';
import { claimBench } from './claim.bench';
import { scaleBench, ScaleEngine, scaleEngines, ScaleResult, scaleSizes } from './scale.bench';
import { sampleMemory } from './sample-memory';
import { consolePageBench } from './console-page';
import { spawnRefreshWorker } from '../test/support/refresh-worker-process';

const vectors = JSON.parse(readFileSync(join(process.cwd(), 'test/fixtures/alipay-v3-vectors/alipay-v3-signing.json'), 'utf8'));
// The official SDK's own v3 sign and verify functions, as its client calls them (PEM text per call).
const sdkUtil = createRequire(join(process.cwd(), 'package.json'))(join(process.cwd(), 'node_modules/alipay-sdk/dist/commonjs/util.js'));
const APP_ID = '2021004100000001';
const DAY = 86_400_000;
const REFRESH_N = Number(process.env.BENCH_REFRESH_N ?? 10_000);
const REFRESH_REPS = Number(process.env.BENCH_REFRESH_REPS ?? 3);
const REFRESH_CONCURRENCY = 8;
const REFRESH_LATENCY_MS = 50;
const CLAIM_ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const TOKEN_KEY = randomBytes(32).toString('base64');

interface Figure {
  name: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  samples: number[];
}
const figures: Figure[] = [];
const notes: string[] = [];

function figure(name: string, unit: string, samples: number[]): Figure {
  const sorted = [...samples].sort((a, b) => a - b);
  const f = { name, unit, median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted[sorted.length - 1], samples };
  figures.push(f);
  console.log(`${name.padEnd(70)} ${f.median.toFixed(f.median < 10 ? 2 : 0).padStart(10)} ${unit}  (${f.min.toFixed(2)}–${f.max.toFixed(2)})`);
  return f;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function opsPerSecond(n: number, fn: () => unknown): Promise<number> {
  for (let i = 0; i < 50; i++) await fn();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return n / ((performance.now() - t0) / 1000);
}

async function signer(): Promise<void> {
  const signerImpl = new RsaAlipaySigner({
    appId: APP_ID,
    privateKey: loadPrivateKey(vectors.keys.app.privateKeyPkcs8Pem),
    alipayPublicKey: loadPublicKey(vectors.keys.alipay.publicKeySpkiBase64),
  });
  const body = JSON.stringify({ grant_type: 'refresh_token', refresh_token: '202509BBa1b2c3d4e5f60718293a4b5c6d7e8F12' });
  const privateKey = loadPrivateKey(vectors.keys.app.privateKeyPkcs8Pem);
  const publicKey = loadPublicKey(vectors.keys.alipay.publicKeySpkiBase64);
  const pem = vectors.keys.app.privateKeyPkcs8Pem;
  const alipayPem = vectors.keys.alipay.publicKeySpkiPem;
  const content = buildResponseSignContent('1735689600789', 'nonce', body);
  const sig = createSign('RSA-SHA256').update(content).sign(loadPrivateKey(vectors.keys.alipay.privateKeyPkcs8Pem), 'base64');
  const signString = `app_id=${APP_ID},timestamp=1735689600789,nonce=n\nPOST\n/v3/alipay/open/auth/token/app\n${body}\n`;
  const runs: Record<string, number[]> = { ours: [], raw: [], sdk: [], oursV: [], rawV: [], sdkV: [] };
  for (let round = 0; round < 5; round++) {
    runs.ours.push(await opsPerSecond(1500, () => signerImpl.signRequest({ method: 'POST', requestUri: '/v3/alipay/open/auth/token/app', body })));
    runs.raw.push(await opsPerSecond(1500, () => createSign('RSA-SHA256').update(signString, 'utf8').sign(privateKey, 'base64')));
    runs.sdk.push(await opsPerSecond(1500, () => sdkUtil.signatureV3(signString, pem)));
    const headers = { 'alipay-timestamp': '1735689600789', 'alipay-nonce': 'nonce', 'alipay-signature': sig };
    runs.oursV.push(await opsPerSecond(5000, () => signerImpl.verifyResponse({ status: 200, headers, body })));
    runs.rawV.push(await opsPerSecond(5000, () => createVerify('RSA-SHA256').update(content, 'utf8').verify(publicKey, sig, 'base64')));
    runs.sdkV.push(await opsPerSecond(5000, () => sdkUtil.verifySignatureV3(content, sig, alipayPem)));
  }
  figure('sign a request: nestjs-alipay-auth (signRequest)', 'ops/s', runs.ours);
  figure('sign: raw node:crypto with a parsed KeyObject', 'ops/s', runs.raw);
  figure('sign: official alipay-sdk (signatureV3, PEM per call)', 'ops/s', runs.sdk);
  figure('verify a response: nestjs-alipay-auth (verifyResponse)', 'ops/s', runs.oursV);
  figure('verify: raw node:crypto with a parsed KeyObject', 'ops/s', runs.rawV);
  figure('verify: official alipay-sdk (verifySignatureV3)', 'ops/s', runs.sdkV);
  const ratio = (a: number[], b: number[]) => a.map((x, i) => x / b[i]);
  figure('ratio: sign ours / raw (target >= 0.95)', 'x', ratio(runs.ours, runs.raw));
  figure('ratio: sign ours / alipay-sdk', 'x', ratio(runs.ours, runs.sdk));
  figure('ratio: verify ours / raw (target >= 0.9)', 'x', ratio(runs.oursV, runs.rawV));
  figure('ratio: verify ours / alipay-sdk', 'x', ratio(runs.oursV, runs.sdkV));
}

async function instance(sim: Awaited<ReturnType<typeof startAlipaySimulator>>, db: IsolatedDatabase, migrate: boolean) {
  const options = db.options();
  const { Module } = await import('@nestjs/common');
  @Module({
    imports: [
      TypeOrmModule.forRoot({
        ...options,
        entities: ALIPAY_AUTH_ENTITIES,
        migrations: alipayAuthMigrations(options.type as 'postgres'),
        migrationsRun: migrate,
      } as never),
      AlipayAuthModule.forRoot({
        appId: APP_ID,
        privateKey: vectors.keys.app.privateKeyPkcs8Pem,
        alipayPublicKey: sim.alipayPublicKeyPem,
        gateway: sim.url,
        tokenEncryptionKeys: TOKEN_KEY,
        refresh: { enabled: false, statusCheckIntervalMs: 0 },
      }),
    ],
  })
  class HotModule {}
  return NestFactory.createApplicationContext(HotModule, { logger: ['error'] });
}

async function seed(svc: AlipayTokenService, sim: Awaited<ReturnType<typeof startAlipaySimulator>>, n: number, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = Array.from({ length: Math.min(100, n - i) }, (_, k) => `${prefix}${String(i + k).padStart(8, '0')}`);
    await svc.exchangeCode(sim.controls.authorize(APP_ID, { authAppIds: batch }).app_auth_code);
    ids.push(...batch);
  }
  return ids;
}

async function hotPath(engine: TestEngine): Promise<void> {
  const sim = await startAlipaySimulator({ port: 0, apps: [{ appId: APP_ID, publicKey: vectors.keys.app.publicKeySpkiPem }] });
  const db = await createIsolatedDatabase(engine, 'bench-hot');
  const ctx = await instance(sim, db, true);
  try {
    const svc = ctx.get(AlipayTokenService);
    const ids = await seed(svc, sim, 10_000, '20210098');
    const gc = (globalThis as { gc?: () => void }).gc;
    // The heap a full cache holds minus the heap once it is emptied, each after garbage collections a few
    // turns apart: a gc() right after the last awaited database read still sees that read's driver objects
    // alive (on PostgreSQL about 180 kB, which read as +18 B per entry over 10k entries).
    const settled = async () => {
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 20));
        gc?.();
      }
      return process.memoryUsage().heapUsed;
    };
    for (const id of ids) await svc.getAppAuthToken(id);
    const filled = await settled();
    for (const id of ids) svc.invalidate(id);
    const emptied = await settled();
    if (gc) figure(`${engine}: cache entry size (heap per cached merchant, target < 200)`, 'B', [(filled - emptied) / ids.length]);
    for (const id of ids) await svc.getAppAuthToken(id);
    const hits: number[] = [];
    for (let round = 0; round < 5; round++) {
      await settled();
      const times: number[] = [];
      for (let i = 0; i < 100_000; i++) {
        const t0 = process.hrtime.bigint();
        await svc.getAppAuthToken(ids[i % ids.length]);
        times.push(Number(process.hrtime.bigint() - t0) / 1000);
      }
      hits.push(percentile(times, 99));
    }
    figure(`${engine}: getAppAuthToken cache hit, p99 (target < 2)`, 'µs', hits);
    const misses: number[] = [];
    for (let round = 0; round < 3; round++) {
      const times: number[] = [];
      for (let i = 0; i < 1000; i++) {
        const id = ids[(round * 1000 + i) % ids.length];
        svc.invalidate(id);
        const t0 = process.hrtime.bigint();
        await svc.getAppAuthToken(id);
        times.push(Number(process.hrtime.bigint() - t0) / 1000);
      }
      misses.push(percentile(times, 50));
    }
    figure(`${engine}: getAppAuthToken cache miss (database read and decrypt), p50`, 'µs', misses);
  } finally {
    await ctx.close();
    await sim.close();
    await db.drop();
  }
}

/**
 * The instance processes run compiled JavaScript, as a deployed app does: tsc emits refresh-worker.ts and
 * the library sources it imports under dist/bench-worker (ts-node would keep the TypeScript compiler in
 * each process); returns that folder.
 */
let compiledWorker: string | undefined;
function compileWorker(): string {
  if (compiledWorker) return compiledWorker;
  const dist = join(process.cwd(), 'dist');
  const outDir = join(dist, 'bench-worker');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
  const project = join(dist, 'bench-worker.tsconfig.json');
  const compilerOptions = { noEmit: false, outDir: 'bench-worker', rootDir: '..', sourceMap: false, declaration: false, incremental: false };
  writeFileSync(project, JSON.stringify({ extends: '../tsconfig.json', compilerOptions, files: ['../test/support/refresh-worker.ts'], include: [] }));
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', project], { stdio: 'inherit' });
  return (compiledWorker = outDir);
}

/** Scheduled refresh of `n` due rows by `processes` instance processes against a simulator answering in 50 ms. */
async function refresh(
  engine: TestEngine,
  processes: number,
  n: number,
): Promise<{ rate: number; rssReady: number[]; rssAfter: number[]; cpuUs: number[]; floorUs: number[]; bareUs: number[] }> {
  const sim = await startAlipaySimulator({ port: 0, apps: [{ appId: APP_ID, publicKey: vectors.keys.app.publicKeySpkiPem }] });
  const db = await createIsolatedDatabase(engine, 'bench-refresh');
  const seeder = await instance(sim, db, true);
  const concurrency = REFRESH_CONCURRENCY;
  const latencyMs = REFRESH_LATENCY_MS;
  try {
    await seed(seeder.get(AlipayTokenService), sim, n, '20210097');
    await seeder.close();
    sim.controls.advanceClock(340 * DAY);
    sim.controls.addFault({ route: '/v3/alipay/open/auth/token/app', kind: 'latency', latencyMs, grantType: 'refresh_token' });
    const workers = Array.from({ length: processes }, (_, i) =>
      spawnRefreshWorker(
        {
          dataSource: db.options(),
          appId: APP_ID,
          privateKey: vectors.keys.app.privateKeyPkcs8Pem,
          alipayPublicKey: sim.alipayPublicKeyPem,
          gateway: sim.url,
          tokenEncryptionKeys: TOKEN_KEY,
          instanceId: `bench-${i}`,
          offsetMs: 340 * DAY,
          refresh: { enabled: false, batchSize: 100, concurrency, ratePerSecond: 100_000, statusCheckIntervalMs: 0 },
        },
        { waitForGo: true, compiled: compileWorker(), cryptoFloor: processes === 1 },
      ),
    );
    const lines = workers.map((w) => {
      let out = '';
      const ready = new Promise<void>((r) => w.stdout!.on('data', (c) => ((out += c), out.includes('ready') && r())));
      const done = new Promise<Record<string, number>>((r, j) => {
        w.on('exit', () => {
          const m = /done (\{.*\})/.exec(out);
          if (m) r(JSON.parse(m[1]));
          else j(new Error(`worker failed: ${out}`));
        });
      });
      return { ready, done };
    });
    for (const w of workers) w.stderr!.pipe(process.stderr);
    await Promise.all(lines.map((l) => l.ready));
    for (const w of workers) w.stdin!.end('go\n');
    const results = await Promise.all(lines.map((l) => l.done));
    const seconds = (Math.max(...results.map((r) => r.finished)) - Math.min(...results.map((r) => r.started))) / 1000;
    const refreshed = results.reduce((x, r) => x + r.refreshed, 0);
    const twice = Object.values(sim.controls.stats().refreshesByMerchant).filter((c) => c !== 1).length;
    if (refreshed !== n || twice !== 0) throw new Error(`expected ${n} refreshed exactly once each; got ${refreshed}, ${twice} not once`);
    return {
      rate: refreshed / seconds,
      rssReady: results.map((r) => r.rssReady / 1e6),
      rssAfter: results.map((r) => r.rssAfter / 1e6),
      // The instance's own CPU (the simulator runs in this process, not in the worker's).
      cpuUs: results.map((r) => r.cpuUs / r.refreshed),
      floorUs: results.flatMap((r) => (r.floorUs ? [r.floorUs] : [])),
      bareUs: results.flatMap((r) => (r.bareUs ? [r.bareUs] : [])),
    };
  } finally {
    sim.controls.clearFaults();
    await sim.close();
    await db.drop();
  }
}

const load = { start: loadavg(), end: [] as number[] };

function report(): string {
  const row = (f: Figure) =>
    `| ${f.name} | ${f.median.toFixed(f.median < 10 ? 2 : 0)} ${f.unit} | ${f.min.toFixed(2)} – ${f.max.toFixed(2)} | ${f.samples.length} |`;
  return (
    [
      '# Benchmarks',
      '',
      `Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB.`,
      'Everything shares the same cores: the simulator (which signs and verifies like Alipay), the instances and the databases.',
      `Load average (1 min) ${load.start[0].toFixed(2)} at the start, ${load.end[0].toFixed(2)} at the end${Math.max(load.start[0], load.end[0]) > cpus().length / 2 ? ' (other work may have shared the cores)' : ''}.`,
      'Each figure: median, spread (min – max) and number of repetitions; signing figures are interleaved rounds. Raw data: `bench/results.json`.',
      '',
      '| figure | median | spread | n |',
      '|---|---|---|---|',
      ...figures.map(row),
      '',
      '## Notes',
      ...notes.map((n) => `- ${n}`),
    ]
      .join('\n')
      .trimEnd() + '\n'
  );
}

/** Why the figures are what they are: measured while working on issue 13 (2026-12-01, Node 24), not by every run. */
const WHY = [
  'Scheduled refresh, one instance: the 8 places are busy 99.6–99.9 % of the run (per-call timestamps in the worker): the next batch is claimed while the current one runs, ' +
    'and the re-lease and the write of the new pair happen outside the places, so the pipeline does not idle. What separates the rate from concurrency / 50 ms is the time of one call ' +
    "as the instance sees it: the simulator's 50 ms timer (0.2–0.4 ms late on average), its verify and sign, both HTTP stacks over loopback, the request signature (0.25 ms) " +
    'and waits for the event loop on the shared cores. On a quiet machine a call took 51.5–52.4 ms at the median and 52.0–53.0 ms on average, i.e. 150–154/s (0.94–0.96); ' +
    '0.95 needs 52.6 ms on average, so the target holds on a quiet machine only, with no margin. Instances run through ts-node took 53.1–53.3 ms per call (0.93–0.94): ' +
    "the compiler's heap costs about 1 ms per call on 2 shared cores. The gate no longer waits on the rate limiter inside a place (limiter wait p50 0.07 -> 0 ms, p99 1.2–1.8 -> 0 ms), " +
    'a gain inside the ±1 % spread between runs; signing before taking a place was tried and gave nothing measurable (the CPU is the same, only its place moves).',
  'Scheduled refresh, 3 processes: the instances, the simulator and PostgreSQL share the same 2 cores, so the CPU, not the 50 ms latency, is the bound: ' +
    "the share varies with what else the cores do: 0.89 in runs of 3,000 rows, 0.68–0.75 in runs of 10,000, where each instance's heap also grows (124 MB to about 264 MB: " +
    "the workers run with Node's default V8 flags, without the sample's --max-semi-space-size=8) and its collections take CPU from the others. The ts-node instances of earlier runs reached 0.31.",
  'Claim: one statement on PostgreSQL (a MATERIALIZED CTE with FOR UPDATE SKIP LOCKED feeding UPDATE ... RETURNING), one round trip. On a quiet machine 4.3 ms at the median of 20 claims ' +
    'at 100k rows all due: at the 10th claim the statement executes in 2.1 ms (EXPLAIN ANALYZE: 0.4 ms to walk the due_at index past the 1,000 rows earlier claims leased, since the benchmark ' +
    'claims without refreshing, and 1.6 ms for the UPDATE: the bulk-loaded table has full pages, so each lease write is a non-HOT update with 9 index entries), the round trip with 100 rows ' +
    'about 1 ms, decrypting the 200 tokens 0.75 ms, the query runner, mapping and sorting about 0.5 ms. Runs before 2026-12-01 measured 11–18 ms on a loaded machine (Node 20) with rows ' +
    'whose tokens did not decrypt (one ciphertext sealed for another context in every row: each claimed row took the error path).',
  'Cache entries: a key, the token and an entry whose serve-until is a small integer offset (no heap number): 176–182 B with 16-character ids and 40-character tokens, the same entry on every engine ' +
    "(what differs by a few bytes is the history of the Map's table). The 220 B on PostgreSQL against 198 B on SQLite of earlier runs was the measurement: gc() ran right after the last awaited " +
    "database read, while the driver's objects of that read were still alive (about 180 kB, +18 B per entry over 10k). A hit does not touch the database; its p99 differs by engine only by noise.",
  'Instance RSS: the instance processes run JavaScript compiled by tsc (Nest, TypeORM, pg and the library, no TypeScript compiler): about 125 MB after boot, where the ts-node processes of ' +
    'earlier runs had 386–521 MB. Not the sample app.',
  'Sample RSS over time: left alone after the 10k refreshes, one run (simulator in process) stayed at 252 MB for 90 s, then V8 returned about 45 MB on its own (208 MB); ' +
    'still above the target, so the figures above are read 3 s after the load, as an operator watching a dashboard would see them.',
];

/** Issue 21: each database figure at 10k, 100k (1M) rows on PostgreSQL and MariaDB, and as a ratio to the 10k figure (goal <= 1.5 at 1M). */
async function scale(): Promise<void> {
  for (const engine of scaleEngines()) await scaleOn(engine);
  scaleBudget();
}

async function scaleOn(engine: ScaleEngine): Promise<void> {
  const results: ScaleResult[] = [];
  for (const n of scaleSizes()) results.push(await scaleBench(n, engine));
  const parts: Array<[string, (r: ScaleResult) => number[], number]> = [
    ['status-check claim of 100', (r) => r.statusCheckClaimMs, 20],
    ['refresh claim of 100', (r) => r.refreshClaimMs, 20],
    ['health probe (AlipayAuthHealthService.summary, counting at every probe: problem ranges, stored totals)', (r) => r.healthProbeMs, 200],
    ['the former count behind it (countByStatus + countDue over the table)', (r) => r.healthCountMs, 5],
    ['start-up (windows fingerprint, key sample)', (r) => r.bootMs, 5],
    ['start-up as before (syncDueAt, countUnknownKeyRows over the table)', (r) => r.formerBootMs, 3],
    ['re-application of changed windows, once per cluster, in the background', (r) => r.reapplyMs, 1],
    ['status-check candidates, SELECT of 100 by check_due_at', (r) => r.checkSelectMs, 5],
    ['status-check candidates, SELECT of 100 as before (ORDER BY CASE over last_checked_at)', (r) => r.formerCheckSelectMs, 5],
  ];
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const [name, of] of parts) {
    const base = med(of(results[0]));
    for (const r of results) {
      figure(`${engine} scale: ${name}, ${r.rows} rows`, 'ms', of(r));
      if (r !== results[0])
        figure(
          `${engine} scale: … ratio to ${results[0].rows} rows${r.rows >= 1_000_000 ? ' (goal <= 1.5)' : ''}`,
          'x',
          of(r).map((v) => v / base),
        );
    }
  }
  for (const r of results)
    notes.push(`Scale, ${engine}, ${r.rows} rows: seeded set-based in ${(r.seedMs / 1000).toFixed(1)} s; status-check claim plan: ${r.statusCheckPlan}`);
}

function scaleBudget(): void {
  // The status checks' pace with the default options: min(share x rate, merchants / interval).
  const { refresh } = resolveAlipayAuthConfig({
    appId: APP_ID,
    privateKey: vectors.keys.app.privateKeyPkcs8Pem,
    alipayPublicKey: vectors.keys.alipay.publicKeySpkiPem,
  });
  const perSecond = Math.min(refresh.statusCheckShare * refresh.ratePerSecond, 1_000_000 / (refresh.statusCheckIntervalMs / 1000));
  figure('status checks at 1M merchants, default options (calls/s)', '/s', [perSecond]);
  figure('… as a share of the default rate (target <= 0.1)', 'x', [perSecond / refresh.ratePerSecond]);
}

const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',').map((s) => s.trim())) : null;
const part = (name: string) => !ONLY || ONLY.has(name);

async function main(): Promise<void> {
  Logger.overrideLogger(['error']);
  if (part('signer')) await signer();
  if (part('hot')) for (const engine of ['sqlite', 'postgres'] as TestEngine[]) await hotPath(engine);
  for (const processes of [1, 3]) {
    if (!part(processes === 1 ? 'refresh' : 'refresh3')) continue;
    const runs = [];
    for (let i = 0; i < REFRESH_REPS; i++) runs.push(await refresh('postgres', processes, REFRESH_N));
    // Ideal: every place busy with calls of exactly the injected latency (8 places / 50 ms per process).
    const ideal = processes * (REFRESH_CONCURRENCY / (REFRESH_LATENCY_MS / 1000));
    figure(
      `postgres: scheduled refresh, ${processes} process(es), ${REFRESH_N} due, 50 ms Alipay, concurrency 8`,
      '/s',
      runs.map((r) => r.rate),
    );
    figure(
      `postgres: … as a share of the ideal ${ideal}/s${processes === 1 ? ' (target >= 0.95)' : ''}`,
      'x',
      runs.map((r) => r.rate / ideal),
    );
    figure(
      `postgres: instance RSS after boot (${processes} process(es))`,
      'MB',
      runs.flatMap((r) => r.rssReady),
    );
    figure(
      `postgres: instance RSS after the run`,
      'MB',
      runs.flatMap((r) => r.rssAfter),
    );
    if (processes === 1) {
      // Issue 21: the instance's CPU per scheduled refresh (claim, re-lease, sign, HTTP, verify, decrypt,
      // seal, write) against one sign, one verify and the tokens' seal and open, in the same process.
      figure(
        'postgres: instance CPU per scheduled refresh',
        'ms',
        runs.flatMap((r) => r.cpuUs.map((us) => us / 1000)),
      );
      figure(
        'crypto floor of one refresh (RSA2 sign + verify, AES-GCM seal + open of both tokens)',
        'ms',
        runs.flatMap((r) => r.floorUs.map((us) => us / 1000)),
      );
      figure(
        'ratio: refresh CPU / crypto floor (target <= 2.5)',
        'x',
        runs.map((r) => r.cpuUs[0] / r.floorUs[0]),
      );
      // The same work with node:crypto, node:http and pg alone (test/support/refresh-worker.ts, bareRefreshUs).
      figure(
        'bare refresh without the library (node:crypto + node:http + pg, same gateway and database)',
        'ms',
        runs.flatMap((r) => r.bareUs.map((us) => us / 1000)),
      );
      figure(
        'ratio: bare refresh / crypto floor',
        'x',
        runs.map((r) => r.bareUs[0] / r.floorUs[0]),
      );
      figure(
        'ratio: refresh CPU / bare refresh',
        'x',
        runs.map((r) => r.cpuUs[0] / r.bareUs[0]),
      );
    }
  }
  if (part('claim')) {
    for (const [share, samples] of Object.entries(await claimBench('postgres', CLAIM_ROWS))) {
      if (share.includes('sync')) figure(`postgres: ${CLAIM_ROWS} rows, ${share}`, 'ms', samples);
      else figure(`postgres: claim a batch of 100 at ${CLAIM_ROWS} rows, ${share} (target <= 10)`, 'ms', samples);
    }
  }
  if (part('scale')) await scale();
  if (part('sample')) {
    const sample = await sampleMemory();
    for (const f of sample.figures) figure(f.name, f.unit, f.samples);
    notes.push(...sample.notes);
  }
  if (part('console')) {
    const page = await consolePageBench();
    for (const f of page.figures) figure(f.name, f.unit, f.samples);
    notes.push(...page.notes);
  }
  if (ONLY) return;
  for (const f of figures) {
    const target = /target (>=|<=|<) ([\d.]+)/.exec(f.name);
    if (!target) continue;
    const limit = Number(target[2]);
    const ok = target[1] === '>=' ? f.median >= limit : target[1] === '<=' ? f.median <= limit : f.median < limit;
    if (!ok) notes.push(`Missed: "${f.name}" (median ${f.median.toFixed(f.median < 10 ? 3 : 2)} ${f.unit}).`);
  }
  load.end = loadavg();
  notes.push(...WHY);
  writeFileSync(join(process.cwd(), 'bench/results.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, figures }, null, 2) + '\n');
  writeFileSync(join(process.cwd(), 'docs/benchmarks.md'), report());
  console.log('\nWrote docs/benchmarks.md and bench/results.json');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
