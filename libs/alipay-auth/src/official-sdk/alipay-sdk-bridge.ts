import { REFUSED_TOKEN_CODES } from '../client/alipay-openapi.client';
import { AlipayAuthError } from '../errors/alipay-auth.errors';
import type { AlipayTokenService } from '../tokens/alipay-token.service';

/**
 * The part of the official SDK's `AlipaySdk` (npm `alipay-sdk`, 4.x) the bridge calls. Structural: this
 * library never imports `alipay-sdk`, so it stays an optional peer that only an ISV using it installs.
 */
export interface AlipaySdkLike {
  /** v2: `AlipaySdk.exec(method, params, options)`. */
  exec(method: string, params?: Record<string, unknown>, options?: Record<string, unknown>): Promise<unknown>;
  /** v3: `AlipaySdk.curl(httpMethod, path, options)`; needed only for `AlipaySdkBridge.curl`. */
  curl?(httpMethod: string, path: string, options?: Record<string, unknown>): Promise<unknown>;
}

/**
 * What an answer of the official SDK says about the merchant's token: `refused` (Alipay no longer takes it:
 * report it, the library repairs the row), `api-not-granted` (`invalid-app-auth-token-no-api`: the merchant
 * did not grant this API; a new token would not help), or null (anything else, success included).
 */
export type AlipaySdkTokenVerdict = 'refused' | 'api-not-granted' | null;

const NO_API = 'invalid-app-auth-token-no-api';

function verdictOf(code: unknown): AlipaySdkTokenVerdict {
  if (typeof code !== 'string') return null;
  // v2 sub-codes carry an `aop.` prefix; v3 codes do not.
  const bare = code.startsWith('aop.') ? code.slice(4) : code;
  if (REFUSED_TOKEN_CODES.has(bare)) return 'refused';
  return bare === NO_API ? 'api-not-granted' : null;
}

/**
 * Reads a result of `exec()` (v2: a refusal is returned, not thrown: `code` 20001 with `subCode`, or
 * `sub_code` when the SDK runs with `camelcase: false`) or an error thrown by `curl()` (v3: `code`).
 */
export function alipaySdkTokenVerdict(resultOrError: unknown): AlipaySdkTokenVerdict {
  if (!resultOrError || typeof resultOrError !== 'object') return null;
  const r = resultOrError as Record<string, unknown>;
  if (r.code === '20001') return verdictOf(r.subCode ?? r.sub_code);
  return resultOrError instanceof Error ? verdictOf(r.code) : null;
}

/**
 * Calls through the official SDK for a merchant with this library's tokens. The merchant's current token
 * goes into the call; when Alipay refuses it, the refusal is reported (`AlipayTokenService.onTokenRefused`),
 * which reloads a token another instance rotated or repairs the row, and the call is sent once more with
 * the new token (Alipay did not run a call it refused for its token, so resending is safe). Everything else,
 * `-no-api` included, comes back as the SDK gave it.
 *
 * ```ts
 * const bridge = new AlipaySdkBridge(tokens, new AlipaySdk({ appId, privateKey, alipayPublicKey }));
 * const result = await bridge.exec('2021004100000101', 'alipay.trade.query', { bizContent: { out_trade_no } });
 * ```
 */
export class AlipaySdkBridge {
  constructor(
    private readonly tokens: AlipayTokenService,
    private readonly sdk: AlipaySdkLike,
  ) {}

  /** `sdk.exec(method, { ...params, appAuthToken }, options)`: v2 APIs. */
  exec<T = Record<string, unknown>>(authAppId: string, method: string, params: Record<string, unknown> = {}, options?: Record<string, unknown>): Promise<T> {
    if (params.appAuthToken !== undefined || params.app_auth_token !== undefined) {
      throw new AlipayAuthError('AlipaySdkBridge.exec sets "appAuthToken" itself: leave it out of "params"');
    }
    return this.withToken(authAppId, async (appAuthToken) => {
      const result = await this.sdk.exec(method, { ...params, appAuthToken }, options);
      return { value: result as T, verdict: alipaySdkTokenVerdict(result) };
    });
  }

  /** `sdk.curl(httpMethod, path, { ...options, appAuthToken })`: v3 APIs, whose refusals the SDK throws. */
  curl<T = unknown>(authAppId: string, httpMethod: string, path: string, options: Record<string, unknown> = {}): Promise<T> {
    const curl = this.sdk.curl;
    if (typeof curl !== 'function') throw new AlipayAuthError('AlipaySdkBridge.curl needs an SDK with curl() (alipay-sdk 4.x)');
    if (options.appAuthToken !== undefined) throw new AlipayAuthError('AlipaySdkBridge.curl sets "appAuthToken" itself: leave it out of "options"');
    return this.withToken(authAppId, async (appAuthToken) => {
      try {
        return { value: (await curl.call(this.sdk, httpMethod, path, { ...options, appAuthToken })) as T, verdict: null };
      } catch (e) {
        if (alipaySdkTokenVerdict(e) !== 'refused') throw e;
        return { error: e, verdict: 'refused' };
      }
    });
  }

  private async withToken<T>(authAppId: string, call: (token: string) => Promise<{ value?: T; error?: unknown; verdict: AlipaySdkTokenVerdict }>): Promise<T> {
    const token = await this.tokens.getAppAuthToken(authAppId);
    const first = await call(token);
    if (first.verdict !== 'refused') return first.value as T;
    const fresh = await this.tokens.onTokenRefused(authAppId, token);
    // The same token back means the library found nothing better: the refusal stands.
    const outcome = fresh === token ? first : await call(fresh);
    if (outcome.error !== undefined) throw outcome.error;
    return outcome.value as T;
  }
}
