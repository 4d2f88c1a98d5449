import { readFileSync } from 'node:fs';
import { ALIPAY_APP_ID_PATTERN } from './alipay-auth.config';
import type { AlipayAuthModuleOptions } from './alipay-auth.options';
import { AlipayConfigError } from './errors/alipay-auth.errors';
import { loadAesKey } from './signer/alipay-aes';
import { certPublicKey, certSn, rootCertSn } from './signer/alipay-cert';
import { loadPrivateKey, loadPublicKey } from './signer/alipay-keys';

/** The environment as `process.env` gives it. */
export type AlipayAuthEnv = Record<string, string | undefined>;

/** The options `alipayAuthOptionsFromEnv` can fill; module options of your own (store, refresh, …) go beside them. */
export type AlipayAuthEnvOptions = Pick<
  AlipayAuthModuleOptions,
  | 'appId'
  | 'privateKey'
  | 'alipayPublicKey'
  | 'appCert'
  | 'alipayPublicCert'
  | 'alipayRootCert'
  | 'encryptKey'
  | 'gateway'
  | 'authorizePageBaseUrl'
  | 'tokenEncryptionKeys'
  | 'verifyOnBoot'
  | 'authorizationLink'
>;

/**
 * Every variable `alipayAuthOptionsFromEnv` reads. A `_PATH` variable names a file holding the value
 * (set one of the pair). Inline keys may carry `\n` for line breaks (one-line `.env` files).
 */
export const ALIPAY_AUTH_ENV_VARIABLES = {
  ALIPAY_APP_ID: 'appId: the 16-digit app id of the ISV app',
  ALIPAY_PRIVATE_KEY: 'privateKey: the app private key, PEM or bare base64 (or ALIPAY_PRIVATE_KEY_PATH)',
  ALIPAY_PUBLIC_KEY: "key mode: Alipay's public key (or ALIPAY_PUBLIC_KEY_PATH)",
  ALIPAY_APP_CERT: 'certificate mode: appCertPublicKey_<appId>.crt (or ALIPAY_APP_CERT_PATH)',
  ALIPAY_PUBLIC_CERT: 'certificate mode: alipayCertPublicKey_RSA2.crt (or ALIPAY_PUBLIC_CERT_PATH)',
  ALIPAY_ROOT_CERT: 'certificate mode: alipayRootCert.crt (or ALIPAY_ROOT_CERT_PATH)',
  ALIPAY_ENCRYPT_KEY: 'encryptKey: the AES content-encryption key, base64 (optional)',
  ALIPAY_GATEWAY: 'gateway: production (default), sandbox, or an http(s) base URL',
  ALIPAY_AUTHORIZE_PAGE_URL: 'authorizePageBaseUrl: base URL of the authorization page (optional)',
  ALIPAY_TOKEN_ENCRYPTION_KEYS: 'tokenEncryptionKeys: "id:base64key" entries, comma-separated, the current key first (rotation)',
  ALIPAY_VERIFY_ON_BOOT: 'verifyOnBoot: true, false or warn (default: true when NODE_ENV=production)',
  ALIPAY_STATE_SECRET: 'authorizationLink.stateSecret: at least 32 random characters, the same on every instance',
  ALIPAY_REDIRECT_URI: 'authorizationLink.redirectUri: the callback URL registered on the ISV app',
} as const;

const CREDENTIALS = ['APP_ID', 'PRIVATE_KEY', 'PUBLIC_KEY', 'APP_CERT', 'PUBLIC_CERT', 'ROOT_CERT'].flatMap((n) => [`ALIPAY_${n}`, `ALIPAY_${n}_PATH`]);
const CERTS = ['ALIPAY_APP_CERT', 'ALIPAY_PUBLIC_CERT', 'ALIPAY_ROOT_CERT'] as const;
const KEY_ID = /^[A-Za-z0-9_.-]{1,32}$/;

