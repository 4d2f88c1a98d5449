import { Test } from '@nestjs/testing';
import { ServerResponse } from 'node:http';
import { inspect } from 'node:util';
import { AlipayApiError, AlipayAuthModule, AlipayAuthModuleOptions, AlipayNetworkError, AlipayOpenApiClient, AlipaySignatureError } from 'nestjs-alipay-auth';
import {
  aesDecrypt,
  aesEncrypt,
  buildRequestSignContent,
  buildResponseSignContent,
  loadAesKey,
  loadPrivateKey,
  loadPublicKey,
  parseAuthorizationHeader,
  rsaSign,
  rsaVerify,
  RsaAlipaySigner,
} from 'nestjs-alipay-auth/protocol';
import { vectors } from '../fixtures/vectors';
import { startWireServer, WireHandler, WireRequest } from '../support/wire-server';

const APP_ID = '2021004100000001';
const appPublic = loadPublicKey(vectors.keys.app.publicKeySpkiPem);
const alipayPrivate = loadPrivateKey(vectors.keys.alipay.privateKeyPkcs8Pem);
const ENCRYPT_KEY = 'aYA0GP8JEW+D7/UFaskCWA==';
const generated = vectors.certificates.generated;

function reply(res: ServerResponse, status: number, body: string, opts: { sign?: boolean; signature?: string; sn?: string } = {}) {
  const ts = '1735689600789';
  const nonce = 'c0ffee00c0ffee00c0ffee00c0ffee00';
  const headers: Record<string, string> = { 'content-type': 'application/json', 'alipay-trace-id': 'trace-123' };
  if (opts.sign !== false) {
    headers['alipay-timestamp'] = ts;
    headers['alipay-nonce'] = nonce;
    headers['alipay-signature'] = opts.signature ?? rsaSign(alipayPrivate, buildResponseSignContent(ts, nonce, body));
  }
  if (opts.sn) headers['alipay-sn'] = opts.sn;
  res.writeHead(status, headers).end(body);
}

/** Checks that a recorded request's Authorization header signs exactly the bytes that went on the wire. */
function signatureMatchesWire(req: WireRequest): boolean {
  const parsed = parseAuthorizationHeader(req.headers.authorization as string);
  if (!parsed) return false;
  const content = buildRequestSignContent({
    authString: parsed.authString,
    method: req.method,
    requestUri: req.url,
    body: req.body,
    appAuthToken: req.headers['alipay-app-auth-token'] as string | undefined,
  });
  return rsaVerify(appPublic, content, parsed.signature);
}

async function clientFor(url: string, extra: Partial<AlipayAuthModuleOptions> = {}) {
  const moduleRef = await Test.createTestingModule({
    imports: [
      AlipayAuthModule.forRoot({
        appId: APP_ID,
        privateKey: vectors.keys.app.privateKeyPkcs8Base64,
        alipayPublicKey: vectors.keys.alipay.publicKeySpkiBase64,
        gateway: url,
        retries: 2,
        retryBaseDelayMs: 1,
        timeoutMs: 2000,
        ...extra,
      }),
    ],
  }).compile();
  return moduleRef.get(AlipayOpenApiClient);
}

