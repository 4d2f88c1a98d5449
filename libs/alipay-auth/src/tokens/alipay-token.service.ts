import { Inject, Injectable, Logger, OnModuleInit, Optional } from '@nestjs/common';
import { AlipayAuthTelemetry } from '../telemetry/alipay-auth.telemetry';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayOpenApiClient } from '../client/alipay-openapi.client';
import { AlipayAuthError, AlipayInvalidInputError } from '../errors/alipay-auth.errors';
import {
  AlipayAuthorization,
  AlipayAuthorizationCounts,
  AlipayAuthorizationFilter,
  AlipayPage,
  AlipayPageResult,
  AlipayTokenStore,
} from '../storage/alipay-token-store';
import { AlipayAuthEvent, AlipayAuthEventPublisher } from './alipay-auth.events';
import {
  AlipayAuthorizationInfo,
  AlipayAuthorizationListItem,
  AlipayTokenAppResponse,
  toAuthorizationInfo,
  toAuthorizationListItem,
} from './alipay-token.types';
import { AlipayNotificationHandler, AlipayNotificationResult } from './alipay-notification.handler';
import { rememberStoredPair, replaceAuthorization, WRITE_ATTEMPTS } from './authorization-writes';
import { AlipayRefreshCoordinator, AlipayStatusCheck } from './refresh-coordinator';
import { AlipayTokenCache } from './token-cache';
import { ALIPAY_AUTH_APP_ID_PATTERN, issuedTokens, TOKEN_APP_PATH, tokenElements } from './token-refresher';

export { TOKEN_APP_PATH } from './token-refresher';
export { TOKEN_QUERY_PATH } from './token-recovery';
export { CANCELLED_MSG_METHOD } from './alipay-notification.handler';

/** An authorization code (`app_auth_code`) as `exchangeCode` accepts it: 8-128 letters, digits, `_` or `-`. */
export const ALIPAY_AUTH_CODE_PATTERN = /^[A-Za-z0-9_-]{8,128}$/;

/**
 * The token lifecycle: code exchange, a valid token on demand, refresh, revocation, cancellation.
 * The database row is the source of truth; `AlipayTokenCache` only spares reads. Who refreshes and when
 * (single flight, the row's lease, settling the outcome) is `AlipayRefreshCoordinator`'s; the refresh calls
 * themselves live in `AlipayTokenRefresher`, verification and repair in `AlipayTokenRecovery`.
 */
@Injectable()
export class AlipayTokenService implements OnModuleInit {
  private readonly logger = new Logger(AlipayTokenService.name);

  constructor(
    private readonly client: AlipayOpenApiClient,
    @Inject(AlipayTokenStore) private readonly store: AlipayTokenStore,
    @Inject(ALIPAY_AUTH_CONFIG) private readonly config: ResolvedAlipayAuthConfig,
    private readonly events: AlipayAuthEventPublisher,
    private readonly cache: AlipayTokenCache,
    private readonly coordinator: AlipayRefreshCoordinator,
    private readonly notifications: AlipayNotificationHandler,
    @Optional() private readonly telemetry?: AlipayAuthTelemetry,
  ) {}

  onModuleInit(): void {
    this.client.useAppAuthTokenResolver((authAppId, refusedToken) =>
      refusedToken === undefined ? this.getAppAuthToken(authAppId) : this.onTokenRefused(authAppId, refusedToken),
    );
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
    if (typeof appAuthCode !== 'string' || !ALIPAY_AUTH_CODE_PATTERN.test(appAuthCode)) {
      throw new AlipayInvalidInputError('appAuthCode', '"appAuthCode" must be 8-128 characters of [A-Za-z0-9_-]');
    }
    // Never retried after sending: a code is single-use.
    const res = await this.client.request<AlipayTokenAppResponse>({
      method: 'POST',
      path: TOKEN_APP_PATH,
      body: { grant_type: 'authorization_code', code: appAuthCode },
      idempotent: false,
    });
    const issuedAt = this.now();
    const elements = tokenElements(res);
    const saved: AlipayAuthorizationInfo[] = [];
    for (const el of elements) {
      // The newest fact there is (Alipay issued this pair just now): it replaces whatever the row holds,
      // by a compare-and-set on the row as read, so a refresh in flight learns it lost.
      const row = await replaceAuthorization(this.store, this.appId, el.auth_app_id, () => ({
        userId: el.user_id ?? null,
        tokens: issuedTokens(el, issuedAt),
        authorizedAt: new Date(issuedAt),
      }));
      // A late or replayed notification of this same pair must not bring it back after a refresh.
      await rememberStoredPair(this.store, row, issuedAt);
      this.cache.remember(row);
      const info = toAuthorizationInfo(row);
      this.logger.log(`Authorized merchant app ${row.authAppId} (user ${row.userId ?? 'unknown'})`);
      this.events.emit(AlipayAuthEvent.Authorized, { authorization: info });
      this.telemetry?.count('exchanges', { authAppId: row.authAppId });
      saved.push(info);
    }
    return saved;
  }

