import { vectors } from '../../../../test/fixtures/vectors';
import { AlipayConfigError, AlipaySignatureError } from '../errors/alipay-auth.errors';
import { aesDecrypt, aesEncrypt, loadAesKey } from './alipay-aes';
import { certPublicKey, certSn, rootCertSn, signatureAlgorithmOid } from './alipay-cert';
import { loadPrivateKey, loadPublicKey, publicKeyToBase64, rsaSign, rsaVerify } from './alipay-keys';
import { buildRequestSignContent, buildRequestUri, parseAuthorizationHeader } from './alipay-v3-protocol';
import { RsaAlipaySigner } from './rsa-alipay-signer';
import { X509Certificate } from 'node:crypto';

const cases = (list: any[]): Array<[string, any]> => list.map((v, i) => [v.name ?? `#${i}`, v]);
const app = vectors.keys.app;
const alipay = vectors.keys.alipay;

function signerFor(
  input: { appId: string; appCertSn: string | null; alipayRootCertSn: string | null; encryptKey: string | null },
  privateKey = app.privateKeyPkcs8Pem,
) {
  return new RsaAlipaySigner({
    appId: input.appId,
    privateKey: loadPrivateKey(privateKey),
    alipayPublicKey: loadPublicKey(alipay.publicKeySpkiBase64),
    appCertSn: input.appCertSn ?? undefined,
    alipayRootCertSn: input.alipayRootCertSn ?? undefined,
    encryptKey: input.encryptKey ? loadAesKey(input.encryptKey) : undefined,
  });
}

