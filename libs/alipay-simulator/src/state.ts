import { GatewayError, SimulatorInputError } from './errors';
import { newAuthAppId, newAuthCode, newToken, newUserId } from './ids';
import type { AuthorizeInput } from './types';

const DAY_MS = 24 * 3600_000;
/** A single authorization's app_auth_code expires 24 h after it is issued (protocol doc §9.1). */
export const CODE_TTL_MS = DAY_MS;
/** A batch authorization's app_auth_code lives 10 minutes (protocol doc §9.1). */
export const BATCH_CODE_TTL_MS = 10 * 60_000;

export interface StateSettings {
  /** How long a superseded refresh token keeps working, on top of its own re_expires_in. Infinity: until re_expires_in. */
  refreshGraceMs: number;
  /** How long a superseded app_auth_token (after a refresh or a re-authorization) keeps working. 0: stops at once. */
  tokenOverlapMs: number;
  /** A refresh token of a replaced authorization answers REFRESH_TOKEN_NOT_VALID instead of refreshing the current one. */
  reauthorizationRetiresRefreshToken: boolean;
  tokenTtlSec: number;
  refreshTtlSec: number;
  codeTtlMs: number;
  batchCodeTtlMs: number;
}

export interface CodeRecord {
  code: string;
  appId: string;
  userId: string;
  authAppIds: string[];
  /** From the batch page (or a batch authorize call): the code lives batchCodeTtlMs instead of codeTtlMs. */
  batch: boolean;
  authMethods: string[];
  issuedAt: number;
  used: boolean;
  /** Grants Alipay already opened for this code (an authorization announced by open_app_auth_notify). */
  grants?: Grant[];
}

/**
 * One authorization of one merchant app by one ISV app, from a code exchange until it is cancelled or
 * replaced by a new exchange. Tokens point at their grant, so invalidating a grant is O(1).
 */
export interface Grant {
  appId: string;
  authAppId: string;
  userId: string;
  /** API methods the merchant granted (the query's auth_methods; merchant calls outside it get invalid-app-auth-token-no-api). */
  authMethods: string[];
  startedAt: number;
  status: 'active' | 'cancelled' | 'replaced';
  token: TokenRecord;
  refresh: RefreshRecord;
}

export interface TokenRecord {
  token: string;
  grant: Grant;
  issuedAt: number;
  expiresAt: number;
  /** Set when a newer pair was issued: the token keeps working until supersededAt + tokenOverlapMs. */
  supersededAt?: number;
}

export interface RefreshRecord {
  token: string;
  grant: Grant;
  issuedAt: number;
  expiresAt: number;
  /** Set when a newer pair was issued: the token keeps working until expiresAt, or supersededAt + refreshGraceMs when sooner. */
  supersededAt?: number;
}

/** Methods granted by default, reported by the query API's `auth_methods` (illustrative). */
export const AUTH_METHODS = [
  'alipay.trade.create',
  'alipay.trade.pay',
  'alipay.trade.precreate',
  'alipay.trade.query',
  'alipay.trade.refund',
  'alipay.trade.close',
  'alipay.offline.material.image.upload',
];

const grantKey = (appId: string, authAppId: string): string => `${appId}\u0000${authAppId}`;
const MERCHANT_ID = /^[A-Za-z0-9]{1,32}$/;

/** Codes, grants and tokens, each in a Map keyed by what requests carry: no scans per request. */
export class AuthorizationState {
  readonly codes = new Map<string, CodeRecord>();
  /** The latest grant per (ISV app, merchant app). */
  readonly grants = new Map<string, Grant>();
  /** Every token ever issued (old ones answer status "invalid" in the query API). */
  readonly tokens = new Map<string, TokenRecord>();
  readonly refreshTokens = new Map<string, RefreshRecord>();

  constructor(
    private readonly settings: StateSettings,
    private readonly now: () => number,
  ) {}

  clear(): void {
    this.codes.clear();
    this.grants.clear();
    this.tokens.clear();
    this.refreshTokens.clear();
  }

  mintCode(appId: string, input: AuthorizeInput = {}): CodeRecord {
    if (input.authAppIds !== undefined && !Array.isArray(input.authAppIds)) throw new SimulatorInputError('"authAppIds" must be an array');
    const authAppIds = input.authAppIds?.length ? [...input.authAppIds] : [input.authAppId ?? newAuthAppId()];
    for (const id of authAppIds) {
      if (typeof id !== 'string' || !MERCHANT_ID.test(id)) throw new SimulatorInputError('auth app ids must be 1-32 letters or digits');
    }
    if (new Set(authAppIds).size !== authAppIds.length) throw new SimulatorInputError('auth app ids must be distinct');
    const userId = input.userId ?? newUserId();
    if (typeof userId !== 'string' || !MERCHANT_ID.test(userId)) throw new SimulatorInputError('"userId" must be 1-32 letters or digits');
    const authMethods = input.authMethods ?? AUTH_METHODS;
    if (!Array.isArray(authMethods) || authMethods.some((m) => typeof m !== 'string'))
      throw new SimulatorInputError('"authMethods" must be an array of method names');
    // A batch authorization is one from the batch page, or one naming several apps or an application type.
    const batch = input.batch ?? (input.authAppIds !== undefined || input.applicationType !== undefined);
    const record: CodeRecord = {
      code: newAuthCode(),
      appId,
      userId,
      authAppIds,
      batch: !!batch,
      authMethods: [...authMethods],
      issuedAt: this.now(),
      used: false,
    };
    this.codes.set(record.code, record);
    return record;
  }