  /**
   * A valid `app_auth_token` for the merchant app, refreshed first when it is due. Never waits for another
   * instance while the stored token is within its validity: a due token is refreshed here only if this
   * instance gets the lease, otherwise the current one is served. Only an expired token makes the caller
   * wait for a refresh, at most twice the longest Alipay call (`timeoutMs × (retries + 1)` plus back-off).
   */
  async getAppAuthToken(authAppId: string): Promise<string> {
    this.checkAuthAppId(authAppId);
    const now = this.now();
    return this.cache.get(authAppId, now) ?? this.coordinator.appAuthToken(authAppId, now);
  }

  /**
   * Alipay refused `refusedToken` on a merchant call (`invalid-app-auth-token`, `app-auth-token-time-out`).
   * If the row has moved on, the stored token is returned; otherwise the query API confirms and the stored
   * refresh token repairs the pair. Installed as the OpenAPI client's reload hook.
   */
  async onTokenRefused(authAppId: string, refusedToken: string): Promise<string> {
    this.checkAuthAppId(authAppId);
    return this.coordinator.onTokenRefused(authAppId, refusedToken);
  }

  /** Refreshes now (operators' "refresh now", or a caller that knows the token is bad). */
  async refresh(authAppId: string): Promise<AlipayAuthorizationInfo> {
    this.checkAuthAppId(authAppId);
    return toAuthorizationInfo(await this.coordinator.refreshNow(authAppId));
  }

  /** Forgets the cached token so the next call reads the database. */
  invalidate(authAppId: string): void {
    this.cache.invalidate(authAppId);
  }

  async get(authAppId: string): Promise<AlipayAuthorizationInfo | null> {
    this.checkAuthAppId(authAppId);
    const row = await this.store.find(this.appId, authAppId);
    return row ? toAuthorizationInfo(row) : null;
  }

  /**
   * A page of authorizations, without tokens (nothing is decrypted; `get` shows the masked token). Rows
   * under a key id that is not configured are listed with `unreadable` set; they never fail the page.
   */
  async list(filter?: AlipayAuthorizationFilter, page?: AlipayPage): Promise<AlipayPageResult<AlipayAuthorizationListItem>> {
    const res = await this.store.list(this.appId, filter, page);
    return { total: res.total, items: res.items.map(toAuthorizationListItem) };
  }

  /** Authorizations by status, plus failing, verifying and unreadable rows: for health checks and dashboards. */
  stats(): Promise<AlipayAuthorizationCounts> {
    return this.store.countByStatus(this.appId);
  }

  /** Stops serving the merchant (kept, with status `revoked`). */
  async revoke(authAppId: string, reason = 'revoked by the ISV'): Promise<AlipayAuthorizationInfo | null> {
    this.checkAuthAppId(authAppId);
    let row: AlipayAuthorization | null = null;
    for (let attempt = 0; !row && attempt < WRITE_ATTEMPTS; attempt++) {
      const current = await this.store.find(this.appId, authAppId);
      if (!current) break;
      row = await this.store.setStatus(this.appId, authAppId, current.version, 'revoked', reason);
    }
    this.invalidate(authAppId);
    if (!row) {
      if (await this.store.find(this.appId, authAppId))
        throw new AlipayAuthError(`Could not revoke merchant app ${authAppId}: concurrent writes kept changing its row`);
      return null;
    }
    const info = toAuthorizationInfo(row);
    this.logger.log(`Revoked merchant app ${authAppId}`);
    this.events.emit(AlipayAuthEvent.Revoked, { authorization: info });
    return info;
  }

  /**
   * Handles an Alipay notification (form parameters as received): verifies Alipay's signature, then records
   * a cancellation (`alipay.open.auth.appauth.cancelled`) or a new authorization (`open_app_auth_notify`),
   * idempotently. Answer Alipay with the text `success` when this resolves, so it stops re-sending.
   */
  handleNotification(params: Record<string, string | undefined>): Promise<AlipayNotificationResult> {
    return this.notifications.handle(params).then((r) => {
      if (r.authAppId) this.invalidate(r.authAppId);
      return r;
    });
  }

  /**
   * Asks Alipay (token query API) whether the stored token is still accepted. A refused token is repaired
   * with the stored refresh token; the merchant is marked `cancelled` only if that is refused as well.
   */
  async checkStatus(authAppId: string): Promise<AlipayStatusCheck> {
    this.checkAuthAppId(authAppId);
    return this.coordinator.checkStatus(authAppId);
  }

  private checkAuthAppId(authAppId: string): void {
    if (typeof authAppId !== 'string' || !ALIPAY_AUTH_APP_ID_PATTERN.test(authAppId)) {
      throw new AlipayInvalidInputError('authAppId', '"authAppId" must be 1-32 letters or digits');
    }
  }
}
