/*
 * A separate app instance for the crash test: boots the library on the given database and gateway and
 * runs one scheduled refresh. The test kills it with SIGKILL part-way. Config comes as JSON in WORKER_CONFIG.
 */
import 'reflect-metadata';
import { DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSign,
  createVerify,
  randomBytes,
  randomUUID,
} from 'node:crypto';
import { request } from 'node:http';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AlipayAuthModule, AlipayTokenRefreshScheduler } from 'nestjs-alipay-auth';
import { ALIPAY_AUTH_ENTITIES } from 'nestjs-alipay-auth/typeorm';
import type { RefreshWorkerConfig } from './refresh-worker-process';

/** The part of pg's Pool the bare loop uses (pg ships no types; TypeORM loads it the same way). */
interface PgPool {
  query<R>(sql: string, params: unknown[]): Promise<{ rows: R[] }>;
  end(): Promise<void>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Pool } = require('pg') as { Pool: new (options: object) => PgPool };

const config: RefreshWorkerConfig = JSON.parse(process.env.WORKER_CONFIG ?? '{}');

@Module({})
class WorkerModule {
  static forRoot(): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        TypeOrmModule.forRoot({ ...config.dataSource, entities: ALIPAY_AUTH_ENTITIES } as never),
        AlipayAuthModule.forRoot({
          appId: config.appId,
          privateKey: config.privateKey,
          alipayPublicKey: config.alipayPublicKey,
          gateway: config.gateway,
          retries: 0,
          timeoutMs: config.timeoutMs ?? 10_000,
          tokenEncryptionKeys: config.tokenEncryptionKeys,
          instanceId: config.instanceId,
          ...(config.offsetMs !== undefined ? { clock: () => Date.now() + config.offsetMs! } : {}),
          refresh: config.refresh,
        }),
      ],
    };
  }
}

async function main() {
  const ctx = await NestFactory.createApplicationContext(WorkerModule.forRoot(), { logger: ['error'] });
  const rssReady = process.memoryUsage().rss;
  process.stdout.write('ready\n');
  // With WORKER_WAIT_GO, several workers start their runs together (the benchmark's barrier).
  if (process.env.WORKER_WAIT_GO) await new Promise((r) => process.stdin.once('data', r));
  const started = Date.now();
  const cpu0 = process.cpuUsage();
  const summary = await ctx.get(AlipayTokenRefreshScheduler).refreshDue();
  const cpu = process.cpuUsage(cpu0);
  const floorUs = process.env.WORKER_CRYPTO_FLOOR ? cryptoFloorUs() : undefined;
  const bareUs = process.env.WORKER_CRYPTO_FLOOR ? await bareRefreshUs() : undefined;
  const finished = Date.now();
  process.stdout.write(
    `done ${JSON.stringify({ ...summary, started, finished, rssReady, rssAfter: process.memoryUsage().rss, cpuUs: cpu.user + cpu.system, floorUs, bareUs })}\n`,
  );
  await ctx.close();
}

/**
 * The crypto floor of one refresh, CPU µs in this process: one RSA2 sign (the request), one RSA2 verify
 * (the answer), AES-256-GCM seal and open of the two tokens, node:crypto with parsed KeyObjects.
 */
function cryptoFloorUs(n = 300): number {
  const key = createPrivateKey(config.privateKey); // PEM, as the benchmark passes it
  const pub = createPublicKey(key);
  const aes = randomBytes(32);
  const text = `app_id=${config.appId},timestamp=1735689600789,nonce=n\nPOST\n/v3/alipay/open/auth/token/app\n{"grant_type":"refresh_token","refresh_token":"202612BB0123456789abcdef0123456789abcdef"}\n`;
  const token = '202612BB0123456789abcdef0123456789abcdef';
  const once = () => {
    const sig = createSign('RSA-SHA256').update(text, 'utf8').sign(key, 'base64');
    if (!createVerify('RSA-SHA256').update(text, 'utf8').verify(pub, sig, 'base64')) throw new Error('floor: verify failed');
    for (const field of ['app_auth_token', 'app_refresh_token']) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', aes, iv);
      c.setAAD(Buffer.from(field));
      const sealed = Buffer.concat([c.update(token, 'utf8'), c.final()]);
      const d = createDecipheriv('aes-256-gcm', aes, iv);
      d.setAAD(Buffer.from(field));
      d.setAuthTag(c.getAuthTag());
      Buffer.concat([d.update(sealed), d.final()]);
    }
  };
  for (let i = 0; i < 30; i++) once();
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) once();
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / n;
}

