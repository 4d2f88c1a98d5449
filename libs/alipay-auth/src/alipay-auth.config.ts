import { createPrivateKey, createPublicKey, KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { AlipayAuthModuleOptions, AlipayRefreshOptions, ResolvedAlipayAuthConfig, ResolvedRefreshConfig } from './alipay-auth.options';
import { AlipayConfigError } from './errors/alipay-auth.errors';
import { loadAesKey } from './signer/alipay-aes';
import { certPublicKey, certSn, checkCertificateChain, checkValidity, rootCertSn } from './signer/alipay-cert';
import { loadPrivateKey, loadPublicKey } from './signer/alipay-keys';
import { maxCallMs } from './tokens/refresh-policy';

// Declared with the options (they refer to each other); re-exported where they have always been imported from.
export type { ResolvedAlipayAuthConfig, ResolvedRefreshConfig } from './alipay-auth.options';

export const ALIPAY_AUTH_CONFIG = Symbol('ALIPAY_AUTH_CONFIG');

export const ALIPAY_GATEWAYS = {
  production: 'https://openapi.alipay.com',
  sandbox: 'https://openapi-sandbox.dl.alipaydev.com',
} as const;

export const ALIPAY_AUTHORIZE_PAGES = {
  production: 'https://openauth.alipay.com',
  sandbox: 'https://openauth-sandbox.dl.alipaydev.com',
} as const;

/** Hosts of the task link (指定应用授权): the PC task page and the launcher its phone QR opens. No sandbox is published. */
export const ALIPAY_TASK_PAGES = {
  production: { pageBaseUrl: 'https://b.alipay.com', appLaunchUrl: 'alipays://platformapi/startapp' },
} as const;

const DAY = 24 * 3600 * 1000;

function text(options: AlipayAuthModuleOptions, name: keyof AlipayAuthModuleOptions): string | undefined {
  const inline = options[name];
  const pathName = `${String(name)}Path` as keyof AlipayAuthModuleOptions;
  const path = options[pathName];
  if (inline !== undefined && inline !== null && inline !== '') {
    if (typeof inline !== 'string') throw new AlipayConfigError(`Option "${String(name)}" must be a string`);
    return inline;
  }
  if (typeof path === 'string' && path) {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      throw new AlipayConfigError(`Option "${String(pathName)}" names a file that cannot be read`);
    }
  }
  return undefined;
}

function positive(value: unknown, name: string, fallback: number, allowZero = false): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new AlipayConfigError(`Option "${name}" must be a ${allowZero ? 'non-negative' : 'positive'} number`);
  }
  return value;
}

function url(value: string, name: string): string {
  try {
    const u = new URL(value);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
  } catch {
    throw new AlipayConfigError(`Option "${name}" must be 'production', 'sandbox' or an http(s) URL`);
  }
  return value.replace(/\/+$/, '');
}

/** The phone launcher: Alipay's `alipays:` scheme, or an http(s) page that stands in for it (the simulator). */
function launcher(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new AlipayConfigError('Option "taskAppLaunchUrl" must be an alipays: or http(s) URL without a query');
  }
  if (!['alipays:', 'http:', 'https:'].includes(u.protocol) || u.search || u.hash) {
    throw new AlipayConfigError('Option "taskAppLaunchUrl" must be an alipays: or http(s) URL without a query');
  }
  return value.replace(/\/+$/, '');
}

function tokenKeys(input: AlipayAuthModuleOptions['tokenEncryptionKeys']): Array<{ id: string; key: Buffer }> {
  if (input === undefined || input === null || input === '') return [];
  const list = typeof input === 'string' ? [{ id: 'k1', key: input }] : input;
  if (!Array.isArray(list) || list.length === 0) throw new AlipayConfigError('Option "tokenEncryptionKeys" must be a key or a non-empty list of { id, key }');
  const seen = new Set<string>();
  return list.map((k, i) => {
    if (!k || typeof k.id !== 'string' || !/^[A-Za-z0-9_.-]{1,32}$/.test(k.id)) {
      throw new AlipayConfigError(`Option "tokenEncryptionKeys[${i}].id" must be 1-32 characters of [A-Za-z0-9_.-]`);
    }
    if (seen.has(k.id)) throw new AlipayConfigError(`Option "tokenEncryptionKeys[${i}].id" repeats id ${k.id}`);
    seen.add(k.id);
    const key = Buffer.from(String(k.key ?? ''), 'base64');
    if (key.length !== 32) throw new AlipayConfigError(`Option "tokenEncryptionKeys[${i}].key" must be base64 of 32 bytes`);
    return { id: k.id, key };
  });
}

function share(value: unknown): number {
  const v = positive(value, 'refresh.statusCheckShare', 0.1);
  if (v > 1) throw new AlipayConfigError('Option "refresh.statusCheckShare" must be a share of the rate, at most 1');
  return v;
}

