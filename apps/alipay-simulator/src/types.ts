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

export interface AlipaySimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Alipay's signing key; a 2048-bit RSA key is generated when absent. Required with `certificate`. */
  alipayPrivateKey?: string | KeyObject;
  /** Certificate mode material: the Alipay public cert (its key must be `alipayPrivateKey`) and the root bundle. */
  certificate?: { alipayCertPem: string; alipayRootCertPem: string };
  /** How long the previous refresh token keeps working after a refresh. Default 24 h. */
  refreshGraceMs?: number;
  /**
   * How long the previous app_auth_token keeps working after a refresh or a re-authorization (Alipay:
   * "within a certain time"; the length is not published). Default 0: it stops at once (the strict variant).
   */
  tokenOverlapMs?: number;
  /** `expires_in` of issued tokens, seconds. Default 31536000 (365 days). */
  tokenTtlSec?: number;
  /** `re_expires_in` of issued refresh tokens, seconds. Default 32140800 (372 days). */
  refreshTtlSec?: number;
  /** Accepted skew of the request timestamp, both directions, against the simulator clock. Default 15 min; `Infinity` disables the check. */
  timestampWindowMs?: number;
  /** Apps registered at start. */
  apps?: SimulatorAppInput[];
}

export interface AuthorizeInput {
  /** The merchant app being authorized; generated when absent. */
  authAppId?: string;
  /** Several merchant apps in one batch authorization (one code, several tokens[]). */
  authAppIds?: string[];
  /** The merchant's user id (`2088…`); generated when absent. */
  userId?: string;
  /** Echoed back by the batch page; informational. */
  applicationType?: string;
}

export interface AuthorizeResult {
  app_auth_code: string;
  user_id: string;
  auth_app_ids: string[];
}

export type FaultKind = 'latency' | 'http-500' | 'http-503' | 'reset' | 'bad-signature' | 'drop-after-issue' | 'rate-limit';
export const FAULT_KINDS: readonly FaultKind[] = ['latency', 'http-500', 'http-503', 'reset', 'bad-signature', 'drop-after-issue', 'rate-limit'];

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
}

export interface NotifyResult {
  /** HTTP status the notify URL answered, or 0 when it could not be reached. */
  status: number;
  body: string;
  error?: string;
}

export interface CancelResult {
  cancelled: boolean;
  /** Absent when the app has no notifyUrl. */
  notification?: NotifyResult;
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
}

export interface SimulatorControls {
  registerApp(app: SimulatorAppInput): SimulatorAppRegistration;
  /** Mints an app_auth_code as if the merchant approved on the authorization page. */
  authorize(appId: string, input?: AuthorizeInput): AuthorizeResult;
  /** Cancels the merchant's authorization and, when the app has a notifyUrl, sends the notification. */
  cancelAuthorization(appId: string, authAppId: string): Promise<CancelResult>;
  setClock(nowMs: number): number;
  advanceClock(ms: number): number;
  now(): number;
  addFault(fault: FaultInput): { id: string };
  clearFaults(): void;
  stats(): SimulatorStats;
  /** Clears codes, tokens, counters, faults and the clock offset; registered apps too with `{ apps: true }`. */
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
