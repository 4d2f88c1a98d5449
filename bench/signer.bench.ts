/* Signing and verification throughput of the built-in signer (one core). Run: npm run bench:signer */
import { createSign } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildResponseSignContent, loadPrivateKey, loadPublicKey, rsaSign, RsaAlipaySigner } from '../libs/alipay-auth/src';

const vectors = JSON.parse(readFileSync(join(process.cwd(), 'test/fixtures/alipay-v3-vectors/alipay-v3-signing.json'), 'utf8'));

async function measure(name: string, n: number, fn: () => unknown | Promise<unknown>): Promise<number> {
  for (let i = 0; i < 50; i++) await fn();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  const perSec = n / ((performance.now() - t0) / 1000);
  console.log(`${name.padEnd(48)} ${perSec.toFixed(0).padStart(8)} ops/s`);
  return perSec;
}

async function main() {
  const signer = new RsaAlipaySigner({
    appId: '2021004100000001',
    privateKey: loadPrivateKey(vectors.keys.app.privateKeyPkcs8Pem),
    alipayPublicKey: loadPublicKey(vectors.keys.alipay.publicKeySpkiBase64),
  });
  const body = JSON.stringify({ grant_type: 'refresh_token', refresh_token: '202509BBa1b2c3d4e5f60718293a4b5c6d7e8F12' });
  const pem = vectors.keys.app.privateKeyPkcs8Pem;
  await measure('signRequest (KeyObject parsed once)', 2000, () => signer.signRequest({ method: 'POST', requestUri: '/v3/alipay/open/auth/token/app', body }));
  await measure('sign with PEM parsed per call (what we avoid)', 2000, () => createSign('RSA-SHA256').update(body).sign(pem, 'base64'));
  const alipayKey = loadPrivateKey(vectors.keys.alipay.privateKeyPkcs8Pem);
  const content = buildResponseSignContent('1735689600789', 'nonce', body);
  const sig = rsaSign(alipayKey, content);
  await measure('verifyResponse', 5000, () =>
    signer.verifyResponse({ status: 200, headers: { 'alipay-timestamp': '1735689600789', 'alipay-nonce': 'nonce', 'alipay-signature': sig }, body }),
  );
}

void main();