function refresh(r: AlipayRefreshOptions | undefined): ResolvedRefreshConfig {
  const o = r ?? {};
  const cron = o.cron ?? '0 */10 * * * *';
  if (typeof cron !== 'string' || cron.trim().split(/\s+/).length < 5) throw new AlipayConfigError('Option "refresh.cron" must be a cron expression');
  return {
    enabled: o.enabled ?? true,
    cron,
    refreshAheadMs: positive(o.refreshAheadMs, 'refresh.refreshAheadMs', 30 * DAY, true),
    maxTokenAgeMs: positive(o.maxTokenAgeMs, 'refresh.maxTokenAgeMs', 0, true),
    refreshTokenSafetyMs: positive(o.refreshTokenSafetyMs, 'refresh.refreshTokenSafetyMs', 30 * DAY, true),
    batchSize: positive(o.batchSize, 'refresh.batchSize', 100),
    concurrency: positive(o.concurrency, 'refresh.concurrency', 8),
    ratePerSecond: positive(o.ratePerSecond, 'refresh.ratePerSecond', 20),
    leaseMs: positive(o.leaseMs, 'refresh.leaseMs', 120_000),
    backoffBaseMs: positive(o.backoffBaseMs, 'refresh.backoffBaseMs', 60_000),
    backoffMaxMs: positive(o.backoffMaxMs, 'refresh.backoffMaxMs', 6 * 3600_000),
    statusCheckIntervalMs: positive(o.statusCheckIntervalMs, 'refresh.statusCheckIntervalMs', DAY, true),
    statusCheckShare: share(o.statusCheckShare),
    rateLimiter: o.rateLimiter,
  };
}

/** An Alipay app id (the ISV's `appId`) as the module accepts it: 16 digits. */
export const ALIPAY_APP_ID_PATTERN = /^\d{16}$/;

