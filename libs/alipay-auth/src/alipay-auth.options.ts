import { Type } from '@nestjs/common';
import type { KeyObject } from 'node:crypto';
import type { AlipaySigner } from './signer/alipay-signer';
import type { AlipayTokenStore } from './storage/alipay-token-store';
import type { AlipayRateLimiter } from './client/call-gate';

/** A replacement signer: an instance, a class the module instantiates, or a factory. */
export type AlipaySignerOption = AlipaySigner | Type<AlipaySigner> | { useFactory: (config: ResolvedAlipayAuthConfig) => AlipaySigner | Promise<AlipaySigner> };

/** Refresh policy and the scheduled refresh (see docs/refresh-and-scale.md). */
export interface AlipayRefreshOptions {
  /** Run the scheduled refresh in this instance. Default true. */
  enabled?: boolean;
  /** Cron expression (with seconds) for the refresh run. Default every 10 minutes: `0 *\/10 * * * *`. */
  cron?: string;
  /** Refresh a token this long before its `expires_at`. Default 30 days (tokens live about a year). */
  refreshAheadMs?: number;
  /** Also rotate any token older than this, whatever `expires_at` says. Default off. */
  maxTokenAgeMs?: number;
  /** Always refresh at least this long before the refresh token's own `refresh_expires_at`. Default 30 days. */
  refreshTokenSafetyMs?: number;
  /** Rows claimed per batch. Default 100. */
  batchSize?: number;
  /** Refresh calls in flight at once per instance. Default 8. */
  concurrency?: number;
  /** Calls to Alipay per second per instance (token bucket). Default 20. */
  ratePerSecond?: number;
  /** Replaces the per-instance token bucket, e.g. with one shared by all instances (Redis). */
  rateLimiter?: AlipayRateLimiter;
  /** How long a claimed row stays leased before another instance may take it. Default 2 minutes. */
  leaseMs?: number;
  /** First retry delay after a failed refresh; doubles each failure. Default 1 minute. */
  backoffBaseMs?: number;
  /** Longest retry delay. Default 6 hours. */
  backoffMaxMs?: number;
  /**
   * Check each authorization's status at Alipay (token query API) at most this often. Default 1 day; 0
   * disables. The checks run on what refreshes leave of the rate, capped by `statusCheckShare`, so with many
   * merchants the interval grows on its own: each is checked every
   * `max(statusCheckIntervalMs, activeMerchants / (statusCheckShare x ratePerSecond))` seconds. With the
   * defaults (20/s, 10 %: 2 checks/s, 172,800 a day) the daily interval holds up to 172,800 merchants; at
   * 1,000,000 it is 500,000 s (5.8 days), and the checks use 2 of the 20 calls/s, never more.
   */
  statusCheckIntervalMs?: number;
  /**
   * Largest share of `ratePerSecond` the status checks may use, spaced evenly (1 / (share x rate) apart),
   * and only on slots no due refresh wants. Default 0.1 (2 calls/s at the default rate); at most 1. With a
   * shared `rateLimiter` the share is of this instance's `ratePerSecond`.
   */
  statusCheckShare?: number;
}

/** Application types of Alipay's authorization links (`appTypes` of the task link, `application_type` of the batch page). */
export type AlipayApplicationType = 'MOBILEAPP' | 'WEBAPP' | 'PUBLICAPP' | 'TINYAPP' | 'ARAPP' | 'BASEAPP';

/** Module option `authorizationLink`: what `AlipayAuthorizationLinkService` needs. */
export interface AlipayAuthorizationLinkOptions {
  /** HMAC-SHA256 key that signs `state`: at least 32 random characters, the same on every instance. */
  stateSecret: string;
  /** Where Alipay returns the browser: exactly the callback URL registered on the ISV app (http or https). */
  redirectUri: string;
  /** How long a link's `state` is accepted. Default 10 minutes; 1 minute to 1 hour. */
  stateTtlMs?: number;
  /** `appTypes` of the task link (指定应用授权): the merchant picks one of its apps of these types. Default `['TINYAPP', 'WEBAPP']`; `ARAPP` is not offered there. */
  taskApplicationTypes?: AlipayApplicationType[];
  /** `application_type` of the legacy batch page. Default `['TINYAPP', 'WEBAPP']`. */
  batchApplicationTypes?: AlipayApplicationType[];
}