describe('RsaAlipaySigner against the official SDK vectors', () => {
  describe.each(cases(vectors.requestSigning))('request %s', (_name, v: any) => {
    const input = v.input;

    it('rebuilds the request URI the SDK put on the wire', () => {
      const sdk = input.sdkCall;
      expect(buildRequestUri(sdk.path, sdk.options.query)).toBe(input.requestUri);
    });

    it('encrypts the body exactly as the SDK did', () => {
      if (!input.encryptKey) {
        expect(input.body).toBe(input.plainBody);
        return;
      }
      expect(aesEncrypt(loadAesKey(input.encryptKey), input.plainBody)).toBe(input.body);
    });

    it('builds the same sign content, signature and Authorization header', async () => {
      for (const key of [app.privateKeyPkcs8Pem, app.privateKeyPkcs1Pem, app.privateKeyPkcs8Base64, app.privateKeyPkcs1Base64]) {
        const signed = await signerFor(input, key).signRequest({
          method: input.httpMethod,
          requestUri: input.requestUri,
          body: input.body,
          appAuthToken: input.appAuthToken,
          nonce: input.nonce,
          timestamp: input.timestamp,
          additionalAuthInfo: input.additionalAuthInfo ?? undefined,
        });
        expect(signed.authorization).toBe(v.expected.authorizationHeader);
        expect(signed.authorization).toBe(v.expected.headers.authorization);
        if (input.alipayRootCertSn) expect(signed.headers['alipay-root-cert-sn']).toBe(input.alipayRootCertSn);
        else expect(signed.headers['alipay-root-cert-sn']).toBeUndefined();
      }
      const parsed = parseAuthorizationHeader(v.expected.authorizationHeader)!;
      expect(parsed.authString).toBe(v.expected.authString);
      expect(parsed.signature).toBe(v.expected.signature);
      expect(
        buildRequestSignContent({
          authString: parsed.authString,
          method: input.httpMethod,
          requestUri: input.requestUri,
          body: input.body,
          appAuthToken: input.appAuthToken,
        }),
      ).toBe(v.expected.signContent);
    });

    it('accepts the reply the SDK accepted', async () => {
      const reply = v.sdkAcceptedSignedReply;
      await expect(signerFor(input).verifyResponse({ status: reply.status, headers: reply.headers, body: reply.body })).resolves.toBeUndefined();
    });
  });

  describe.each(cases(vectors.responseVerification))('response %s', (_name, v: any) => {
    const signer = () =>
      new RsaAlipaySigner({
        appId: '2021004100000001',
        privateKey: loadPrivateKey(app.privateKeyPkcs8Pem),
        alipayPublicKey: loadPublicKey(v.alipayPublicKeySpkiBase64),
        alipayCertSn: v.expectedAlipayCertSn ?? undefined,
        encryptKey: v.encryptKey ? loadAesKey(v.encryptKey) : undefined,
      });

    it('decides as the SDK (or, for signed errors, as the stricter Java SDK) did', async () => {
      const res = v.response;
      const result = signer().verifyResponse({ status: res.status, headers: res.headers, body: res.body });
      if (v.contentToVerify !== null) {
        expect(rsaVerify(loadPublicKey(v.alipayPublicKeySpkiBase64), v.contentToVerify, res.headers['alipay-signature'])).toBe(v.signatureValid);
      }
      if (v.sdkAccepted) {
        await expect(result).resolves.toBeUndefined();
      } else if (res.status >= 400) {
        // Node never verifies errors; we verify when signed (Java's rule) and let unsigned errors through to AlipayApiError.
        await expect(result).resolves.toBeUndefined();
      } else {
        await expect(result).rejects.toBeInstanceOf(AlipaySignatureError);
        // The SDK crashes with a TypeError on a missing signature; ours names it. Its own codes must match ours.
        if (String(v.sdkError?.code).startsWith('response-')) await expect(result).rejects.toMatchObject({ code: v.sdkError.code });
        else await expect(result).rejects.toMatchObject({ code: 'response-signature-missing' });
      }
      if (v.sdkAccepted && v.encryptKey) {
        expect(JSON.parse(aesDecrypt(loadAesKey(v.encryptKey), res.body))).toEqual(v.sdkResultData);
      }
    });
  });

  it('rejects a signed error response whose signature is wrong', async () => {
    const v = vectors.responseVerification.find((x: any) => x.response.status >= 400 && x.response.headers['alipay-signature']);
    const s = signerFor({ appId: '2021004100000001', appCertSn: null, alipayRootCertSn: null, encryptKey: null });
    await expect(s.verifyResponse({ status: v.response.status, headers: v.response.headers, body: v.response.body })).resolves.toBeUndefined();
    await expect(s.verifyResponse({ status: v.response.status, headers: v.response.headers, body: v.response.body + ' ' })).rejects.toMatchObject({
      code: 'response-signature-verify-error',
    });
  });

  it.each(cases(vectors.aes))('AES %s', (_n, a: any) => {
    const key = loadAesKey(a.keyBase64);
    expect(key.length).toBe(a.keyBytes);
    expect(a.iv).toBe('0'.repeat(32));
    expect(aesEncrypt(key, a.plaintext)).toBe(a.ciphertextBase64);
    expect(aesDecrypt(key, a.ciphertextBase64)).toBe(a.plaintext);
  });

  it.each(cases(vectors.directSignatures))('direct signature %s', (_i, d: any) => {
    expect(rsaSign(loadPrivateKey(app.privateKeyPkcs8Pem), d.content)).toBe(d.signatureWithAppKey);
    expect(rsaSign(loadPrivateKey(alipay.privateKeyPkcs8Pem), d.content)).toBe(d.signatureWithAlipayKey);
    expect(rsaVerify(loadPublicKey(app.publicKeySpkiPem), d.content, d.signatureWithAppKey)).toBe(d.verifiesWithAppPublicKey);
  });

  describe.each(['generated', 'sdkFixtures'])('certificates (%s)', (set) => {
    const c = vectors.certificates[set];
    it('computes the app cert SN', () => expect(certSn(c.appCert.pem)).toBe(c.appCert.expectedAppCertSn));
    it('computes the Alipay public cert SN and key', () => {
      expect(certSn(c.alipayPublicCert.pem)).toBe(c.alipayPublicCert.expectedAlipayCertSn);
      expect(publicKeyToBase64(certPublicKey(c.alipayPublicCert.pem))).toBe(c.alipayPublicCert.expectedPublicKeySpkiBase64);
    });
    it('computes the root cert SN, skipping non-RSA roots', () => {
      expect(rootCertSn(c.alipayRootCertBundle.pem)).toBe(c.alipayRootCertBundle.expectedAlipayRootCertSn);
      const blocks = c.alipayRootCertBundle.pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
      expect(blocks.map((b: string) => signatureAlgorithmOid(new X509Certificate(b)))).toEqual(c.alipayRootCertBundle.parts.map((p: any) => p.signatureOID));
    });
  });

  describe('key loading', () => {
    it('names the option and never echoes the key', () => {
      const bad = app.privateKeyPkcs8Base64.slice(0, 200);
      try {
        loadPrivateKey(bad, 'privateKey');
        throw new Error('should have thrown');
      } catch (e) {
        expect(e).toBeInstanceOf(AlipayConfigError);
        expect((e as Error).message).toContain('"privateKey"');
        expect((e as Error).message).not.toContain(bad.slice(0, 40));
      }
    });
    it('refuses a public key where a private key is expected', () => {
      expect(() => loadPrivateKey(app.publicKeySpkiPem)).toThrow(AlipayConfigError);
    });
  });
});
