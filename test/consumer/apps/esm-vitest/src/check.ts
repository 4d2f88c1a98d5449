// Runs the compiled CommonJS build under plain Node: the library loads through require().
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AlipayAuthTestingKit, AlipayAuthTestingModule } from 'nestjs-alipay-auth/testing';
import { alipayAuthMigrations } from 'nestjs-alipay-auth/typeorm';
import { MerchantsController } from './merchants.controller.js';
import { MerchantsModule } from './merchants.module.js';

@Module({ imports: [AlipayAuthTestingModule.forRoot(), MerchantsModule] })
class CheckModule {}

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(CheckModule, { logger: ['error', 'warn'] });
  const kit = app.get(AlipayAuthTestingKit);
  const result = await app.get(MerchantsController).authorized({ code: kit.mintAuthCode() });
  await app.close();
  if (result.status !== 'active') throw new Error(`unexpected ${JSON.stringify(result)}`);
  if (alipayAuthMigrations('postgres').length !== 5) throw new Error('nestjs-alipay-auth/typeorm did not load');
  console.log(`consumer check: ${typeof require === 'function' ? 'CommonJS' : 'ESM'} app exchanged a code (${result.authAppId})`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