export interface AlipayAuthModuleOptions {
  /** The ISV app's id (`app_id`). */
  appId: string;
  /** App private key: PKCS#1 or PKCS#8, PEM or the bare base64 Alipay's key tool prints. Not needed with `signer`. */
  privateKey?: string;
  privateKeyPath?: string;
  /** Key mode: Alipay's public key (PEM or bare base64). */
  alipayPublicKey?: string;
  alipayPublicKeyPath?: string;
  /** Certificate mode: `appCertPublicKey_<appId>.crt`. */
  appCert?: string;
  appCertPath?: string;
  /** Certificate mode: `alipayCertPublicKey_RSA2.crt`. */
  alipayPublicCert?: string;
  alipayPublicCertPath?: string;
  /** Certificate mode: `alipayRootCert.crt`. */
  alipayRootCert?: string;
  alipayRootCertPath?: string;
  /** Optional AES content-encryption key (`encrypt_key`, base64). */
  encryptKey?: string;
  /** `'production'` (default), `'sandbox'`, or a base URL such as the simulator's. */
  gateway?: 'production' | 'sandbox' | string;
  /** Base URL of the merchant authorization page. Defaults from `gateway` (the gateway itself for a custom URL). */
  authorizePageBaseUrl?: string;
  /**
   * Base URL of the PC task page of the task link (`/page/message/tasksDetail`). Production
   * `https://b.alipay.com`; for a custom `gateway` (the simulator) `authorizePageBaseUrl`. Alipay publishes no
   * sandbox task page, so with `gateway: 'sandbox'` task links need this option.
   */
  taskPageBaseUrl?: string;
  /**
   * The launcher the phone QR of the task link opens (`…?appId=2021003130652097&page=…`). Production
   * `alipays://platformapi/startapp`; for a custom `gateway` `<authorizePageBaseUrl>/platformapi/startapp`
   * (the simulator renders it); with `gateway: 'sandbox'` it must be set like `taskPageBaseUrl`.
   */
  taskAppLaunchUrl?: string;
  /** Deadline of one attempt, from sending the request to the last byte of the answer. Default 10 000 ms. */
  timeoutMs?: number;
  /** Retries for safe-to-retry failures. Default 2. */
  retries?: number;
  /** First retry delay; doubles each attempt, with jitter. Default 200 ms. */
  retryBaseDelayMs?: number;
  /** Replace the built-in RSA2 signer, e.g. with a KMS-backed one. */
  signer?: AlipaySignerOption;

  /**
   * Keys for encrypting tokens at rest (AES-256-GCM): base64 of 32 bytes. The first key encrypts;
   * all decrypt, so keys can be rotated. A single string is taken as `[{ id: 'k1', key }]`.
   * Required when NODE_ENV=production.
   */
  tokenEncryptionKeys?: string | Array<{ id: string; key: string }>;
  /** Replace the TypeORM store (an instance or a class); the module then needs no TypeORM connection. */
  store?: AlipayTokenStore | Type<AlipayTokenStore>;
  /** Keep valid tokens in memory this long to spare the database. Default 60 000 ms; 0 disables. */
  cacheTtlMs?: number;
  /** Refresh policy and scheduled refresh. */
  refresh?: AlipayRefreshOptions;
  /** Lease owner name for this instance. Default `<hostname>:<pid>:<random>`. */
  instanceId?: string;
  /** The clock, in ms since the epoch. Tests move it; default `Date.now`. */
  clock?: () => number;
  /**
   * Online self-check at start-up: one signed call Alipay must refuse with a business error (the token
   * query for a token that cannot exist). It proves Alipay accepts our signature (else `invalid-signature`:
   * the private key or app id is wrong) and that its answer verifies with the configured Alipay key or
   * certificate. `true`: a failure stops the boot; `'warn'`: it is logged and the health summary is down
   * (configuration circuit open); `false`: no call at start-up. Default `true` when `NODE_ENV=production`,
   * else `false`.
   */
  verifyOnBoot?: boolean | 'warn';
  /** The merchant authorization link and its signed `state` (`AlipayAuthorizationLinkService`). Needed only to build links. */
  authorizationLink?: AlipayAuthorizationLinkOptions;
}

// What the module resolves the options to (`alipay-auth.config.ts`). Declared here, not there: the signer
// option's factory receives it and it keeps the signer option, so the two types refer to each other.
export type ResolvedRefreshConfig = Required<Omit<AlipayRefreshOptions, 'rateLimiter'>> & Pick<AlipayRefreshOptions, 'rateLimiter'>;

/** Options checked and parsed once at start-up: keys are KeyObjects, every default filled in. */
export interface ResolvedAlipayAuthConfig {
  appId: string;
  mode: 'key' | 'certificate' | 'custom-signer';
  privateKey?: KeyObject;
  alipayPublicKey?: KeyObject;
  appCertSn?: string;
  alipayRootCertSn?: string;
  alipayCertSn?: string;
  encryptKey?: Buffer;
  gatewayUrl: string;
  authorizePageBaseUrl: string;
  /** Null when unknown (sandbox without the option): task links are then refused, naming the option. */
  taskPageBaseUrl: string | null;
  taskAppLaunchUrl: string | null;
  timeoutMs: number;
  retries: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  signer?: AlipaySignerOption;
  tokenEncryptionKeys: Array<{ id: string; key: Buffer }>;
  store?: AlipayAuthModuleOptions['store'];
  cacheTtlMs: number;
  refresh: ResolvedRefreshConfig;
  instanceId: string;
  /**
   * The module clock: every instant written to a row or compared with one. Without a `clock` option it is
   * this host's clock corrected by `clockOffset`, measured against the database's clock at start-up and at
   * every scheduled run, so instances whose host clocks disagree still agree on it.
   */
  clock: () => number;
  /** The host's own clock (the signature timestamp Alipay checks); the `clock` option when given. */
  hostClock: () => number;
  /** The database's clock minus this host's, as last measured; null when a `clock` option is used as given. */
  clockOffset: { ms: number } | null;
  /** Online self-check at start-up (`verifyOnBoot`). */
  verifyOnBoot: boolean | 'warn';
  /** Start-up findings that do not stop the boot (a certificate expiring soon), logged once. */
  bootWarnings: string[];
  /** The registration's name (`forRoot({ name })`), or null for the default one. */
  name?: string | null;
}
