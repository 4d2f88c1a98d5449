// The root entry: what an application needs to run the authorization lifecycle, and nothing else.
// Wire protocol helpers (signing, keys, certificates, AES) are in `nestjs-alipay-auth/protocol`, the
// TypeORM store in `nestjs-alipay-auth/typeorm`, the testing kit in `nestjs-alipay-auth/testing`.
// Every name here is recorded in libs/alipay-auth/api/nestjs-alipay-auth.api.md (checked by CI).

// The module and its options
export { AlipayAuthModule } from './alipay-auth.module';
export type { AlipayAuthModuleExtras, AlipayAuthOptionsFactory } from './alipay-auth.module-definition';
export type {
  AlipayAuthModuleOptions,
  AlipayRefreshOptions,
  AlipaySignerOption,
  AlipayAuthorizationLinkOptions,
  AlipayApplicationType,
} from './alipay-auth.options';
export { ALIPAY_AUTH_CONFIG, ALIPAY_GATEWAYS, ALIPAY_AUTHORIZE_PAGES, ALIPAY_TASK_PAGES, ALIPAY_APP_ID_PATTERN } from './alipay-auth.config';
export type { ResolvedAlipayAuthConfig, ResolvedRefreshConfig } from './alipay-auth.config';
export { alipayAuthOptionsFromEnv, ALIPAY_AUTH_ENV_VARIABLES } from './alipay-auth.env';
export type { AlipayAuthEnv, AlipayAuthEnvOptions } from './alipay-auth.env';
export {
  ALIPAY_AUTH_REGISTRATION_NAME,
  getAlipayAuthToken,
  getAlipayTokenServiceToken,
  getAlipayOpenApiClientToken,
  getAlipayTokenRefreshSchedulerToken,
  getAlipayAuthHealthServiceToken,
  getAlipayAuthHealthIndicatorToken,
  getAlipayAuthorizationLinkServiceToken,
  InjectAlipayTokenService,
  InjectAlipayOpenApiClient,
  InjectAlipayTokenRefreshScheduler,
  InjectAlipayAuthHealthService,
  InjectAlipayAuthHealthIndicator,
  InjectAlipayAuthorizationLinkService,
} from './alipay-auth.tokens';

// Errors a caller can catch, and their HTTP answers
export {
  AlipayAuthError,
  AlipayApiError,
  AlipaySignatureError,
  AlipayNetworkError,
  AlipayConfigError,
  AlipayAuthorizationRequiredError,
  AlipayTokenUnreadableError,
  AlipayAuthorizationStateError,
  AlipayStoreUnavailableError,
  AlipayInvalidInputError,
} from './errors/alipay-auth.errors';
export type { AlipayErrorLink, AlipaySignatureErrorCode, AlipayNetworkErrorKind, AlipayAuthorizationStateProblem } from './errors/alipay-auth.errors';
export { AlipayAuthExceptionFilter, alipayAuthErrorResponse } from './http/alipay-auth-exception.filter';
export type { AlipayAuthErrorBody, AlipayAuthErrorType } from './http/alipay-auth-exception.filter';

// The HTTP routes of a controller of your own: the authorization link and callback, the notification endpoint
export { AlipayAuthorizationCallback, ALIPAY_NONCE_COOKIE } from './http/alipay-authorization-callback';
export type { AlipayAuthorizationStart, AlipayCallbackInput, AlipayCallbackOptions } from './http/alipay-authorization-callback';
export { AlipayNotificationEndpoint, alipayNotificationParams } from './http/alipay-notification-endpoint';
export type { AlipayNotificationAnswer } from './http/alipay-notification-endpoint';
export type { AlipayHttpRequest } from './http/alipay-http-request';

