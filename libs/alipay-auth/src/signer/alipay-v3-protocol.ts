/**
 * The byte-level rules of Alipay OpenAPI v3 signing, as the official SDKs implement them.
 * Pure functions: the signer, the client and the simulator all build their strings here.
 */

export const AUTH_SCHEME = 'ALIPAY-SHA256withRSA';

export interface AuthStringFields {
  appId: string;
  /** Certificate mode only. */
  appCertSn?: string | null;
  nonce: string;
  /** Milliseconds since the epoch, as sent. */
  timestamp: string;
  /** Appended verbatim (Node SDK's `additionalAuthInfo`), e.g. `expired_seconds=300`. */
  additionalAuthInfo?: string | null;
}

/** `app_id=..[,app_cert_sn=..],nonce=..,timestamp=..[,extra]` */
export function buildAuthString(f: AuthStringFields): string {
  let s = `app_id=${f.appId}`;
  if (f.appCertSn) s += `,app_cert_sn=${f.appCertSn}`;
  s += `,nonce=${f.nonce},timestamp=${f.timestamp}`;
  if (f.additionalAuthInfo) s += `,${f.additionalAuthInfo}`;
  return s;
}

export interface SignContentParts {
  authString: string;
  method: string;
  /** Path plus `?query` exactly as on the request line. */
  requestUri: string;
  /** The exact body sent (ciphertext when encrypted); '' when none. */
  body: string;
  appAuthToken?: string | null;
}

/** `<authString>\n<METHOD>\n<uri>\n<body>\n[<appAuthToken>\n]` */
export function buildRequestSignContent(p: SignContentParts): string {
  let s = `${p.authString}\n${p.method.toUpperCase()}\n${p.requestUri}\n${p.body}\n`;
  if (p.appAuthToken) s += `${p.appAuthToken}\n`;
  return s;
}

export function buildAuthorizationHeader(authString: string, signature: string): string {
  return `${AUTH_SCHEME} ${authString},sign=${signature}`;
}

export interface ParsedAuthorization {
  authString: string;
  signature: string;
  fields: Record<string, string>;
}

/**
 * Splits an Authorization header into its auth string and signature. Returns null when the header
 * is not a v3 header. The signature is the text after the last `,sign=` (base64 contains no commas).
 */
export function parseAuthorizationHeader(header: string | undefined | null): ParsedAuthorization | null {
  if (!header || !header.startsWith(`${AUTH_SCHEME} `)) return null;
  const rest = header.slice(AUTH_SCHEME.length + 1);
  const at = rest.lastIndexOf(',sign=');
  if (at < 0) return null;
  const authString = rest.slice(0, at);
  const signature = rest.slice(at + ',sign='.length);
  const fields: Record<string, string> = {};
  for (const part of authString.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return null;
    fields[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return { authString, signature, fields };
}

/** `<alipay-timestamp>\n<alipay-nonce>\n<raw body>\n` */
export function buildResponseSignContent(timestamp: string, nonce: string, body: string): string {
  return `${timestamp}\n${nonce}\n${body}\n`;
}

export type QueryValue = string | number | boolean | null | undefined;

/**
 * The query string as the Node SDK sends it (WHATWG URLSearchParams: space as `+`, `~` as `%7E`,
 * `*` kept), parameters in insertion order, undefined/null skipped.
 */
export function buildQueryString(query: Record<string, QueryValue> | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null) continue;
    params.append(k, String(v));
  }
  return params.toString();
}

export function buildRequestUri(path: string, query?: Record<string, QueryValue>): string {
  const qs = buildQueryString(query);
  return qs ? `${path}?${qs}` : path;
}

/**
 * Content of an asynchronous notification (Alipay's message and notify services still use the v2 rule):
 * every parameter but `sign` and `sign_type`, non-empty, sorted by name, `k=v` joined by `&`, raw values.
 * `keepSignType` keeps `sign_type` in (the "V2" rule of `rsaCheckV2` / the Node SDK's first attempt).
 */
export function buildNotifySignContent(params: Record<string, string | undefined>, opts: { keepSignType?: boolean } = {}): string {
  return Object.keys(params)
    .filter((k) => k !== 'sign' && (opts.keepSignType || k !== 'sign_type') && params[k] !== undefined && params[k] !== '')
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
}
