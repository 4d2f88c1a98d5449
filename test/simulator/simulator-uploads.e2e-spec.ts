/**
 * v3 uploads (protocol doc §10.2): the official SDK's `curl()` with a form and our client's `multipart`
 * send the same upload; the simulator verifies the signature over the `data` part and answers like the
 * real API. A capturing proxy in between shows both signed the same content and sent the same file bytes.
 */
import { Test } from '@nestjs/testing';
import { AlipayFormData, AlipaySdk } from 'alipay-sdk';
import { createServer, IncomingHttpHeaders, request as httpRequest, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { AlipayApiError, AlipayAuthError, AlipayAuthModule, AlipayOpenApiClient } from 'nestjs-alipay-auth';
import { buildRequestSignContent, loadPublicKey, parseAuthorizationHeader, rsaVerify } from 'nestjs-alipay-auth/protocol';
import { AlipaySimulator, IMAGE_UPLOAD_PATH, startAlipaySimulator, TOKEN_PATH } from 'nestjs-alipay-auth-simulator';
import { vectors } from '../fixtures/vectors';

const APP = '2021004100000001';
const MERCHANT = '2021004100000901';
const appPrivatePem: string = vectors.keys.app.privateKeyPkcs8Pem;
const appPublic = loadPublicKey(vectors.keys.app.publicKeySpkiPem);
/** Every byte value, plus what would break naive framing: CRLF, a boundary-like line, NUL. */
const FILE = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n'), Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from('\r\n--boundary\r\n\0')]);
const FIELDS = { image_type: 'png', image_name: '门店 front.png' };

interface Captured {
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

let sim: AlipaySimulator;
let proxy: { url: string; server: Server; captured: Captured[] };
let token: string;

/** Forwards to the simulator, recording each request's bytes. */
async function startCapturingProxy(target: string) {
  const captured: Captured[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      captured.push({ url: req.url!, headers: req.headers, body });
      const out = httpRequest(`${target}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode!, up.headers);
        up.pipe(res);
      });
      out.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, captured };
}

/** An independent multipart reader for the assertions (the simulator's own parser is under test). */
function partsOf(c: Captured): Map<string, { headers: string; content: Buffer }> {
  const boundary = /boundary=([^;]+)/.exec(String(c.headers['content-type']))![1];
  const out = new Map<string, { headers: string; content: Buffer }>();
  const sep = Buffer.from(`--${boundary}`);
  let at = c.body.indexOf(sep);
  for (;;) {
    const start = at + sep.length;
    if (c.body.subarray(start, start + 2).toString() === '--') break;
    const next = c.body.indexOf(sep, start);
    const chunk = c.body.subarray(start + 2, next - 2); // between the CRLF after the boundary and the CRLF before the next
    const split = chunk.indexOf('\r\n\r\n');
    const headers = chunk.subarray(0, split).toString('utf8');
    out.set(/name="([^"]+)"/.exec(headers)![1], { headers, content: chunk.subarray(split + 4) });
    at = next;
  }
  return out;
}

/** The signed content rebuilt from what went over the wire, checked against the app's public key. */
function signedContent(c: Captured): string {
  const auth = parseAuthorizationHeader(String(c.headers.authorization))!;
  const content = buildRequestSignContent({
    authString: auth.authString,
    method: 'POST',
    requestUri: c.url,
    body: partsOf(c).get('data')!.content.toString('utf8'),
    appAuthToken: c.headers['alipay-app-auth-token'] as string | undefined,
  });
  expect(rsaVerify(appPublic, content, auth.signature)).toBe(true);
  return content.slice(auth.authString.length);
}

function sdk(): AlipaySdk {
  return new AlipaySdk({ appId: APP, privateKey: appPrivatePem, keyType: 'PKCS8', alipayPublicKey: sim.alipayPublicKeyPem, endpoint: proxy.url } as never);
}

async function client() {
  const moduleRef = await Test.createTestingModule({
    imports: [AlipayAuthModule.forRoot({ appId: APP, privateKey: appPrivatePem, alipayPublicKey: sim.alipayPublicKeyPem, gateway: proxy.url, retries: 0 })],
  }).compile();
  return { client: moduleRef.get(AlipayOpenApiClient), close: () => moduleRef.close() };
}

beforeAll(async () => {
  sim = await startAlipaySimulator({
    alipayPrivateKey: vectors.keys.alipay.privateKeyPkcs8Pem,
    apps: [{ appId: APP, publicKey: vectors.keys.app.publicKeySpkiPem }],
  });
  proxy = await startCapturingProxy(sim.url);
  const { app_auth_code } = sim.controls.authorize(APP, { authAppId: MERCHANT });
  token = (await sdk().curl<{ app_auth_token: string }>('POST', TOKEN_PATH, { body: { grant_type: 'authorization_code', code: app_auth_code } })).data
    .app_auth_token;
});
afterAll(async () => {
  await new Promise<void>((r) => {
    proxy.server.closeAllConnections();
    proxy.server.close(() => r());
  });
  await sim.close();
});
beforeEach(() => (proxy.captured.length = 0));

describe('uploads: the official SDK and our client', () => {
  it('send the same upload; the simulator accepts both and answers image_id and image_url', async () => {
    const form = new AlipayFormData();
    form.addField('image_type', FIELDS.image_type);
    form.addField('image_name', FIELDS.image_name);
    form.addFile('image_content', 'front.png', FILE);
    const official = await sdk().curl<{ image_id: string; image_url: string }>('POST', IMAGE_UPLOAD_PATH, { form, appAuthToken: token });
    expect(official.responseHttpStatus).toBe(200);

    const { client: ours, close } = await client();
    try {
      const mine = await ours.request<{ image_id: string; image_url: string }>({
        method: 'POST',
        path: IMAGE_UPLOAD_PATH,
        appAuthToken: token,
        multipart: { fields: FIELDS, files: [{ field: 'image_content', filename: 'front.png', content: FILE }] },
      });
      expect(mine.image_id).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(mine.image_url).toContain(mine.image_id);
      // The simulator derives the id from the bytes it received: both delivered the same file.
      expect(mine).toEqual(official.data);
    } finally {
      await close();
    }

    const [a, b] = proxy.captured;
    expect(proxy.captured).toHaveLength(2);
    for (const c of [a, b]) expect(c.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    // Same signed content after the auth string (method, URI, the data JSON, the token line), each verified.
    expect(signedContent(b)).toBe(signedContent(a));
    expect(signedContent(a)).toBe(`\nPOST\n${IMAGE_UPLOAD_PATH}\n${JSON.stringify(FIELDS)}\n${token}\n`);
    const [pa, pb] = [partsOf(a), partsOf(b)];
    expect([...pb.keys()]).toEqual([...pa.keys()]);
    expect([...pa.keys()]).toEqual(['data', 'image_content']);
    expect(pb.get('data')!.headers).toBe(pa.get('data')!.headers);
    expect(pb.get('image_content')!.content.equals(FILE)).toBe(true);
    expect(pa.get('image_content')!.content.equals(FILE)).toBe(true);
    expect(pb.get('image_content')!.headers).toBe(pa.get('image_content')!.headers);
  });

  it('the simulator checks the signature over the data part only, and the upload fields', async () => {
    const { client: ours, close } = await client();
    const upload = (fields: Record<string, unknown>, files = [{ field: 'image_content', filename: 'front.png', content: FILE }]) =>
      ours.request({ method: 'POST', path: IMAGE_UPLOAD_PATH, appAuthToken: token, multipart: { fields, files } }).then(
        () => 'accepted',
        (e: unknown) => (e instanceof AlipayApiError ? `${e.status} ${e.code}` : String(e)),
      );
    try {
      expect(await upload({ image_type: 'png' })).toBe('400 invalid-parameter');
      expect(await upload(FIELDS, [{ field: 'other', filename: 'front.png', content: FILE }])).toBe('400 invalid-parameter');
      expect(await upload({ ...FIELDS, image_type: 'exe' })).toBe('400 invalid-parameter');
      expect(await upload(FIELDS)).toBe('accepted');
    } finally {
      await close();
    }
    // Replay the captured accepted request with its data part changed: the signature no longer holds.
    const sent = proxy.captured.at(-1)!;
    const forged = Buffer.from(sent.body.toString('latin1').replace('"image_type":"png"', '"image_type":"jpg"'), 'latin1');
    const status = await new Promise<number>((resolve) => {
      const headers = { ...sent.headers, 'content-length': String(forged.length) };
      httpRequest(`${sim.url}${sent.url}`, { method: 'POST', headers }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      }).end(forged);
    });
    expect(status).toBe(401);
    expect(sim.controls.stats().errorsByCode['invalid-signature']).toBeGreaterThan(0);
  });

  it('our client refuses a body that is not plain JSON, pointing at multipart, before sending anything', async () => {
    const { client: ours, close } = await client();
    const form = new AlipayFormData();
    form.addFile('image_content', 'front.png', FILE);
    try {
      for (const body of [FILE, new Uint8Array(FILE), Readable.from([FILE]), form, new (class Upload {})()]) {
        const e = await ours.request({ method: 'POST', path: IMAGE_UPLOAD_PATH, appAuthToken: token, body }).catch((err: unknown) => err);
        expect(e).toBeInstanceOf(AlipayAuthError);
        expect((e as Error).message).toContain('"multipart');
      }
      const both = await ours
        .request({ method: 'POST', path: IMAGE_UPLOAD_PATH, body: {}, multipart: { files: [{ field: 'f', filename: 'a.png', content: FILE }] } })
        .catch((err: unknown) => err);
      expect((both as Error).message).toContain('"multipart" and "body"');
      expect(proxy.captured).toHaveLength(0);
    } finally {
      await close();
    }
  });
});
