/**
 * The seeded soak (issue 19, "row integrity"): three instance processes on one database against the strict
 * simulator (tokenOverlapMs 0), with random gateway faults, kill -9 and restart of instances, killed
 * database connections, one instance's clock minutes ahead, and re-authorizations and cancellations
 * arriving while refreshes run. At the end every merchant is checked at the simulator.
 *
 * The three zeros:
 * - lost: a merchant whose authorization is active at Alipay, but whose stored row is not `active`, or whose
 *   stored refresh token Alipay refuses (the merchant would have to authorize again).
 * - served refused: a merchant call through the library (`authAppId`, so with the library's own reload and
 *   repair) that Alipay refused with the token the library served, for a merchant active at Alipay and not
 *   being re-authorized or cancelled at that moment; and, at the end, a token getAppAuthToken serves that
 *   Alipay refuses.
 * - racing refreshes: refresh requests for one merchant that overlap at the simulator
 *   (stats().refreshOverlaps).
 * A fourth check: a merchant cancelled at Alipay must not end `active` (missed cancellation).
 *
 * Every random choice comes from the seed (the whole schedule is drawn before the run), so a failing seed
 * replays the same schedule; the timing of processes is not replayable, the journal is what explains a run.
 * Only public APIs of the library are used (the token service, the scheduler, the OpenAPI client), never
 * the store: the store's contract is changing.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DynamicModule, INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, DataSourceOptions } from 'typeorm';
import { AlipaySimulator, FaultInput, QUERY_PATH, startAlipaySimulator, TOKEN_PATH, TRADE_QUERY_PATH } from 'nestjs-alipay-auth-simulator';
import { AlipayApiError, AlipayAuthModule, AlipayAuthorizationRequiredError, AlipayOpenApiClient, AlipayTokenService } from 'nestjs-alipay-auth';
import type { AlipayAuthorizationInfo, AlipayRefreshOptions } from 'nestjs-alipay-auth';
import { ALIPAY_AUTH_ENTITIES, alipayAuthMigrations } from 'nestjs-alipay-auth/typeorm';
import { createIsolatedDatabase, IsolatedDatabase, TestEngine } from '../support/databases';
import { vectors } from '../fixtures/vectors';
import { fp, GatewayRecord, startGatewayProxy, TokenIndex } from './gateway-proxy';
import { compileSoakInstance, CompiledInstance, InstanceEvent, SoakProcess } from './instance-process';
import { Journal } from './journal';
import { Prng } from './prng';

export const SOAK_APP_ID = '2021004100000001';

export interface SoakOptions {
  seed: number;
  engine: TestEngine;
  /** Merchant apps authorized at the start. */
  merchants: number;
  /** Length of the chaos phase, seconds (setup, settling and the final check come on top). */
  durationSec: number;
  instances?: number;
  /** How far ahead one instance's clock runs, minutes; 0: no skewed instance. Default: 2-5, from the seed. */
  skewMinutes?: number;
  /** Mean pause between injected gateway faults, ms. */
  faultEveryMs?: number;
  /** Mean pause between kill -9 of an instance, ms. */
  killEveryMs?: number;
  /** Mean pause between killed database connections, ms. */
  dbKillEveryMs?: number;
  /** Merchant calls per second (all instances together). */
  callsPerSec?: number;
  /** Re-authorizations during the run, as a share of the merchants. */
  reauthShare?: number;
  /** Cancellations during the run, as a share of the merchants. */
  cancelShare?: number;
  /** Longest wait for the rows to settle after the chaos, seconds. */
  settleSec?: number;
  /** Where the journal goes; default a new temp dir. Kept on failure (or with keepJournal), removed otherwise. */
  journalDir?: string;
  keepJournal?: boolean;
  /** Progress lines (default console.log). */
  log?: (line: string) => void;
  /** Reuse an already compiled instance (the Jest suite compiles once for both engines). */
  compiled?: CompiledInstance;
}

export interface SoakReport {
  ok: boolean;
  seed: number;
  engine: TestEngine;
  merchants: number;
  durationSec: number;
  wallMs: number;
  skew: { instance: string; minutes: number } | null;
  refreshes: { requests: number; issued: number };
  faults: { planned: number; applied: number; byKind: Record<string, number> };
  kills: number;
  restarts: number;
  crashes: number;
  dbKills: { events: number; connections: number };
  reauths: { planned: number; done: number; exchangeAttempts: number };
  cancels: { planned: number; cancelled: number };
  notifications: { delivered: number; failed: number };
  calls: Record<string, number>;
  lost: Array<{ authAppId: string; why: string }>;
  servedRefused: Array<{ authAppId: string; why: string }>;
  racing: {
    /** Overlaps at the simulator that the contract covers: the zero the soak asserts. */
    withinContract: number;
    /** Every overlap the simulator counted. */
    overlaps: number;
    byMerchant: Record<string, number>;
    /** Overlaps whose first request was held longer than MAX_CALL_MS (as its proxy measured): outside the library's contract. */
    outsideContract: number;
    /** Overlapping refresh requests as the proxies saw them (ms since the start): who sent what, when, and how each ended. */
    pairs: Array<{ authAppId: string; first: string; second: string; firstHeldMs: number }>;
  };
  /** The library's contract as the soak kept it: every refresh request answered (or reset) within MAX_CALL_MS of reaching its proxy. */
  contract: { maxCallMs: number; longestRefreshMs: number; refreshesPastMaxCall: number; latencyFaultsHeldBack: number };
  missedCancellations: Array<{ authAppId: string; why: string }>;
  /** Refused calls while the merchant was being re-authorized or cancelled (expected, not counted). */
  refusedWhileDisturbed: number;
  /** Refused calls the library could not have avoided (README, "served refused"): not counted. */
  refusedExcused: { ownRepairFaulted: number; pairInDoubt: number };
  journal: string;
  explanations: string[];
  replay: string;
}

/** The library's timings, scaled to seconds: a token lives 20 s and is due 8 s after it was issued. */
const TIMING = {
  tokenTtlSec: 20,
  refreshTtlSec: 120,
  timeoutMs: 1_500,
  retries: 0,
  refresh: {
    refreshAheadMs: 12_000,
    refreshTokenSafetyMs: 30_000,
    batchSize: 20,
    concurrency: 4,
    ratePerSecond: 50,
    leaseMs: 6_000,
    backoffBaseMs: 1_000,
    backoffMaxMs: 5_000,
    statusCheckIntervalMs: 15_000,
  } satisfies AlipayRefreshOptions,
  refreshEveryMs: 1_000,
};