  /** grant_type=authorization_code. Consumes the code and opens one grant per authorized app. */
  exchangeCode(appId: string, code: string): Grant[] {
    const record = this.codes.get(code);
    if (!record) throw new GatewayError(400, 'AUTH_CODE_NOT_EXIST', '授权码不存在');
    if (record.appId !== appId) throw new GatewayError(400, 'APP_ID_NOT_CONSISTENT', '授权码不属于当前应用');
    if (record.used) throw new GatewayError(400, 'AUTH_CODE_NOT_VALID', '授权码已使用');
    // UNCONFIRMED: an expired code may answer AUTH_CODE_NOT_EXIST on the real gateway.
    const ttl = record.batch ? this.settings.batchCodeTtlMs : this.settings.codeTtlMs;
    if (this.now() - record.issuedAt > ttl) throw new GatewayError(400, 'AUTH_CODE_NOT_VALID', '授权码已过期');
    record.used = true;
    // An authorization Alipay already executed (and announced) answers its existing pair: both ways give one token.
    if (record.grants) return record.grants;
    return record.authAppIds.map((authAppId) => this.openGrant(appId, authAppId, record.userId, record.authMethods));
  }

  /** Opens the grants of a code without consuming it (Alipay executed the authorization itself, e.g. service market). */
  executeCode(record: CodeRecord): Grant[] {
    record.grants ??= record.authAppIds.map((authAppId) => this.openGrant(record.appId, authAppId, record.userId, record.authMethods));
    return record.grants;
  }

  /**
   * grant_type=refresh_token. Issues a new pair; the old app_auth_token keeps working for tokenOverlapMs
   * (0: stops at once), the old refresh token until its own re_expires_in (or refreshGraceMs, when shorter).
   * A refresh token superseded by a re-authorization refreshes the merchant's current authorization, or
   * (reauthorizationRetiresRefreshToken) is refused: what Alipay does is UNCONFIRMED.
   */
  refresh(appId: string, refreshToken: string): Grant {
    const record = this.refreshTokens.get(refreshToken);
    if (!record) throw new GatewayError(400, 'REFRESH_TOKEN_NOT_EXIST', '刷新令牌不存在');
    if (record.grant.appId !== appId) throw new GatewayError(400, 'APP_ID_NOT_CONSISTENT', '刷新令牌不属于当前应用');
    if (record.grant.status === 'replaced' && this.settings.reauthorizationRetiresRefreshToken) {
      throw new GatewayError(400, 'REFRESH_TOKEN_NOT_VALID', '授权已被重新授权替换');
    }
    const grant = record.grant.status === 'replaced' ? this.grants.get(grantKey(appId, record.grant.authAppId))! : record.grant;
    if (grant.status !== 'active') throw new GatewayError(400, 'REFRESH_TOKEN_NOT_VALID', '授权已失效');
    const now = this.now();
    if (now >= record.expiresAt) throw new GatewayError(400, 'REFRESH_TOKEN_TIME_OUT', '刷新令牌已过期');
    if (record.supersededAt !== undefined && now - record.supersededAt >= this.settings.refreshGraceMs) {
      throw new GatewayError(400, 'REFRESH_TOKEN_NOT_VALID', '刷新令牌已失效');
    }
    this.issuePair(grant, now);
    return grant;
  }

  /** Cancels the current grant; returns it (with its last token) or undefined when there is none active. */
  cancel(appId: string, authAppId: string): Grant | undefined {
    const grant = this.grants.get(grantKey(appId, authAppId));
    if (!grant || grant.status !== 'active') return undefined;
    grant.status = 'cancelled';
    return grant;
  }

  /** Current token of an active grant, or a superseded one inside the overlap; never after a cancellation. */
  tokenValid(t: TokenRecord): boolean {
    const now = this.now();
    if (now >= t.expiresAt || t.grant.status === 'cancelled') return false;
    if (t.grant.status === 'active' && t.grant.token === t) return true;
    return t.supersededAt !== undefined && now - t.supersededAt < this.settings.tokenOverlapMs;
  }

  private openGrant(appId: string, authAppId: string, userId: string, authMethods: string[]): Grant {
    const key = grantKey(appId, authAppId);
    const previous = this.grants.get(key);
    // Alipay's FAQ: a re-authorization issues a new pair; the old token dies "within a certain time" (tokenOverlapMs).
    const now = this.now();
    if (previous && previous.status === 'active') {
      previous.status = 'replaced';
      previous.token.supersededAt ??= now;
      previous.refresh.supersededAt ??= now;
    }
    const grant = { appId, authAppId, userId, authMethods, startedAt: now, status: 'active' } as Grant;
    this.issuePair(grant, now);
    this.grants.set(key, grant);
    return grant;
  }

  private issuePair(grant: Grant, now: number): void {
    if (grant.refresh && grant.refresh.supersededAt === undefined) grant.refresh.supersededAt = now;
    if (grant.token && grant.token.supersededAt === undefined) grant.token.supersededAt = now;
    const token: TokenRecord = { token: newToken(now), grant, issuedAt: now, expiresAt: now + this.settings.tokenTtlSec * 1000 };
    const refresh: RefreshRecord = { token: newToken(now), grant, issuedAt: now, expiresAt: now + this.settings.refreshTtlSec * 1000 };
    grant.token = token;
    grant.refresh = refresh;
    this.tokens.set(token.token, token);
    this.refreshTokens.set(refresh.token, refresh);
  }
}
