import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { keyFile, vectors } from '../../../test/fixtures/vectors';
import { resolveAlipayAuthConfig } from './alipay-auth.config';
import { AlipayAuthModuleOptions } from './alipay-auth.options';
import { AlipayConfigError } from './errors/alipay-auth.errors';

const app = vectors.keys.app;
const alipay = vectors.keys.alipay;
const certs = vectors.certificates.generated;
const base: AlipayAuthModuleOptions = { appId: '2021004100000001', privateKey: app.privateKeyPkcs8Base64, alipayPublicKey: alipay.publicKeySpkiBase64 };

function failure(options: AlipayAuthModuleOptions): AlipayConfigError {
  try {
    resolveAlipayAuthConfig(options);
  } catch (e) {
    expect(e).toBeInstanceOf(AlipayConfigError);
    return e as AlipayConfigError;
  }
  throw new Error('expected a configuration error');
}

describe('resolveAlipayAuthConfig', () => {
  it('resolves key mode with defaults', () => {
    const c = resolveAlipayAuthConfig(base);
    expect(c.mode).toBe('key');
    expect(c.gatewayUrl).toBe('https://openapi.alipay.com');
    expect(c.authorizePageBaseUrl).toBe('https://openauth.alipay.com');
    expect(c.privateKey!.type).toBe('private');
    expect(c.refresh).toMatchObject({ enabled: true, cron: '0 */10 * * * *', batchSize: 100 });
  });

  it('resolves the task link hosts: production, none published for the sandbox, the custom gateway (simulator), or as given', () => {
    expect(resolveAlipayAuthConfig(base)).toMatchObject({ taskPageBaseUrl: 'https://b.alipay.com', taskAppLaunchUrl: 'alipays://platformapi/startapp' });
    expect(resolveAlipayAuthConfig({ ...base, gateway: 'sandbox' })).toMatchObject({ taskPageBaseUrl: null, taskAppLaunchUrl: null });
    expect(resolveAlipayAuthConfig({ ...base, gateway: 'http://127.0.0.1:4010/' })).toMatchObject({
      taskPageBaseUrl: 'http://127.0.0.1:4010',
      taskAppLaunchUrl: 'http://127.0.0.1:4010/platformapi/startapp',
    });
    expect(
      resolveAlipayAuthConfig({ ...base, gateway: 'sandbox', taskPageBaseUrl: 'https://b.example.test/', taskAppLaunchUrl: 'alipays://platformapi/startapp' }),
    ).toMatchObject({ taskPageBaseUrl: 'https://b.example.test', taskAppLaunchUrl: 'alipays://platformapi/startapp' });
    expect(failure({ ...base, taskPageBaseUrl: 'alipays://x' }).message).toContain('"taskPageBaseUrl"');
    expect(failure({ ...base, taskAppLaunchUrl: 'alipays://platformapi/startapp?appId=1' }).message).toContain('"taskAppLaunchUrl"');
  });

  it('resolves certificate mode from files and derives the SNs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'alipay-certs-'));
    for (const [name, pem] of [
      ['app.crt', certs.appCert.pem],
      ['alipay.crt', certs.alipayPublicCert.pem],
      ['root.crt', certs.alipayRootCertBundle.pem],
    ])
      writeFileSync(join(dir, name), pem);
    const c = resolveAlipayAuthConfig({
      appId: base.appId,
      privateKey: app.privateKeyPkcs1Pem,
      appCertPath: join(dir, 'app.crt'),
      alipayPublicCertPath: join(dir, 'alipay.crt'),
      alipayRootCertPath: join(dir, 'root.crt'),
      gateway: 'sandbox',
    });
    expect(c).toMatchObject({
      mode: 'certificate',
      appCertSn: certs.appCert.expectedAppCertSn,
      alipayCertSn: certs.alipayPublicCert.expectedAlipayCertSn,
      alipayRootCertSn: certs.alipayRootCertBundle.expectedAlipayRootCertSn,
      gatewayUrl: 'https://openapi-sandbox.dl.alipaydev.com',
    });
  });

  it.each([
    [{ appId: 'abc' }, '"appId"'],
    [{ privateKey: undefined }, '"privateKey"'],
    [{ privateKey: 'bm90IGEga2V5' }, '"privateKey"'],
    [{ alipayPublicKey: 'garbage!!' }, '"alipayPublicKey"'],
    [{ alipayPublicKey: undefined }, '"alipayPublicKey"'],
    [{ gateway: 'ftp://x' }, '"gateway"'],
    [{ timeoutMs: -1 }, '"timeoutMs"'],
    [{ encryptKey: 'c2hvcnQ=' }, '"encryptKey"'],
    [{ tokenEncryptionKeys: 'c2hvcnQ=' }, '"tokenEncryptionKeys[0].key"'],
    [{ refresh: { batchSize: 0 } }, '"refresh.batchSize"'],
    [{ refresh: { cron: 'often' } }, '"refresh.cron"'],
    [{ refresh: { statusCheckShare: 0 } }, '"refresh.statusCheckShare"'],
    [{ refresh: { statusCheckShare: 1.5 } }, '"refresh.statusCheckShare"'],
    [{ appCert: certs.appCert.pem }, '"alipayPublicKey" and the certificate options'],
    [{ alipayPublicKey: undefined, appCert: certs.appCert.pem }, '"alipayPublicCert"'],
    [{ privateKeyPath: '/nonexistent/key.pem', privateKey: undefined }, '"privateKeyPath"'],
  ] as Array<[Partial<AlipayAuthModuleOptions>, string]>)('names the bad option %#', (patch, name) => {
    const e = failure({ ...base, ...patch });
    expect(e.message).toContain(name);
    // never echo key material
    expect(e.message).not.toContain(app.privateKeyPkcs8Base64.slice(30, 60));
    expect(e.message).not.toContain(alipay.publicKeySpkiBase64.slice(30, 60));
  });

  it('accepts a custom signer without keys', () => {
    const c = resolveAlipayAuthConfig({
      appId: base.appId,
      signer: {
        useFactory: () => {
          throw new Error('unused');
        },
      },
    });
    expect(c.mode).toBe('custom-signer');
    expect(c.privateKey).toBeUndefined();
  });
});