/**
 * The library's longest call (its `maxCallMs`: timeoutMs x (retries + 1) + retries x retryMaxDelayMs (5 s) + 2 s):
 * it promises no racing refresh only while a lost request cannot land at Alipay later than this after it was
 * sent. The soak's faults stay inside that contract (see FAULT_KINDS and the latency rule in the chaos loop).
 */
export const MAX_CALL_MS = TIMING.timeoutMs * (TIMING.retries + 1) + TIMING.retries * 5_000 + 2_000;
/** The longest a latency fault holds a request: twice the client timeout, and never past the longest call. */
const MAX_LATENCY_MS = Math.min(2 * TIMING.timeoutMs, MAX_CALL_MS - 500);
/** Fault targets as the simulator matches them: the route, and the grant type on the token route. */
const faultTarget = (route: string, grantType?: string) => (grantType ? `${route} ${grantType}` : route);

type PlanEvent =
  | { at: number; kind: 'fault'; fault: FaultInput; label: string }
  | { at: number; kind: 'kill'; inst: number; downMs: number }
  | { at: number; kind: 'db-kill'; inst: number }
  | { at: number; kind: 'reauth'; merchant: number; inst: number }
  | { at: number; kind: 'cancel'; merchant: number }
  | { at: number; kind: 'call'; merchant: number; inst: number };

interface FaultTarget {
  route: string;
  grantType?: FaultInput['grantType'];
  label: string;
}
const FAULT_ROUTES: ReadonlyArray<readonly [FaultTarget, number]> = [
  [{ route: TOKEN_PATH, grantType: 'refresh_token', label: 'refresh' }, 6],
  [{ route: TOKEN_PATH, grantType: 'authorization_code', label: 'exchange' }, 1],
  [{ route: QUERY_PATH, label: 'query' }, 1.5],
  [{ route: TRADE_QUERY_PATH, label: 'merchant-call' }, 1.5],
];
// Lost answers, late answers past the timeout, 5xx, resets, bad signatures.
const FAULT_KINDS = [
  ['drop-after-issue', 3],
  ['latency', 3],
  ['http-500', 1],
  ['http-503', 1],
  ['reset', 2],
  ['bad-signature', 2],
] as const;

/** Draws the whole schedule from the seed, before anything runs. */
function drawPlan(
  o: Required<
    Pick<SoakOptions, 'merchants' | 'durationSec' | 'faultEveryMs' | 'killEveryMs' | 'dbKillEveryMs' | 'callsPerSec' | 'reauthShare' | 'cancelShare'>
  >,
  instances: number,
  rng: Prng,
): PlanEvent[] {
  const end = o.durationSec * 1000;
  const plan: PlanEvent[] = [];
  // A rate or share of 0 turns that kind of trouble off (to tell which one a failure needs).
  const faults = rng.fork('faults');
  for (let t = o.faultEveryMs > 0 ? faults.exp(o.faultEveryMs) : end; t < end; t += faults.exp(o.faultEveryMs)) {
    const where = faults.weighted(FAULT_ROUTES);
    const kind = faults.weighted(FAULT_KINDS);
    const fault: FaultInput = { route: where.route, kind, count: faults.int(1, 3), ...(where.grantType ? { grantType: where.grantType } : {}) };
    // Late answers: from half the client timeout to MAX_LATENCY_MS (inside the library's longest call). The
    // simulator adds up the latency faults pending on a route, so the chaos loop never lets two be pending.
    if (kind === 'latency') fault.latencyMs = Math.round(faults.range(0.5 * TIMING.timeoutMs, MAX_LATENCY_MS));
    plan.push({ at: Math.round(t), kind: 'fault', fault, label: where.label });
  }
  // Kills and killed connections in evenly spread slots (a random instant in each), so every run has some.
  const kills = rng.fork('kills');
  const nKills = o.killEveryMs > 0 ? Math.max(1, Math.round(end / o.killEveryMs)) : 0;
  for (let i = 0; i < nKills; i++) {
    const at = 2_000 + (i + kills.range(0.1, 0.9)) * ((end - 4_000) / nKills);
    plan.push({ at: Math.round(at), kind: 'kill', inst: kills.int(0, instances - 1), downMs: kills.int(300, 3_000) });
  }
  const db = rng.fork('db-kills');
  const nDb = o.dbKillEveryMs > 0 ? Math.max(1, Math.round(end / o.dbKillEveryMs)) : 0;
  for (let i = 0; i < nDb; i++) plan.push({ at: Math.round((i + db.range(0.1, 0.9)) * (end / nDb)), kind: 'db-kill', inst: db.int(0, instances - 1) });
  const ops = rng.fork('merchant-ops');
  for (let i = 0; i < (o.reauthShare > 0 ? Math.max(1, Math.round(o.merchants * o.reauthShare)) : 0); i++) {
    plan.push({ at: ops.int(1_000, end - 1_000), kind: 'reauth', merchant: ops.int(0, o.merchants - 1), inst: ops.int(0, instances - 1) });
  }
  for (let i = 0; i < (o.cancelShare > 0 ? Math.max(1, Math.round(o.merchants * o.cancelShare)) : 0); i++)
    plan.push({ at: ops.int(1_000, end - 1_000), kind: 'cancel', merchant: ops.int(0, o.merchants - 1) });
  const calls = rng.fork('calls');
  const meanMs = 1000 / o.callsPerSec;
  for (let t = o.callsPerSec > 0 ? calls.exp(meanMs) : end; t < end; t += calls.exp(meanMs))
    plan.push({ at: Math.round(t), kind: 'call', merchant: calls.int(0, o.merchants - 1), inst: calls.int(0, instances - 1) });
  return plan.sort((a, b) => a.at - b.at);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));
const merchantId = (i: number) => `20210${String(i + 1).padStart(11, '0')}`;
const INSTANCE_NAMES = 'abcdefghij';

interface Window {
  from: number;
  to: number;
  why: 'reauth' | 'cancelled';
}

/** The fresh instance that settles and checks at the end: in this process, refresh off, no clock option. */
@Module({})
class CheckerModule {
  static forRoot(dataSource: DataSourceOptions, alipay: { gateway: string; publicKey: string; tokenKey: string }): DynamicModule {
    return {
      module: CheckerModule,
      imports: [
        TypeOrmModule.forRoot({ ...dataSource, entities: ALIPAY_AUTH_ENTITIES } as never),
        AlipayAuthModule.forRoot({
          appId: SOAK_APP_ID,
          privateKey: vectors.keys.app.privateKeyPkcs8Pem,
          alipayPublicKey: alipay.publicKey,
          gateway: alipay.gateway,
          retries: TIMING.retries,
          timeoutMs: TIMING.timeoutMs,
          tokenEncryptionKeys: alipay.tokenKey,
          instanceId: 'soak-checker',
          refresh: { ...TIMING.refresh, enabled: false },
        }),
      ],
    };
  }
}