describe('AlipayOpenApiClient on the wire', () => {
  let handler: WireHandler;
  let srv: Awaited<ReturnType<typeof startWireServer>>;
  beforeAll(async () => {
    srv = await startWireServer((req, res) => handler(req, res));
  });
  afterAll(() => srv.close());
  beforeEach(() => {
    srv.requests.length = 0;
  });

  it('sends the exact bytes it signed, with the headers Alipay expects', async () => {
    const body = '{"app_auth_token":"202509BB7f2c","auth_app_id":"2021004100000777"}';
    handler = (_req, res) => reply(res, 200, body);
    const client = await clientFor(srv.url);
    const v = vectors.requestSigning.find((x: { name: string }) => x.name === 'post_unicode_body').input;
    const data = await client.request({ method: 'POST', path: v.sdkCall.path, body: v.sdkCall.options.body });
    expect(data).toEqual(JSON.parse(body));
    const [req] = srv.requests;
    expect(req.method).toBe('POST');
    expect(req.url).toBe(v.requestUri);
    expect(req.body).toBe(v.body); // byte-identical to what the official SDK sent
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers.accept).toBe('application/json');
    expect(req.headers['alipay-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(req.headers['alipay-app-auth-token']).toBeUndefined();
    expect(req.headers['alipay-root-cert-sn']).toBeUndefined();
    const auth = parseAuthorizationHeader(req.headers.authorization as string)!;
    expect(Object.keys(auth.fields)).toEqual(['app_id', 'nonce', 'timestamp']);
    expect(auth.fields.app_id).toBe(APP_ID);
    expect(auth.fields.nonce).toMatch(/^[0-9a-f-]{36}$/);
    expect(auth.fields.timestamp).toMatch(/^\d{13}$/);
    expect(signatureMatchesWire(req)).toBe(true);
  });

  it('puts the query on the wire as the official SDK does and signs the merchant token', async () => {
    handler = (_req, res) => reply(res, 200, '{"status":"valid"}');
    const client = await clientFor(srv.url);
    const v = vectors.requestSigning.find((x: { name: string }) => x.name === 'get_query_special_characters_with_app_auth_token').input;
    await client.request({ method: 'GET', path: v.sdkCall.path, query: v.sdkCall.options.query, appAuthToken: v.appAuthToken });
    const [req] = srv.requests;
    expect(req.url).toBe(v.requestUri);
    expect(req.body).toBe('');
    expect(req.headers['content-type']).toBeUndefined();
    expect(req.headers['alipay-app-auth-token']).toBe(v.appAuthToken);
    expect(signatureMatchesWire(req)).toBe(true);
    // The same request without the 5th line must not verify: the token is really signed.
    const parsed = parseAuthorizationHeader(req.headers.authorization as string)!;
    expect(
      rsaVerify(appPublic, buildRequestSignContent({ authString: parsed.authString, method: 'GET', requestUri: req.url, body: '' }), parsed.signature),
    ).toBe(false);
  });

  it('encrypts the body, signs the ciphertext and decrypts the response', async () => {
    const key = loadAesKey(ENCRYPT_KEY);
    const plain = '{"app_auth_token":"t","auth_app_id":"2021004100000777"}';
    handler = (_req, res) => reply(res, 200, aesEncrypt(key, plain));
    const client = await clientFor(srv.url, { encryptKey: ENCRYPT_KEY });
    const v = vectors.requestSigning.find((x: { name: string }) => x.name === 'encrypted_exchange_authorization_code').input;
    const data = await client.request({ method: 'POST', path: v.sdkCall.path, body: v.sdkCall.options.body, encrypt: true });
    expect(data).toEqual(JSON.parse(plain));
    const [req] = srv.requests;
    expect(req.body).toBe(v.body);
    expect(aesDecrypt(key, req.body)).toBe(v.plainBody);
    expect(req.headers['content-type']).toBe('text/plain');
    expect(req.headers['alipay-encrypt-type']).toBe('AES');
    expect(req.headers['alipay-encryption-algm']).toBe('AES');
    expect(signatureMatchesWire(req)).toBe(true);
  });

  it('sends the certificate SNs in certificate mode and checks alipay-sn', async () => {
    const alipaySn = generated.alipayPublicCert.expectedAlipayCertSn;
    handler = (_req, res) => reply(res, 200, '{}', { sn: alipaySn });
    const client = await clientFor(srv.url, {
      alipayPublicKey: undefined,
      appCert: generated.appCert.pem,
      alipayPublicCert: generated.alipayPublicCert.pem,
      alipayRootCert: generated.alipayRootCertBundle.pem,
    });
    await client.request({ method: 'POST', path: '/v3/alipay/open/auth/token/app', body: { grant_type: 'refresh_token', refresh_token: 'x' } });
    const [req] = srv.requests;
    expect(req.headers['alipay-root-cert-sn']).toBe(generated.alipayRootCertBundle.expectedAlipayRootCertSn);
    expect(parseAuthorizationHeader(req.headers.authorization as string)!.fields.app_cert_sn).toBe(generated.appCert.expectedAppCertSn);
    expect(signatureMatchesWire(req)).toBe(true);

    handler = (_req, res) => reply(res, 200, '{}', { sn: '0'.repeat(32) });
    await expect(client.request({ method: 'GET', path: '/v3/x' })).rejects.toMatchObject({ code: 'response-alipay-sn-verify-error' });
  });

  it('signs through a replacement (KMS-style) signer that never hands the module a private key', async () => {
    const kmsKey = loadPrivateKey(vectors.keys.app.privateKeyPkcs1Pem); // stands in for a key inside a KMS
    const calls: string[] = [];
    class KmsSigner extends RsaAlipaySigner {
      protected async signContent(content: string): Promise<string> {
        calls.push(content);
        return rsaSign(kmsKey, content);
      }
    }
    handler = (_req, res) => reply(res, 200, '{"ok":true}');
    const client = await clientFor(srv.url, { privateKey: undefined, signer: { useFactory: (config) => KmsSigner.fromConfig(config) } });
    await expect(client.request({ method: 'POST', path: '/v3/x', body: { a: 1 } })).resolves.toEqual({ ok: true });
    expect(calls).toHaveLength(1);
    expect(signatureMatchesWire(srv.requests[0])).toBe(true);
    // Responses are still verified with the configured Alipay key.
    handler = (_req, res) => reply(res, 200, '{"ok":true}', { signature: rsaSign(kmsKey, 'x') });
    await expect(client.request({ method: 'GET', path: '/v3/x' })).rejects.toBeInstanceOf(AlipaySignatureError);
  });

  it('rejects a tampered response', async () => {
    const body = '{"app_auth_token":"good"}';
    const ts = '1';
    handler = (_req, res) => {
      const sig = rsaSign(alipayPrivate, buildResponseSignContent(ts, 'n', body));
      res.writeHead(200, { 'alipay-timestamp': ts, 'alipay-nonce': 'n', 'alipay-signature': sig, 'alipay-trace-id': 't1' }).end(body.replace('good', 'evil'));
    };
    const client = await clientFor(srv.url);
    const err = await client.request({ method: 'GET', path: '/v3/x' }).catch((e) => e);
    expect(err).toBeInstanceOf(AlipaySignatureError);
    expect(err).toMatchObject({ code: 'response-signature-verify-error', traceId: 't1' });
    expect(srv.requests).toHaveLength(1); // never retried
  });

  it('rejects a 2xx response without a signature', async () => {
    handler = (_req, res) => reply(res, 200, '{"app_auth_token":"x"}', { sign: false });
    const client = await clientFor(srv.url);
    await expect(client.request({ method: 'GET', path: '/v3/x' })).rejects.toMatchObject({ code: 'response-signature-missing' });
  });

  it('raises AlipayApiError with code, message, links and trace id for an unsigned error body', async () => {
    const v = vectors.responseVerification.find((x: { name: string }) => x.name === 'error_400_auth_code_not_valid_unsigned');
    handler = (_req, res) => res.writeHead(v.response.status, v.response.headers).end(v.response.body);
    const client = await clientFor(srv.url);
    const err = await client
      .request({ method: 'POST', path: '/v3/alipay/open/auth/token/app', body: { grant_type: 'authorization_code', code: 'c' } })
      .catch((e: AlipayApiError) => e);
    expect(err).toBeInstanceOf(AlipayApiError);
    expect(err).toMatchObject({ status: 400, code: v.sdkError.code, links: v.sdkError.links, traceId: v.response.headers['alipay-trace-id'] });
    expect((err as AlipayApiError).alipayMessage).toBe('授权码无效');
  });

  it('verifies a signed error response and rejects a forged one', async () => {
    const body = '{"code":"invalid-signature","message":"bad","links":"https://open.alipay.com/x"}';
    handler = (_req, res) => reply(res, 401, body);
    const client = await clientFor(srv.url);
    await expect(client.request({ method: 'GET', path: '/v3/x' })).rejects.toMatchObject({
      status: 401,
      code: 'invalid-signature',
      links: [{ link: 'https://open.alipay.com/x' }],
    });
    handler = (_req, res) => reply(res, 401, body, { signature: rsaSign(alipayPrivate, 'something else') });
    await expect(client.request({ method: 'GET', path: '/v3/x' })).rejects.toBeInstanceOf(AlipaySignatureError);
  });

  it('retries a 5xx only when the call is idempotent', async () => {
    let n = 0;
    handler = (_req, res) => (++n < 3 ? reply(res, 503, '{"code":"unknow-error","message":"busy"}', { sign: false }) : reply(res, 200, '{"ok":true}'));
    const client = await clientFor(srv.url);
    await expect(client.request({ method: 'GET', path: '/v3/x' })).resolves.toEqual({ ok: true });
    expect(srv.requests).toHaveLength(3);

    srv.requests.length = 0;
    handler = (_req, res) => reply(res, 503, '{"code":"unknow-error","message":"busy"}', { sign: false });
    await expect(client.request({ method: 'POST', path: '/v3/x', body: {} })).rejects.toMatchObject({ status: 503, code: 'unknow-error' });
    expect(srv.requests).toHaveLength(1);

    srv.requests.length = 0;
    await expect(client.request({ method: 'POST', path: '/v3/x', body: {}, idempotent: true })).rejects.toBeInstanceOf(AlipayApiError);
    expect(srv.requests).toHaveLength(3);
  });

  it('reports a reset connection as AlipayNetworkError and does not resend a POST', async () => {
    handler = (_req, res) => res.socket?.destroy();
    const client = await clientFor(srv.url);
    const err = await client.request({ method: 'POST', path: '/v3/x', body: {} }).catch((e) => e);
    expect(err).toBeInstanceOf(AlipayNetworkError);
    expect(err).toMatchObject({ kind: 'reset', sent: true });
    expect(srv.requests).toHaveLength(1);
    // Nothing reachable from the error (cause included) carries the signature or a token.
    const seen = inspect(err, { depth: 10, showHidden: true });
    expect(seen).not.toContain(String(srv.requests[0].headers.authorization).slice(-40));
    srv.requests.length = 0;
    await expect(client.request({ method: 'GET', path: '/v3/x' })).rejects.toMatchObject({ kind: 'reset' });
    expect(srv.requests).toHaveLength(3);
  });

  it('reports a timeout as AlipayNetworkError', async () => {
    handler = () => undefined; // never answers
    const client = await clientFor(srv.url, { timeoutMs: 100, retries: 0 });
    await expect(client.request({ method: 'GET', path: '/v3/x' })).rejects.toMatchObject({ kind: 'timeout', sent: true });
  });

  it('retries a refused connection, which Alipay never received, even for a POST', async () => {
    const dead = await startWireServer(() => undefined);
    await dead.close();
    const client = await clientFor(dead.url);
    const started = Date.now();
    const err = await client.request({ method: 'POST', path: '/v3/x', body: {} }).catch((e) => e);
    expect(err).toBeInstanceOf(AlipayNetworkError);
    expect(err).toMatchObject({ kind: 'connect', sent: false });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
