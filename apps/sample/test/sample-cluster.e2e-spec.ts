/**
 * Two sample app instances on one PostgreSQL, as behind a load balancer: a callback answered by one
 * instance and reloaded on the other is answered from the shared replay memory (no second call to Alipay,
 * the details only to the browser that completed it), and the per-client callback limit holds before any
 * call to Alipay. With Redis on 127.0.0.1:6379 the same runs with REDIS_URL (shared memory and budget);
 * without it those variants are skipped with a note (Redis is optional for the sample).
 */
import type { NestExpressApplication } from '@nestjs/platform-express';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { AlipaySimulator, startAlipaySimulator } from 'nestjs-alipay-auth-simulator';
import { createSampleApp } from '../src/sample-app';
import { createIsolatedDatabase, IsolatedDatabase, testDatabaseEngines } from '../../../test/support/databases';
import { vectors } from '../../../test/fixtures/vectors';

const APP_ID = '2021004100000001';
const PUBLIC = 'http://isv.test';
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

/** Redis answers PING (checked synchronously: Jest needs the list while collecting tests). */
function redisUp(): boolean {
  const { hostname, port } = new URL(REDIS_URL);
  const probe = `const s=require('net').connect(${Number(port) || 6379},'${hostname}');s.setTimeout(1000);s.on('connect',()=>s.write('PING\\r\\n'));s.on('data',d=>process.exit(String(d).startsWith('+PONG')?0:1));s.on('error',()=>process.exit(1));s.on('timeout',()=>process.exit(1));`;
  return spawnSync(process.execPath, ['-e', probe], { timeout: 3000 }).status === 0;
}

const postgres = testDatabaseEngines().includes('postgres');
const redis = redisUp();
if (!postgres) console.warn('sample-cluster.e2e-spec: skipped, it needs PostgreSQL (npm run test:all, or ALIPAY_TEST_DATABASES=sqlite,postgres)');
if (!redis) console.warn(`sample-cluster.e2e-spec: no Redis at ${REDIS_URL}, skipping the REDIS_URL variants`);

const backends: Array<'database' | 'redis'> = redis ? ['database', 'redis'] : ['database'];
const suite = postgres ? describe.each(backends) : describe.skip.each(backends);

