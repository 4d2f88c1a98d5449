/**
 * The production artifact, assembled as the Dockerfile does, in temporary folders: the build stage
 * (package files, tsconfig.json, nest-cli.json, libs/alipay-auth, libs/alipay-simulator, apps as committed;
 * `nest build sample`), then the runtime (package files, `npm ci --omit=dev`, dist/apps/sample, scripts/start-sample.js; no sources, no
 * dev dependencies). It runs `migrate` (the release step), boots with NODE_ENV=production against
 * PostgreSQL and Alipay's stand-in, and answers /health/live, /health and a merchant's callback; SIGTERM
 * stops it. Needs PostgreSQL (required when CI=true) and the npm registry (for `npm ci`).
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { AlipaySimulator, startAlipaySimulator } from 'nestjs-alipay-auth-simulator';
import { createIsolatedDatabase, IsolatedDatabase, testDatabaseEngines } from '../../../test/support/databases';
import { vectors } from '../../../test/fixtures/vectors';
import { freePort } from '../../../test/support/free-port';

const ROOT = process.cwd();
const APP_ID = '2021004100000001';
// Generated: production refuses a placeholder-looking token.
const ADMIN_TOKEN = randomBytes(24).toString('base64url');
const ENTRY = 'dist/apps/sample/apps/sample/src/main.js';
const postgres = testDatabaseEngines().includes('postgres');
if (!postgres) console.warn('sample-artifact.e2e-spec: skipped, it needs PostgreSQL (npm run test:all, or ALIPAY_TEST_DATABASES=sqlite,postgres)');
const suite = postgres ? describe : describe.skip;

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 8 * 60_000, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * The Dockerfile's COPY lines, from the last commit (`git archive`): in CI that is the fresh clone; on a
 * developer's machine it keeps uncommitted work (possibly half-done) out of the artifact.
 */
function copyCommitted(to: string, paths: string[]): void {
  const archive = spawnSync('git', ['archive', '--format=tar', 'HEAD', '--', ...paths], { cwd: ROOT, maxBuffer: 256 * 1024 * 1024 });
  if (archive.status !== 0) throw new Error(`git archive failed: ${String(archive.stderr)}`);
  const untar = spawnSync('tar', ['-x', '-C', to], { input: archive.stdout });
  if (untar.status !== 0) throw new Error(`tar failed: ${String(untar.stderr)}`);
}

