import { Inject, Injectable } from '@nestjs/common';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import type { AlipayApplicationType, AlipayAuthorizationLinkOptions } from '../alipay-auth.options';
import { AlipayAuthError, AlipayAuthorizationStateError, AlipayConfigError } from '../errors/alipay-auth.errors';
import {
  AUTH_PAGE_PATH as ALIPAY_AUTHORIZE_PAGE_PATH,
  BATCH_AUTH_PAGE_PATH as ALIPAY_BATCH_AUTHORIZE_PAGE_PATH,
  TASK_MINI_APP_ID,
  TASK_MINI_APP_PAGE,
  TASK_PAGE_PATH,
} from '../signer/alipay-gateway-paths';
import { checkState, createState, DEFAULT_STATE_TTL_MS, isNonce, newNonce } from './authorization-state';

export type { AlipayApplicationType, AlipayAuthorizationLinkOptions } from '../alipay-auth.options';

/** Injection token of option `authorizationLink` (null when not set); the module provides it. */
export const ALIPAY_AUTHORIZATION_LINK_OPTIONS = Symbol('ALIPAY_AUTHORIZATION_LINK_OPTIONS');

/** Which Alipay link: `single` (classic, the merchant's base app), `task` (指定应用授权, recommended), `batch` (legacy). */
export type AlipayAuthorizationFlow = 'single' | 'task' | 'batch';

export interface AlipayAuthorizationLinkRequest {
  /** The browser's nonce (see `newNonce()`); the same one must come back with the callback. */
  nonce: string;
  /** Default `single`. */
  flow?: AlipayAuthorizationFlow;
  /** Legacy alias of `flow: 'batch'`. */
  batch?: boolean;
  /** Task and batch links only: overrides option `taskApplicationTypes` or `batchApplicationTypes`. */
  applicationTypes?: AlipayApplicationType[];
}

export interface AlipayAuthorizationLink {
  /** Send the browser here (302). */
  url: string;
  state: string;
  /** When the state stops being accepted: also a fitting lifetime for the nonce cookie. */
  expiresAt: Date;
}

/** A task link: `url` for a PC browser, `mobileUrl` for a QR the merchant scans with the Alipay app. */
export interface AlipayAuthorizationTaskLink extends AlipayAuthorizationLink {
  /** The `alipays://` form (or the configured launcher) with the same `bizData`: put it in a QR code. */
  mobileUrl: string;
}

export { ALIPAY_AUTHORIZE_PAGE_PATH, ALIPAY_BATCH_AUTHORIZE_PAGE_PATH };
const APPLICATION_TYPES: readonly AlipayApplicationType[] = ['MOBILEAPP', 'WEBAPP', 'PUBLICAPP', 'TINYAPP', 'ARAPP', 'BASEAPP'];
/** The task link's list no longer has ARAPP. */
const TASK_APPLICATION_TYPES = APPLICATION_TYPES.filter((t) => t !== 'ARAPP');
const FLOWS: readonly AlipayAuthorizationFlow[] = ['single', 'task', 'batch'];
const MIN_TTL_MS = 60_000;
const MAX_TTL_MS = 3600_000;

type Fail = (message: string) => Error;
const configFail: Fail = (m) => new AlipayConfigError(m);
const requestFail: Fail = (m) => new AlipayAuthError(m);

function checkTypes(types: unknown, field: string, allowed: readonly AlipayApplicationType[], fail: Fail): AlipayApplicationType[] {
  if (!Array.isArray(types) || types.length === 0 || !types.every((t) => allowed.includes(t as AlipayApplicationType))) {
    throw fail(`${field} must be a non-empty list of ${allowed.join(', ')}`);
  }
  return [...new Set(types as AlipayApplicationType[])];
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
    taskApplicationTypes: checkTypes(
      o.taskApplicationTypes ?? ['TINYAPP', 'WEBAPP'],
      'Option "authorizationLink.taskApplicationTypes"',
      TASK_APPLICATION_TYPES,
      configFail,
    ),
    batchApplicationTypes: checkTypes(
      o.batchApplicationTypes ?? ['TINYAPP', 'WEBAPP'],
      'Option "authorizationLink.batchApplicationTypes"',
      APPLICATION_TYPES,
      configFail,
    ),
  };
}

