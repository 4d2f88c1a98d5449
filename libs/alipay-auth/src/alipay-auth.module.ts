import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { ALIPAY_AUTH_CONFIG, resolveAlipayAuthConfig } from './alipay-auth.config';
import { ALIPAY_AUTH_MODULE_OPTIONS, AlipayAuthConfigurableModule } from './alipay-auth.module-definition';
import { ALIPAY_AUTH_REGISTRATION_NAME } from './alipay-auth.tokens';
import { AlipayAuthModuleOptions } from './alipay-auth.options';
import { AlipayOpenApiClient } from './client/alipay-openapi.client';
import { AlipayTokenRefreshScheduler } from './refresh/token-refresh.scheduler';
import { AlipaySigner } from './signer/alipay-signer';
import { AlipayTokenStore } from './storage/alipay-token-store';
import { alipaySignerProvider } from './signer/alipay-signer.provider';
import { AlipayAuthEventPublisher } from './tokens/alipay-auth.events';
import { AlipayTokenService } from './tokens/alipay-token.service';
import { AlipayTokenCache } from './tokens/token-cache';
import { AlipayRefreshCoordinator } from './tokens/refresh-coordinator';
import { AlipayConfigurationCircuit } from './tokens/configuration-circuit';
import { AlipayTokenRecovery } from './tokens/token-recovery';
import { AlipayTokenRefresher } from './tokens/token-refresher';
import { AlipayNotificationHandler } from './tokens/alipay-notification.handler';
import { AlipayAuthHealthService } from './health/alipay-auth-health.service';
import { AlipayAuthTelemetry } from './telemetry/alipay-auth.telemetry';
import { AlipayTokenReencryption } from './storage/token-reencryption';
import { AlipayDatabaseClock } from './storage/database-clock';
import { AlipayAuthHealthIndicator } from './health/alipay-auth-health.indicator';
import { ALIPAY_AUTHORIZATION_LINK_OPTIONS, AlipayAuthorizationLinkService } from './authorization/alipay-authorization-link.service';
import { AlipayAuthorizationCallback } from './http/alipay-authorization-callback';
import { AlipayNotificationEndpoint } from './http/alipay-notification-endpoint';

/**
 * `AlipayAuthModule.forRoot(options)` / `forRootAsync({ imports, inject, useFactory })`.
 * Global by default (`isGlobal: false` to scope it). Wiring only; see alipay-auth.options.ts.
 */
@Module({
  imports: [HttpModule],
  providers: [
    {
      provide: ALIPAY_AUTH_CONFIG,
      inject: [ALIPAY_AUTH_MODULE_OPTIONS, ALIPAY_AUTH_REGISTRATION_NAME],
      useFactory: (options: AlipayAuthModuleOptions, name: string | null) => ({ ...resolveAlipayAuthConfig(options), name }),
    },
    {
      provide: ALIPAY_AUTHORIZATION_LINK_OPTIONS,
      inject: [ALIPAY_AUTH_MODULE_OPTIONS],
      useFactory: (options: AlipayAuthModuleOptions) => options.authorizationLink ?? null,
    },
    alipaySignerProvider,
    AlipayOpenApiClient,
    AlipayAuthEventPublisher,
    AlipayAuthTelemetry,
    AlipayConfigurationCircuit,
    AlipayDatabaseClock,
    AlipayTokenRefresher,
    AlipayTokenRecovery,
    AlipayNotificationHandler,
    AlipayTokenCache,
    AlipayRefreshCoordinator,
    AlipayTokenService,
    AlipayTokenRefreshScheduler,
    AlipayAuthHealthService,
    AlipayTokenReencryption,
    AlipayAuthHealthIndicator,
    AlipayAuthorizationLinkService,
    AlipayAuthorizationCallback,
    AlipayNotificationEndpoint,
  ],
})
export class AlipayAuthModule extends AlipayAuthConfigurableModule {
  /** What the default (unnamed) registration exports, by class token; a named one exports name-bound tokens. */
  static readonly defaultExports = [
    ALIPAY_AUTH_CONFIG,
    AlipaySigner,
    AlipayOpenApiClient,
    AlipayTokenStore,
    AlipayTokenService,
    AlipayTokenRefreshScheduler,
    AlipayConfigurationCircuit,
    AlipayAuthHealthService,
    AlipayTokenReencryption,
    AlipayAuthHealthIndicator,
    AlipayAuthorizationLinkService,
    AlipayAuthorizationCallback,
    AlipayNotificationEndpoint,
    AlipayAuthTelemetry,
  ];
}