suite('production artifact (as the Dockerfile assembles it)', () => {
  let build: string;
  let runtime: string;
  let db: IsolatedDatabase;
  let sim: AlipaySimulator;
  let child: ChildProcess | undefined;
  let base: string;
  let output = '';
  const timings: Record<string, number> = {};

  const timed = <T>(name: string, fn: () => T): T => {
    const t = Date.now();
    try {
      return fn();
    } finally {
      timings[name] = Math.round((Date.now() - t) / 1000);
    }
  };

  beforeAll(async () => {
    build = mkdtempSync(join(tmpdir(), 'sample-artifact-build-'));
    runtime = mkdtempSync(join(tmpdir(), 'sample-artifact-run-'));
    // --- build stage: all dependencies (the repo's, linked), the compiled app
    copyCommitted(build, ['package.json', 'package-lock.json', 'tsconfig.json', 'nest-cli.json', 'libs/alipay-auth', 'libs/alipay-simulator', 'apps']);
    symlinkSync(join(ROOT, 'node_modules'), join(build, 'node_modules'), 'dir');
    timed('build', () => run(process.execPath, [join(ROOT, 'node_modules/@nestjs/cli/bin/nest.js'), 'build', 'sample'], build));
    // --- runtime: production dependencies only, dist, the start script; no sources
    cpSync(join(ROOT, 'package.json'), join(runtime, 'package.json'));
    cpSync(join(ROOT, 'package-lock.json'), join(runtime, 'package-lock.json'));
    timed('npmCiOmitDev', () => run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], runtime));
    cpSync(join(build, 'dist/apps/sample'), join(runtime, 'dist/apps/sample'), { recursive: true });
    cpSync(join(ROOT, 'scripts/start-sample.js'), join(runtime, 'scripts/start-sample.js'));

    db = await createIsolatedDatabase('postgres', 'sample_artifact');
    base = `http://127.0.0.1:${await freePort()}`;
    sim = await startAlipaySimulator({
      alipayPrivateKey: vectors.keys.alipay.privateKeyPkcs1Pem,
      apps: [{ appId: APP_ID, publicKey: vectors.keys.app.publicKeySpkiPem, redirectUris: [`${base}/alipay/auth/callback`] }],
    });
  }, 10 * 60_000);

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await sim?.close();
    await db?.drop();
    for (const d of [build, runtime]) if (d) rmSync(d, { recursive: true, force: true });
    console.log(`sample-artifact timings (s): ${JSON.stringify(timings)}`);
  });

  function appEnv(): NodeJS.ProcessEnv {
    const o = db.options() as { host: string; port: number; username: string; password?: string; database: string; schema: string };
    const auth = o.password ? `${o.username}:${encodeURIComponent(o.password)}` : o.username;
    return {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: new URL(base).port,
      PUBLIC_BASE_URL: base,
      ALIPAY_APP_ID: APP_ID,
      ALIPAY_PRIVATE_KEY: vectors.keys.app.privateKeyPkcs8Pem,
      ALIPAY_PUBLIC_KEY: sim.alipayPublicKeyPem,
      ALIPAY_GATEWAY: sim.url,
      ALIPAY_TOKEN_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      STATE_SECRET: randomBytes(32).toString('base64url'),
      ADMIN_TOKEN,
      DATABASE_URL: `postgres://${auth}@${o.host}:${o.port}/${o.database}`,
      DB_SCHEMA: o.schema,
      DB_MIGRATIONS_RUN: 'false',
    };
  }

  it('holds dist and production dependencies only: no TypeScript sources, no dev tools', () => {
    expect(existsSync(join(runtime, ENTRY))).toBe(true);
    expect(existsSync(join(runtime, 'apps'))).toBe(false);
    expect(existsSync(join(runtime, 'libs'))).toBe(false);
    expect(run('find', ['dist', '-name', '*.ts', '!', '-name', '*.d.ts'], runtime).trim()).toBe('');
    // (typescript itself stays: @nestjs/swagger declares it as a peer.)
    for (const dev of ['jest', 'ts-jest', '@nestjs/cli', '@nestjs/testing', 'playwright-core', 'alipay-sdk', 'eslint'])
      expect(existsSync(join(runtime, 'node_modules', dev))).toBe(false);
    for (const dep of ['helmet', 'express-rate-limit', 'csrf-csrf', 'pg']) expect(existsSync(join(runtime, 'node_modules', dep))).toBe(true);
  });

  it('`migrate` prepares PostgreSQL, then the app boots and answers /health/live, /health and a callback; SIGTERM stops it', async () => {
    const migrated = timed('migrate', () => run(process.execPath, [ENTRY, 'migrate'], runtime, appEnv()));
    expect(migrated).toMatch(/Applied migrations: .*SampleCallbackReplay1790000000000/);

    const started = Date.now();
    child = spawn(process.execPath, [ENTRY], { cwd: runtime, env: appEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => (output += String(d)));
    child.stderr!.on('data', (d) => (output += String(d)));
    // Bounded wait for the port: the boot itself takes about a second.
    let live = 0;
    while (Date.now() - started < 30_000 && child.exitCode === null) {
      live = await request(base)
        .get('/health/live')
        .then(
          (r) => r.status,
          () => 0,
        );
      if (live === 200) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    timings.bootMs = Date.now() - started;
    expect({ live, output: live === 200 ? '' : output }).toEqual({ live: 200, output: '' });

    const health = await request(base).get('/health').set('authorization', `Bearer ${ADMIN_TOKEN}`).expect(200);
    expect(health.body.details).toMatchObject({ database: { status: 'up' }, token_refresh: { status: 'up' } });
    await request(base).get('/').expect(401);

    const { app_auth_code: code } = sim.controls.authorize(APP_ID, { authAppId: '2021004166660001' });
    const cb = await request(base).get(`/alipay/auth/callback?app_id=${APP_ID}&app_auth_code=${code}`).set('accept', 'application/json').expect(200);
    expect(cb.body.authorizations).toEqual([{ authAppId: '2021004166660001', userId: expect.any(String) }]);
    const list = await request(base).get('/alipay/merchants').set('authorization', `Bearer ${ADMIN_TOKEN}`).expect(200);
    expect(list.body.total).toBe(1);
    expect(output).not.toContain(code);

    // Nest's shutdown hooks close the app (server, database, timers), then re-raise the signal.
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child!.once('exit', (code, signal) => resolve({ code, signal })));
    child.kill('SIGTERM');
    expect(await exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(output).not.toMatch(/error/i);
  });
});
