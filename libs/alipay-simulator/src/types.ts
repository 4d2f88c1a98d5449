import type { KeyObject } from 'node:crypto';

/** An ISV (third-party) app as registered with the simulator. Give `publicKey` (key mode) or `appCert` (certificate mode). */
export interface SimulatorAppInput {
  appId: string;
  /** Key mode: the app's RSA public key (PEM or bare base64 SPKI). */
  publicKey?: string;
  /** Certificate mode: `appCertPublicKey_<appId>.crt` (PEM). Needs the simulator's `certificate` option. */
  appCert?: string;
  /** AES content-encryption key (base64), enables `alipay-encrypt-type: AES` requests. */
  encryptKey?: string;
  /** Where `alipay.open.auth.appauth.cancelled` notifications are POSTed. */
  notifyUrl?: string;
  /** When given, the authorization page accepts only these redirect_uri values (exact match). */
  redirectUris?: string[];
  /** Default true: a third-party (ISV) app. false: a self-developed app, whose token calls answer APP_NOT_ISV. */
  isv?: boolean;
}

/** What registering an app answers: the material the ISV configures in its SDK. */
export interface SimulatorAppRegistration {
  /** Alipay's public key as PEM (key mode). */
  alipayPublicKey: string;
  /** Certificate mode only: `alipayCertPublicKey_RSA2.crt`. */
  alipayPublicCert?: string;
  /** Certificate mode only: `alipayRootCert.crt`. */
  alipayRootCert?: string;
}

export interface AlipaySimulatorStartOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Alipay's signing key; a 2048-bit RSA key is generated when absent. Required with `certificate`. */
  alipayPrivateKey?: string | KeyObject;
  /** Certificate mode material: the Alipay public cert (its key must be `alipayPrivateKey`) and the root bundle. */
  certificate?: { alipayCertPem: string; alipayRootCertPem: string };
  /** Apps registered at start. */
  apps?: SimulatorAppInput[];
}

/** Behaviour that `controls.configure` can change at runtime (all also start options). */
export interface SimulatorBehaviour {
  /**
   * How long a superseded refresh token keeps working, at most (it always stops at its own re_expires_in).
   * Default Infinity: until its own re_expires_in, as Alipay says. A finite value is the stricter variant.
   */
  refreshGraceMs: number;
  /**
   * How long the previous app_auth_token keeps working after a refresh or a re-authorization (Alipay:
   * "within a certain time"; the length is not published). Default 0: it stops at once (the strict variant).
   */
  tokenOverlapMs: number;
  /**
   * What a refresh token of an authorization replaced by a re-authorization does (UNCONFIRMED). Default
   * false: it refreshes the merchant's current authorization. true: it answers REFRESH_TOKEN_NOT_VALID.
   */
  reauthorizationRetiresRefreshToken: boolean;
  /** `expires_in` of issued tokens, seconds. Default 31536000 (365 days). */
  tokenTtlSec: number;
  /** `re_expires_in` of issued refresh tokens, seconds. Default 32140800 (372 days). */
  refreshTtlSec: number;
  /** `expires_in` / `re_expires_in` of the token call as JSON numbers (default, as v2 traffic sends them) or strings (the v3 models). */
  durationsAs: 'number' | 'string';
  /** Token call answers carry only `tokens[]`, no top-level token fields (seen in real responses). Default false. */
  tokensOnly: boolean;
  /**
   * Sign the answers of refused calls (business errors such as `AUTH_CODE_NOT_VALID`). Default true, the kind
   * variant: whether Alipay signs them is unknown. `false` is the strict one: every error unsigned. The
   * gateway's own refusals (missing or bad Authorization, unknown app, signature, timestamp) are unsigned in
   * both, as the real gateway answers them (protocol doc §10.3).
   */
  signErrors: boolean;
  /** Life of a single authorization's app_auth_code. Default 24 h. */
  codeTtlMs: number;
  /** Life of a batch authorization's app_auth_code. Default 10 min. */
  batchCodeTtlMs: number;
  /** Accepted skew of the request timestamp, both directions, against the simulator clock. Default 15 min; `Infinity` disables the check. */
  timestampWindowMs: number;
  /** Waits between notification attempts until the ISV answers `success`. Default 4 m, 10 m, 10 m, 1 h, 2 h, 6 h, 15 h. */
  notifyRetryDelaysMs: number[];
  /** Multiplies the waits (real time), to compress the schedule in tests. Default 1. */
  notifyTimeScale: number;
}

export interface AlipaySimulatorOptions extends Partial<SimulatorBehaviour>, AlipaySimulatorStartOptions {}

export interface AuthorizeInput {
  /** The merchant app being authorized; generated when absent. */
  authAppId?: string;
  /** Several merchant apps in one batch authorization (one code, several tokens[]). */
  authAppIds?: string[];
  /** The merchant's user id (`2088…`); generated when absent. */
  userId?: string;
  /** Echoed back by the batch page; informational. */
  applicationType?: string;
  /** A batch authorization, whose code lives batchCodeTtlMs. Default: true when authAppIds or applicationType is given. */
  batch?: boolean;
  /** API methods the merchant grants (the query's auth_methods). Default: an illustrative list of alipay.trade.* methods. */
  authMethods?: string[];
}

