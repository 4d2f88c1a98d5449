import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayOpenApiClient } from '../client/alipay-openapi.client';
import {
  AlipayApiError,
  AlipayAuthError,
  AlipayAuthorizationRequiredError,
  AlipaySignatureError,
} from '../errors/alipay-auth.errors';
import { AlipaySigner } from '../signer/alipay-signer';
import {
  AlipayAuthorization,
  AlipayAuthorizationFilter,
  AlipayIssuedTokens,
  AlipayPage,
  AlipayPageResult,
  AlipayTokenStore,
} from '../storage/alipay-token-store';
import { AlipayAuthEvent, AlipayAuthEventPublisher } from './alipay-auth.events';
import {
  AlipayAuthorizationInfo,
  AlipayTokenAppElement,
  AlipayTokenAppResponse,
  AlipayTokenQueryResponse,
  parseSeconds,
  toAuthorizationInfo,
} from './alipay-token.types';
import { backoffDelay, DEAD_REFRESH_TOKEN_CODES, isDue, isExpired } from './refresh-policy';

export const TOKEN_APP_PATH = '/v3/alipay/open/auth/token/app';
export const TOKEN_QUERY_PATH = '/v3/alipay/open/auth/token/app/query';
export const CANCELLED_MSG_METHOD = 'alipay.open.auth.appauth.cancelled';

const CODE_PATTERN = /^[A-Za-z0-9_-]{8,128}$/;
const AUTH_APP_ID_PATTERN = /^[0-9A-Za-z]{1,32}$/;

interface CacheEntry {
  row: AlipayAuthorization;
  until: number;
  /** Serve it although it is due: a refresh failed and is backing off (never past expiry). */
  holdWhileDue?: boolean;
}

export interface AlipayStatusCheck {
  authAppId: string;
  /** Alipay's answer: `valid`, `invalid`, or `missing` when Alipay no longer knows the token. */
  alipayStatus: 'valid' | 'invalid' | 'missing';
  authorization: AlipayAuthorizationInfo | null;
  details?: AlipayTokenQueryResponse;
}

/**
 * The token lifecycle: code exchange, a valid token on demand, refresh, revocation, cancellation.
 * The database row is the source of truth; the in-memory cache only spares reads.
 */
@Injectable()
export class AlipayTokenService implements OnModuleInit {
  private readonly logger = new Logger(AlipayTokenService.name);
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<AlipayAuthorization>>();
  private static readonly CACHE_MAX = 50_000;

  constructor(
    private readonly client: AlipayOpenApiClient,
    private readonly signer: AlipaySigner,
    @Inject(AlipayTokenStore) private readonly store: AlipayTokenStore,
    @Inject(ALIPAY_AUTH_CONFIG) private readonly config: ResolvedAlipayAuthConfig,
    private readonly events: AlipayAuthEventPublisher,
  ) {}

  onModuleInit(): void {
    this.client.useAppAuthTokenResolver((authAppId, stale) => {
      if (stale) this.invalidate(authAppId);
      return this.getAppAuthToken(authAppId);
    });
  }

  private get appId(): string {
    return this.config.appId;
  }

  private now(): number {
    return this.config.clock();
  }

  /**
   * Exchanges the callback's `app_auth_code` and stores every authorization it grants
   * (`tokens[]` holds one per merchant app in a batch authorization).
   */
  async exchangeCode(appAuthCode: string): Promise<AlipayAuthorizationInfo[]> {
    if (typeof appAuthCode !== 'string' || !CODE_PATTERN.test(appAuthCode)) {
      throw new AlipayAuthError('"appAuthCode" must be 8-128 characters of [A-Za-z0-9_-]');
    }
    // Never retried after sending: a code is single-use.
    const res = await this.client.request<AlipayTokenAppResponse>({
      method: 'POST',
      path: TOKEN_APP_PATH,
      body: { grant_type: 'authorization_code', code: appAuthCode },
      idempotent: false,
    });
    const issuedAt = this.now();
    const elements = this.elements(res);
    const saved: AlipayAuthorizationInfo[] = [];
    for (const el of elements) {
      const row = await this.store.saveAuthorization({
        appId: this.appId,
        authAppId: el.auth_app_id,
        userId: el.user_id ?? null,
        tokens: this.issued(el, issuedAt),
        authorizedAt: new Date(issuedAt),
      });
      this.remember(row);
      const info = toAuthorizationInfo(row);
      this.logger.log(`Authorized merchant app ${row.authAppId} (user ${row.userId ?? 'unknown'})`);
      this.events.emit(AlipayAuthEvent.Authorized, { authorization: info });
      saved.push(info);
    }
    return saved;
  }

