import { Inject, Injectable } from '@nestjs/common';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import type { AlipayApplicationType, AlipayAuthorizationLinkOptions } from '../alipay-auth.options';
import { AlipayAuthError, AlipayAuthorizationStateError, AlipayConfigError } from '../errors/alipay-auth.errors';
import { checkState, createState, DEFAULT_STATE_TTL_MS, isNonce, newNonce } from './authorization-state';

export type { AlipayApplicationType, AlipayAuthorizationLinkOptions } from '../alipay-auth.options';

/** Injection token of option `authorizationLink` (null when not set); the module provides it. */
export const ALIPAY_AUTHORIZATION_LINK_OPTIONS = Symbol('ALIPAY_AUTHORIZATION_LINK_OPTIONS');

export interface AlipayAuthorizationLinkRequest {
  /** The browser's nonce (see `newNonce()`); the same one must come back with the callback. */
  nonce: string;
  /** Alipay's batch page (several merchant apps at once) instead of the single one. */
  batch?: boolean;
  /** Batch page only: overrides option `batchApplicationTypes`. */
  applicationTypes?: AlipayApplicationType[];
}

export interface AlipayAuthorizationLink {
  /** Send the browser here (302). */
  url: string;
  state: string;
  /** When the state stops being accepted: also a fitting lifetime for the nonce cookie. */
  expiresAt: Date;
}

import { AUTH_PAGE_PATH as ALIPAY_AUTHORIZE_PAGE_PATH, BATCH_AUTH_PAGE_PATH as ALIPAY_BATCH_AUTHORIZE_PAGE_PATH } from '../signer/alipay-gateway-paths';

export { ALIPAY_AUTHORIZE_PAGE_PATH, ALIPAY_BATCH_AUTHORIZE_PAGE_PATH };
const APPLICATION_TYPES: readonly AlipayApplicationType[] = ['MOBILEAPP', 'WEBAPP', 'PUBLICAPP', 'TINYAPP', 'ARAPP', 'BASEAPP'];
const MIN_TTL_MS = 60_000;
const MAX_TTL_MS = 3600_000;

function checkTypes(types: unknown, option: string): AlipayApplicationType[] {
  if (!Array.isArray(types) || types.length === 0 || !types.every((t) => APPLICATION_TYPES.includes(t as AlipayApplicationType))) {
    throw new AlipayConfigError(`Option "${option}" must be a non-empty list of ${APPLICATION_TYPES.join(', ')}`);
  }
  return types as AlipayApplicationType[];
}

function resolveLinkOptions(o: AlipayAuthorizationLinkOptions): Required<AlipayAuthorizationLinkOptions> {
  if (typeof o.stateSecret !== 'string' || o.stateSecret.length < 32) {
    throw new AlipayConfigError('Option "authorizationLink.stateSecret" must be at least 32 characters (openssl rand -base64 32)');
  }
  let redirect: URL;
  try {
    redirect = new URL(o.redirectUri);
  } catch {
    throw new AlipayConfigError('Option "authorizationLink.redirectUri" must be an absolute http(s) URL');
  }
  if (redirect.protocol !== 'https:' && redirect.protocol !== 'http:')
    throw new AlipayConfigError('Option "authorizationLink.redirectUri" must be an absolute http(s) URL');
  const ttl = o.stateTtlMs ?? DEFAULT_STATE_TTL_MS;
  if (!Number.isInteger(ttl) || ttl < MIN_TTL_MS || ttl > MAX_TTL_MS)
    throw new AlipayConfigError('Option "authorizationLink.stateTtlMs" must be an integer from 60000 to 3600000');
  return {
    stateSecret: o.stateSecret,
    // Kept as given: Alipay compares it with the registered URL character for character.
    redirectUri: o.redirectUri,
    stateTtlMs: ttl,
    batchApplicationTypes: checkTypes(o.batchApplicationTypes ?? ['TINYAPP', 'WEBAPP'], 'authorizationLink.batchApplicationTypes'),
  };
}

/**
 * The merchant authorization link (`/oauth2/appToAppAuth.htm`, or the batch page) with a signed, expiring
 * `state` bound to a browser nonce, and the callback-side check of that state. Keeping the nonce (an
 * HttpOnly, SameSite=Lax cookie on the callback's host) is the app's part, or AlipayAuthorizationCallback's: see docs/operating.md.
 */
@Injectable()
export class AlipayAuthorizationLinkService {
  private readonly options?: Required<AlipayAuthorizationLinkOptions>;

  constructor(
    @Inject(ALIPAY_AUTH_CONFIG) private readonly config: ResolvedAlipayAuthConfig,
    @Inject(ALIPAY_AUTHORIZATION_LINK_OPTIONS) linkOptions: AlipayAuthorizationLinkOptions | null,
  ) {
    // Apps that never build links need no option; a bad one stops the boot.
    if (linkOptions) this.options = resolveLinkOptions(linkOptions);
  }

  private get linkOptions(): Required<AlipayAuthorizationLinkOptions> {
    if (!this.options) throw new AlipayConfigError('Option "authorizationLink" (stateSecret, redirectUri) is not set');
    return this.options;
  }

  get redirectUri(): string {
    return this.linkOptions.redirectUri;
  }

  get stateTtlMs(): number {
    return this.linkOptions.stateTtlMs;
  }

  /** A fresh browser nonce (128 random bits). Reuse a browser's valid one so that several tabs all verify. */
  newNonce(): string {
    return newNonce();
  }

  /** True for a value shaped like a nonce from `newNonce()` (e.g. the cookie a browser sent). */
  isNonce(value: unknown): value is string {
    return isNonce(value);
  }

  createLink(request: AlipayAuthorizationLinkRequest): AlipayAuthorizationLink {
    const o = this.linkOptions;
    if (!isNonce(request.nonce)) throw new AlipayAuthError('The nonce of an authorization link must come from newNonce()');
    const now = this.config.clock();
    const state = createState(o.stateSecret, request.nonce, now, o.stateTtlMs);
    const url = new URL(`${this.config.authorizePageBaseUrl}${request.batch ? ALIPAY_BATCH_AUTHORIZE_PAGE_PATH : ALIPAY_AUTHORIZE_PAGE_PATH}`);
    url.searchParams.set('app_id', this.config.appId);
    if (request.batch) url.searchParams.set('application_type', checkTypes(request.applicationTypes ?? o.batchApplicationTypes, 'applicationTypes').join(','));
    url.searchParams.set('redirect_uri', o.redirectUri);
    url.searchParams.set('state', state);
    return { url: url.toString(), state, expiresAt: new Date(now + o.stateTtlMs) };
  }

  /**
   * Checks the callback's `state` against the nonce this browser holds: returns the nonce, or throws
   * `AlipayAuthorizationStateError` naming the problem (malformed, bad-signature, expired, no-cookie,
   * other-browser). A callback without `state` (started from Alipay's console) is the app's policy.
   */
  verifyState(state: unknown, browserNonce: unknown): string {
    const o = this.linkOptions;
    const check = checkState(o.stateSecret, state, browserNonce, this.config.clock(), o.stateTtlMs);
    if (!check.ok) throw new AlipayAuthorizationStateError(check.problem);
    return check.nonce;
  }
}
