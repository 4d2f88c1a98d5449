import { Inject, Injectable } from '@nestjs/common';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayAuthorizationLinkRequest, AlipayAuthorizationLinkService } from '../authorization/alipay-authorization-link.service';
import { ALIPAY_MAX_STATE_LENGTH } from '../authorization/authorization-state';
import { AlipayInvalidInputError } from '../errors/alipay-auth.errors';
import { ALIPAY_AUTH_CODE_PATTERN, AlipayTokenService } from '../tokens/alipay-token.service';
import type { AlipayAuthorizationInfo } from '../tokens/alipay-token.types';
import { AlipayHttpRequest, cookie } from './alipay-http-request';

/** The cookie that binds an authorization to the browser that started it (it holds the state's nonce). */
export const ALIPAY_NONCE_COOKIE = 'alipay_auth_nonce';

/** What `start()` gives the authorize route: redirect the browser to `url` with the `Set-Cookie` header `setCookie`. */
export interface AlipayAuthorizationStart {
  url: string;
  /** Task links only: the `alipays://` form of the same link, for a QR code scanned with the Alipay app. */
  mobileUrl?: string;
  /** The value of a `Set-Cookie` header: the nonce, HttpOnly, SameSite=Lax, limited to the callback's folder. */
  setCookie: string;
  expiresAt: Date;
}

/** A callback's parameters, checked (`AlipayAuthorizationCallback.read`). */
export interface AlipayCallbackInput {
  appAuthCode: string;
  /** Null for an authorization started from Alipay's console (no state). */
  state: string | null;
  /** This browser's nonce from the cookie, when it sent a well-formed one. */
  nonce: string | null;
}

export interface AlipayCallbackOptions {
  /**
   * A callback without `state` comes from an authorization started in Alipay's console, not from our link.
   * `'reject'` (default) refuses it with `AlipayInvalidInputError` (field `state`); `'accept'` exchanges its
   * code (the exchange proves the code; state defends against login CSRF only).
   */
  withoutState?: 'accept' | 'reject';
}

function single(query: Record<string, unknown>, name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new AlipayInvalidInputError(name, `The "${name}" parameter must be given once`);
  return v;
}

/**
 * The two routes of the merchant authorization, for a controller of your own (Express or Fastify):
 * `start(req)` builds the link and the cookie that binds it to this browser; `complete(req)` checks the
 * callback's parameters, its `state` against that cookie, and exchanges the code. Errors are typed
 * (`AlipayInvalidInputError`, `AlipayAuthorizationStateError`, `AlipayApiError`…): with
 * `AlipayAuthExceptionFilter` they answer 400 / 502 / 503 with a body that names the problem.
 * Needs module option `authorizationLink`. The cookie is read from the `Cookie` header: no cookie parser needed.
 */
@Injectable()
export class AlipayAuthorizationCallback {
  constructor(
    private readonly links: AlipayAuthorizationLinkService,
    private readonly tokens: AlipayTokenService,
    @Inject(ALIPAY_AUTH_CONFIG) private readonly config: ResolvedAlipayAuthConfig,
  ) {}

  /**
   * For the authorize route: reuses this browser's nonce (several tabs all verify) or makes one. `options`
   * chooses the link as `AlipayAuthorizationLinkService.createLink` does (`flow`, `applicationTypes`).
   */
  start(request: AlipayHttpRequest, options: Omit<AlipayAuthorizationLinkRequest, 'nonce'> = {}): AlipayAuthorizationStart {
    const existing = cookie(request, ALIPAY_NONCE_COOKIE);
    const nonce = this.links.isNonce(existing) ? existing : this.links.newNonce();
    const link = this.links.createLink({ ...options, nonce });
    const mobileUrl = 'mobileUrl' in link ? String(link.mobileUrl) : undefined;
    return { url: link.url, ...(mobileUrl ? { mobileUrl } : {}), expiresAt: link.expiresAt, setCookie: this.nonceCookie(nonce, this.links.stateTtlMs) };
  }

  /**
   * A `Set-Cookie` value holding `nonce`, sent back to the folder of the callback (`/alipay/auth` for
   * `/alipay/auth/callback`): the callback reads it, and so does an authorize route beside it, which then
   * reuses the nonce so that several tabs all verify.
   */
  nonceCookie(nonce: string, maxAgeMs: number): string {
    const redirect = new URL(this.links.redirectUri);
    const folder = redirect.pathname.slice(0, redirect.pathname.lastIndexOf('/')) || '/';
    const secure = redirect.protocol === 'https:' ? '; Secure' : '';
    return `${ALIPAY_NONCE_COOKIE}=${nonce}; Path=${folder}; Max-Age=${Math.floor(maxAgeMs / 1000)}; HttpOnly; SameSite=Lax${secure}`;
  }

  /**
   * Checks the callback's parameters without calling anyone: `app_id` names this app, `app_auth_code` is
   * well-formed, `source` (when given) is Alipay's, nothing repeats. Throws `AlipayInvalidInputError`.
   */
  read(request: AlipayHttpRequest): AlipayCallbackInput {
    const query = (request.query && typeof request.query === 'object' ? request.query : {}) as Record<string, unknown>;
    const appId = single(query, 'app_id');
    const code = single(query, 'app_auth_code');
    const source = single(query, 'source');
    const state = single(query, 'state') || null;
    if (!appId) throw new AlipayInvalidInputError('app_id', 'The "app_id" parameter is missing');
    if (appId !== this.config.appId)
      throw new AlipayInvalidInputError('app_id', `The "app_id" parameter does not name this application (${this.config.appId})`);
    if (source !== undefined && source !== 'alipay_app_auth') throw new AlipayInvalidInputError('source', 'The "source" parameter must be "alipay_app_auth"');
    if (!code) throw new AlipayInvalidInputError('app_auth_code', 'The "app_auth_code" parameter is missing');
    if (!ALIPAY_AUTH_CODE_PATTERN.test(code))
      throw new AlipayInvalidInputError('app_auth_code', 'The "app_auth_code" parameter is malformed (8-128 letters, digits, "_" or "-")');
    if (state !== null && state.length > ALIPAY_MAX_STATE_LENGTH) throw new AlipayInvalidInputError('state', 'The "state" parameter is malformed');
    const nonce = cookie(request, ALIPAY_NONCE_COOKIE);
    return { appAuthCode: code, state, nonce: this.links.isNonce(nonce) ? nonce : null };
  }

  /**
   * Checks `state` against this browser's cookie (`AlipayAuthorizationStateError` names the problem).
   * Without state: refused unless `withoutState: 'accept'`.
   */
  verify(input: AlipayCallbackInput, options: AlipayCallbackOptions = {}): void {
    if (input.state === null) {
      if ((options.withoutState ?? 'reject') === 'accept') return;
      throw new AlipayInvalidInputError(
        'state',
        "The callback has no \"state\": the authorization was not started from this application's link (accept such callbacks with withoutState: 'accept')",
      );
    }
    this.links.verifyState(input.state, input.nonce);
  }

  /** `read`, `verify`, then the code exchange: the authorizations stored (one per merchant app of a batch). */
  async complete(request: AlipayHttpRequest, options: AlipayCallbackOptions = {}): Promise<AlipayAuthorizationInfo[]> {
    const input = this.read(request);
    this.verify(input, options);
    return this.tokens.exchangeCode(input.appAuthCode);
  }
}
