/*
 * A separate app instance for the crash test: boots the library on the given database and gateway and
 * runs one scheduled refresh. The test kills it with SIGKILL part-way. Config comes as JSON in WORKER_CONFIG.
 */
import 'reflect-metadata';
import { DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, createSign, createVerify, randomBytes } from 'node:crypto';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AlipayAuthModule, AlipayTokenRefreshScheduler } from 'nestjs-alipay-auth';
import { ALIPAY_AUTH_ENTITIES } from 'nestjs-alipay-auth/typeorm';
import type { RefreshWorkerConfig } from './refresh-worker-process';

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
  const finished = Date.now();
  process.stdout.write(
    `done ${JSON.stringify({ ...summary, started, finished, rssReady, rssAfter: process.memoryUsage().rss, cpuUs: cpu.user + cpu.system, floorUs })}\n`,
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

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