  /**
   * A valid `app_auth_token` for the merchant app, refreshed first when it is due.
   * Concurrent callers share one refresh, in this process and across processes (database lease).
   */
  async getAppAuthToken(authAppId: string): Promise<string> {
    this.checkAuthAppId(authAppId);
    const now = this.now();
    const cached = this.cache.get(authAppId);
    if (cached && cached.until > now && (cached.holdWhileDue ? !isExpired(cached.row, now) : !isDue(cached.row, now, this.config.refresh))) {
      return cached.row.appAuthToken;
    }

    const row = await this.store.find(this.appId, authAppId);
    if (!row) throw new AlipayAuthorizationRequiredError(authAppId, 'no authorization is stored');
    if (row.status !== 'active') throw new AlipayAuthorizationRequiredError(authAppId, `authorization is ${row.status}${row.statusReason ? ` (${row.statusReason})` : ''}`);
    if (!isDue(row, now, this.config.refresh)) {
      this.remember(row);
      return row.appAuthToken;
    }
    if (row.nextAttemptAt && row.nextAttemptAt.getTime() > now && !isExpired(row, now)) {
      // Backing off after a failed refresh; the current token still works.
      this.hold(row, row.nextAttemptAt.getTime());
      return row.appAuthToken;
    }
    try {
      return (await this.refreshShared(authAppId, false)).appAuthToken;
    } catch (e) {
      if (e instanceof AlipayAuthorizationRequiredError || isExpired(row, this.now())) throw e;
      this.logger.warn(`Refresh of ${authAppId} failed (${errorCode(e)}); serving the current token, which has not expired`);
      // Spare the database while Alipay is failing: callers get this token until the back-off ends.
      this.hold(row, this.now() + this.config.refresh.backoffBaseMs);
      return row.appAuthToken;
    }
  }

  /** Refreshes now (operators' "refresh now", or a caller that knows the token is bad). */
  async refresh(authAppId: string): Promise<AlipayAuthorizationInfo> {
    this.checkAuthAppId(authAppId);
    return toAuthorizationInfo(await this.refreshShared(authAppId, true));
  }

  /** Forgets the cached token so the next call reads the database. */
  invalidate(authAppId: string): void {
    this.cache.delete(authAppId);
  }

  async get(authAppId: string): Promise<AlipayAuthorizationInfo | null> {
    this.checkAuthAppId(authAppId);
    const row = await this.store.find(this.appId, authAppId);
    return row ? toAuthorizationInfo(row) : null;
  }

  async list(filter?: AlipayAuthorizationFilter, page?: AlipayPage): Promise<AlipayPageResult<AlipayAuthorizationInfo>> {
    const res = await this.store.list(this.appId, filter, page);
    return { total: res.total, items: res.items.map(toAuthorizationInfo) };
  }

  /** Authorizations by status, plus `failing` (active, with failed refreshes): for health checks and dashboards. */
  stats(): ReturnType<AlipayTokenStore['countByStatus']> {
    return this.store.countByStatus(this.appId);
  }

  /** Stops serving the merchant (kept, with status `revoked`). */
  async revoke(authAppId: string, reason = 'revoked by the ISV'): Promise<AlipayAuthorizationInfo | null> {
    this.checkAuthAppId(authAppId);
    const row = await this.store.setStatus(this.appId, authAppId, 'revoked', reason);
    this.invalidate(authAppId);
    if (!row) return null;
    const info = toAuthorizationInfo(row);
    this.logger.log(`Revoked merchant app ${authAppId}`);
    this.events.emit(AlipayAuthEvent.Revoked, { authorization: info });
    return info;
  }

