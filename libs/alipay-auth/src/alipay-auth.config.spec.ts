import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vectors } from '../../../test/fixtures/vectors';
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

  it('resolves certificate mode from files and derives the SNs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'alipay-certs-'));
    for (const [name, pem] of [['app.crt', certs.appCert.pem], ['alipay.crt', certs.alipayPublicCert.pem], ['root.crt', certs.alipayRootCertBundle.pem]]) writeFileSync(join(dir, name), pem);
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
    const c = resolveAlipayAuthConfig({ appId: base.appId, signer: { useFactory: () => { throw new Error('unused'); } } });
    expect(c.mode).toBe('custom-signer');
    expect(c.privateKey).toBeUndefined();
  });
});