/**
 * Module options from the usual environment variables (`ALIPAY_AUTH_ENV_VARIABLES`): app id, keys or key
 * files, certificates, the AES key, gateway, the token keys for rotation, `verifyOnBoot` and, when set,
 * the authorization link. Every problem is collected and thrown at once as an `AlipayConfigError` whose
 * `problems` each name the variable, never its value; key material is parsed here so that a bad key names
 * its variable rather than an option.
 *
 * `requireCredentials: false` (an app with a local fallback, such as the sample's simulation): when no
 * credential variable is set at all, the result has no app id and no keys instead of an error.
 */
export function alipayAuthOptionsFromEnv(env: AlipayAuthEnv): AlipayAuthEnvOptions;
export function alipayAuthOptionsFromEnv(env: AlipayAuthEnv, options: { requireCredentials: false }): Partial<AlipayAuthEnvOptions>;
export function alipayAuthOptionsFromEnv(env: AlipayAuthEnv, options?: { requireCredentials?: boolean }): Partial<AlipayAuthEnvOptions> {
  const problems: string[] = [];
  const fail = (name: string, message: string) => problems.push(`${name} ${message}`);
  const str = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  /** The inline value, or the file its _PATH names; `name` is the variable to quote in a problem. */
  const text = (base: string): { value: string; name: string } | undefined => {
    const inline = str(base);
    const path = str(`${base}_PATH`);
    if (inline && path) {
      fail(base, `and ${base}_PATH are both set; set one`);
      return undefined;
    }
    if (inline) return { value: inline.replace(/\\n/g, '\n'), name: base };
    if (!path) return undefined;
    try {
      return { value: readFileSync(path, 'utf8'), name: `${base}_PATH` };
    } catch {
      fail(`${base}_PATH`, `names a file that cannot be read (${path})`);
      return undefined;
    }
  };
  /** Runs one of the library's loaders; a throw becomes a problem under the variable's name. */
  const check = (v: { value: string; name: string } | undefined, load: (value: string) => unknown, what: string): string | undefined => {
    if (!v) return undefined;
    try {
      load(v.value);
      return v.value;
    } catch {
      fail(v.name, `is not ${what}`);
      return undefined;
    }
  };
  const httpUrl = (name: string): string | undefined => {
    const s = str(name);
    if (s === undefined) return undefined;
    try {
      const u = new URL(s);
      if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.search || u.hash) throw new Error();
      return s.replace(/\/+$/, '');
    } catch {
      fail(name, 'must be an http(s) URL without query or fragment');
      return undefined;
    }
  };

  const out: Partial<AlipayAuthEnvOptions> = {};
  const anyCredential = CREDENTIALS.some((n) => str(n) !== undefined);
  if (anyCredential || options?.requireCredentials !== false) {
    const appId = str('ALIPAY_APP_ID');
    if (!appId) fail('ALIPAY_APP_ID', 'is required');
    else if (!ALIPAY_APP_ID_PATTERN.test(appId)) fail('ALIPAY_APP_ID', 'must be the 16-digit Alipay app id');
    else out.appId = appId;

    const privateKey = text('ALIPAY_PRIVATE_KEY');
    if (!privateKey && !problems.some((p) => p.startsWith('ALIPAY_PRIVATE_KEY'))) fail('ALIPAY_PRIVATE_KEY', '(or ALIPAY_PRIVATE_KEY_PATH) is required');
    out.privateKey = check(privateKey, (v) => loadPrivateKey(v), 'a readable RSA private key (PEM, or bare base64 PKCS#8/PKCS#1)');

    const publicKey = text('ALIPAY_PUBLIC_KEY');
    const certMode = CERTS.some((b) => str(b) || str(`${b}_PATH`));
    if (certMode) {
      if (publicKey) fail(publicKey.name, 'and the certificate variables (ALIPAY_*_CERT) exclude each other; configure one mode');
      const [app, alipay, root] = CERTS.map((b) => {
        const v = text(b);
        if (!v && !str(b) && !str(`${b}_PATH`)) fail(`${b}_PATH`, 'is required in certificate mode (the three certificates go together)');
        return v;
      });
      out.appCert = check(app, (v) => certSn(v), 'a PEM certificate');
      out.alipayPublicCert = check(alipay, (v) => certPublicKey(v), 'a PEM certificate holding an RSA key');
      out.alipayRootCert = check(root, (v) => rootCertSn(v), 'a PEM bundle of root certificates');
    } else if (!publicKey) {
      if (!problems.some((p) => p.startsWith('ALIPAY_PUBLIC_KEY')))
        fail('ALIPAY_PUBLIC_KEY', '(or ALIPAY_PUBLIC_KEY_PATH; or the three ALIPAY_*_CERT_PATH certificates) is required');
    } else {
      out.alipayPublicKey = check(publicKey, (v) => loadPublicKey(v), 'a readable RSA public key (PEM or bare base64)');
    }
  }

  out.encryptKey = check(
    str('ALIPAY_ENCRYPT_KEY') ? { value: str('ALIPAY_ENCRYPT_KEY')!, name: 'ALIPAY_ENCRYPT_KEY' } : undefined,
    (v) => loadAesKey(v),
    'a base64 AES key (16, 24 or 32 bytes)',
  );
  const gateway = str('ALIPAY_GATEWAY');
  if (gateway !== undefined) out.gateway = gateway === 'production' || gateway === 'sandbox' ? gateway : httpUrl('ALIPAY_GATEWAY');
  out.authorizePageBaseUrl = httpUrl('ALIPAY_AUTHORIZE_PAGE_URL');
  out.tokenEncryptionKeys = tokenKeys(str('ALIPAY_TOKEN_ENCRYPTION_KEYS'), fail);

  const verify = str('ALIPAY_VERIFY_ON_BOOT')?.toLowerCase();
  if (verify === 'true' || verify === 'false') out.verifyOnBoot = verify === 'true';
  else if (verify === 'warn') out.verifyOnBoot = 'warn';
  else if (verify !== undefined) fail('ALIPAY_VERIFY_ON_BOOT', 'must be true, false or warn');

  const stateSecret = str('ALIPAY_STATE_SECRET');
  const redirectUri = httpUrl('ALIPAY_REDIRECT_URI');
  if (stateSecret !== undefined && stateSecret.length < 32) fail('ALIPAY_STATE_SECRET', 'must be at least 32 characters (openssl rand -base64 32)');
  else if (stateSecret && !str('ALIPAY_REDIRECT_URI'))
    fail('ALIPAY_REDIRECT_URI', 'is required with ALIPAY_STATE_SECRET (the callback URL registered on the app)');
  else if (!stateSecret && str('ALIPAY_REDIRECT_URI')) fail('ALIPAY_STATE_SECRET', 'is required with ALIPAY_REDIRECT_URI');
  else if (stateSecret && redirectUri) out.authorizationLink = { stateSecret, redirectUri: str('ALIPAY_REDIRECT_URI')! };

  if (problems.length) throw new AlipayConfigError(`Invalid Alipay environment:\n  - ${problems.join('\n  - ')}`, { problems });
  // Unset options stay absent, so that spreading the result never overrides a default with undefined.
  for (const k of Object.keys(out) as Array<keyof AlipayAuthEnvOptions>) if (out[k] === undefined) delete out[k];
  return out;
}

/** `id:base64key` entries, comma-separated, the key that encrypts first; an entry without id gets `k<n>`. */
function tokenKeys(value: string | undefined, fail: (name: string, message: string) => void): Array<{ id: string; key: string }> | undefined {
  if (value === undefined) return undefined;
  const seen = new Set<string>();
  const keys = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry, i) => {
      const colon = entry.indexOf(':');
      const id = colon >= 0 ? entry.slice(0, colon) : `k${i + 1}`;
      const key = colon >= 0 ? entry.slice(colon + 1) : entry;
      if (!KEY_ID.test(id) || seen.has(id))
        fail('ALIPAY_TOKEN_ENCRYPTION_KEYS', `entry ${i + 1} needs a unique id of 1-32 characters [A-Za-z0-9_.-] ("id:base64key")`);
      else if (!/^[A-Za-z0-9+/]+=*$/.test(key) || Buffer.from(key, 'base64').length !== 32)
        fail('ALIPAY_TOKEN_ENCRYPTION_KEYS', `entry ${i + 1} must be base64 of 32 bytes (openssl rand -base64 32)`);
      seen.add(id);
      return { id, key };
    });
  return keys.length ? keys : undefined;
}