describe("start-up checks that save the first merchant's code", () => {
  const certMode: AlipayAuthModuleOptions = {
    appId: base.appId,
    privateKey: app.privateKeyPkcs8Pem,
    appCert: certs.appCert.pem,
    alipayPublicCert: certs.alipayPublicCert.pem,
    alipayRootCert: certs.alipayRootCertBundle.pem,
  };
  const at = (iso: string) => () => Date.parse(iso);

  it('accepts a consistent certificate set', () => {
    expect(resolveAlipayAuthConfig({ ...certMode, clock: at('2027-01-01T00:00:00Z') }).bootWarnings).toEqual([]);
  });

  it('refuses an app certificate of another key than the private key, naming appCert', () => {
    const e = failure({ ...certMode, privateKey: alipay.privateKeyPkcs8Pem });
    expect(e.message).toMatch(/"appCert".*"privateKey"/);
    expect(e.message).not.toMatch(/BEGIN|MII/);
  });

  it('refuses an Alipay certificate that does not chain to the root bundle', () => {
    // A root of another CA (in the vectors' bundle, but not the one that issued Alipay's certificate).
    const e = failure({ ...certMode, alipayRootCert: keyFile('root2_ca.crt') });
    expect(e.message).toMatch(/"alipayPublicCert" does not chain .*"alipayRootCert"/);
  });

  it('refuses an expired Alipay certificate and warns 30 days ahead', () => {
    const end = Date.parse(new X509Certificate(certs.alipayPublicCert.pem).validTo);
    const expired = failure({ ...certMode, appCert: certs.appCert.pem, clock: () => end + 1000 });
    expect(expired.message).toMatch(/"(appCert|alipayPublicCert)" holds a certificate that expired/);
    const soon = resolveAlipayAuthConfig({ ...certMode, clock: () => end - 10 * 24 * 3600_000 });
    expect(soon.bootWarnings.join('\n')).toMatch(/"alipayPublicCert" holds a certificate that expires on .* within 30 days/);
  });

  it("refuses a private key, or the app's own public key, where Alipay's public key is expected", () => {
    expect(failure({ ...base, alipayPublicKey: alipay.privateKeyPkcs8Pem }).message).toMatch(/"alipayPublicKey" holds a private key/);
    expect(failure({ ...base, alipayPublicKey: app.privateKeyPkcs8Base64 }).message).toMatch(/"alipayPublicKey" holds a private key/);
    expect(failure({ ...base, alipayPublicKey: app.publicKeySpkiPem }).message).toMatch(/"alipayPublicKey" holds the app's own public key/);
  });

  it('validates verifyOnBoot', () => {
    expect(failure({ ...base, verifyOnBoot: 'yes' as never }).message).toMatch(/"verifyOnBoot"/);
  });

  it('verifies on boot by default when NODE_ENV=production, and only then; false still turns it off', () => {
    const saved = process.env.NODE_ENV;
    try {
      process.env.NODE_ENV = 'production';
      expect(resolveAlipayAuthConfig(base).verifyOnBoot).toBe(true);
      expect(resolveAlipayAuthConfig({ ...base, verifyOnBoot: false }).verifyOnBoot).toBe(false);
      expect(resolveAlipayAuthConfig({ ...base, verifyOnBoot: 'warn' }).verifyOnBoot).toBe('warn');
      for (const other of ['development', 'test']) {
        process.env.NODE_ENV = other;
        expect(resolveAlipayAuthConfig(base).verifyOnBoot).toBe(false);
      }
      delete process.env.NODE_ENV;
      expect(resolveAlipayAuthConfig(base).verifyOnBoot).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = saved;
    }
  });
});
