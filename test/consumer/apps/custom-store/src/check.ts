// Runs the compiled CommonJS build under plain Node: the app's module, with its own store and no TypeORM
// installed, boots against the testing kit's simulator and exchanges a code.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AlipayTokenStore } from 'nestjs-alipay-auth';
import { AlipayAuthTestingKit } from 'nestjs-alipay-auth/testing';
import { MerchantTokenStore } from './merchant-token.store';
import { MerchantsController } from './merchants.controller';
import { assertTypeOrmAbsent } from './typeorm-absent';

async function main(): Promise<void> {
  assertTypeOrmAbsent();
  const kit = await AlipayAuthTestingKit.start();
  const { privateKey, alipayPublicKey, gateway } = kit.moduleOptions();
  Object.assign(process.env, { ALIPAY_APP_ID: kit.appId, ALIPAY_PRIVATE_KEY: privateKey, ALIPAY_PUBLIC_KEY: alipayPublicKey, ALIPAY_GATEWAY: gateway });
  const { AppModule } = await import('./app.module'); // reads the environment as it loads
  const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error', 'warn'] });
  try {
    const result = await app.get(MerchantsController).authorized({ code: kit.mintAuthCode() });
    if (result.status !== 'active') throw new Error(`unexpected ${JSON.stringify(result)}`);
    if (!(app.get(AlipayTokenStore) instanceof MerchantTokenStore)) throw new Error('the app store is not in use');
    console.log(`consumer check: app with its own store, no TypeORM, exchanged a code (${result.authAppId})`);
  } finally {
    await app.close();
    await kit.close();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