export interface AuthNotifyInput extends AuthorizeInput {
  /** notify_context.trigger. UNSURE: the real values; default `service_market`. */
  trigger?: string;
  /** notify_context.trigger_context. Default `{}`. */
  triggerContext?: Record<string, unknown>;
}

export interface AuthNotifyResult extends AuthorizeResult {
  /** One open_app_auth_notify per authorized app. Absent when the app has no notifyUrl. */
  notifications?: Array<NotifyResult & { notifyId: string }>;
}

export interface NotifyAttempt extends NotifyResult {
  /** Simulator clock, ms. */
  at: number;
  /** false for an admin re-delivery. */
  scheduled: boolean;
}

export interface NotificationRecord {
  notifyId: string;
  /** msg_method (message service) or notify_type (open_app_auth_notify). */
  name: string;
  appId: string;
  url: string;
  /** The signed form parameters, as sent. */
  params: Record<string, string>;
  attempts: NotifyAttempt[];
  /** The ISV answered `success`. */
  delivered: boolean;
}

export interface AuthorizeResult {
  app_auth_code: string;
  user_id: string;
  auth_app_ids: string[];
}

export type FaultKind = 'latency' | 'http-500' | 'http-503' | 'reset' | 'bad-signature' | 'drop-after-issue' | 'rate-limit' | 'gateway-error';
export const FAULT_KINDS: readonly FaultKind[] = [
  'latency',
  'http-500',
  'http-503',
  'reset',
  'bad-signature',
  'drop-after-issue',
  'rate-limit',
  'gateway-error',
];

export interface FaultInput {
  /** A gateway path without query (e.g. `/v3/alipay/open/auth/token/app`) or `*`. */
  route: string;
  kind: FaultKind;
  /** Probability 0..1 that a matching request gets the fault. Default 1. */
  rate?: number;
  /** Apply to the next N matching requests only. Default: unlimited. */
  count?: number;
  /** For `latency`. Default 1000 ms. */
  latencyMs?: number;
  /** Match only token requests with this grant_type. */
  grantType?: 'authorization_code' | 'refresh_token';
  /** For `gateway-error`: the gateway's code (e.g. `missing-timestamp`, `illegal-client-ip`). Required there. */
  code?: string;
  /** For `gateway-error`: the HTTP status, 400..599. Default 400. */
  status?: number;
}

export interface NotifyResult {
  /** HTTP status the notify URL answered, or 0 when it could not be reached. */
  status: number;
  body: string;
  error?: string;
}

export interface CancelResult {
  cancelled: boolean;
  /** The first attempt; absent when the app has no notifyUrl. Retries follow until `success`. */
  notification?: NotifyResult & { notifyId: string };
}

export interface SimulatorStats {
  requests: {
    total: number;
    byRoute: Record<string, number>;
    byGrantType: { authorization_code: number; refresh_token: number };
  };
  refreshesByMerchant: Record<string, number>;
  exchanges: number;
  queries: number;
  cancellations: number;
  errorsByCode: Record<string, number>;
  faultsInjected: number;
  /** Refresh requests that arrived while another refresh for the same merchant was still being handled (racing refreshes). */
  refreshOverlaps: number;
  refreshOverlapsByMerchant: Record<string, number>;
}

export interface SimulatorControls {
  registerApp(app: SimulatorAppInput): SimulatorAppRegistration;
  /** Mints an app_auth_code as if the merchant approved on the authorization page. */
  authorize(appId: string, input?: AuthorizeInput): AuthorizeResult;
  /** Cancels the merchant's authorization and, when the app has a notifyUrl, sends the notification. */
  cancelAuthorization(appId: string, authAppId: string): Promise<CancelResult>;
  /**
   * An authorization Alipay executes itself (service market, plugin, agent flows): opens the grants and,
   * when the app has a notifyUrl, sends `open_app_auth_notify` with the tokens. The code stays exchangeable
   * once and answers the same tokens.
   */
  notifyAuthorized(appId: string, input?: AuthNotifyInput): Promise<AuthNotifyResult>;
  /** Every notification sent since the last reset, with its attempts. */
  notifications(): NotificationRecord[];
  /** Sends a past notification again now (same notify_id and signature). */
  redeliver(notifyId: string): Promise<NotifyResult>;
  /** Resolves once the notification was answered `success` or its retry schedule ran out. */
  notificationSettled(notifyId: string): Promise<NotificationRecord>;
  /** Changes behaviour settings at runtime; answers all of them. `reset()` restores the start options. */
  configure(patch: Partial<SimulatorBehaviour>): SimulatorBehaviour;
  setClock(nowMs: number): number;
  advanceClock(ms: number): number;
  now(): number;
  addFault(fault: FaultInput): { id: string };
  clearFaults(): void;
  stats(): SimulatorStats;
  /** Clears codes, tokens, notifications, counters, faults, the clock offset and configure() changes; registered apps too with `{ apps: true }`. */
  reset(options?: { apps?: boolean }): void;
}

export interface AlipaySimulator {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  alipayPublicKeyPem: string;
  /** Bare base64 SPKI, as Alipay's console shows it. */
  alipayPublicKeyBase64: string;
  controls: SimulatorControls;
  close(): Promise<void>;
}
