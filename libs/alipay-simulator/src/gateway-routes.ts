import { IMAGE_UPLOAD_PATH, QUERY_PATH, TOKEN_PATH, TRADE_QUERY_PATH } from 'nestjs-alipay-auth/protocol';
import { GatewayError } from './errors';
import { formatAlipayTime } from './ids';
import type { AuthorizationState, Grant } from './state';
import type { SimulatorCounters } from './stats';
import type { VerifiedRequest } from './gateway-auth';
import type { FormPart } from './multipart';
import { newImageId } from './ids';

/** How token answers are shaped; changeable at runtime through `controls.configure`. */
export interface ResponseSettings {
  tokenTtlSec: number;
  refreshTtlSec: number;
  /** `expires_in` / `re_expires_in` as JSON numbers (v2 traffic) or strings (the v3 models). */
  durationsAs: 'number' | 'string';
  /** Answer only `tokens[]`, without the top-level token fields (seen in real responses). */
  tokensOnly: boolean;
  /** Sign business error answers (the kind variant) or not (strict). */
  signErrors: boolean;
}

export interface RouteContext {
  state: AuthorizationState;
  counters: SimulatorCounters;
  now: () => number;
  settings: ResponseSettings;
}

export interface RouteInput {
  verified: VerifiedRequest;
  query: URLSearchParams;
  /** The parsed JSON body (of an upload: its `data` part), when it parsed. */
  json: unknown;
  /** An upload's parts other than `data`. */
  parts?: FormPart[];
}

export type RouteHandler = (input: RouteInput, ctx: RouteContext) => unknown;

export interface GatewayRoute {
  handler: RouteHandler;
  /**
   * The API method name when the route is a merchant API: the ISV may call it only for a merchant, with
   * `alipay-app-auth-token` (else `self-invoke-forbidden`), and only if the merchant granted the method.
   * The token routes are the ISV's own calls and need no token.
   */
  merchantMethod?: string;
}

/** grant_type from a parsed token body (for fault matching and counters). */
export function grantTypeOf(json: unknown): string | undefined {
  const g = json && typeof json === 'object' ? (json as Record<string, unknown>).grant_type : undefined;
  return typeof g === 'string' ? g : undefined;
}

function tokenElement(g: Grant, s: ResponseSettings) {
  const duration = (sec: number) => (s.durationsAs === 'string' ? String(sec) : sec);
  return {
    app_auth_token: g.token.token,
    app_refresh_token: g.refresh.token,
    auth_app_id: g.authAppId,
    expires_in: duration(s.tokenTtlSec),
    re_expires_in: duration(s.refreshTtlSec),
    user_id: g.userId,
  };
}

/** The v3 body: top-level fields mirror tokens[0] (unless tokensOnly); tokens[] has one element per authorized app. */
function tokenBody(grants: Grant[], s: ResponseSettings) {
  const tokens = grants.map((g) => tokenElement(g, s));
  if (s.tokensOnly) return { tokens };
  const first = tokens[0];
  return {
    user_id: first.user_id,
    auth_app_id: first.auth_app_id,
    app_auth_token: first.app_auth_token,
    app_refresh_token: first.app_refresh_token,
    expires_in: first.expires_in,
    re_expires_in: first.re_expires_in,
    tokens,
  };
}

/** A required string field; when missing, the error code the official error model offers for it. */
const stringField = (body: Record<string, unknown>, name: string, code: string): string => {
  const v = body[name];
  if (typeof v !== 'string' || v === '') throw new GatewayError(400, code, `参数 ${name} 缺失或格式错误`);
  return v;
};

const jsonObject = (json: unknown): Record<string, unknown> => {
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new GatewayError(400, 'invalid-parameter', '请求体必须是 JSON 对象');
  return json as Record<string, unknown>;
};

/** POST /v3/alipay/open/auth/token/app */
export const tokenApp: RouteHandler = ({ verified, json }, ctx) => {
  const body = jsonObject(json);
  const appId = verified.app.appId;
  if (!verified.app.isv) throw new GatewayError(400, 'APP_NOT_ISV', '当前应用不是第三方应用');
  // AlipayOpenAuthTokenAppErrorResponseModel has no generic "missing parameter" code: each field maps to its own.
  const grantType = body.grant_type;
  if (grantType === 'authorization_code') {
    const grants = ctx.state.exchangeCode(appId, stringField(body, 'code', 'AUTH_CODE_NOT_EXIST'));
    ctx.counters.exchanges++;
    return tokenBody(grants, ctx.settings);
  }
  if (grantType === 'refresh_token') {
    const grant = ctx.state.refresh(appId, stringField(body, 'refresh_token', 'REFRESH_TOKEN_NOT_EXIST'));
    ctx.counters.refreshed(grant.authAppId);
    return tokenBody([grant], ctx.settings);
  }
  throw new GatewayError(400, 'GRANT_TYPE_INVALID', 'grant_type 只能是 authorization_code 或 refresh_token');
};

