import { aesEncrypt, TOKEN_PATH } from 'nestjs-alipay-auth/protocol';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppRecord } from './apps';
import { GatewayError } from './errors';
import type { FaultPlan, FaultTable } from './faults';
import { claimedAppId, GatewayAuthContext, VerifiedRequest, verifyGatewayRequest } from './gateway-auth';
import { GATEWAY_ROUTES, GatewayRoute, grantTypeOf, RouteContext } from './gateway-routes';
import { newTraceId } from './ids';
import { FormPart, parseMultipart } from './multipart';
import type { GatewayResponder, SendOptions } from './responses';
import type { AuthorizationState } from './state';
import type { SimulatorCounters } from './stats';

export interface GatewayContext {
  apps: Map<string, AppRecord>;
  auth: GatewayAuthContext;
  routes: RouteContext;
  counters: SimulatorCounters;
  faults: FaultTable;
  responder: GatewayResponder;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * A merchant API needs the merchant's token from a third-party app (Alipay's `self-invoke-forbidden`:
 * an ISV call that lost its app_auth_token), and the merchant must have granted the method.
 * UNSURE: the HTTP status of these two; 403 here.
 */
function checkMerchantCall(verified: VerifiedRequest, method: string): void {
  const token = verified.merchantToken;
  if (!token) {
    if (verified.app.isv) throw new GatewayError(403, 'self-invoke-forbidden', '第三方应用需传入 app_auth_token 代商家调用该接口');
    return;
  }
  if (!token.grant.authMethods.includes(method)) throw new GatewayError(403, 'invalid-app-auth-token-no-api', `商家未授权接口 ${method}`);
}

/**
 * One v3 gateway request: route, verify, decrypt, faults, operation, encrypt, signed answer.
 * Faults are matched after verification (grant_type is known only then), so they hit authenticated calls.
 * `body` is null when it was over the size limit. An upload (`multipart/form-data`) is signed over its
 * `data` part only; its other parts go to the route.
 */
export async function handleGateway(req: IncomingMessage, res: ServerResponse, path: string, body: Buffer | null, ctx: GatewayContext): Promise<void> {
  const method = req.method ?? 'GET';
  const rawUri = req.url ?? '/';
  const traceId = newTraceId();
  const claimed = ctx.apps.get(claimedAppId(req.headers) ?? '');
  const send: SendOptions = { traceId, certMode: claimed?.mode === 'certificate' };
  const route: GatewayRoute | undefined = GATEWAY_ROUTES[`${method} ${path}`];
  ctx.counters.request(route ? path : '(unknown)');
  let plan: FaultPlan | undefined;
  let refreshFor: string | undefined;
  // Until the request is verified, a refusal is the gateway's own: unsigned, as the real gateway sends it.
  let verifiedCall = false;
  try {
    if (body === null) throw new GatewayError(413, 'invalid-parameter', '请求体过大');
    if (!route) throw new GatewayError(404, 'not-found', `接口 ${method} ${path} 不存在`);
    const contentType = String(req.headers['content-type'] ?? '');
    let rawBody = body.toString('utf8');
    let parts: FormPart[] | undefined;
    if (/^multipart\/form-data\s*;/i.test(contentType)) {
      const upload = parseMultipart(body, contentType);
      rawBody = upload.data;
      parts = upload.parts;
    }
    const verified = verifyGatewayRequest({ method, rawUri, headers: req.headers, rawBody }, ctx.auth);
    verifiedCall = true;
    if (route.merchantMethod) checkMerchantCall(verified, route.merchantMethod);
    const json = parseJson(verified.body);
    const grantType = path === TOKEN_PATH ? grantTypeOf(json) : undefined;
    if (grantType) ctx.counters.grantType(grantType);
    // Measurement only (racing refreshes): which merchant a refresh is for, while it is in here.
    refreshFor = grantType === 'refresh_token' ? merchantOfRefreshToken(json, ctx.routes.state) : undefined;
    if (refreshFor) ctx.counters.refreshArrived(refreshFor);

    plan = ctx.faults.plan(path, grantType);
    ctx.counters.faultsInjected += plan.applied;
    if (plan.latencyMs > 0) await sleep(plan.latencyMs);
    if (plan.kind === 'reset') return void req.socket.destroy();
    if (plan.kind === 'http-500') throw new GatewayError(500, 'unknow-error', '系统繁忙');
    if (plan.kind === 'http-503') throw new GatewayError(503, 'unknow-error', '服务暂不可用');
    if (plan.kind === 'rate-limit') throw new GatewayError(429, 'app-call-limited', '应用调用频率超限');
    if (plan.kind === 'gateway-error') {
      ctx.counters.error(plan.error!.code);
      return void ctx.responder.error(res, plan.error!.status, plan.error!.code, '网关拒绝了请求', { ...send, unsigned: true });
    }

    const result = route.handler({ verified, query: new URLSearchParams(rawUri.slice(path.length + 1)), json, parts }, ctx.routes);
    let answer = JSON.stringify(result);
    if (verified.encrypted) answer = aesEncrypt(verified.app.encryptKey!, answer);
    if (plan.kind === 'drop-after-issue') return void req.socket.destroy();
    ctx.responder.send(res, 200, answer, {
      ...send,
      corruptSignature: plan.kind === 'bad-signature',
      contentType: verified.encrypted ? 'text/plain;charset=utf-8' : undefined,
    });
  } catch (e) {
    const err = e instanceof GatewayError ? e : new GatewayError(500, 'unknow-error', '系统繁忙');
    if (!(e instanceof GatewayError)) console.error('[alipay-simulator] unexpected error', e);
    ctx.counters.error(err.code);
    if (plan?.kind === 'drop-after-issue') return void req.socket.destroy();
    const unsigned = !verifiedCall || !ctx.routes.settings.signErrors;
    ctx.responder.error(res, err.status, err.code, err.message, { ...send, unsigned, corruptSignature: plan?.kind === 'bad-signature' });
  } finally {
    if (refreshFor) ctx.counters.refreshLeft(refreshFor);
  }
}

function merchantOfRefreshToken(json: unknown, state: AuthorizationState): string | undefined {
  const token = json && typeof json === 'object' ? (json as Record<string, unknown>).refresh_token : undefined;
  return typeof token === 'string' ? state.refreshTokens.get(token)?.grant.authAppId : undefined;
}
