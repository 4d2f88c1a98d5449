import { ChildProcess, spawn } from 'node:child_process';
import type { AlipayRefreshOptions } from '../../libs/alipay-auth/src';

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
 * Starts the refresh worker as a separate process (ts-node, transpile only; or `compiled`, the JavaScript
 * tsc emitted for refresh-worker.ts, so that the process holds no TypeScript compiler: the benchmark
 * reports its RSS). With `waitForGo` it prints `ready` and waits for a line on stdin before its run, so
 * several workers can start together.
 */
export function spawnRefreshWorker(config: RefreshWorkerConfig, opts: { waitForGo?: boolean; compiled?: string } = {}): ChildProcess {
  const skew = config.hostClockSkewMs ? ['-r', './test/support/host-clock-skew.cjs'] : [];
  const args = opts.compiled ? [...skew, opts.compiled] : [...skew, '-r', 'ts-node/register', '-r', 'tsconfig-paths/register', 'test/support/refresh-worker.ts'];
  return spawn(process.execPath, args, {
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      TS_NODE_PROJECT: 'tsconfig.node.json',
      TS_NODE_TRANSPILE_ONLY: 'true',
      ...(opts.waitForGo ? { WORKER_WAIT_GO: '1' } : {}),
      WORKER_CONFIG: JSON.stringify(config),
      ...(config.hostClockSkewMs ? { HOST_CLOCK_SKEW_MS: String(config.hostClockSkewMs) } : {}),
    },
    stdio: [opts.waitForGo ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
}
