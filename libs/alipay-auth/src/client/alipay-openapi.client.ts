import { HttpService } from '@nestjs/axios';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { AxiosError, AxiosResponse } from 'axios';
import { randomUUID } from 'node:crypto';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayApiError, AlipayAuthError, AlipayErrorLink, AlipayNetworkError, AlipaySignatureError } from '../errors/alipay-auth.errors';
import { AlipaySigner } from '../signer/alipay-signer';
import { buildRequestUri, QueryValue } from '../signer/alipay-v3-protocol';
import { AlipayAuthTelemetry } from '../telemetry/alipay-auth.telemetry';
import { alipayNodeHttpAdapter } from './node-http-adapter';
import { AlipayMultipart, checkJsonBody, encodeMultipart } from './multipart';

export type AlipayHttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface AlipayRequestOptions {
  method: AlipayHttpMethod;
  /** The v3 path, e.g. `/v3/alipay/open/auth/token/app`. */
  path: string;
  query?: Record<string, QueryValue>;
  /** A plain object or array is sent as compact JSON (insertion order); a string is sent as is. Files go in `multipart`. */
  body?: unknown;
  /** A v3 upload (`multipart/form-data`): `fields` are the signed `data` JSON part, then one part per file. */
  multipart?: AlipayMultipart;
  /** Act for a merchant with this token (sent as `alipay-app-auth-token` and signed). */
  appAuthToken?: string;
  /** Act for a merchant by its app id; the token service resolves a valid token. */
  authAppId?: string;
  /** Encrypt the body and decrypt the response with the AES `encryptKey`. */
  encrypt?: boolean;
  /** Safe to send twice. Defaults to true for GET, false otherwise; only idempotent calls are retried after Alipay may have received them. */
  idempotent?: boolean;
  timeoutMs?: number;
  retries?: number;
  /** The merchant app a call is about, for traces and metrics only (nothing is resolved from it). */
  telemetry?: { authAppId?: string };
}

export interface AlipayResponse<T> {
  status: number;
  data: T;
  traceId?: string;
  headers: Record<string, string | undefined>;
}

/**
 * Resolves `authAppId` into a token; installed by the token service so the client stays token-agnostic.
 * `refusedToken`: Alipay refused this token on a call; the resolver reloads or repairs it.
 */
export type AppAuthTokenResolver = (authAppId: string, refusedToken?: string) => Promise<string>;

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const TIMEOUT_CODES = new Set(['ECONNABORTED', 'ETIMEDOUT']);
/** Alipay codes on a merchant call meaning the token sent is no longer accepted. */
export const REFUSED_TOKEN_CODES = new Set(['invalid-app-auth-token', 'app-auth-token-time-out']);

@Injectable()
export class AlipayOpenApiClient {
  private readonly logger = new Logger(AlipayOpenApiClient.name);
  private tokenResolver?: AppAuthTokenResolver;

  constructor(
    private readonly http: HttpService,
    private readonly signer: AlipaySigner,
    @Inject(ALIPAY_AUTH_CONFIG) private readonly config: ResolvedAlipayAuthConfig,
    @Optional() private readonly telemetry?: AlipayAuthTelemetry,
  ) {}

  useAppAuthTokenResolver(resolver: AppAuthTokenResolver): void {
    this.tokenResolver = resolver;
  }

  /** Sends a signed v3 request and returns the verified, decrypted, parsed body. */
  async request<T = unknown>(options: AlipayRequestOptions): Promise<T> {
    return (await this.requestWithMeta<T>(options)).data;
  }

  async requestWithMeta<T = unknown>(options: AlipayRequestOptions): Promise<AlipayResponse<T>> {
    if (!options.path.startsWith('/')) throw new AlipayAuthError(`Request "path" must start with "/" (got ${options.path})`);
    checkJsonBody(options.body);
    if (options.multipart !== undefined) {
      if (options.body !== undefined) throw new AlipayAuthError('Request "multipart" and "body" exclude each other: put the JSON fields in "multipart.fields"');
      if (options.method === 'GET') throw new AlipayAuthError('Request "multipart" needs a method with a body, not GET');
      if (options.encrypt) throw new AlipayAuthError('Request "multipart" cannot be encrypted (Alipay encrypts JSON bodies only)');
    }
    if (!this.telemetry) return this.send<T>(options);
    const authAppId = options.telemetry?.authAppId ?? options.authAppId;
    return this.telemetry.span('alipay.request', { 'http.method': options.method, 'alipay.route': options.path, authAppId }, async (annotate) => {
      const res = await this.send<T>(options);
      annotate({ 'http.status_code': res.status, traceId: res.traceId });
      return res;
    });
  }

