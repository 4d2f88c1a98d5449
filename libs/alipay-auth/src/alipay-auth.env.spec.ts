import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { vectors } from '../../../test/fixtures/vectors';
import { resolveAlipayAuthConfig } from './alipay-auth.config';
import { alipayAuthOptionsFromEnv, AlipayAuthEnv } from './alipay-auth.env';
import { AlipayConfigError } from './errors/alipay-auth.errors';

const app = vectors.keys.app;
const alipay = vectors.keys.alipay;
const certs = vectors.certificates.generated;
const APP_ID = '2021004100000001';
const keyMode: AlipayAuthEnv = { ALIPAY_APP_ID: APP_ID, ALIPAY_PRIVATE_KEY: app.privateKeyPkcs8Base64, ALIPAY_PUBLIC_KEY: alipay.publicKeySpkiBase64 };

function problems(env: AlipayAuthEnv): readonly string[] {
  try {
    alipayAuthOptionsFromEnv(env);
  } catch (e) {
    expect(e).toBeInstanceOf(AlipayConfigError);
    return (e as AlipayConfigError).problems;
  }
  throw new Error('expected a configuration error');
}

describe('alipayAuthOptionsFromEnv', () => {
  it('key mode: options the module resolves, with no undefined keys to override defaults', () => {
    const options = alipayAuthOptionsFromEnv(keyMode);
    expect(options).toEqual({ appId: APP_ID, privateKey: app.privateKeyPkcs8Base64, alipayPublicKey: alipay.publicKeySpkiBase64 });
    expect(resolveAlipayAuthConfig(options).mode).toBe('key');
  });

  it('reads key and certificate files named by the _PATH variables', () => {
    const dir = mkdtempSync(join(tmpdir(), 'alipay-env-'));
    const file = (name: string, content: string) => {
      writeFileSync(join(dir, name), content);
      return join(dir, name);
    };
    const options = alipayAuthOptionsFromEnv({
      ALIPAY_APP_ID: APP_ID,
      ALIPAY_PRIVATE_KEY_PATH: file('app.key', app.privateKeyPkcs1Pem),
      ALIPAY_APP_CERT_PATH: file('app.crt', certs.appCert.pem),
      ALIPAY_PUBLIC_CERT_PATH: file('alipay.crt', certs.alipayPublicCert.pem),
      ALIPAY_ROOT_CERT_PATH: file('root.crt', certs.alipayRootCertBundle.pem),
    });
    expect(options.appCert).toBe(certs.appCert.pem);
    expect(options.alipayRootCert).toBe(certs.alipayRootCertBundle.pem);
    expect(options.alipayPublicKey).toBeUndefined();
    expect(resolveAlipayAuthConfig(options)).toMatchObject({ mode: 'certificate', appCertSn: certs.appCert.expectedAppCertSn });
  });

  it('one-line PEM with \\n escapes, the AES key, gateway, authorize page, verifyOnBoot and the authorization link', () => {
    const secret = randomBytes(32).toString('base64url');
    const options = alipayAuthOptionsFromEnv({
      ...keyMode,
      ALIPAY_PRIVATE_KEY: app.privateKeyPkcs8Pem.trim().replace(/\n/g, '\\n'),
      ALIPAY_ENCRYPT_KEY: randomBytes(16).toString('base64'),
      ALIPAY_GATEWAY: 'sandbox',
      ALIPAY_AUTHORIZE_PAGE_URL: 'https://auth.example.test/',
      ALIPAY_VERIFY_ON_BOOT: 'warn',
      ALIPAY_STATE_SECRET: secret,
      ALIPAY_REDIRECT_URI: 'https://isv.example.test/alipay/auth/callback',
    });
    expect(options.privateKey).toBe(app.privateKeyPkcs8Pem.trim());
    expect(options).toMatchObject({
      gateway: 'sandbox',
      authorizePageBaseUrl: 'https://auth.example.test',
      verifyOnBoot: 'warn',
      authorizationLink: { stateSecret: secret, redirectUri: 'https://isv.example.test/alipay/auth/callback' },
    });
    expect(alipayAuthOptionsFromEnv({ ...keyMode, ALIPAY_VERIFY_ON_BOOT: 'false' }).verifyOnBoot).toBe(false);
  });

  it('the key-rotation list: current key first, ids given or numbered', () => {
    const [a, b] = [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')];
    expect(alipayAuthOptionsFromEnv({ ...keyMode, ALIPAY_TOKEN_ENCRYPTION_KEYS: `k2:${a}, k1:${b}` }).tokenEncryptionKeys).toEqual([
      { id: 'k2', key: a },
      { id: 'k1', key: b },
    ]);
    expect(alipayAuthOptionsFromEnv({ ...keyMode, ALIPAY_TOKEN_ENCRYPTION_KEYS: a }).tokenEncryptionKeys).toEqual([{ id: 'k1', key: a }]);
    expect(problems({ ...keyMode, ALIPAY_TOKEN_ENCRYPTION_KEYS: `k1:${a},k1:${b}` })).toEqual([
      'ALIPAY_TOKEN_ENCRYPTION_KEYS entry 2 needs a unique id of 1-32 characters [A-Za-z0-9_.-] ("id:base64key")',
    ]);
  });

  it('collects every problem at once, each naming its variable and never its value', () => {
    const secretish = 'not-a-key-but-secret-looking-value';
    const found = problems({
      ALIPAY_APP_ID: '12345',
      ALIPAY_PRIVATE_KEY: secretish,
      ALIPAY_PUBLIC_KEY: app.publicKeySpkiPem,
      ALIPAY_PUBLIC_KEY_PATH: '/nonexistent',
      ALIPAY_GATEWAY: 'ftp://gateway',
      ALIPAY_TOKEN_ENCRYPTION_KEYS: 'k1:short',
      ALIPAY_VERIFY_ON_BOOT: 'maybe',
      ALIPAY_STATE_SECRET: 'short',
    });
    expect(found).toEqual([
      'ALIPAY_APP_ID must be the 16-digit Alipay app id',
      'ALIPAY_PRIVATE_KEY is not a readable RSA private key (PEM, or bare base64 PKCS#8/PKCS#1)',
      'ALIPAY_PUBLIC_KEY and ALIPAY_PUBLIC_KEY_PATH are both set; set one',
      'ALIPAY_GATEWAY must be an http(s) URL without query or fragment',
      'ALIPAY_TOKEN_ENCRYPTION_KEYS entry 1 must be base64 of 32 bytes (openssl rand -base64 32)',
      'ALIPAY_VERIFY_ON_BOOT must be true, false or warn',
      'ALIPAY_STATE_SECRET must be at least 32 characters (openssl rand -base64 32)',
    ]);
    expect(found.join('\n')).not.toContain(secretish);
  });

  it('names missing credentials, an unreadable file and an incomplete certificate set', () => {
    expect(problems({})).toEqual([
      'ALIPAY_APP_ID is required',
      'ALIPAY_PRIVATE_KEY (or ALIPAY_PRIVATE_KEY_PATH) is required',
      'ALIPAY_PUBLIC_KEY (or ALIPAY_PUBLIC_KEY_PATH; or the three ALIPAY_*_CERT_PATH certificates) is required',
    ]);
    expect(problems({ ...keyMode, ALIPAY_PRIVATE_KEY: undefined, ALIPAY_PRIVATE_KEY_PATH: '/nonexistent/app.key' })).toEqual([
      'ALIPAY_PRIVATE_KEY_PATH names a file that cannot be read (/nonexistent/app.key)',
    ]);
    expect(problems({ ...keyMode, ALIPAY_PUBLIC_KEY: undefined, ALIPAY_APP_CERT: certs.appCert.pem })).toEqual([
      'ALIPAY_PUBLIC_CERT_PATH is required in certificate mode (the three certificates go together)',
      'ALIPAY_ROOT_CERT_PATH is required in certificate mode (the three certificates go together)',
    ]);
  });

  it('requireCredentials false: no credential variable gives no credentials; one of them makes all required', () => {
    const key = randomBytes(32).toString('base64');
    expect(alipayAuthOptionsFromEnv({ ALIPAY_TOKEN_ENCRYPTION_KEYS: `k1:${key}` }, { requireCredentials: false })).toEqual({
      tokenEncryptionKeys: [{ id: 'k1', key }],
    });
    expect(() => alipayAuthOptionsFromEnv({ ALIPAY_APP_ID: APP_ID }, { requireCredentials: false })).toThrow(
      /ALIPAY_PRIVATE_KEY \(or ALIPAY_PRIVATE_KEY_PATH\) is required/,
    );
  });
});
