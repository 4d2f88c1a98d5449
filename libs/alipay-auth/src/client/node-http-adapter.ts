import axios, { AxiosAdapter, AxiosError, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import * as http from 'node:http';
import * as https from 'node:https';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';

/** Environment variables through which axios (and Node) route a request via a proxy. */
const PROXY_ENV = ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'all_proxy', 'NODE_USE_ENV_PROXY'];
/** Request settings the lean path does not implement: with any of them, axios's own adapter sends the request. */
const AXIOS_ONLY = [
  'proxy',
  'httpAgent',
  'httpsAgent',
  'socketPath',
  'lookup',
  'family',
  'auth',
  'beforeRedirect',
  'onUploadProgress',
  'onDownloadProgress',
] as const;

/**
 * The client's axios adapter: one request on node:http(s) with the global keep-alive agent, the body read
 * as text, a deadline over the whole call. Axios's own Node adapter costs 0.1 – 0.2 ms more CPU per call
 * (proxy resolution from the environment, redirect and stream machinery; measured in docs/benchmarks.md),
 * and a token refresh needs none of it. A request that does need it (a proxy in the
 * environment or in the config, a custom agent, an interceptor's transport setting) goes to axios's adapter
 * unchanged, so behind a proxy the client behaves as before.
 */
export function alipayNodeHttpAdapter(config: InternalAxiosRequestConfig): Promise<AxiosResponse<string>> {
  if (needsAxiosAdapter(config)) return axiosHttpAdapter()(config) as Promise<AxiosResponse<string>>;
  return send(config);
}

function needsAxiosAdapter(config: InternalAxiosRequestConfig): boolean {
  if (config.proxy === false) return AXIOS_ONLY.some((k) => k !== 'proxy' && config[k] !== undefined);
  return AXIOS_ONLY.some((k) => config[k] !== undefined) || PROXY_ENV.some((k) => process.env[k]);
}

let axiosHttp: AxiosAdapter | undefined;
function axiosHttpAdapter(): AxiosAdapter {
  return (axiosHttp ??= axios.getAdapter('http'));
}

function send(config: InternalAxiosRequestConfig): Promise<AxiosResponse<string>> {
  const url = config.baseURL && !/^https?:/i.test(config.url ?? '') ? config.baseURL.replace(/\/$/, '') + config.url : config.url!;
  const transport = /^https:/i.test(url) ? https : http;
  const headers = config.headers.toJSON(true) as Record<string, string>;
  const body = config.data as string | Buffer | undefined;
  if (body !== undefined && body !== null && typeof body !== 'string' && !Buffer.isBuffer(body)) {
    return Promise.reject(new AxiosError('The Alipay client sends a string or a Buffer as the request body', AxiosError.ERR_BAD_REQUEST, config));
  }
  if (body != null) headers['content-length'] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const signal = config.signal as AbortSignal | undefined;
    let settled = false;
    const settle = () => {
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener?.('abort', onAbort);
    };
    const fail = (e: Error, code?: string) => {
      if (settled) return;
      settle();
      req.destroy();
      reject(e instanceof AxiosError ? e : AxiosError.from(e, code ?? (e as NodeJS.ErrnoException).code, config, req));
    };
    const onAbort = () => fail(new AxiosError('canceled', AxiosError.ERR_CANCELED, config, req));
    const req = transport.request(url, { method: config.method!.toUpperCase(), headers }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const limit = typeof config.maxContentLength === 'number' && config.maxContentLength > -1 ? config.maxContentLength : Infinity;
      const stream = decoded(res);
      res.on('aborted', () => fail(new Error('socket hang up'), 'ECONNRESET'));
      res.on('error', (e) => fail(e));
      stream.on('error', (e) => fail(e));
      stream.on('data', (c: Buffer) => {
        size += c.length;
        if (size > limit) return fail(new AxiosError(`maxContentLength size of ${limit} exceeded`, AxiosError.ERR_BAD_RESPONSE, config, req));
        chunks.push(c);
      });
      stream.on('end', () => {
        if (settled) return;
        settle();
        const response: AxiosResponse<string> = {
          data: (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8'),
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          headers: res.headers as AxiosResponse['headers'],
          config,
          request: req,
        };
        const valid = config.validateStatus ? config.validateStatus(response.status) : response.status >= 200 && response.status < 300;
        if (valid) resolve(response);
        else reject(new AxiosError(`Request failed with status code ${response.status}`, AxiosError.ERR_BAD_RESPONSE, config, req, response));
      });
    });
    req.on('error', (e) => fail(e));
    // One deadline over the whole call (axios's `timeout`), not an idle timer: a call never outlives it.
    const timer = config.timeout
      ? setTimeout(() => fail(new AxiosError(`timeout of ${config.timeout}ms exceeded`, AxiosError.ECONNABORTED, config, req)), config.timeout)
      : undefined;
    if (signal?.aborted) return onAbort();
    signal?.addEventListener?.('abort', onAbort, { once: true });
    req.end(body ?? undefined);
  });
}

/** The body as sent, or decompressed when the server compressed it although nothing asked for it. */
function decoded(res: http.IncomingMessage): Readable {
  switch (String(res.headers['content-encoding'] ?? '').toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return res.pipe(createGunzip());
    case 'deflate':
      return res.pipe(createInflate());
    case 'br':
      return res.pipe(createBrotliDecompress());
    default:
      return res;
  }
}