  private async send<T>(options: AlipayRequestOptions): Promise<AlipayResponse<T>> {
    let appAuthToken = options.appAuthToken;
    if (!appAuthToken && options.authAppId) {
      if (!this.tokenResolver) throw new AlipayAuthError('Request "authAppId" needs the token service; pass "appAuthToken" instead');
      appAuthToken = await this.tokenResolver(options.authAppId);
    }
    const retries = options.retries ?? this.config.retries;
    const idempotent = options.idempotent ?? options.method === 'GET';
    let staleRetried = false;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once<T>(options, appAuthToken);
      } catch (e) {
        // A refused token: rotated by another instance (reload it), or lost (the resolver repairs it). Resend once.
        if (
          options.authAppId &&
          !options.appAuthToken &&
          !staleRetried &&
          e instanceof AlipayApiError &&
          REFUSED_TOKEN_CODES.has(e.code) &&
          this.tokenResolver &&
          appAuthToken
        ) {
          staleRetried = true;
          const fresh = await this.tokenResolver(options.authAppId, appAuthToken);
          if (fresh !== appAuthToken) {
            appAuthToken = fresh;
            attempt--;
            continue;
          }
        }
        if (attempt >= retries || !this.retryable(e, idempotent)) throw e;
        const delay = this.backoff(attempt);
        this.logger.warn(`${options.method} ${options.path} failed (${describe(e)}); retry ${attempt + 1}/${retries} in ${delay} ms`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private retryable(e: unknown, idempotent: boolean): boolean {
    if (e instanceof AlipayNetworkError) return !e.sent || idempotent;
    if (e instanceof AlipayApiError) return e.status >= 500 && idempotent;
    return false;
  }

  /** Exponential back-off with full jitter. */
  private backoff(attempt: number): number {
    const cap = Math.min(this.config.retryMaxDelayMs, this.config.retryBaseDelayMs * 2 ** attempt);
    return Math.round(cap / 2 + (Math.random() * cap) / 2);
  }

  private async once<T>(options: AlipayRequestOptions, appAuthToken: string | undefined): Promise<AlipayResponse<T>> {
    const method = options.method.toUpperCase();
    const requestUri = buildRequestUri(options.path, options.query);
    const encrypt = options.encrypt ?? false;
    // Encoded per attempt: a fresh boundary each time, the same signed `data`.
    const multipart = options.multipart === undefined ? undefined : encodeMultipart(options.multipart);
    let body = multipart?.signedBody ?? (options.body === undefined ? '' : typeof options.body === 'string' ? options.body : JSON.stringify(options.body));
    if (encrypt) {
      if (!this.signer.canEncrypt) throw new AlipayAuthError('Request "encrypt" needs the "encryptKey" option');
      if (body !== '') body = await this.signer.encrypt(body);
    }
    const signed = await this.signer.signRequest({ method, requestUri, body, appAuthToken });
    const headers: Record<string, string> = {
      authorization: signed.authorization,
      'alipay-request-id': randomUUID().replace(/-/g, ''),
      accept: 'application/json',
      'user-agent': 'nestjs-alipay-auth',
      ...signed.headers,
    };
    if (appAuthToken) headers['alipay-app-auth-token'] = appAuthToken;
    if (multipart) {
      headers['content-type'] = multipart.contentType;
    } else if (encrypt) {
      headers['content-type'] = 'text/plain';
      headers['alipay-encrypt-type'] = 'AES';
      headers['alipay-encryption-algm'] = 'AES';
    } else if (method !== 'GET') {
      headers['content-type'] = 'application/json';
    }

    let res: AxiosResponse<string>;
    const started = performance.now();
    try {
      res = await this.http.axiosRef.request<string>({
        method,
        url: this.config.gatewayUrl + requestUri,
        headers,
        data: multipart ? multipart.body : body === '' ? undefined : body,
        timeout: options.timeoutMs ?? this.config.timeoutMs,
        responseType: 'text',
        transformRequest: [(d: unknown) => d],
        transformResponse: [(d: unknown) => d],
        validateStatus: () => true,
        maxRedirects: 0,
        adapter: alipayNodeHttpAdapter,
      });
    } catch (e) {
      const err = toNetworkError(e, method, options.path);
      this.telemetry?.recordCall(options.path, performance.now() - started, `network-${err.kind}`);
      throw err;
    }
    this.telemetry?.recordCall(options.path, performance.now() - started, String(res.status));

    const resHeaders = lowerCaseHeaders(res.headers);
    const traceId = resHeaders['alipay-trace-id'] ?? headers['alipay-request-id'];
    const raw = typeof res.data === 'string' ? res.data : '';
    await this.signer.verifyResponse({ status: res.status, headers: resHeaders, body: raw });

    if (res.status >= 400) throw toApiError(res.status, raw, traceId);
    let text = raw;
    if (encrypt && raw !== '') {
      try {
        text = await this.signer.decrypt(raw);
      } catch {
        throw new AlipaySignatureError('response-decrypt-error', 'Alipay response body could not be decrypted', traceId, res.status);
      }
    }
    let data: T;
    try {
      data = (text === '' ? undefined : JSON.parse(text)) as T;
    } catch {
      throw new AlipayApiError({ status: res.status, code: 'invalid-response-body', message: 'Alipay response body is not JSON', traceId });
    }
    return { status: res.status, data, traceId, headers: resHeaders };
  }
}

function lowerCaseHeaders(h: unknown): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  const src =
    (h && typeof (h as { toJSON?: unknown }).toJSON === 'function' ? (h as { toJSON(): Record<string, unknown> }).toJSON() : (h as Record<string, unknown>)) ??
    {};
  for (const [k, v] of Object.entries(src)) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v == null ? undefined : String(v);
  return out;
}

function toApiError(status: number, raw: string, traceId?: string): AlipayApiError {
  let parsed: { code?: unknown; message?: unknown; links?: unknown } = {};
  try {
    parsed = JSON.parse(raw) ?? {};
  } catch {
    /* a non-JSON error page (proxy, gateway) */
  }
  return new AlipayApiError({
    status,
    code: typeof parsed.code === 'string' ? parsed.code : `http-${status}`,
    message: typeof parsed.message === 'string' ? parsed.message : `HTTP ${status}`,
    links: normaliseLinks(parsed.links),
    traceId,
  });
}

/** Real responses carry an array of {link, desc}; the Java model types it as a string, so take both. */
function normaliseLinks(links: unknown): AlipayErrorLink[] {
  if (Array.isArray(links)) {
    return links
      .filter((l): l is { link: unknown; desc?: unknown } => !!l && typeof l === 'object')
      .map((l) => ({ link: String(l.link ?? ''), desc: l.desc === undefined ? undefined : String(l.desc) }));
  }
  if (typeof links === 'string' && links) return [{ link: links }];
  return [];
}

function toNetworkError(e: unknown, method: string, path: string): AlipayNetworkError {
  const err = e as AxiosError;
  const code = err?.code ?? (err?.cause as NodeJS.ErrnoException | undefined)?.code ?? '';
  const where = `${method} ${path}`;
  // Never chain the axios error itself: its config holds the Authorization and merchant-token headers.
  e = Object.assign(new Error(err?.message ?? String(e)), { code });
  if (NOT_SENT_CODES.has(code)) return new AlipayNetworkError('connect', `Could not connect to Alipay for ${where} (${code})`, false, { cause: e });
  if (TIMEOUT_CODES.has(code)) return new AlipayNetworkError('timeout', `Alipay did not answer ${where} in time (${code})`, true, { cause: e });
  if (code === 'ECONNRESET' || code === 'EPIPE' || /socket hang up/i.test(err?.message ?? '')) {
    return new AlipayNetworkError('reset', `Connection to Alipay reset during ${where} (${code || 'socket hang up'})`, true, { cause: e });
  }
  return new AlipayNetworkError('other', `Request to Alipay failed for ${where} (${code || err?.message})`, true, { cause: e });
}

function describe(e: unknown): string {
  if (e instanceof AlipayApiError) return `${e.status} ${e.code}`;
  if (e instanceof AlipayNetworkError) return e.kind;
  return e instanceof Error ? e.name : 'error';
}
