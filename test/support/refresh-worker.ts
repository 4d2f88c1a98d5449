/*
 * A separate app instance for the crash test: boots the library on the given database and gateway and
 * runs one scheduled refresh. The test kills it with SIGKILL part-way. Config comes as JSON in WORKER_CONFIG.
 */
import 'reflect-metadata';
import { DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
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
  const summary = await ctx.get(AlipayTokenRefreshScheduler).refreshDue();
  process.stdout.write(`done ${JSON.stringify({ ...summary, started, finished: Date.now(), rssReady, rssAfter: process.memoryUsage().rss })}\n`);
  await ctx.close();
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
