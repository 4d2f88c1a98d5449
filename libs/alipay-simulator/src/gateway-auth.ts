import { aesDecrypt, buildRequestSignContent, parseAuthorizationHeader, rsaVerify } from 'nestjs-alipay-auth/protocol';
import type { IncomingHttpHeaders } from 'node:http';
import type { AppRecord } from './apps';
import { GatewayError } from './errors';
import type { AuthorizationState, TokenRecord } from './state';

/** A gateway request exactly as received. */
export interface RawGatewayRequest {
  method: string;
  /** The request-target exactly as on the request line (path + raw query). */
  rawUri: string;
  headers: IncomingHttpHeaders;
  /** Raw body bytes decoded as UTF-8. */
  rawBody: string;
}

export interface VerifiedRequest {
  app: AppRecord;
  /** The plaintext body (decrypted when the request was encrypted). */
  body: string;
  encrypted: boolean;
  /** The merchant token from `alipay-app-auth-token`, checked. */
  merchantToken?: TokenRecord;
}

export interface GatewayAuthContext {
  apps: Map<string, AppRecord>;
  state: AuthorizationState;
  now: () => number;
  /** Read on every request, so `configure` takes effect at once. */
  settings: { timestampWindowMs: number };
  /** Certificate mode: the `alipay-root-cert-sn` requests must carry. */
  alipayRootCertSn?: string;
}

const header = (h: IncomingHttpHeaders, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v.join(', ') : v;
};

/** The app named by the Authorization header, for choosing response material before verification succeeds. */
export function claimedAppId(headers: IncomingHttpHeaders): string | undefined {
  return parseAuthorizationHeader(header(headers, 'authorization'))?.fields.app_id;
}

/**
 * Verifies a v3 request the way the gateway does: auth string fields, app, timestamp window,
 * certificate SNs, then the signature over the content rebuilt from the raw request (method,
 * raw URI, raw body, and the app auth token line when the header is present). Then decrypts.
 */
export function verifyGatewayRequest(req: RawGatewayRequest, ctx: GatewayAuthContext): VerifiedRequest {
  const authorization = header(req.headers, 'authorization');
  // The live gateway answers a missing or unreadable Authorization with 400 missing-timestamp (§10.3).
  const parsed = parseAuthorizationHeader(authorization);
  if (!parsed || !parsed.fields.timestamp) throw new GatewayError(400, 'missing-timestamp', '缺少 timestamp（Authorization 缺失或格式错误）');
  const { app_id: appId, nonce, timestamp, app_cert_sn: appCertSn } = parsed.fields;
  if (!appId) throw new GatewayError(400, 'missing-app-id', 'Authorization 缺少 app_id');
  if (!parsed.signature) throw new GatewayError(401, 'missing-signature', 'Authorization 中缺少 sign');
  if (!nonce) throw new GatewayError(401, 'invalid-signature', 'Authorization 缺少 nonce');

  const app = ctx.apps.get(appId);
  if (!app) throw new GatewayError(400, 'invalid-app-id', `app_id ${appId} 不存在`);

  if (!/^\d{1,16}$/.test(timestamp)) throw new GatewayError(401, 'illegal-timestamp', 'timestamp 格式错误，应为毫秒时间戳');
  if (Math.abs(Number(timestamp) - ctx.now()) > ctx.settings.timestampWindowMs) {
    throw new GatewayError(401, 'invalid-timestamp', 'timestamp 与服务器时间相差过大');
  }

  if (app.mode === 'certificate') {
    if (!appCertSn) throw new GatewayError(401, 'missing-app-cert-sn', '证书模式下缺少 app_cert_sn');
    if (appCertSn !== app.appCertSn) throw new GatewayError(401, 'app-cert-not-exist', `应用公钥证书 ${appCertSn} 不存在`);
    const rootSn = header(req.headers, 'alipay-root-cert-sn');
    if (!rootSn || rootSn !== ctx.alipayRootCertSn) throw new GatewayError(401, 'invalid-alipay-root-cert-sn', 'alipay-root-cert-sn 无效');
  }

  const appAuthToken = header(req.headers, 'alipay-app-auth-token');
  const content = buildRequestSignContent({
    authString: parsed.authString,
    method: req.method,
    requestUri: req.rawUri,
    body: req.rawBody,
    appAuthToken,
  });
  if (!rsaVerify(app.publicKey, content, parsed.signature)) throw new GatewayError(401, 'invalid-signature', '验签出错，请确认签名内容与私钥');

  let merchantToken: TokenRecord | undefined;
  if (appAuthToken) {
    const t = ctx.state.tokens.get(appAuthToken);
    if (!t || t.grant.appId !== app.appId) throw new GatewayError(401, 'invalid-app-auth-token', '无效的应用授权令牌');
    if (t.grant.status === 'active' && t.grant.token === t && ctx.now() >= t.expiresAt) {
      throw new GatewayError(401, 'app-auth-token-time-out', '应用授权令牌已过期');
    }
    if (!ctx.state.tokenValid(t)) throw new GatewayError(401, 'invalid-app-auth-token', '无效的应用授权令牌');
    merchantToken = t;
  }

  const encryptType = header(req.headers, 'alipay-encrypt-type');
  if (!encryptType) return { app, body: req.rawBody, encrypted: false, merchantToken };
  if (!app.encryptKey) throw new GatewayError(400, 'missing-encrypt-key', '应用未设置接口内容加密密钥');
  if (encryptType.toUpperCase() !== 'AES') throw new GatewayError(400, 'decryption-error', `不支持的加密算法 ${encryptType}`);
  if (req.rawBody === '') return { app, body: '', encrypted: true, merchantToken };
  try {
    return { app, body: aesDecrypt(app.encryptKey, req.rawBody), encrypted: true, merchantToken };
  } catch {
    throw new GatewayError(400, 'decryption-error', '解密出错，请确认加密内容与密钥');
  }
}
