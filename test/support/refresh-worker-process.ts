import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { AlipayRefreshOptions } from 'nestjs-alipay-auth';

/** What `test/support/refresh-worker.ts` reads from WORKER_CONFIG. */
export interface RefreshWorkerConfig {
  dataSource: object;
  appId: string;
  privateKey: string;
  alipayPublicKey: string;
  gateway: string;
  tokenEncryptionKeys: string;
  instanceId: string;
  timeoutMs?: number;
  /** The module's `clock` is `Date.now() + offsetMs`; absent: no `clock` option (the library's default). */
  offsetMs?: number;
  /** Moves this process's host clock (`Date.now`) ahead by this much before anything loads. */
  hostClockSkewMs?: number;
  refresh: AlipayRefreshOptions;
}

/**
 * Starts the refresh worker as a separate process (ts-node, transpile only; or `compiled`, the folder where
 * tsc emitted refresh-worker.ts and the library, so that the process holds no TypeScript compiler: the
 * benchmark reports its RSS; tsconfig-paths maps the package names there). With `waitForGo` it prints `ready` and waits for a line on stdin before its run, so
 * several workers can start together;
 * with `cryptoFloor` it also reports the crypto floor of one refresh, measured after its run.
 */
export function spawnRefreshWorker(config: RefreshWorkerConfig, opts: { waitForGo?: boolean; compiled?: string; cryptoFloor?: boolean } = {}): ChildProcess {
  const skew = config.hostClockSkewMs ? ['-r', './test/support/host-clock-skew.cjs'] : [];
  const entry = opts.compiled ? [join(opts.compiled, 'test/support/refresh-worker.js')] : ['-r', 'ts-node/register', 'test/support/refresh-worker.ts'];
  // BENCH_WORKER_CPU_PROF=<dir>: a V8 CPU profile of each worker (node --cpu-prof), for finding what a refresh costs.
  const prof = process.env.BENCH_WORKER_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_WORKER_CPU_PROF}`] : [];
  const args = [...prof, ...skew, '-r', 'tsconfig-paths/register', ...entry];
  return spawn(process.execPath, args, {
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      TS_NODE_PROJECT: 'tsconfig.node.json',
      TS_NODE_TRANSPILE_ONLY: 'true',
      ...(opts.compiled ? { TS_NODE_BASEURL: opts.compiled } : {}),
      ...(opts.waitForGo ? { WORKER_WAIT_GO: '1' } : {}),
      ...(opts.cryptoFloor ? { WORKER_CRYPTO_FLOOR: '1' } : {}),
      WORKER_CONFIG: JSON.stringify(config),
      ...(config.hostClockSkewMs ? { HOST_CLOCK_SKEW_MS: String(config.hostClockSkewMs) } : {}),
    },
    stdio: [opts.waitForGo ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
}
