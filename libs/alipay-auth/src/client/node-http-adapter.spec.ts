import axios, { AxiosError } from 'axios';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { alipayNodeHttpAdapter } from './node-http-adapter';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

/** A loopback server whose handler each test sets; records what arrived. */
async function server(
  handler: Handler,
): Promise<{ url: string; server: Server; seen: Array<{ method?: string; url?: string; headers: IncomingMessage['headers']; body: string }> }> {
  const seen: Array<{ method?: string; url?: string; headers: IncomingMessage['headers']; body: string }> = [];
  const s = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, server: s, seen };
}

const client = axios.create({
  adapter: alipayNodeHttpAdapter,
  responseType: 'text',
  transformRequest: [(d: unknown) => d],
  transformResponse: [(d: unknown) => d],
});
const PROXY_VARS = ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'all_proxy', 'NODE_USE_ENV_PROXY', 'NO_PROXY', 'no_proxy'];

describe('alipayNodeHttpAdapter', () => {
  const servers: Server[] = [];
  const saved = Object.fromEntries(PROXY_VARS.map((k) => [k, process.env[k]]));
  const open = async (h: Handler) => {
    const s = await server(h);
    servers.push(s.server);
    return s;
  };
  beforeEach(() => PROXY_VARS.forEach((k) => delete process.env[k]));
  afterEach(async () => {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => (s.closeAllConnections(), s.close(r)))));
  });

  it('sends the method, headers and body as given and returns the answer as text, whatever its status', async () => {
    const s = await open((_req, _body, res) => {
      res.writeHead(422, { 'alipay-trace-id': 't1', 'content-type': 'application/json' });
      res.end('{"code":"invalid-parameter","message":"中文"}');
    });
    const body = '{"grant_type":"refresh_token","refresh_token":"中文"}';
    const res = await client.request<string>({
      method: 'POST',
      url: `${s.url}/v3/alipay/open/auth/token/app?x=1`,
      headers: { authorization: 'ALIPAY-SHA256withRSA app_id=1', 'content-type': 'application/json' },
      data: body,
      validateStatus: () => true,
    });
    expect(res.status).toBe(422);
    expect(res.data).toBe('{"code":"invalid-parameter","message":"中文"}');
    expect(res.headers['alipay-trace-id']).toBe('t1');
    expect(s.seen[0]).toMatchObject({ method: 'POST', url: '/v3/alipay/open/auth/token/app?x=1', body });
    expect(s.seen[0].headers).toMatchObject({ authorization: 'ALIPAY-SHA256withRSA app_id=1', 'content-length': String(Buffer.byteLength(body)) });
    // Nothing asked for a compressed answer.
    expect(s.seen[0].headers['accept-encoding']).toBeUndefined();
  });

  it('rejects a status that validateStatus refuses with the response attached, as axios does', async () => {
    const s = await open((_req, _body, res) => res.writeHead(503).end('busy'));
    const e = (await client.get(`${s.url}/x`).catch((x: unknown) => x)) as AxiosError;
    expect(e).toBeInstanceOf(AxiosError);
    expect(e.response?.status).toBe(503);
    expect(e.response?.data).toBe('busy');
  });

  it('sends a Buffer body (uploads) byte for byte', async () => {
    const s = await open((_req, _body, res) => res.end('ok'));
    const bytes = Buffer.from([0, 1, 2, 13, 10, 255]);
    let received: Buffer | undefined;
    s.server.removeAllListeners('request');
    s.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => ((received = Buffer.concat(chunks)), res.end('ok')));
    });
    await client.post(`${s.url}/upload`, bytes, { headers: { 'content-type': 'multipart/form-data; boundary=b' } });
    expect(received?.equals(bytes)).toBe(true);
  });

  it('decodes a compressed answer', async () => {
    const s = await open((_req, _body, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync('{"a":"压缩"}')));
    expect((await client.get<string>(`${s.url}/z`)).data).toBe('{"a":"压缩"}');
  });

  it('ends the call at the deadline even while bytes keep arriving (a timeout is ECONNABORTED)', async () => {
    const s = await open((_req, _body, res) => {
      res.writeHead(200);
      const drip = setInterval(() => res.write(' '), 20);
      res.on('close', () => clearInterval(drip));
    });
    const started = Date.now();
    const e = (await client.get(`${s.url}/slow`, { timeout: 150 }).catch((x: unknown) => x)) as AxiosError;
    expect(e).toBeInstanceOf(AxiosError);
    expect(e.code).toBe('ECONNABORTED');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('reports a refused connection with its code and a reset with ECONNRESET', async () => {
    const s = await open((req) => req.socket.destroy());
    const port = Number(new URL(s.url).port);
    const reset = (await client.get(`${s.url}/reset`).catch((x: unknown) => x)) as AxiosError;
    expect(reset.code).toBe('ECONNRESET');
    await new Promise((r) => s.server.close(r));
    const refused = (await client.get(`http://127.0.0.1:${port}/gone`).catch((x: unknown) => x)) as AxiosError;
    expect(refused).toBeInstanceOf(AxiosError);
    expect(refused.code).toBe('ECONNREFUSED');
  });

  it('stops reading past maxContentLength', async () => {
    const s = await open((_req, _body, res) => res.end('x'.repeat(10_000)));
    const e = (await client.get(`${s.url}/big`, { maxContentLength: 1_000 }).catch((x: unknown) => x)) as AxiosError;
    expect(e.message).toContain('maxContentLength');
  });

  it('is cancelled by an AbortSignal', async () => {
    const s = await open(() => undefined);
    const ctl = new AbortController();
    const p = client.get(`${s.url}/never`, { signal: ctl.signal }).catch((x: unknown) => x);
    setTimeout(() => ctl.abort(), 50);
    expect(((await p) as AxiosError).code).toBe('ERR_CANCELED');
  });

  it('leaves a request through a proxy to axios: with HTTP_PROXY set, the proxy receives it', async () => {
    const target = await open((_req, _body, res) => res.end('direct'));
    const proxy = await open((req, _body, res) => res.end(`proxied ${req.url}`));
    process.env.HTTP_PROXY = proxy.url;
    const res = await client.get<string>(`${target.url}/via`);
    expect(res.data).toBe(`proxied ${target.url}/via`);
    expect(target.seen).toHaveLength(0);
    delete process.env.HTTP_PROXY;
    expect((await client.get<string>(`${target.url}/via`)).data).toBe('direct');
  });
});
