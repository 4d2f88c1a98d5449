export * from './alipay-auth.module';
export { ALIPAY_AUTH_MODULE_OPTIONS } from './alipay-auth.module-definition';
export type { AlipayAuthModuleExtras } from './alipay-auth.module-definition';
export * from './alipay-auth.options';
export { ALIPAY_AUTH_CONFIG, ALIPAY_GATEWAYS, ALIPAY_AUTHORIZE_PAGES, resolveAlipayAuthConfig } from './alipay-auth.config';
export type { ResolvedAlipayAuthConfig } from './alipay-auth.config';
export * from './errors/alipay-auth.errors';
export * from './signer/alipay-signer';
export * from './signer/rsa-alipay-signer';
export * from './signer/alipay-v3-protocol';
export { loadPrivateKey, loadPublicKey, rsaSign, rsaVerify, publicKeyToBase64 } from './signer/alipay-keys';
export { loadAesKey, aesEncrypt, aesDecrypt } from './signer/alipay-aes';
export { certSn, rootCertSn, certPublicKey, splitCertificates, signatureAlgorithmOid } from './signer/alipay-cert';
export * from './client/alipay-openapi.client';
export * from './storage/alipay-token-store';
export * from './tokens/alipay-token.types';
export * from './tokens/alipay-auth.events';
export { AlipayTokenService, TOKEN_APP_PATH, TOKEN_QUERY_PATH, CANCELLED_MSG_METHOD } from './tokens/alipay-token.service';
export type { AlipayStatusCheck, AlipayScheduledOutcome } from './tokens/refresh-coordinator';
export {
  dueCriteria,
  isDue,
  refreshDueAt,
  backoffDelay,
  classifyRefreshFailure,
  maxCallMs,
  DEAD_REFRESH_TOKEN_CODES,
  CONFIGURATION_ERROR_CODES,
} from './tokens/refresh-policy';
export type { AlipayFailureKind } from './tokens/refresh-policy';
export { AlipayTokenRefresher } from './tokens/token-refresher';
export { AlipayNotificationHandler, AUTHORIZED_NOTIFY_TYPE, escapeLogValue } from './tokens/alipay-notification.handler';
export type { AlipayNotificationResult } from './tokens/alipay-notification.handler';
export type { AlipayRefreshOutcome, AlipayRefreshResult } from './tokens/token-refresher';
export { AlipayTokenRecovery } from './tokens/token-recovery';
export type { AlipayRecoveryResult, AlipayTokenStatus } from './tokens/token-recovery';
export { AlipayConfigurationCircuit } from './tokens/configuration-circuit';
export type { AlipayConfigurationCircuitState } from './tokens/configuration-circuit';
export { AlipayAuthHealthService } from './health/alipay-auth-health.service';
export type { AlipayAuthHealthSummary, AlipayAuthHealthThresholds } from './health/alipay-auth-health.service';
export { AlipayTokenReencryption } from './storage/token-reencryption';
export type { AlipayReencryptionProgress, AlipayReencryptingStore } from './storage/token-reencryption';
export { AlipayTokenRefreshScheduler, ALIPAY_REFRESH_CRON_JOB } from './refresh/token-refresh.scheduler';
export type { AlipayRefreshRunSummary } from './refresh/token-refresh.scheduler';
export { AlipayTokenCipher, AlipayTokenDecryptError, assertTokenEncryptionConfigured } from './storage/token-cipher';
export type { AlipayTokenDecryptFailure, AlipayWarnLogger } from './storage/token-cipher';
export { DEFAULT_REFRESH_WINDOW } from './storage/refresh-window';
export type { AlipayRefreshWindow } from './storage/refresh-window';
export { AlipayRateLimiter, TokenBucketRateLimiter, RedisRateLimiter, callGate } from './client/call-gate';
export type { AlipayRedisEval, AlipayCallGate } from './client/call-gate';
export type { AlipayAuthOptionsFactory } from './alipay-auth.module-definition';
export { AlipayAuthExceptionFilter, alipayAuthErrorResponse } from './http/alipay-auth-exception.filter';
export type { AlipayAuthErrorBody, AlipayAuthErrorType } from './http/alipay-auth-exception.filter';
export { AlipayAuthHealthIndicator } from './health/alipay-auth-health.indicator';
export type { AlipayAuthHealthData, AlipayAuthHealthIndicatorResult } from './health/alipay-auth-health.indicator';
export { AlipayAuthorizationLinkService, ALIPAY_AUTHORIZE_PAGE_PATH, ALIPAY_BATCH_AUTHORIZE_PAGE_PATH } from './authorization/alipay-authorization-link.service';
export type { AlipayAuthorizationLinkOptions, AlipayAuthorizationLinkRequest, AlipayAuthorizationLink, AlipayApplicationType } from './authorization/alipay-authorization-link.service';
export { ALIPAY_MAX_STATE_LENGTH, DEFAULT_STATE_TTL_MS } from './authorization/authorization-state';
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
export { AlipayAuthTelemetry } from './telemetry/alipay-auth.telemetry';
export type { AlipayTelemetryAttributes } from './telemetry/alipay-auth.telemetry';