type Judged = GatewayRecord & { pairLost?: boolean };

/**
 * Which refused merchant calls the library could not have avoided (README, "served refused"), from the
 * journal's facts only: the proxies' records, the instances' signature-failure log lines, instance exits.
 * Answers the excuse, or undefined when the refusal counts.
 */
function refusalJudge(
  gateway: Judged[],
  signatureFailures: Array<{ inst: string; authAppId: string; t: number }>,
  exits: Array<{ inst: string; t: number }>,
): (c: { authAppId: string; inst: string; t0: number; t1: number }) => string | undefined {
  const ANSWER_USED_MS = 2_000;
  const rejected = (r: Judged, id: string) =>
    signatureFailures.some((f) => f.inst === r.inst && f.authAppId === id && f.t >= r.t0 && f.t <= r.t1 + ANSWER_USED_MS);
  const receiverDied = (r: Judged) => exits.some((x) => x.inst === r.inst && x.t >= r.t0 && x.t <= r.t1 + ANSWER_USED_MS);
  /** A token or status call that met a fault: no answer (reset, or given up: a late answer), a 5xx, or an answer the instance rejected. */
  const faulted = (r: Judged, id: string) => r.end !== 'answered' || (r.status ?? 0) >= 500 || rejected(r, id);
  const repairRoutes = new Set([TOKEN_PATH, QUERY_PATH]);
  /** Pairs issued for a merchant, in order: when, their fingerprints (unknown when the answer was reset), and whether an instance received them. */
  const issuedPairs = (id: string) =>
    gateway
      .filter((r) => r.route === TOKEN_PATH && r.t1 > 0 && (r.pairLost || r.issued?.some((p) => p.authAppId === id)))
      .map((r) => {
        const pair = r.issued?.find((p) => p.authAppId === id);
        const received = !r.pairLost && r.end === 'answered' && r.status === 200 && !rejected(r, id) && !receiverDied(r);
        return { at: r.t1, tok: pair?.tok, rt: pair?.rt, received, record: r };
      })
      .sort((a, b) => a.at - b.at);
  return (c) => {
    const id = c.authAppId;
    // 1. The call's own repair met a fault (a token or status call for the merchant from its instance, while it ran).
    const own = gateway.find((r) => r.inst === c.inst && r.authAppId === id && repairRoutes.has(r.route) && r.t0 >= c.t0 && r.t0 <= c.t1 && faulted(r, id));
    if (own) return `own-repair-faulted: ${own.route}${own.grant ? ` ${own.grant}` : ''} ${own.end}${own.status ? ` ${own.status}` : ''}`;
    // 2. The pair Alipay held when the call ended came in an answer no instance received, and nobody has sent its
    //    tokens since: no valid token was known to anyone. Excused while the library could not yet have repaired
    //    it (lost less than a longest call plus a timeout ago: the repair must wait that long), or when a refresh
    //    of the merchant was sent after the loss (it met a fault, or its pair would be the one held).
    const pairs = issuedPairs(id).filter((p) => p.at <= c.t1);
    const held = pairs[pairs.length - 1];
    if (!held || held.received) return undefined;
    const usedSince = gateway.some((r) => r.t0 >= held.at && r.t0 <= c.t1 && ((held.tok && r.sentTok === held.tok) || (held.rt && r.sentRt === held.rt)));
    if (usedSince) return undefined;
    const recent = c.t1 - held.at <= MAX_CALL_MS + TIMING.timeoutMs;
    const retried = gateway.some((r) => r.authAppId === id && r.grant === 'refresh_token' && r.t0 > held.at && r.t0 <= c.t1);
    if (!recent && !retried) return undefined;
    return `pair-in-doubt: issued to ${held.record.inst} at ${held.at}, ${held.record.pairLost ? 'reset after issue' : held.record.end}${recent ? ', lost within the repair wait' : ', its repair met a fault'}`;
  };
}