/** GET /v3/alipay/open/auth/token/app/query?app_auth_token=... */
export const tokenQuery: RouteHandler = ({ verified, query }, ctx) => {
  const token = query.get('app_auth_token');
  if (!token) throw new GatewayError(400, 'ILLEGAL_PARAM', '参数 app_auth_token 缺失');
  if (!verified.app.isv) throw new GatewayError(400, 'APP_NOT_ISV', '当前应用不是第三方应用');
  const t = ctx.state.tokens.get(token);
  if (!t) throw new GatewayError(400, 'AUTH_TOKEN_NOT_EXISTED', '应用授权令牌不存在');
  if (t.grant.appId !== verified.app.appId) throw new GatewayError(400, 'AUTH_TOKEN_NOT_CONSISTENT', '应用授权令牌不属于当前应用');
  ctx.counters.queries++;
  const valid = ctx.state.tokenValid(t);
  return {
    user_id: t.grant.userId,
    auth_app_id: t.grant.authAppId,
    // Captures show the issued validity, constant, not a countdown. UNCONFIRMED: 0 for an invalid token.
    expires_in: valid ? ctx.settings.tokenTtlSec : 0,
    auth_methods: t.grant.authMethods,
    auth_start: formatAlipayTime(t.issuedAt),
    auth_end: formatAlipayTime(t.expiresAt),
    status: valid ? 'valid' : 'invalid',
    is_by_app_auth: true,
  };
};

/** POST /v3/alipay/trade/query: a stand-in merchant API. The simulator holds no trades, so a valid call answers ACQ.TRADE_NOT_EXIST. */
export const tradeQuery: RouteHandler = ({ json }) => {
  const body = jsonObject(json);
  if (!body.out_trade_no && !body.trade_no) throw new GatewayError(400, 'ACQ.INVALID_PARAMETER', 'out_trade_no 与 trade_no 不能同时为空');
  throw new GatewayError(400, 'ACQ.TRADE_NOT_EXIST', '交易不存在');
};

const IMAGE_TYPES = new Set(['jpg', 'jpeg', 'png', 'bmp', 'gif', 'mp4']);

/**
 * POST /v3/alipay/offline/material/image/upload (multipart): `data` {image_type, image_name, image_pid?}
 * and the file part `image_content`; answers `image_id` and `image_url`. The simulator keeps no files.
 */
export const imageUpload: RouteHandler = ({ json, parts }) => {
  if (!parts) throw new GatewayError(400, 'invalid-parameter', '该接口需要 multipart/form-data 请求');
  const body = jsonObject(json);
  const type = stringField(body, 'image_type', 'invalid-parameter');
  const name = stringField(body, 'image_name', 'invalid-parameter');
  if (!IMAGE_TYPES.has(type.toLowerCase())) throw new GatewayError(400, 'invalid-parameter', `不支持的 image_type：${type}`);
  if (name.length > 128) throw new GatewayError(400, 'invalid-parameter', 'image_name 超长');
  const file = parts.find((p) => p.name === 'image_content' && p.filename !== undefined);
  if (!file || file.content.length === 0) throw new GatewayError(400, 'invalid-parameter', '缺少文件 image_content');
  const id = newImageId(file.content);
  return { image_id: id, image_url: `https://oalipay-dl-django.alicdn.com/rest/1.0/image?fileIds=${id}&zoom=original` };
};

export const GATEWAY_ROUTES: Record<string, GatewayRoute | undefined> = {
  [`POST ${TOKEN_PATH}`]: { handler: tokenApp },
  [`GET ${QUERY_PATH}`]: { handler: tokenQuery },
  [`POST ${TRADE_QUERY_PATH}`]: { handler: tradeQuery, merchantMethod: 'alipay.trade.query' },
  [`POST ${IMAGE_UPLOAD_PATH}`]: { handler: imageUpload, merchantMethod: 'alipay.offline.material.image.upload' },
};