/** Validates the options; every message names the option and never echoes a key. */
export function resolveAlipayAuthConfig(options: AlipayAuthModuleOptions): ResolvedAlipayAuthConfig {
  if (!options || typeof options !== 'object') throw new AlipayConfigError('AlipayAuthModule options are missing');
  if (typeof options.appId !== 'string' || !ALIPAY_APP_ID_PATTERN.test(options.appId.trim())) {
    throw new AlipayConfigError('Option "appId" must be the 16-digit Alipay app id');
  }
  const appId = options.appId.trim();
  const gatewayOpt = options.gateway ?? 'production';
  const gatewayUrl = gatewayOpt === 'production' || gatewayOpt === 'sandbox' ? ALIPAY_GATEWAYS[gatewayOpt] : url(gatewayOpt, 'gateway');
  const authorizePageBaseUrl = options.authorizePageBaseUrl
    ? url(options.authorizePageBaseUrl, 'authorizePageBaseUrl')
    : gatewayOpt === 'production' || gatewayOpt === 'sandbox'
      ? ALIPAY_AUTHORIZE_PAGES[gatewayOpt]
      : gatewayUrl;
  const customGateway = gatewayOpt !== 'production' && gatewayOpt !== 'sandbox';
  const taskPageBaseUrl = options.taskPageBaseUrl
    ? url(options.taskPageBaseUrl, 'taskPageBaseUrl')
    : gatewayOpt === 'production'
      ? ALIPAY_TASK_PAGES.production.pageBaseUrl
      : customGateway
        ? authorizePageBaseUrl
        : null;
  const taskAppLaunchUrl = options.taskAppLaunchUrl
    ? launcher(options.taskAppLaunchUrl)
    : gatewayOpt === 'production'
      ? ALIPAY_TASK_PAGES.production.appLaunchUrl
      : customGateway
        ? `${authorizePageBaseUrl}/platformapi/startapp`
        : null;

  const clockOffset = options.clock ? null : { ms: 0 };
  const base = {
    appId,
    gatewayUrl,
    authorizePageBaseUrl,
    taskPageBaseUrl,
    taskAppLaunchUrl,
    timeoutMs: positive(options.timeoutMs, 'timeoutMs', 10_000),
    retries: Math.floor(positive(options.retries, 'retries', 2, true)),
    retryBaseDelayMs: positive(options.retryBaseDelayMs, 'retryBaseDelayMs', 200, true),
    retryMaxDelayMs: 5_000,
    encryptKey: options.encryptKey ? loadAesKey(options.encryptKey, 'encryptKey') : undefined,
    tokenEncryptionKeys: tokenKeys(options.tokenEncryptionKeys),
    store: options.store,
    cacheTtlMs: positive(options.cacheTtlMs, 'cacheTtlMs', 60_000, true),
    refresh: refresh(options.refresh),
    instanceId: options.instanceId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
    clock: options.clock ?? (() => Date.now() + clockOffset!.ms),
    hostClock: options.clock ?? Date.now,
    clockOffset,
    // In production a wrong key must show at start-up, not when the first merchant's single-use code is spent.
    verifyOnBoot: options.verifyOnBoot ?? process.env.NODE_ENV === 'production',
    bootWarnings: [] as string[],
  };
  if (base.verifyOnBoot !== true && base.verifyOnBoot !== false && base.verifyOnBoot !== 'warn') {
    throw new AlipayConfigError('Option "verifyOnBoot" must be true, false or \'warn\'');
  }
  if (options.clock !== undefined && typeof options.clock !== 'function') throw new AlipayConfigError('Option "clock" must be a function');
  // A lease that can run out during a call lets a second instance refresh the same merchant: both pairs
  // but the last one are dead, and the last one may be the one whose answer is lost.
  const longestCall = maxCallMs(base);
  if (base.refresh.leaseMs < longestCall) {
    throw new AlipayConfigError(
      `Option "refresh.leaseMs" (${base.refresh.leaseMs} ms) must outlast the longest Alipay call, timeoutMs x (retries + 1) plus back-off and margin: at least ${longestCall} ms`,
    );
  }

  const custom = options.signer;
  const privateKeyText = text(options, 'privateKey');
  if (!privateKeyText && !custom) throw new AlipayConfigError('Option "privateKey" (or "privateKeyPath", or "signer") is required');
  // With a custom signer (KMS/HSM) the private key stays out of the process; the verification material is still read here.
  const privateKey = privateKeyText ? loadPrivateKey(privateKeyText, 'privateKey') : undefined;
  const withSigner = custom ? { signer: custom } : {};

  const appCert = text(options, 'appCert');
  const alipayPublicCert = text(options, 'alipayPublicCert');
  const alipayRootCert = text(options, 'alipayRootCert');
  const alipayPublicKeyText = text(options, 'alipayPublicKey');
  const certMode = !!(appCert || alipayPublicCert || alipayRootCert);
  const mode = (m: 'key' | 'certificate') => (custom ? 'custom-signer' : m);
  if (certMode) {
    if (alipayPublicKeyText) throw new AlipayConfigError('Options "alipayPublicKey" and the certificate options exclude each other; configure one mode');
    for (const [name, v] of [
      ['appCert', appCert],
      ['alipayPublicCert', alipayPublicCert],
      ['alipayRootCert', alipayRootCert],
    ] as const) {
      if (!v) throw new AlipayConfigError(`Option "${name}" (or "${name}Path") is required in certificate mode`);
    }
    // Offline checks that would otherwise surface only at the first merchant's callback, after Alipay
    // consumed its single-use code.
    if (privateKey && !samePublicKey(createPublicKey(privateKey), certPublicKey(appCert!, 'appCert'))) {
      throw new AlipayConfigError(
        'Option "appCert" holds the certificate of another key than option "privateKey": upload the public key of this private key, and download its certificate again',
      );
    }
    const now = base.clock();
    for (const w of [
      checkValidity(appCert!, 'appCert', now),
      checkCertificateChain(alipayPublicCert!, alipayRootCert!, 'alipayPublicCert', 'alipayRootCert', now),
    ]) {
      if (w) base.bootWarnings.push(w);
    }
    return {
      ...base,
      ...withSigner,
      mode: mode('certificate'),
      privateKey,
      alipayPublicKey: certPublicKey(alipayPublicCert!, 'alipayPublicCert'),
      appCertSn: certSn(appCert!, 'appCert'),
      alipayCertSn: certSn(alipayPublicCert!, 'alipayPublicCert'),
      alipayRootCertSn: rootCertSn(alipayRootCert!, 'alipayRootCert'),
    };
  }
  if (!alipayPublicKeyText) {
    if (custom) return { ...base, ...withSigner, mode: 'custom-signer', privateKey };
    throw new AlipayConfigError('Option "alipayPublicKey" (key mode) or "appCert"/"alipayPublicCert"/"alipayRootCert" (certificate mode) is required');
  }
  if (/PRIVATE KEY/.test(alipayPublicKeyText) || looksLikePrivateKeyDer(alipayPublicKeyText)) {
    throw new AlipayConfigError(
      'Option "alipayPublicKey" holds a private key: it takes Alipay\'s public key, from the Alipay console (the app private key goes in "privateKey")',
    );
  }
  const alipayPublicKey = loadPublicKey(alipayPublicKeyText, 'alipayPublicKey');
  if (privateKey && samePublicKey(createPublicKey(privateKey), alipayPublicKey)) {
    throw new AlipayConfigError('Option "alipayPublicKey" holds the app\'s own public key, not Alipay\'s: copy "Alipay public key" from the Alipay console');
  }
  return { ...base, ...withSigner, mode: mode('key'), privateKey, alipayPublicKey };
}

function samePublicKey(a: KeyObject, b: KeyObject): boolean {
  return a.export({ type: 'spki', format: 'der' }).equals(b.export({ type: 'spki', format: 'der' }));
}

/** A bare base64 private key (PKCS#8 or PKCS#1) where a public key is expected. */
function looksLikePrivateKeyDer(text: string): boolean {
  const der = Buffer.from(text.replace(/\s+/g, ''), 'base64');
  for (const type of ['pkcs8', 'pkcs1'] as const) {
    try {
      createPrivateKey({ key: der, format: 'der', type });
      return true;
    } catch {
      /* not this encoding */
    }
  }
  return false;
}
