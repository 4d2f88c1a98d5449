import { GatewayError } from './errors';
import { formatAlipayTime } from './ids';
import { AUTH_METHODS, AuthorizationState, Grant } from './state';
import type { SimulatorCounters } from './stats';
import type { VerifiedRequest } from './gateway-auth';

export const TOKEN_PATH = '/v3/alipay/open/auth/token/app';
export const QUERY_PATH = '/v3/alipay/open/auth/token/app/query';

export interface RouteContext {
  state: AuthorizationState;
  counters: SimulatorCounters;
  now: () => number;
  tokenTtlSec: number;
  refreshTtlSec: number;
}

export interface RouteInput {
  verified: VerifiedRequest;
  query: URLSearchParams;
  /** The parsed JSON body, when it parsed. */
  json: unknown;
}

export type RouteHandler = (input: RouteInput, ctx: RouteContext) => unknown;

/** grant_type from a parsed token body (for fault matching and counters). */
export function grantTypeOf(json: unknown): string | undefined {
  const g = json && typeof json === 'object' ? (json as Record<string, unknown>).grant_type : undefined;
  return typeof g === 'string' ? g : undefined;
}

function tokenElement(g: Grant, ctx: RouteContext) {
  return {
    app_auth_token: g.token.token,
    app_refresh_token: g.refresh.token,
    auth_app_id: g.authAppId,
    expires_in: String(ctx.tokenTtlSec),
    re_expires_in: String(ctx.refreshTtlSec),
    user_id: g.userId,
  };
}

/** The v3 body: top-level fields mirror tokens[0]; tokens[] has one element per authorized app. */
function tokenBody(grants: Grant[], ctx: RouteContext) {
  const tokens = grants.map((g) => tokenElement(g, ctx));
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

const stringField = (body: Record<string, unknown>, name: string): string => {
  const v = body[name];
  if (typeof v !== 'string' || v === '') throw new GatewayError(400, 'invalid-parameter', `参数 ${name} 缺失或格式错误`);
  return v;
};

/** POST /v3/alipay/open/auth/token/app */
export const tokenApp: RouteHandler = ({ verified, json }, ctx) => {
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new GatewayError(400, 'invalid-parameter', '请求体必须是 JSON 对象');
  const body = json as Record<string, unknown>;
  const grantType = body.grant_type;
  if (grantType === undefined || grantType === '') throw new GatewayError(400, 'invalid-parameter', '参数 grant_type 缺失');
  const appId = verified.app.appId;
  if (grantType === 'authorization_code') {
    const grants = ctx.state.exchangeCode(appId, stringField(body, 'code'));
    ctx.counters.exchanges++;
    return tokenBody(grants, ctx);
  }
  if (grantType === 'refresh_token') {
    const grant = ctx.state.refresh(appId, stringField(body, 'refresh_token'));
    ctx.counters.refreshed(grant.authAppId);
    return tokenBody([grant], ctx);
  }
  throw new GatewayError(400, 'GRANT_TYPE_INVALID', 'grant_type 只能是 authorization_code 或 refresh_token');
};

/** GET /v3/alipay/open/auth/token/app/query?app_auth_token=... */
export const tokenQuery: RouteHandler = ({ verified, query }, ctx) => {
  const token = query.get('app_auth_token');
  if (!token) throw new GatewayError(400, 'invalid-parameter', '参数 app_auth_token 缺失');
  const t = ctx.state.tokens.get(token);
  if (!t) throw new GatewayError(400, 'AUTH_TOKEN_NOT_EXISTED', '应用授权令牌不存在');
  if (t.grant.appId !== verified.app.appId) throw new GatewayError(400, 'AUTH_TOKEN_NOT_CONSISTENT', '应用授权令牌不属于当前应用');
  ctx.counters.queries++;
  const valid = ctx.state.tokenValid(t);
  return {
    user_id: t.grant.userId,
    auth_app_id: t.grant.authAppId,
    expires_in: valid ? Math.max(0, Math.floor((t.expiresAt - ctx.now()) / 1000)) : 0,
    auth_methods: AUTH_METHODS,
    auth_start: formatAlipayTime(t.issuedAt),
    auth_end: formatAlipayTime(t.expiresAt),
    status: valid ? 'valid' : 'invalid',
    is_by_app_auth: true,
  };
};

export const GATEWAY_ROUTES: Record<string, RouteHandler | undefined> = {
  [`POST ${TOKEN_PATH}`]: tokenApp,
  [`GET ${QUERY_PATH}`]: tokenQuery,
};