  /**
   * Handles an Alipay notification (form parameters as received). Verifies Alipay's signature, and for
   * `alipay.open.auth.appauth.cancelled` marks the authorization cancelled. Returns whether it was handled.
   * Answer Alipay with the text `success` when this resolves, so it stops re-sending.
   */
  async handleNotification(params: Record<string, string | undefined>): Promise<{ handled: boolean; authAppId?: string }> {
    if (!(await this.signer.verifyNotification(params))) {
      throw new AlipaySignatureError('response-signature-verify-error', 'Alipay notification signature does not verify');
    }
    if (params.app_id && params.app_id !== this.appId) return { handled: false };
    if (params.msg_method !== CANCELLED_MSG_METHOD) return { handled: false };
    let biz: Record<string, unknown>;
    try {
      biz = JSON.parse(params.biz_content ?? '{}') ?? {};
    } catch {
      throw new AlipayAuthError('Notification "biz_content" is not JSON');
    }
    // The message's biz_content layout is not in the official SDKs: accept the fields at the top or under `detail`.
    const detail = (biz.detail && typeof biz.detail === 'object' ? biz.detail : biz) as Record<string, unknown>;
    const authAppId = String(detail.auth_app_id ?? params.auth_app_id ?? '');
    if (!AUTH_APP_ID_PATTERN.test(authAppId)) throw new AlipayAuthError('Cancellation notification has no valid "auth_app_id"');
    const row = await this.store.setStatus(this.appId, authAppId, 'cancelled', 'cancelled by the merchant (notification)');
    this.invalidate(authAppId);
    if (row) {
      this.logger.log(`Merchant app ${authAppId} cancelled its authorization`);
      this.events.emit(AlipayAuthEvent.Cancelled, { authorization: toAuthorizationInfo(row) });
    }
    return { handled: true, authAppId };
  }

  /**
   * Asks Alipay (token query API) whether the authorization is still valid; an `invalid` or unknown
   * token marks it cancelled, so a missed cancellation message does not leave a dead token active.
   */
  async checkStatus(authAppId: string): Promise<AlipayStatusCheck> {
    this.checkAuthAppId(authAppId);
    const row = await this.store.find(this.appId, authAppId);
    if (!row) throw new AlipayAuthorizationRequiredError(authAppId, 'no authorization is stored');
    let details: AlipayTokenQueryResponse | undefined;
    let alipayStatus: AlipayStatusCheck['alipayStatus'];
    try {
      details = await this.client.request<AlipayTokenQueryResponse>({ method: 'GET', path: TOKEN_QUERY_PATH, query: { app_auth_token: row.appAuthToken } });
      alipayStatus = details?.status === 'valid' ? 'valid' : 'invalid';
    } catch (e) {
      if (!(e instanceof AlipayApiError) || !['AUTH_TOKEN_NOT_EXISTED', 'AUTH_TOKEN_NOT_CONSISTENT'].includes(e.code)) throw e;
      alipayStatus = 'missing';
    }
    await this.store.markChecked(this.appId, authAppId, new Date(this.now()));
    let current: AlipayAuthorization | null = row;
    if (alipayStatus !== 'valid' && row.status === 'active') {
      // A token replaced by a concurrent refresh also reads as invalid: only act if the row did not move on.
      const fresh = await this.store.find(this.appId, authAppId);
      if (fresh && fresh.version === row.version) {
        current = await this.store.setStatus(this.appId, authAppId, 'cancelled', `token query answered ${alipayStatus}`);
        this.invalidate(authAppId);
        if (current) this.events.emit(AlipayAuthEvent.Cancelled, { authorization: toAuthorizationInfo(current) });
      } else {
        current = fresh;
        alipayStatus = 'valid';
      }
    }
    return { authAppId, alipayStatus, authorization: current ? toAuthorizationInfo(current) : null, details };
  }

  /**
   * Refreshes a row the caller has already leased (the scheduler). Checks the row again after the claim,
   * writes with compare-and-set, records failures with back-off. Returns the outcome.
   */
  async refreshLeased(row: AlipayAuthorization, owner: string, force = false): Promise<'refreshed' | 'skipped' | 'failed' | 'reauthorization_required'> {
    if (row.status !== 'active') return 'skipped';
    if (!force && !isDue(row, this.now(), this.config.refresh)) {
      await this.store.releaseLease(this.appId, row.authAppId, owner);
      return 'skipped';
    }
    try {
      await this.callRefresh(row, owner);
      return 'refreshed';
    } catch (e) {
      return e instanceof AlipayAuthorizationRequiredError ? 'reauthorization_required' : 'failed';
    }
  }

