import { Inject, Type } from '@nestjs/common';
import { AlipayAuthorizationLinkService } from './authorization/alipay-authorization-link.service';
import { AlipayOpenApiClient } from './client/alipay-openapi.client';
import { AlipayAuthHealthIndicator } from './health/alipay-auth-health.indicator';
import { AlipayAuthHealthService } from './health/alipay-auth-health.service';
import { AlipayTokenRefreshScheduler } from './refresh/token-refresh.scheduler';
import { AlipayTokenService } from './tokens/alipay-token.service';
import { AlipayAuthorizationCallback } from './http/alipay-authorization-callback';
import { AlipayNotificationEndpoint } from './http/alipay-notification-endpoint';

/** The registration name given to `forRoot({ name })` (null for the default registration). */
export const ALIPAY_AUTH_REGISTRATION_NAME = Symbol('ALIPAY_AUTH_REGISTRATION_NAME');

/** Providers a named registration exports under its own token, as `@nestjs/typeorm` does for data sources. */
export const ALIPAY_AUTH_NAMED_PROVIDERS: Type[] = [
  AlipayTokenService,
  AlipayOpenApiClient,
  AlipayTokenRefreshScheduler,
  AlipayAuthHealthService,
  AlipayAuthHealthIndicator,
  AlipayAuthorizationLinkService,
  AlipayAuthorizationCallback,
  AlipayNotificationEndpoint,
];

/**
 * The injection token of `provider` in the registration `name`: the class itself for the default
 * registration, `<ClassName>:<name>` for a named one.
 */
export function getAlipayAuthToken<T>(provider: Type<T>, name?: string): Type<T> | string {
  return name ? `${provider.name}:${name}` : provider;
}

export const getAlipayTokenServiceToken = (name?: string) => getAlipayAuthToken(AlipayTokenService, name);
export const getAlipayOpenApiClientToken = (name?: string) => getAlipayAuthToken(AlipayOpenApiClient, name);
export const getAlipayTokenRefreshSchedulerToken = (name?: string) => getAlipayAuthToken(AlipayTokenRefreshScheduler, name);
export const getAlipayAuthHealthServiceToken = (name?: string) => getAlipayAuthToken(AlipayAuthHealthService, name);
export const getAlipayAuthHealthIndicatorToken = (name?: string) => getAlipayAuthToken(AlipayAuthHealthIndicator, name);
export const getAlipayAuthorizationLinkServiceToken = (name?: string) => getAlipayAuthToken(AlipayAuthorizationLinkService, name);

/** `@InjectAlipayTokenService('payments')`: the token service of one named registration. */
export const InjectAlipayTokenService = (name?: string) => Inject(getAlipayTokenServiceToken(name));
export const InjectAlipayOpenApiClient = (name?: string) => Inject(getAlipayOpenApiClientToken(name));
export const InjectAlipayTokenRefreshScheduler = (name?: string) => Inject(getAlipayTokenRefreshSchedulerToken(name));
export const InjectAlipayAuthHealthService = (name?: string) => Inject(getAlipayAuthHealthServiceToken(name));
export const InjectAlipayAuthHealthIndicator = (name?: string) => Inject(getAlipayAuthHealthIndicatorToken(name));
export const InjectAlipayAuthorizationLinkService = (name?: string) => Inject(getAlipayAuthorizationLinkServiceToken(name));
