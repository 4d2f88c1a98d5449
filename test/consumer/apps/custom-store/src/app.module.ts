import { Module } from '@nestjs/common';
import { AlipayAuthModule } from 'nestjs-alipay-auth';
import { MerchantTokenStore } from './merchant-token.store';
import { MerchantsModule } from './merchants.module';

@Module({
  imports: [
    AlipayAuthModule.forRoot({
      appId: process.env.ALIPAY_APP_ID!,
      privateKey: process.env.ALIPAY_PRIVATE_KEY,
      alipayPublicKey: process.env.ALIPAY_PUBLIC_KEY,
      gateway: process.env.ALIPAY_GATEWAY ?? 'production',
      store: MerchantTokenStore, // your AlipayTokenStore (a class or an instance): no typeorm, no @nestjs/typeorm
    }),
    MerchantsModule,
  ],
})
export class AppModule {}
