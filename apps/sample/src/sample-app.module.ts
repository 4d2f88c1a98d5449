import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ScheduleModule } from '@nestjs/schedule';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AlipayAuthExceptionFilter, AlipayAuthModule, AlipayAuthModuleOptions } from 'nestjs-alipay-auth';
import { ALIPAY_SETUP, AlipaySetup, AlipaySetupModule } from './alipay/alipay-setup';
import { AuthorizationController } from './auth/authorization.controller';
import { CallbackReplays } from './auth/callback-replays';
import { SAMPLE_CONFIG, SampleConfig } from './config/sample-config';
import { SampleConfigModule, SampleConfigOptions } from './config/sample-config.module';
import { databaseOptions } from './database/database-options';
import { HealthController } from './health/health.controller';
import { AdminGuard } from './merchants/admin.guard';
import { MerchantCounts } from './merchants/merchant-counts';
import { HealthBanner } from './health/health-banner';
import { BulkJobs } from './merchants/bulk-jobs';
import { MerchantActionsController } from './merchants/merchant-actions.controller';
import { MerchantsController } from './merchants/merchants.controller';
import { OperatorNotice } from './merchants/operator-notice';
import { NotifyController } from './notify/notify.controller';
import { SampleRedisModule } from './redis/redis.module';
import { OperatorCsrf } from './security/operator-csrf';
import { CALLBACK_PATH } from './routes';

export interface SampleAppOptions extends SampleConfigOptions {
  /** Merged last into AlipayAuthModule's options (tests: refresh off, retries, a clock...). */
  alipay?: Partial<AlipayAuthModuleOptions>;
}

/**
 * The sample app. `SampleAppModule.forRoot()` reads and validates the environment; tests pass `env`
 * (validated the same way, instead of process.env and .env) and `config`/`alipay` overrides.
 */
@Module({})
export class SampleAppModule {
  static forRoot(options: SampleAppOptions = {}): DynamicModule {
    return {
      module: SampleAppModule,
      imports: [
        SampleConfigModule.forRoot(options),
        SampleRedisModule,
        EventEmitterModule.forRoot(),
        ScheduleModule.forRoot(),
        TypeOrmModule.forRootAsync({ inject: [SAMPLE_CONFIG], useFactory: (config: SampleConfig) => databaseOptions(config) }),
        AlipaySetupModule,
        AlipayAuthModule.forRootAsync({
          imports: [AlipaySetupModule],
          inject: [ALIPAY_SETUP, SAMPLE_CONFIG],
          useFactory: (setup: AlipaySetup, config: SampleConfig): AlipayAuthModuleOptions => ({
            ...setup.moduleOptions,
            refresh: { enabled: config.refresh.enabled, cron: config.refresh.cron },
            // redirect_uri must match the ISV app's registered callback URL exactly.
            authorizationLink: { stateSecret: setup.stateSecret, redirectUri: `${config.publicBaseUrl}${CALLBACK_PATH}` },
            ...options.alipay,
          }),
        }),
        TerminusModule.forRoot({ errorLogStyle: 'pretty' }),
      ],
      controllers: [AuthorizationController, MerchantsController, MerchantActionsController, NotifyController, HealthController],
      providers: [
        AdminGuard,
        MerchantCounts,
        CallbackReplays,
        OperatorCsrf,
        OperatorNotice,
        BulkJobs,
        HealthBanner,
        // JSON routes answer library errors as 409/502/503/504 with Alipay's code; HTML routes render their own pages.
        { provide: APP_FILTER, useClass: AlipayAuthExceptionFilter },
      ],
    };
  }
}