suite('two instances, replay memory and throttle in the %s', (backend) => {
  let sim: AlipaySimulator;
  let db: IsolatedDatabase;
  const apps: NestExpressApplication[] = [];
  const stateSecret = randomBytes(32).toString('base64url');
  const tokenKey = `k1:${randomBytes(32).toString('base64')}`;
  const redisKeyPrefix = `alipay-sample-test:${randomBytes(4).toString('hex')}:`;

  async function instance(extra: Record<string, string> = {}): Promise<NestExpressApplication> {
    const options = db.options() as { host: string; port: number; username: string; password?: string; database: string; schema: string };
    const app = await createSampleApp({
      logger: false,
      env: {
        PUBLIC_BASE_URL: PUBLIC,
        ALIPAY_APP_ID: APP_ID,
        ALIPAY_PRIVATE_KEY: vectors.keys.app.privateKeyPkcs8Pem,
        ALIPAY_PUBLIC_KEY: sim.alipayPublicKeyPem,
        ALIPAY_GATEWAY: sim.url,
        ALIPAY_TOKEN_ENCRYPTION_KEYS: tokenKey,
        STATE_SECRET: stateSecret,
        DB_TYPE: 'postgres',
        DB_HOST: options.host,
        DB_PORT: String(options.port),
        DB_USERNAME: options.username,
        ...(options.password ? { DB_PASSWORD: options.password } : {}),
        DB_NAME: options.database,
        DB_SCHEMA: options.schema,
        REFRESH_ENABLED: 'false',
        ...(backend === 'redis' ? { REDIS_URL, REDIS_KEY_PREFIX: redisKeyPrefix } : {}),
        ...extra,
      },
      alipay: { retries: 0 },
    });
    await app.init();
    apps.push(app);
    return app;
  }

  /** Signed code-exchange calls that reached Alipay, successful or not. */
  const exchanges = () => sim.controls.stats().requests.byGrantType.authorization_code;

  beforeAll(async () => {
    db = await createIsolatedDatabase('postgres', `sample_cluster_${backend}`);
    sim = await startAlipaySimulator({
      alipayPrivateKey: vectors.keys.alipay.privateKeyPkcs1Pem,
      apps: [{ appId: APP_ID, publicKey: vectors.keys.app.publicKeySpkiPem, redirectUris: [`${PUBLIC}/alipay/auth/callback`] }],
    });
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    await sim?.close();
    await db?.drop();
  });

  it('a callback answered by instance A and reloaded on B: answered by B without Alipay, details only to the same browser', async () => {
    const a = await instance();
    const b = await instance();
    // The merchant's browser starts on A (behind the balancer both answer for isv.test).
    const start = await request(a.getHttpServer()).get('/alipay/auth/authorize').set('host', 'isv.test').expect(302);
    const cookie = ([] as string[]).concat(start.headers['set-cookie'] ?? [])[0].split(';')[0];
    const page = new URL(start.headers.location);
    const { app_auth_code: code } = sim.controls.authorize(APP_ID, { authAppId: '2021004177770001' });
    const callback = `/alipay/auth/callback?app_id=${APP_ID}&source=alipay_app_auth&app_auth_code=${code}&state=${encodeURIComponent(page.searchParams.get('state')!)}`;

    await request(a.getHttpServer()).get(callback).set('cookie', cookie).expect(200);
    const calls = exchanges();
    const reload = await request(b.getHttpServer()).get(callback).set('cookie', cookie).set('accept', 'application/json').expect(200);
    expect(reload.body).toEqual({ status: 'authorized', replayed: true, authorizations: [{ authAppId: '2021004177770001', userId: expect.any(String) }] });
    const elsewhere = await request(b.getHttpServer()).get(callback).set('accept', 'application/json').expect(200);
    expect(elsewhere.body).toEqual({ status: 'authorized', replayed: true });
    expect(exchanges()).toBe(calls);
  });

  it('two instances racing on one code: one authorization stored, at least one answers "authorized"', async () => {
    const [a, b] = apps;
    const { app_auth_code: code } = sim.controls.authorize(APP_ID, { authAppId: '2021004177770002' });
    const url = `/alipay/auth/callback?app_id=${APP_ID}&app_auth_code=${code}`;
    const [first, second] = await Promise.all([a, b].map((app) => request(app.getHttpServer()).get(url).set('accept', 'application/json')));
    // The loser meets AUTH_CODE_NOT_VALID and finds the winner's result, or its exchange came second.
    for (const res of [first, second]) expect([200, 502]).toContain(res.status);
    expect([first.status, second.status]).toContain(200);
    const merchants = await request(a.getHttpServer()).get('/alipay/merchants').expect(200);
    expect(merchants.body.items.filter((m: { authAppId: string }) => m.authAppId === '2021004177770002')).toHaveLength(1);
  });

  it('the callback limit holds per client before any call to Alipay', async () => {
    const limit = 4;
    // A budget of their own (the pair above already spent some of this client's).
    const throttled = { THROTTLE_CALLBACK_PER_MINUTE: String(limit), THROTTLE_NOTIFY_PER_MINUTE: '2', REDIS_KEY_PREFIX: `${redisKeyPrefix}limit:` };
    const a = await instance(throttled);
    const b = await instance(throttled);
    const calls = exchanges();
    const forged = () => `/alipay/auth/callback?app_id=${APP_ID}&app_auth_code=${randomBytes(16).toString('hex')}`;
    const statuses: number[] = [];
    for (let i = 0; i < limit + 3; i++) statuses.push((await request(a.getHttpServer()).get(forged())).status);
    expect(statuses.filter((s) => s === 502)).toHaveLength(limit); // Alipay: AUTH_CODE_NOT_EXIST
    expect(statuses.slice(limit)).toEqual([429, 429, 429]);
    expect(exchanges()).toBe(calls + limit);
    const page = await request(a.getHttpServer()).get(forged()).expect(429);
    expect(page.text).toContain('Too many attempts');
    expect(page.headers['ratelimit-policy']).toBeDefined();
    // B: its own budget in memory; the shared one in Redis.
    const onB = (await request(b.getHttpServer()).get(forged())).status;
    expect(onB).toBe(backend === 'redis' ? 429 : 502);

    // The notification endpoint has its own budget; over it, "fail" (Alipay sends again later).
    const notify = () => request(a.getHttpServer()).post('/alipay/notify').type('form').send({ notify_id: 'x' });
    expect([(await notify()).status, (await notify()).status]).toEqual([400, 400]);
    const limited = await notify();
    expect([limited.status, limited.text]).toEqual([429, 'fail']);
  });
});