/**
 * The same work as one scheduled refresh with nothing but node:crypto, node:http and pg, in this process
 * against the same gateway and database: open the stored refresh token, sign, POST over the keep-alive
 * agent (the simulator's 50 ms latency applies), verify the answer, seal both tokens and their lookup hash,
 * one UPDATE by primary key with a version check, 8 calls in flight. No framework, no claim, no error
 * handling: what any Node implementation pays at least, per refresh, on this machine. The refresh token
 * sent is unknown to the simulator, so its answer is an error of the same size class (signed, or verified
 * over its body when unsigned: the crypto stays the floor's). PostgreSQL only; CPU µs per call.
 */
async function bareRefreshUs(n = 1500, lanes = 8): Promise<number | undefined> {
  const ds = config.dataSource as { type?: string; host?: string; port?: number; username?: string; password?: string; database?: string; extra?: object };
  if (ds.type !== 'postgres') return undefined;
  const pool = new Pool({ host: ds.host, port: ds.port, user: ds.username, password: ds.password, database: ds.database, max: 10, ...ds.extra });
  const key = createPrivateKey(config.privateKey);
  const alipayKey = createPublicKey(config.alipayPublicKey);
  const aes = randomBytes(32);
  const hmacKey = randomBytes(32);
  const gateway = new URL(config.gateway);
  const seal = (text: string, aad: string) => {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', aes, iv).setAAD(Buffer.from(aad));
    const ct = Buffer.concat([c.update(text, 'utf8'), c.final()]);
    return { stored: `v1.k.${iv.toString('base64url')}.${ct.toString('base64url')}.${c.getAuthTag().toString('base64url')}`, iv, ct, tag: c.getAuthTag() };
  };
  const open = (v: { iv: Buffer; ct: Buffer; tag: Buffer }, aad: string) => {
    const d = createDecipheriv('aes-256-gcm', aes, v.iv).setAAD(Buffer.from(aad));
    d.setAuthTag(v.tag);
    return Buffer.concat([d.update(v.ct), d.final()]).toString('utf8');
  };
  const { rows } = await pool.query<{ id: number; version: number }>('SELECT id, version FROM alipay_app_authorizations ORDER BY id LIMIT $1', [n]);
  const stored = seal('202612BBbare0123456789abcdef0123456789', 'ctx:app_refresh_token');
  const once = async (row: { id: number; version: number }) => {
    const refreshToken = open(stored, 'ctx:app_refresh_token');
    const body = JSON.stringify({ grant_type: 'refresh_token', refresh_token: refreshToken });
    const auth = `app_id=${config.appId},timestamp=${Date.now()},nonce=${randomUUID().replace(/-/g, '')}`;
    const sign = createSign('RSA-SHA256').update(`${auth}\nPOST\n/v3/alipay/open/auth/token/app\n${body}\n`, 'utf8').sign(key, 'base64');
    const res = await new Promise<{ headers: Record<string, unknown>; text: string }>((resolve, reject) => {
      const req = request(
        {
          host: gateway.hostname,
          port: gateway.port,
          method: 'POST',
          path: `${gateway.pathname.replace(/\/$/, '')}/v3/alipay/open/auth/token/app`,
          headers: {
            authorization: `ALIPAY-SHA256withRSA ${auth},sign=${sign}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => resolve({ headers: r.headers, text: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    const h = res.headers;
    const content = h['alipay-signature'] ? `${h['alipay-timestamp']}\n${h['alipay-nonce']}\n${res.text}\n` : res.text;
    createVerify('RSA-SHA256')
      .update(content, 'utf8')
      .verify(alipayKey, String(h['alipay-signature'] ?? sign), 'base64');
    JSON.parse(res.text);
    const token = seal(`202612BB${row.id}0123456789abcdef0123456789abcdef`, 'ctx:app_auth_token');
    const refresh = seal(`202612BB${row.id}fedcba9876543210fedcba9876543210`, 'ctx:app_refresh_token');
    const hash = createHmac('sha256', hmacKey).update(token.stored).digest('hex');
    await pool.query(
      'UPDATE alipay_app_authorizations SET app_auth_token_enc = $1, app_refresh_token_enc = $2, token_hash = $3, updated_at = $4, version = version + 1 WHERE id = $5 AND version = $6',
      [token.stored, refresh.stored, hash, Date.now(), row.id, row.version],
    );
  };
  let next = 0;
  const run = (count: number) =>
    Promise.all(
      Array.from({ length: lanes }, async () => {
        while (next < count) await once(rows[next++]);
      }),
    );
  await run(Math.min(100, rows.length)); // warm-up
  const t0 = process.cpuUsage();
  const started = next;
  await run(rows.length);
  const t = process.cpuUsage(t0);
  await pool.end();
  return (t.user + t.system) / (next - started);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
