import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AlipayAuthModule } from 'nestjs-alipay-auth';
import { ALIPAY_AUTH_ENTITIES, alipayAuthMigrations } from 'nestjs-alipay-auth/typeorm';
import { MerchantsModule } from './merchants.module';

@Module({
  imports: [
    TypeOrmModule.forRoot({ type: 'postgres', url: process.env.DATABASE_URL, entities: [...ALIPAY_AUTH_ENTITIES],
      migrations: alipayAuthMigrations('postgres'), migrationsRun: true }),
    AlipayAuthModule.forRoot({
      appId: '2021004100000001',
      privateKey: process.env.ALIPAY_PRIVATE_KEY,          // PKCS#1/PKCS#8, PEM or bare base64
      alipayPublicKey: process.env.ALIPAY_PUBLIC_KEY,      // or appCert / alipayPublicCert / alipayRootCert
      tokenEncryptionKeys: process.env.ALIPAY_TOKEN_KEY,   // base64 of 32 random bytes
    }),
    MerchantsModule,
  ],
})
export class AppModule {}