function flowOf(request: AlipayAuthorizationLinkRequest): AlipayAuthorizationFlow {
  const flow = request.flow ?? (request.batch ? 'batch' : 'single');
  if (!FLOWS.includes(flow)) throw new AlipayAuthError(`"flow" of an authorization link must be one of ${FLOWS.join(', ')}`);
  if (request.batch !== undefined && typeof request.batch !== 'boolean') throw new AlipayAuthError('"batch" of an authorization link must be a boolean');
  if (request.batch && flow !== 'batch') throw new AlipayAuthError(`"batch: true" contradicts "flow: '${flow}'"`);
  if (flow === 'single' && request.applicationTypes !== undefined) throw new AlipayAuthError('"applicationTypes" applies to the task and batch links only');
  return flow;
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

  /**
   * The link for one merchant, with a state bound to the browser's nonce. `flow: 'task'` (指定应用授权,
   * Alipay's recommended link) returns a PC `url` and a `mobileUrl` for a QR code, both carrying the same
   * `bizData`; `'single'` (default) is the classic page, which authorizes the merchant's base app only;
   * `'batch'` is the legacy batch page.
   */
  createLink(request: AlipayAuthorizationLinkRequest & { flow: 'task' }): AlipayAuthorizationTaskLink;
  createLink(request: AlipayAuthorizationLinkRequest): AlipayAuthorizationLink;
  createLink(request: AlipayAuthorizationLinkRequest): AlipayAuthorizationLink | AlipayAuthorizationTaskLink {
    const o = this.linkOptions;
    if (!request || typeof request !== 'object') throw new AlipayAuthError('An authorization link needs a request { nonce, flow? }');
    if (!isNonce(request.nonce)) throw new AlipayAuthError('The nonce of an authorization link must come from newNonce()');
    const flow = flowOf(request);
    const now = this.config.clock();
    const state = createState(o.stateSecret, request.nonce, now, o.stateTtlMs);
    const expiresAt = new Date(now + o.stateTtlMs);
    if (flow === 'task') {
      const types = checkTypes(request.applicationTypes ?? o.taskApplicationTypes, '"applicationTypes"', TASK_APPLICATION_TYPES, requestFail);
      return { ...this.taskUrls(types, state), state, expiresAt };
    }
    const url = new URL(`${this.config.authorizePageBaseUrl}${flow === 'batch' ? ALIPAY_BATCH_AUTHORIZE_PAGE_PATH : ALIPAY_AUTHORIZE_PAGE_PATH}`);
    url.searchParams.set('app_id', this.config.appId);
    if (flow === 'batch') {
      url.searchParams.set(
        'application_type',
        checkTypes(request.applicationTypes ?? o.batchApplicationTypes, '"applicationTypes"', APPLICATION_TYPES, requestFail).join(','),
      );
    }
    url.searchParams.set('redirect_uri', o.redirectUri);
    url.searchParams.set('state', state);
    return { url: url.toString(), state, expiresAt };
  }

  /** Both forms carry the same JSON, URL-encoded once; the phone form's `page` prefix is written already encoded. */
  private taskUrls(appTypes: AlipayApplicationType[], state: string): { url: string; mobileUrl: string } {
    const { taskPageBaseUrl, taskAppLaunchUrl } = this.config;
    if (!taskPageBaseUrl || !taskAppLaunchUrl) {
      throw new AlipayConfigError(
        'Options "taskPageBaseUrl" and "taskAppLaunchUrl" must be set for task links on this gateway (Alipay publishes no sandbox task page)',
      );
    }
    const bizData = encodeURIComponent(
      JSON.stringify({
        platformCode: 'O',
        taskType: 'INTERFACE_AUTH',
        agentOpParam: { redirectUri: this.linkOptions.redirectUri, appTypes, isvAppId: this.config.appId, state },
      }),
    );
    return {
      url: `${taskPageBaseUrl}${TASK_PAGE_PATH}?bizData=${bizData}`,
      mobileUrl: `${taskAppLaunchUrl}?appId=${TASK_MINI_APP_ID}&page=${encodeURIComponent(`${TASK_MINI_APP_PAGE}?bizData=`)}${bizData}`,
    };
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