export function replayCommand(o: SoakOptions): string {
  const extra: string[] = [];
  if (o.instances !== undefined && o.instances !== 3) extra.push(`--instances ${o.instances}`);
  if (o.skewMinutes !== undefined) extra.push(`--skew ${o.skewMinutes}`);
  for (const [k, flag] of [
    ['faultEveryMs', '--fault-every-ms'],
    ['killEveryMs', '--kill-every-ms'],
    ['dbKillEveryMs', '--db-kill-every-ms'],
    ['callsPerSec', '--calls-per-sec'],
    ['reauthShare', '--reauth-share'],
    ['cancelShare', '--cancel-share'],
  ] as const) {
    if (o[k] !== undefined) extra.push(`${flag} ${o[k]}`);
  }
  return `npm run soak -- --seed ${o.seed} --merchants ${o.merchants} --duration ${o.durationSec} --engine ${o.engine}${extra.length ? ` ${extra.join(' ')}` : ''}`;
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const o = {
    instances: 3,
    faultEveryMs: 600,
    killEveryMs: 9_000,
    dbKillEveryMs: 7_000,
    callsPerSec: 12,
    reauthShare: 0.4,
    cancelShare: 0.15,
    settleSec: 40,
    // Options left undefined keep the defaults.
    ...(Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as SoakOptions),
  };
  const log = o.log ?? ((l: string) => console.log(l));
  const started = Date.now();
  const rng = new Prng(o.seed);
  const replay = replayCommand(options);
  log(`soak seed=${o.seed} engine=${o.engine} merchants=${o.merchants} duration=${o.durationSec}s instances=${o.instances}`);
  const journalDir = o.journalDir ?? mkdtempSync(join(tmpdir(), `alipay-soak-${o.seed}-`));
  const journal = new Journal(journalDir, started);
  log(`soak journal: ${journal.file}`);

  const names = Array.from({ length: o.instances }, (_, i) => INSTANCE_NAMES[i]);
  const skewRng = rng.fork('skew');
  const skewIndex = skewRng.int(0, o.instances - 1);
  const skewMinutes = o.skewMinutes ?? skewRng.int(2, 5);
  const skew = skewMinutes > 0 ? { instance: names[skewIndex], minutes: skewMinutes } : null;
  const plan = drawPlan(o, o.instances, rng);
  journal.write({ kind: 'options', options: { ...options, compiled: undefined, log: undefined }, timing: TIMING, skew, replay });
  for (const e of plan)
    if (e.kind !== 'call')
      journal.write({ t: started, ...e, kind: 'plan', planned: e.kind, ...('merchant' in e ? { authAppId: merchantId(e.merchant) } : {}) });

  // State of the run.
  const ids = Array.from({ length: o.merchants }, (_, i) => merchantId(i));
  const truth = new Map<string, 'active' | 'cancelled'>(ids.map((id) => [id, 'active']));
  const windows = new Map<string, Window[]>(ids.map((id) => [id, []]));
  const merchantChain = new Map<string, Promise<void>>();
  const pendingReauth = new Set<string>();
  const callLog: Array<{ authAppId: string; inst: string; t0: number; t1: number; result: string; code?: string }> = [];
  const refreshRequests: GatewayRecord[] = [];
  /** Every gateway request of the run (the proxies' records), and what the served-refused rule reads besides. */
  const gatewayLog: Array<GatewayRecord & { pairLost?: boolean }> = [];
  const simRefreshesSeen = new Map<string, number>();
  const signatureFailures: Array<{ inst: string; authAppId: string; t: number }> = [];
  const exits: Array<{ inst: string; t: number }> = [];
  /** Requests the proxies forwarded per fault target, and the count at which the last latency fault there is surely used up. */
  const forwarded = new Map<string, number>();
  const latencyUsedUpAt = new Map<string, number>();
  const inflight = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>): Promise<T> => {
    inflight.add(p);
    void p.finally(() => inflight.delete(p)).catch(() => undefined);
    return p;
  };
  const counts = {
    faultsSkipped: 0,
    kills: 0,
    restarts: 0,
    crashes: 0,
    dbKillEvents: 0,
    dbKilledConnections: 0,
    reauthDone: 0,
    exchangeAttempts: 0,
    cancelled: 0,
    notifyOk: 0,
    notifyFailed: 0,
  };
  let chaos = true;

  let sim: AlipaySimulator | undefined;
  let db: IsolatedDatabase | undefined;
  let admin: DataSource | undefined;
  let checker: INestApplicationContext | undefined;
  const ownCompile = !o.compiled;
  const compiled = o.compiled ?? compileSoakInstance();
  const proxies: Array<{ close(): Promise<void> }> = [];
  const procs: SoakProcess[] = [];
  const mariaUsers: string[] = [];
  let relay: http.Server | undefined;
  let report: SoakReport | undefined;

  try {
    // --- Alipay, the database, the instances --------------------------------------------------------
    const relayPort = await new Promise<number>((resolve) => {
      relay = http.createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => void relayNotification(body).then((ok) => res.writeHead(200).end(ok ? 'success' : 'fail')));
      });
      relay.listen(0, '127.0.0.1', () => resolve((relay!.address() as AddressInfo).port));
    });
    sim = await startAlipaySimulator({
      tokenTtlSec: TIMING.tokenTtlSec,
      refreshTtlSec: TIMING.refreshTtlSec,
      // Alipay's schedule (4 min ... 15 h) in 0.5 s ... 108 s.
      notifyTimeScale: 0.002,
      apps: [{ appId: SOAK_APP_ID, publicKey: vectors.keys.app.publicKeySpkiPem, notifyUrl: `http://127.0.0.1:${relayPort}/notify` }],
    });
    const settings = sim.controls.configure({});
    journal.write({
      kind: 'simulator',
      tokenOverlapMs: settings.tokenOverlapMs,
      refreshGraceMs: String(settings.refreshGraceMs),
      tokenTtlSec: settings.tokenTtlSec,
      refreshTtlSec: settings.refreshTtlSec,
    });

    db = await createIsolatedDatabase(o.engine, `soak_${o.seed}`);
    const base = db.options();
    admin = new DataSource({ ...base, entities: ALIPAY_AUTH_ENTITIES, migrations: alipayAuthMigrations(base.type as 'postgres') } as DataSourceOptions);
    await admin.initialize();
    await admin.runMigrations();
    journal.write({ kind: 'database', engine: o.engine, namespace: db.name });

    const tokenKey = randomBytes(32).toString('base64');
    const index = new TokenIndex();
    const runTag = randomBytes(3).toString('hex');
    if (o.engine === 'mariadb') {
      const users: Array<{ User: string }> = await admin.query(`SELECT User FROM mysql.user WHERE User LIKE 'soak\\_%'`);
      for (const { User } of users) {
        const at = parseInt(User.split('_')[1] ?? '', 36);
        if (Number.isFinite(at) && started - at > 2 * 3600_000) await admin.query(`DROP USER IF EXISTS '${User}'@'%'`).catch(() => undefined);
      }
    }
    const dataSourceOf = async (name: string): Promise<Record<string, unknown>> => {
      const b = db!.options() as unknown as Record<string, unknown>;
      if (o.engine === 'postgres') {
        return { ...b, applicationName: `soak-${name}`, extra: { ...(b.extra as object), max: 6, application_name: `soak-${name}` } };
      }
      if (o.engine === 'mariadb') {
        // A database user per instance, so its connections can be told apart (and killed) in the process list.
        // soak_<start, base 36>_<random>_<instance>: users left by a crashed runner are dropped after two hours.
        const user = `soak_${started.toString(36)}_${runTag}_${name}`;
        await admin!.query(`CREATE USER IF NOT EXISTS '${user}'@'%'`);
        await admin!.query(`GRANT ALL PRIVILEGES ON \`${db!.name}\`.* TO '${user}'@'%'`);
        mariaUsers.push(user);
        return { ...b, username: user, password: '', extra: { connectionLimit: 6 } };
      }
      return { ...b };
    };

    const onEvent = (e: InstanceEvent) => {
      if (e.kind === 'log' && Array.isArray(e.authAppIds) && /signature/i.test(String(e.msg))) {
        for (const id of e.authAppIds as string[]) signatureFailures.push({ inst: e.inst, authAppId: id, t: Number(e.t) });
      }
      if (e.kind === 'exit') exits.push({ inst: e.inst, t: Date.now() });
      if (e.kind === 'exit') {
        const p = procs.find((x) => x.name === e.inst);
        const expected = p?.expectExit;
        if (!expected && e.signal !== 'SIGKILL') {
          counts.crashes++;
          log(`soak: instance ${e.inst} exited on its own (code ${String(e.code)})`);
          if (chaos && p) track(restart(p, 1_000, 'after crash'));
        }
      }
      journal.write(e);
    };
    for (let i = 0; i < o.instances; i++) {
      const name = names[i];
      const proxy = await startGatewayProxy({
        upstream: sim.url,
        inst: name,
        index,
        record: (r: GatewayRecord) => {
          if (r.grant === 'refresh_token') refreshRequests.push(r);
          // A refresh reset after the simulator issued its pair (drop-after-issue): a pair no instance received.
          // The simulator's per-merchant refresh count tells (refreshes of one merchant do not overlap).
          let pairLost: boolean | undefined;
          if (r.grant === 'refresh_token' && r.authAppId) {
            const n = sim!.controls.stats().refreshesByMerchant[r.authAppId] ?? 0;
            if (r.end.includes('upstream-reset') && n > (simRefreshesSeen.get(r.authAppId) ?? 0)) pairLost = true;
            simRefreshesSeen.set(r.authAppId, n);
          }
          gatewayLog.push(pairLost ? { ...r, pairLost } : r);
          journal.write({ ...r, ...(pairLost ? { pairLost } : {}), t: r.t0 });
        },
        forwarding: (route, grant) => {
          const target = faultTarget(route, grant);
          forwarded.set(target, (forwarded.get(target) ?? 0) + 1);
        },
      });
      proxies.push(proxy);
      const seeds = rng.fork(`instance-${name}`);
      const genSeeds: number[] = [];
      const seedOf = (g: number) => {
        while (genSeeds.length < g) genSeeds.push(seeds.int(1, 2 ** 31 - 1));
        return genSeeds[g - 1];
      };
      procs.push(
        new SoakProcess(
          name,
          compiled,
          {
            dataSource: await dataSourceOf(name),
            appId: SOAK_APP_ID,
            privateKey: vectors.keys.app.privateKeyPkcs8Pem,
            alipayPublicKey: sim.alipayPublicKeyPem,
            gateway: proxy.url,
            tokenEncryptionKeys: tokenKey,
            timeoutMs: TIMING.timeoutMs,
            retries: TIMING.retries,
            refresh: TIMING.refresh,
            refreshEveryMs: TIMING.refreshEveryMs,
          },
          skew && skewIndex === i ? skew.minutes * 60_000 : 0,
          seedOf,
          onEvent,
        ),
      );
    }
    await Promise.all(procs.map((p) => p.start()));
    log(`soak: ${o.instances} instances up${skew ? `; instance ${skew.instance} runs ${skew.minutes} min ahead` : ''}`);

    // --- helpers --------------------------------------------------------------------------------------
    const notifyRng = rng.fork('notify');
    const pickRng = rng.fork('fallback-instance');
    const live = () => procs.filter((p) => p.up);
    async function relayNotification(body: string): Promise<boolean> {
      const params = Object.fromEntries(new URLSearchParams(body));
      const up = live();
      const target = up.length ? up[notifyRng.int(0, up.length - 1)] : undefined;
      const about = { notifyId: params.notify_id, method: params.msg_method ?? params.notify_type, authAppId: params.msg_app_id };
      if (!target) {
        counts.notifyFailed++;
        journal.write({ kind: 'notify', ...about, ok: false, why: 'no instance up' });
        return false;
      }
      const r = await target.rpc('/notify', { params }, 10_000).catch((e: Error) => ({ ok: false, code: e.message }));
      if (r.ok) counts.notifyOk++;
      else counts.notifyFailed++;
      journal.write({ kind: 'notify', inst: target.name, ...about, ...r });
      return r.ok === true;
    }

    async function restart(p: SoakProcess, afterMs: number, why: string): Promise<void> {
      await sleep(afterMs);
      if (p.up || p.pid) return;
      journal.write({ kind: 'restart', inst: p.name, why });
      counts.restarts++;
      await p.start().catch((e: Error) => journal.write({ kind: 'restart-failed', inst: p.name, error: e.message }));
    }

    /** One op at a time per merchant, so what Alipay holds for it is known when the op ends. */
    function serial(id: string, op: () => Promise<void>): Promise<void> {
      const next = (merchantChain.get(id) ?? Promise.resolve()).then(op, op);
      merchantChain.set(id, next);
      return track(next);
    }

    async function reauthorize(id: string, firstInst: number, attempts = 6): Promise<void> {
      const w: Window = { from: Date.now(), to: Infinity, why: 'reauth' };
      windows.get(id)!.push(w);
      for (let attempt = 1; attempt <= attempts; attempt++) {
        const up = live();
        const preferred = procs[firstInst];
        const target = attempt === 1 && preferred.up ? preferred : up.length ? up[pickRng.int(0, up.length - 1)] : undefined;
        if (!target) {
          await sleep(500);
          continue;
        }
        // The merchant approves on the authorization page; the callback reaches one instance.
        const { app_auth_code: code } = sim!.controls.authorize(SOAK_APP_ID, { authAppId: id });
        counts.exchangeAttempts++;
        const sentAt = Date.now();
        const r = await target.rpc('/exchange', { code }, 15_000).catch((e: Error) => ({ ok: false, code: `rpc: ${e.message}` }));
        journal.write({ kind: 'reauth', inst: target.name, authAppId: id, attempt, appAuthCode: code, ...r });
        if (r.ok) {
          truth.set(id, 'active');
          pendingReauth.delete(id);
          counts.reauthDone++;
          const now = Date.now();
          w.to = now;
          for (const c of windows.get(id)!) if (c.why === 'cancelled' && c.to === Infinity) c.to = now;
          return;
        }
        // The failed exchange may still land at Alipay until the longest call has run out, and then its pair
        // supersedes whatever a newer code issued: no library can tell (the code's merchant comes with the
        // lost answer). The merchant authorizes again only after that, as a person would.
        await sleep(Math.max(300, sentAt + MAX_CALL_MS - Date.now()));
      }
      pendingReauth.add(id);
      journal.write({ kind: 'reauth-pending', authAppId: id });
    }

    async function cancel(id: string): Promise<void> {
      const w: Window = { from: Date.now(), to: Infinity, why: 'cancelled' };
      windows.get(id)!.push(w);
      const r = await sim!.controls.cancelAuthorization(SOAK_APP_ID, id);
      journal.write({
        kind: 'cancel',
        authAppId: id,
        cancelled: r.cancelled,
        notifyId: r.notification?.notifyId,
        firstDelivery: r.notification ? { status: r.notification.status, body: r.notification.body } : undefined,
      });
      if (r.cancelled) {
        truth.set(id, 'cancelled');
        counts.cancelled++;
      } else if (truth.get(id) === 'active') {
        w.to = Date.now();
      }
    }

    async function call(id: string, inst: number): Promise<void> {
      const p = procs[inst];
      if (!p.up) return;
      const t0 = Date.now();
      const r = await p
        .rpc<Record<string, unknown>>('/call', { authAppId: id }, 20_000)
        .catch((e: Error) => ({ result: 'rpc-failed', code: e.message.slice(0, 100) }));
      const t1 = Date.now();
      const result = String(r.result);
      callLog.push({ authAppId: id, inst: p.name, t0, t1, result, code: r.code as string | undefined });
      journal.write({ kind: 'call', inst: p.name, authAppId: id, t: t0, ms: t1 - t0, ...r });
    }

    async function killConnections(inst: number): Promise<number> {
      const name = names[inst];
      if (o.engine === 'postgres') {
        const rows: unknown[] = await admin!.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`,
          [`soak-${name}`],
        );
        return rows.length;
      }
      if (o.engine === 'mariadb') {
        const user = mariaUsers[inst];
        const rows: Array<{ ID: number }> = await admin!.query(`SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?`, [user]);
        let n = 0;
        for (const r of rows)
          n += await admin!.query(`KILL ${Number(r.ID)}`).then(
            () => 1,
            () => 0,
          );
        return n;
      }
      return 0;
    }

    // --- the initial authorizations -----------------------------------------------------------------
    for (let i = 0; i < ids.length; i += 100) {
      const batch = ids.slice(i, i + 100);
      const { app_auth_code } = sim.controls.authorize(SOAK_APP_ID, { authAppIds: batch });
      const r = await procs[0].rpc('/exchange', { code: app_auth_code }, 30_000);
      if (!r.ok) throw new Error(`initial exchange failed: ${JSON.stringify(r)}`);
    }
    journal.write({ kind: 'authorized', merchants: ids.length });
    log(`soak: ${ids.length} merchants authorized; chaos for ${o.durationSec} s`);

    // --- chaos ----------------------------------------------------------------------------------------
    const chaosStart = Date.now();
    const planned = { faults: 0 };
    const byKind: Record<string, number> = {};
    for (const e of plan) {
      await sleep(chaosStart + e.at - Date.now());
      switch (e.kind) {
        case 'fault': {
          // The simulator holds a request for the sum of the latency faults pending on its route: two pending
          // would hold it past the library's longest call, outside its contract. A latency fault waits until
          // the previous one on its route is surely used up (its count of requests forwarded since it was added).
          const target = faultTarget(e.fault.route, e.fault.grantType);
          if (e.fault.kind === 'latency') {
            if ((forwarded.get(target) ?? 0) < (latencyUsedUpAt.get(target) ?? 0)) {
              counts.faultsSkipped++;
              journal.write({
                ...e.fault,
                kind: 'fault-skipped',
                fault: e.fault.kind,
                where: e.label,
                why: 'a latency fault may still be pending on this route',
              });
              break;
            }
            latencyUsedUpAt.set(target, (forwarded.get(target) ?? 0) + (e.fault.count ?? 1));
          }
          sim.controls.addFault(e.fault);
          planned.faults++;
          byKind[`${e.label}:${e.fault.kind}`] = (byKind[`${e.label}:${e.fault.kind}`] ?? 0) + 1;
          journal.write({ ...e.fault, kind: 'fault', fault: e.fault.kind, where: e.label });
          break;
        }
        case 'kill': {
          const p = procs[e.inst];
          if (!p.up) {
            journal.write({ kind: 'kill-skipped', inst: p.name, why: 'down' });
            break;
          }
          counts.kills++;
          journal.write({ kind: 'kill', inst: p.name, pid: p.pid, downMs: e.downMs });
          track(p.kill9().then(() => restart(p, e.downMs, 'after kill -9')));
          break;
        }
        case 'db-kill': {
          counts.dbKillEvents++;
          track(
            killConnections(e.inst).then(
              (n) => {
                counts.dbKilledConnections += n;
                journal.write({ kind: 'db-kill', inst: names[e.inst], connections: n });
              },
              (err: Error) => journal.write({ kind: 'db-kill-failed', inst: names[e.inst], error: err.message }),
            ),
          );
          break;
        }
        case 'reauth':
          journal.write({ kind: 'reauth-start', authAppId: merchantId(e.merchant), inst: names[e.inst] });
          void serial(merchantId(e.merchant), () => reauthorize(merchantId(e.merchant), e.inst));
          break;
        case 'cancel':
          journal.write({ kind: 'cancel-start', authAppId: merchantId(e.merchant) });
          void serial(merchantId(e.merchant), () => cancel(merchantId(e.merchant)));
          break;
        case 'call':
          track(call(merchantId(e.merchant), e.inst));
          break;
      }
    }
    await sleep(chaosStart + o.durationSec * 1000 - Date.now());

    // --- settle ---------------------------------------------------------------------------------------
    chaos = false;
    sim.controls.clearFaults();
    journal.write({ kind: 'chaos-over' });
    log(`soak: chaos over (${counts.kills} kills, ${planned.faults} faults); settling`);
    for (let i = 0; i < 100 && inflight.size; i++) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...inflight]), new Promise((r) => (timer = setTimeout(r, 30_000)))]);
      clearTimeout(timer);
    }
    for (const p of procs) if (!p.up) await restart(p, 0, 'settle');
    for (const id of [...pendingReauth]) await serial(id, () => reauthorize(id, 0, 5));

    checker = await NestFactory.createApplicationContext(
      CheckerModule.forRoot(db.options(), { gateway: sim.url, publicKey: sim.alipayPublicKeyPem, tokenKey }),
      { logger: false, abortOnError: false },
    );
    const svc = checker.get(AlipayTokenService);
    const settledRow = (id: string, info: AlipayAuthorizationInfo | null): boolean => {
      if (truth.get(id) === 'cancelled') return !!info && info.status !== 'active';
      const row = info as (AlipayAuthorizationInfo & { failureCount?: number; verifyAt?: Date | null }) | null;
      return !!row && row.status === 'active' && !row.failureCount && !row.verifyAt;
    };
    const settleStart = Date.now();
    let unsettled: string[] = ids;
    // At least two refresh runs of every instance, at most settleSec.
    await sleep(3 * TIMING.refreshEveryMs);
    while (Date.now() - settleStart < o.settleSec * 1000) {
      const infos = await Promise.all(ids.map((id) => svc.get(id)));
      unsettled = ids.filter((id, i) => !settledRow(id, infos[i]));
      if (!unsettled.length) break;
      await sleep(1_000);
    }
    journal.write({ kind: 'settled', ms: Date.now() - settleStart, unsettled });
    for (const p of procs) p.expectExit = true;
    await Promise.all(procs.map((p) => p.stop()));
    log(
      `soak: settled in ${((Date.now() - settleStart) / 1000).toFixed(1)} s${unsettled.length ? ` (${unsettled.length} unsettled)` : ''}; instances stopped; checking every merchant`,
    );

    // --- the final check --------------------------------------------------------------------------------
    // (It refreshes every active merchant once more: the run's own refreshes are counted before it.)
    const before = sim.controls.stats();
    const client = checker.get(AlipayOpenApiClient);
    const lost: SoakReport['lost'] = [];
    const servedRefused: SoakReport['servedRefused'] = [];
    const missedCancellations: SoakReport['missedCancellations'] = [];
    /** The merchant call with an explicit token: no reload, no repair. */
    const accepted = async (token: string): Promise<string> => {
      try {
        await client.request({ method: 'POST', path: TRADE_QUERY_PATH, appAuthToken: token, body: { out_trade_no: 'soak-final' } });
        return 'unexpected-success';
      } catch (e) {
        if (e instanceof AlipayApiError && e.code === 'ACQ.TRADE_NOT_EXIST') return 'accepted';
        return e instanceof AlipayApiError ? e.code : e instanceof Error ? e.name : 'error';
      }
    };
    for (const id of ids) {
      const info = await svc.get(id);
      const status = info ? `${info.status}${info.statusReason ? ` (${info.statusReason})` : ''}` : 'no row';
      const check: Record<string, unknown> = { kind: 'final', authAppId: id, truth: truth.get(id), row: status };
      if (truth.get(id) === 'cancelled') {
        if (info?.status === 'active') missedCancellations.push({ authAppId: id, why: `cancelled at Alipay, row ${status}` });
      } else if (!info || info.status !== 'active') {
        lost.push({ authAppId: id, why: `active at Alipay, row ${status}` });
      } else {
        let token: string | undefined;
        try {
          token = await svc.getAppAuthToken(id);
          check.served = fp(token);
          check.servedAtAlipay = await accepted(token);
          if (check.servedAtAlipay !== 'accepted')
            servedRefused.push({ authAppId: id, why: `final check: getAppAuthToken served a token Alipay answers ${String(check.servedAtAlipay)}` });
        } catch (e) {
          check.served = e instanceof Error ? `${e.name}: ${e.message.slice(0, 120)}` : String(e);
        }
        // The stored refresh token must still work: refresh now (nothing else runs), and the new pair must serve.
        try {
          const after = await svc.refresh(id);
          const fresh = await svc.getAppAuthToken(id);
          check.refreshed = after.status;
          check.freshAtAlipay = await accepted(fresh);
          if (check.freshAtAlipay !== 'accepted')
            lost.push({ authAppId: id, why: `the pair refreshed at the end is refused (${String(check.freshAtAlipay)})` });
        } catch (e) {
          const why =
            e instanceof AlipayAuthorizationRequiredError
              ? 'authorization required'
              : e instanceof AlipayApiError
                ? e.code
                : e instanceof Error
                  ? `${e.name}: ${e.message.slice(0, 120)}`
                  : String(e);
          check.refreshed = why;
          lost.push({ authAppId: id, why: `the stored refresh token no longer works: ${why}` });
        }
      }
      journal.write(check);
    }

    // --- counters -----------------------------------------------------------------------------------------
    const stats = sim.controls.stats();
    const MARGIN = 50;
    let refusedWhileDisturbed = 0;
    const refusedExcused = { ownRepairFaulted: 0, pairInDoubt: 0 };
    const judge = refusalJudge(gatewayLog, signatureFailures, exits);
    for (const c of callLog) {
      const refused = c.result === 'refused' || c.result === 'unexpected-success';
      // A merchant active at Alipay told to authorize again is a refusal too (the library's own).
      const wronglyRequired = c.result === 'authorization-required' && truth.get(c.authAppId) === 'active';
      if (!refused && !wronglyRequired) continue;
      const disturbed = windows.get(c.authAppId)!.some((w) => c.t0 <= w.to + MARGIN && c.t1 >= w.from - MARGIN);
      if (disturbed) {
        refusedWhileDisturbed++;
        continue;
      }
      const excuse = refused ? judge(c) : undefined;
      journal.write({ kind: 'refused-call', t: c.t0, inst: c.inst, authAppId: c.authAppId, result: c.result, code: c.code, excuse: excuse ?? 'none: counted' });
      if (excuse?.startsWith('own-repair-faulted')) refusedExcused.ownRepairFaulted++;
      else if (excuse?.startsWith('pair-in-doubt')) refusedExcused.pairInDoubt++;
      else servedRefused.push({ authAppId: c.authAppId, why: `call on ${c.inst} at ${c.t0 - started} ms: ${c.result} (${c.code ?? '-'})` });
    }
    for (const [id, n] of Object.entries(stats.refreshesByMerchant))
      journal.write({ kind: 'sim-merchant', authAppId: id, refreshes: n, overlaps: stats.refreshOverlapsByMerchant[id] ?? 0, truth: truth.get(id) });
    const calls: Record<string, number> = {};
    for (const c of callLog) calls[c.result] = (calls[c.result] ?? 0) + 1;
    const describeRequest = (r: GatewayRecord) =>
      `${r.inst} sent rt ${r.sentRt ?? '?'} at ${r.t0 - started} ms, ${r.end} at ${r.t1 - started} ms${r.issued ? ` (issued ${r.issued[0].tok})` : r.code ? ` (${r.code})` : ''}`;
    const pairs: SoakReport['racing']['pairs'] = [];
    let withinContract = 0;
    let outsideContract = 0;
    for (const [id, n] of Object.entries(stats.refreshOverlapsByMerchant)) {
      const mine = refreshRequests.filter((r) => r.authAppId === id).sort((a, b) => a.t0 - b.t0);
      let outside = 0;
      for (let i = 0; i < mine.length; i++) {
        // The gap says whether the second came within the library's longest call of the first.
        for (let j = i + 1; j < mine.length && mine[j].t0 < mine[i].t1; j++) {
          const firstHeldMs = mine[i].t1 - mine[i].t0;
          if (firstHeldMs > MAX_CALL_MS) outside++;
          pairs.push({
            authAppId: id,
            first: `${describeRequest(mine[i])}${firstHeldMs > MAX_CALL_MS ? ` [held ${firstHeldMs} ms > ${MAX_CALL_MS} ms: outside the contract]` : ''}`,
            second: `${describeRequest(mine[j])}, ${mine[j].t0 - mine[i].t0} ms after the first`,
            firstHeldMs,
          });
        }
      }
      // Only overlaps the proxies show as outside the contract are set aside; any other is counted.
      outsideContract += Math.min(n, outside);
      withinContract += Math.max(0, n - outside);
    }
    const racing = { withinContract, overlaps: stats.refreshOverlaps, byMerchant: stats.refreshOverlapsByMerchant, outsideContract, pairs };
    const held = refreshRequests.filter((r) => r.t1 > 0).map((r) => r.t1 - r.t0);
    const contract = {
      maxCallMs: MAX_CALL_MS,
      longestRefreshMs: Math.max(0, ...held),
      refreshesPastMaxCall: held.filter((ms) => ms > MAX_CALL_MS).length,
      latencyFaultsHeldBack: counts.faultsSkipped,
    };
    const ok = lost.length === 0 && servedRefused.length === 0 && racing.withinContract === 0 && missedCancellations.length === 0;

    const explanations: string[] = [];
    const problems = new Map<string, string[]>();
    const note = (id: string, what: string) => problems.set(id, [...(problems.get(id) ?? []), what]);
    for (const l of lost) note(l.authAppId, `LOST: ${l.why}`);
    for (const s of servedRefused) note(s.authAppId, `SERVED REFUSED: ${s.why}`);
    for (const [id, n] of Object.entries(racing.byMerchant)) note(id, `RACING: ${n} overlapping refresh request(s) at the simulator`);
    for (const p of racing.pairs) note(p.authAppId, `  ${p.first}; meanwhile ${p.second}`);
    for (const m of missedCancellations) note(m.authAppId, `MISSED CANCELLATION: ${m.why}`);
    for (const [id, what] of [...problems].slice(0, 40)) {
      explanations.push(
        journal.explain(id, [
          `merchant ${id} (seed ${o.seed}, ${o.engine})`,
          ...what,
          `replay: ${replay}`,
          `windows: ${JSON.stringify(windows.get(id)!.map((w) => ({ ...w, from: w.from - started, to: w.to === Infinity ? 'open' : w.to - started })))}`,
        ]),
      );
    }

    report = {
      ok,
      seed: o.seed,
      engine: o.engine,
      merchants: o.merchants,
      durationSec: o.durationSec,
      wallMs: Date.now() - started,
      skew,
      refreshes: { requests: before.requests.byGrantType.refresh_token, issued: Object.values(before.refreshesByMerchant).reduce((a, b) => a + b, 0) },
      faults: { planned: planned.faults, applied: before.faultsInjected, byKind },
      kills: counts.kills,
      restarts: counts.restarts,
      crashes: counts.crashes,
      dbKills: { events: counts.dbKillEvents, connections: counts.dbKilledConnections },
      reauths: { planned: plan.filter((e) => e.kind === 'reauth').length, done: counts.reauthDone, exchangeAttempts: counts.exchangeAttempts },
      cancels: { planned: plan.filter((e) => e.kind === 'cancel').length, cancelled: counts.cancelled },
      notifications: { delivered: counts.notifyOk, failed: counts.notifyFailed },
      calls,
      lost,
      servedRefused,
      racing,
      contract,
      missedCancellations,
      refusedWhileDisturbed,
      refusedExcused,
      journal: journal.file,
      explanations,
      replay,
    };
    journal.write({ ...report, kind: 'report' });
    return report;
  } finally {
    chaos = false;
    for (const p of procs) await p.kill9().catch(() => undefined);
    await checker?.close().catch(() => undefined);
    for (const p of proxies) await p.close().catch(() => undefined);
    await sim?.close().catch(() => undefined);
    await new Promise<void>((r) => (relay ? relay.close(() => r()) : r()));
    for (const u of mariaUsers) await admin?.query(`DROP USER IF EXISTS '${u}'@'%'`).catch(() => undefined);
    await admin?.destroy().catch(() => undefined);
    await db?.drop().catch(() => undefined);
    if (ownCompile) compiled.cleanup();
    if (report?.ok && !o.keepJournal) rmSync(journalDir, { recursive: true, force: true });
    else log(`soak journal kept: ${journal.file}`);
  }
}

/** The report as a few lines for the console. */
export function formatReport(r: SoakReport): string {
  const lines = [
    `soak seed=${r.seed} engine=${r.engine}: ${r.ok ? 'PASS' : 'FAIL'} in ${(r.wallMs / 1000).toFixed(1)} s (chaos ${r.durationSec} s, ${r.merchants} merchants${r.skew ? `, instance ${r.skew.instance} ${r.skew.minutes} min ahead` : ''})`,
    `  refreshes: ${r.refreshes.issued} issued at the simulator (${r.refreshes.requests} requests); faults: ${r.faults.planned} injected, ${r.faults.applied} hit a request; kills: ${r.kills} (restarts ${r.restarts}, crashes ${r.crashes}); db connections killed: ${r.dbKills.connections} in ${r.dbKills.events} events`,
    `  re-authorizations: ${r.reauths.done}/${r.reauths.planned} (${r.reauths.exchangeAttempts} exchanges); cancellations: ${r.cancels.cancelled}/${r.cancels.planned}; notifications: ${r.notifications.delivered} delivered, ${r.notifications.failed} failed; calls: ${JSON.stringify(r.calls)}`,
    `  contract: longest call ${r.contract.maxCallMs} ms; longest refresh request ${r.contract.longestRefreshMs} ms, ${r.contract.refreshesPastMaxCall} past it; ${r.contract.latencyFaultsHeldBack} latency fault(s) held back (one pending per route)`,
    `  lost: ${r.lost.length}, served refused: ${r.servedRefused.length} (not counted: ${r.refusedWhileDisturbed} while re-authorizing/cancelling, ${r.refusedExcused.ownRepairFaulted} whose own repair met a fault, ${r.refusedExcused.pairInDoubt} while no instance knew the valid pair), racing refreshes: ${r.racing.withinContract}${r.racing.outsideContract ? ` (and ${r.racing.outsideContract} outside the contract, not counted)` : ''}, missed cancellations: ${r.missedCancellations.length}`,
  ];
  for (const x of [
    ...r.lost.map((l) => `  LOST ${l.authAppId}: ${l.why}`),
    ...r.servedRefused.slice(0, 20).map((s) => `  SERVED REFUSED ${s.authAppId}: ${s.why}`),
    ...r.missedCancellations.map((m) => `  MISSED CANCELLATION ${m.authAppId}: ${m.why}`),
  ])
    lines.push(x);
  for (const [id, n] of Object.entries(r.racing.byMerchant)) lines.push(`  RACING ${id}: ${n} overlapping refresh request(s)`);
  for (const p of r.racing.pairs.slice(0, 10)) lines.push(`    ${p.authAppId}: ${p.first}; meanwhile ${p.second}`);
  if (!r.ok) {
    lines.push(`  journal: ${r.journal}`);
    for (const e of r.explanations.slice(0, 10)) lines.push(`  timeline: ${e}`);
    lines.push(`  replay: ${r.replay}`);
  }
  return lines.join('\n');
}