  // --- internals -------------------------------------------------------------------------

  private async refreshShared(authAppId: string, force: boolean): Promise<AlipayAuthorization> {
    const running = this.inflight.get(authAppId);
    if (running) return running;
    const p = this.refreshAcrossProcesses(authAppId, force).finally(() => this.inflight.delete(authAppId));
    this.inflight.set(authAppId, p);
    return p;
  }

  private async refreshAcrossProcesses(authAppId: string, force: boolean): Promise<AlipayAuthorization> {
    const owner = this.config.instanceId;
    const deadline = Date.now() + this.config.timeoutMs * (this.config.retries + 1) + 5_000;
    let seenVersion: number | undefined;
    for (;;) {
      const now = this.now();
      const leased = await this.store.tryLease(this.appId, authAppId, { owner, until: new Date(now + this.config.refresh.leaseMs) }, new Date(now));
      if (leased) {
        if (leased.status !== 'active') {
          await this.store.releaseLease(this.appId, authAppId, owner);
          throw new AlipayAuthorizationRequiredError(authAppId, `authorization is ${leased.status}`);
        }
        // Another process may have refreshed while we waited for the lease.
        if ((!force && !isDue(leased, now, this.config.refresh)) || (seenVersion !== undefined && leased.version !== seenVersion)) {
          await this.store.releaseLease(this.appId, authAppId, owner);
          this.remember(leased);
          return leased;
        }
        return this.callRefresh(leased, owner);
      }
      // Another instance holds the lease and is refreshing: wait for its write rather than hand out
      // a token that its refresh is about to replace.
      const row = await this.store.find(this.appId, authAppId);
      if (!row) throw new AlipayAuthorizationRequiredError(authAppId, 'no authorization is stored');
      if (row.status !== 'active') throw new AlipayAuthorizationRequiredError(authAppId, `authorization is ${row.status}`);
      seenVersion ??= row.version;
      if (row.version !== seenVersion || (!force && !isDue(row, now, this.config.refresh))) {
        this.remember(row);
        return row;
      }
      if (Date.now() > deadline) {
        if (!isExpired(row, now)) return row;
        throw new AlipayAuthError(`Timed out waiting for another instance to refresh ${authAppId}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async callRefresh(row: AlipayAuthorization, owner: string): Promise<AlipayAuthorization> {
    let res: AlipayTokenAppResponse;
    try {
      // Safe to resend: the old refresh token stays valid for a while after a refresh.
      res = await this.client.request<AlipayTokenAppResponse>({
        method: 'POST',
        path: TOKEN_APP_PATH,
        body: { grant_type: 'refresh_token', refresh_token: row.appRefreshToken },
        idempotent: true,
      });
    } catch (e) {
      await this.onRefreshError(row, owner, e);
      throw e instanceof AlipayApiError && DEAD_REFRESH_TOKEN_CODES.has(e.code)
        ? new AlipayAuthorizationRequiredError(row.authAppId, `Alipay refused the refresh token (${e.code})`)
        : e;
    }
    const el = this.elements(res).find((x) => x.auth_app_id === row.authAppId) ?? this.elements(res)[0];
    const saved = await this.store.saveRefreshed(this.appId, row.authAppId, row.version, this.issued(el, this.now()));
    if (!saved) {
      // The row moved on (re-authorized or revoked meanwhile): never overwrite it; report what is stored.
      this.logger.warn(`Refreshed ${row.authAppId} but the row changed meanwhile; kept the stored state`);
      await this.store.releaseLease(this.appId, row.authAppId, owner);
      const current = await this.store.find(this.appId, row.authAppId);
      if (!current || current.status !== 'active') throw new AlipayAuthorizationRequiredError(row.authAppId, `authorization is ${current?.status ?? 'gone'}`);
      this.remember(current);
      return current;
    }
    this.remember(saved);
    this.events.emit(AlipayAuthEvent.Refreshed, { authorization: toAuthorizationInfo(saved) });
    return saved;
  }

  private async onRefreshError(row: AlipayAuthorization, owner: string, e: unknown): Promise<void> {
    const code = errorCode(e);
    const traceId = e instanceof AlipayApiError || e instanceof AlipaySignatureError ? e.traceId : undefined;
    if (e instanceof AlipayApiError && DEAD_REFRESH_TOKEN_CODES.has(e.code)) {
      const updated = await this.store.setStatus(this.appId, row.authAppId, 'reauthorization_required', `Alipay refused the refresh token (${e.code})`);
      await this.store.recordFailure(this.appId, row.authAppId, { errorCode: code, nextAttemptAt: null, owner });
      this.invalidate(row.authAppId);
      this.logger.warn(`Merchant app ${row.authAppId} must authorize again: ${e.code} (traceId ${traceId ?? '-'})`);
      if (updated) this.events.emit(AlipayAuthEvent.ReauthorizationRequired, { authorization: toAuthorizationInfo(updated), errorCode: code, traceId });
      return;
    }
    const nextAttemptAt = new Date(this.now() + backoffDelay(row.failureCount + 1, this.config.refresh));
    await this.store.recordFailure(this.appId, row.authAppId, { errorCode: code, nextAttemptAt, owner });
    this.logger.warn(`Refresh of ${row.authAppId} failed: ${code} (traceId ${traceId ?? '-'}); next attempt at ${nextAttemptAt.toISOString()}`);
    this.events.emit(AlipayAuthEvent.RefreshFailed, {
      authorization: toAuthorizationInfo({ ...row, failureCount: row.failureCount + 1, lastErrorCode: code, nextAttemptAt }),
      errorCode: code,
      traceId,
    });
  }

  private elements(res: AlipayTokenAppResponse | undefined): AlipayTokenAppElement[] {
    const list = Array.isArray(res?.tokens) && res.tokens.length > 0 ? res.tokens : res?.app_auth_token ? [res as AlipayTokenAppElement] : [];
    const valid = list.filter((e) => typeof e?.app_auth_token === 'string' && typeof e.app_refresh_token === 'string' && typeof e.auth_app_id === 'string' && AUTH_APP_ID_PATTERN.test(e.auth_app_id));
    if (valid.length === 0 || valid.length !== list.length) {
      throw new AlipayApiError({ status: 200, code: 'invalid-token-response', message: 'Alipay token response lacks app_auth_token, app_refresh_token or auth_app_id' });
    }
    return valid;
  }

  private issued(el: AlipayTokenAppElement, issuedAt: number): AlipayIssuedTokens {
    const expiresIn = parseSeconds(el.expires_in);
    const reExpiresIn = parseSeconds(el.re_expires_in);
    return {
      appAuthToken: el.app_auth_token,
      appRefreshToken: el.app_refresh_token,
      expiresAt: expiresIn === null ? null : new Date(issuedAt + expiresIn * 1000),
      refreshExpiresAt: reExpiresIn === null ? null : new Date(issuedAt + reExpiresIn * 1000),
      issuedAt: new Date(issuedAt),
    };
  }

  private remember(row: AlipayAuthorization): void {
    if (this.config.cacheTtlMs <= 0 || row.status !== 'active') return;
    this.cache.delete(row.authAppId);
    if (this.cache.size >= AlipayTokenService.CACHE_MAX) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(row.authAppId, { row, until: this.now() + this.config.cacheTtlMs });
  }

  private hold(row: AlipayAuthorization, until: number): void {
    if (this.config.cacheTtlMs <= 0) return;
    this.cache.set(row.authAppId, { row, until: Math.min(until, this.now() + this.config.cacheTtlMs), holdWhileDue: true });
  }

  private checkAuthAppId(authAppId: string): void {
    if (typeof authAppId !== 'string' || !AUTH_APP_ID_PATTERN.test(authAppId)) {
      throw new AlipayAuthError('"authAppId" must be 1-32 letters or digits');
    }
  }
}

function errorCode(e: unknown): string {
  if (e instanceof AlipayApiError || e instanceof AlipaySignatureError) return e.code;
  if (e instanceof AlipayAuthError && 'kind' in e) return `network-${String((e as { kind: string }).kind)}`;
  return e instanceof Error ? e.name : 'unknown';
}