// Tokens: the facade, its events, the authorization link
export { AlipayTokenService, ALIPAY_AUTH_CODE_PATTERN } from './tokens/alipay-token.service';
export type { AlipayStatusCheck, AlipayScheduledOutcome } from './tokens/refresh-coordinator';
export type { AlipayAuthorizationInfo, AlipayAuthorizationListItem, AlipayTokenQueryResponse } from './tokens/alipay-token.types';
export type { AlipayNotificationResult } from './tokens/alipay-notification.handler';
export type { AlipayRecoveryResult, AlipayTokenStatus } from './tokens/token-recovery';
export { ALIPAY_AUTH_APP_ID_PATTERN } from './tokens/token-refresher';
export type { AlipayRefreshOutcome } from './tokens/token-refresher';
export { AlipayAuthEvent } from './tokens/alipay-auth.events';
export type { AlipayAuthEventPayload, AlipayAuthConfigurationErrorPayload } from './tokens/alipay-auth.events';
export { refreshDueAt } from './storage/refresh-window';
export { escapeLogValue } from './tokens/alipay-notification.handler';
export { AlipayAuthorizationLinkService } from './authorization/alipay-authorization-link.service';
export type {
  AlipayAuthorizationLinkRequest,
  AlipayAuthorizationLink,
  AlipayAuthorizationTaskLink,
  AlipayAuthorizationFlow,
} from './authorization/alipay-authorization-link.service';
export { ALIPAY_MAX_STATE_LENGTH } from './authorization/authorization-state';

// Calling Alipay for a merchant
export { AlipayOpenApiClient } from './client/alipay-openapi.client';
export type { AlipayHttpMethod, AlipayRequestOptions, AlipayResponse, AppAuthTokenResolver } from './client/alipay-openapi.client';
export type { AlipayMultipart, AlipayMultipartFile } from './client/multipart';

// Calling Alipay through the official SDK (alipay-sdk, an optional peer never imported here) with these tokens
export { AlipaySdkBridge, alipaySdkTokenVerdict } from './official-sdk/alipay-sdk-bridge';
export type { AlipaySdkLike, AlipaySdkTokenVerdict } from './official-sdk/alipay-sdk-bridge';
export { AlipaySigner } from './signer/alipay-signer';
export type { AlipaySignRequestInput, AlipaySignedRequest, AlipayResponseToVerify } from './signer/alipay-signer';
export { AlipayRateLimiter, TokenBucketRateLimiter, RedisRateLimiter } from './client/call-gate';
export type { AlipayRedisEval } from './client/call-gate';

// Storage: the contract a store of your own implements, and the cipher it may use
export {
  AlipayTokenStore,
  ALIPAY_ROW_UNREADABLE,
  ALIPAY_AUTHORIZATION_STATUSES,
  ALIPAY_AUTHORIZATION_STATES,
  alipayAuthorizationState,
} from './storage/alipay-token-store';
export type {
  AlipayAuthorization,
  AlipayListedAuthorization,
  AlipayAuthorizationStatus,
  AlipayAuthorizationWrite,
  AlipayIssuedTokens,
  AlipayAuthorizationFilter,
  AlipayAuthorizationState,
  AlipayListOrder,
  AlipayPage,
  AlipayPageResult,
  AlipayDueCriteria,
  AlipayLease,
  AlipayRefreshFailure,
  AlipayAuthorizationCounts,
} from './storage/alipay-token-store';
export { AlipayTokenCipher } from './storage/token-cipher';
export { AlipayTokenReencryption } from './storage/token-reencryption';
export type { AlipayReencryptionProgress, AlipayReencryptingStore } from './storage/token-reencryption';

// Operating it: the scheduled refresh, health, telemetry
export { AlipayTokenRefreshScheduler, ALIPAY_REFRESH_CRON_JOB } from './refresh/token-refresh.scheduler';
export type { AlipayRefreshRunSummary } from './refresh/token-refresh.scheduler';
export { AlipayAuthHealthService } from './health/alipay-auth-health.service';
export type { AlipayAuthHealthSummary, AlipayAuthHealthThresholds } from './health/alipay-auth-health.service';
export { AlipayAuthHealthIndicator } from './health/alipay-auth-health.indicator';
export type { AlipayAuthHealthData, AlipayAuthHealthIndicatorResult } from './health/alipay-auth-health.indicator';
export { AlipayAuthTelemetry } from './telemetry/alipay-auth.telemetry';
export type { AlipayTelemetryAttributes } from './telemetry/alipay-auth.telemetry';
