import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { AlipayAuthTelemetry } from '../telemetry/alipay-auth.telemetry';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayOpenApiClient } from '../client/alipay-openapi.client';
import { AlipayApiError, AlipaySignatureError } from '../errors/alipay-auth.errors';
import { AlipayCallGate, AlipayCallNotSent } from '../client/call-gate';
import { AlipayAuthorization, AlipayIssuedTokens, AlipayTokenStore } from '../storage/alipay-token-store';
import { AlipayAuthEvent, AlipayAuthEventPublisher } from './alipay-auth.events';
import { AlipayTokenAppElement, AlipayTokenAppResponse, parseSeconds, toAuthorizationInfo } from './alipay-token.types';
import { AlipayConfigurationCircuit } from './configuration-circuit';
import { backoffDelay, classifyRefreshFailure, failureCode, maxCallMs, verifyDelay } from './refresh-policy';

export { TOKEN_PATH as TOKEN_APP_PATH } from '../signer/alipay-gateway-paths';
import { TOKEN_PATH as TOKEN_APP_PATH } from '../signer/alipay-gateway-paths';
/** A merchant's authorized app id (`auth_app_id`) as the library accepts it: 1-32 letters or digits. */
export const ALIPAY_AUTH_APP_ID_PATTERN = /^[0-9A-Za-z]{1,32}$/;
/** Recorded on a row whose refresh raced another writer: its stored pair is verified. */
export const REFRESH_RACED = 'refresh-raced';

/** What one refresh call did to the row. */
export type AlipayRefreshOutcome =
  /** A new pair is stored. */
  | 'refreshed'
  /** The row changed meanwhile (re-authorized, revoked, refreshed elsewhere); it was left as it is. */
  | 'moved-on'
  /** Refused before anything rotated (not sent, rate-limited); retried after the back-off. */
  | 'failed'
  /** Never sent: the scheduled run stopped while the call waited for its turn; the row is released untouched. */
  | 'not-sent'
  /** Alipay may have rotated the pair and the answer is lost; the row is verified after the back-off. */
  | 'ambiguous'
  | 'reauthorization_required'
  | 'cancelled'
  /** Our configuration is wrong; the row is untouched and the configuration circuit is open. */
  | 'configuration_error';

export interface AlipayRefreshCallOptions {
  /** Alipay already said the stored token is invalid (a refused refresh token then means a cancellation). */
  tokenRefused?: boolean;
  /** Runs the Alipay call (the scheduler's concurrency and rate limit); default: at once. */
  gate?: AlipayCallGate;
}

export interface AlipayRefreshResult {
  outcome: AlipayRefreshOutcome;
  /** The row as stored afterwards, when known. */
  row: AlipayAuthorization | null;
  error?: unknown;
}

/**
 * One refresh call with the stored refresh token, for a row the caller has leased, and what its outcome
 * means for the row. The request is never resent once it may have reached Alipay: a resend races its own
 * late original, and whichever lands last leaves the other's pair dead. An unknown outcome is recorded
 * instead, and the pair is verified (refreshed again with the stored refresh token, which Alipay keeps
 * accepting after a rotation) once a late original can no longer land.
 */
@Injectable()
export class AlipayTokenRefresher {
  private readonly logger = new Logger(AlipayTokenRefresher.name);

  constructor(
    private readonly client: AlipayOpenApiClient,
    @Inject(AlipayTokenStore) private readonly store: AlipayTokenStore,
    @Inject(ALIPAY_AUTH_CONFIG) private readonly config: ResolvedAlipayAuthConfig,
    private readonly events: AlipayAuthEventPublisher,
    private readonly circuit: AlipayConfigurationCircuit,
    @Optional() private readonly telemetry?: AlipayAuthTelemetry,
  ) {}

  /**
   * `tokenRefused`: Alipay already said the stored token is invalid (status check, merchant call); a
   * refused refresh token then means the merchant cancelled, otherwise that it must authorize again.
   */
  async refresh(leased: AlipayAuthorization, owner: string, opts: AlipayRefreshCallOptions = {}): Promise<AlipayRefreshResult> {
    const row = await this.afterLostCall(leased, owner);
    if (!row) return { outcome: 'not-sent', row: await this.store.find(this.config.appId, leased.authAppId) };
    let res: AlipayTokenAppResponse;
    const gate = opts.gate ?? ((call) => call());
    let ticket = 0;
    try {
      res = await gate(() => {
        ticket = this.circuit.ticket();
        return this.client.request<AlipayTokenAppResponse>({
          method: 'POST',
          path: TOKEN_APP_PATH,
          body: { grant_type: 'refresh_token', refresh_token: row.appRefreshToken },
          idempotent: false,
          telemetry: { authAppId: row.authAppId },
        });
      });
    } catch (e) {
      return this.failed(row, owner, e, opts);
    }
    this.circuit.succeeded(ticket);
    let saved: AlipayAuthorization | null;
    try {
      const list = tokenElements(res);
      const el = list.find((x) => x.auth_app_id === row.authAppId) ?? list[0];
      saved = await this.store.saveRefreshed(this.config.appId, row.authAppId, row.version, issuedTokens(el, this.config.clock()));
    } catch (e) {
      // Alipay rotated the pair but it is not stored: the stored refresh token is what recovers it.
      return this.failed(row, owner, e, opts);
    }
    if (!saved) return this.raced(row, owner, 0);
    const recovered = row.verifyAt !== null || opts.tokenRefused === true;
    this.telemetry?.count('refreshes', { outcome: 'refreshed' });
    if (recovered) this.telemetry?.count('recoveries', { authAppId: row.authAppId });
    this.logger.log(`${recovered ? 'Recovered' : 'Refreshed'} merchant app ${row.authAppId}`);
    this.events.emit(recovered ? AlipayAuthEvent.Recovered : AlipayAuthEvent.Refreshed, { authorization: toAuthorizationInfo(saved) });
    return { outcome: 'refreshed', row: saved };
  }

  private async failed(row: AlipayAuthorization, owner: string, e: unknown, opts: AlipayRefreshCallOptions): Promise<AlipayRefreshResult> {
    const { appId } = this.config;
    if (!(e instanceof AlipayCallNotSent)) {
      this.telemetry?.count('refreshes', { outcome: classifyRefreshFailure(e) });
      this.telemetry?.count('failures', { operation: 'refresh', code: failureCode(e) });
    }
    if (e instanceof AlipayCallNotSent) {
      await this.store.releaseLease(appId, row.authAppId, owner);
      return { outcome: 'not-sent', row };
    }
    const code = failureCode(e);
    const traceId = e instanceof AlipayApiError || e instanceof AlipaySignatureError ? e.traceId : undefined;
    const kind = classifyRefreshFailure(e);
    if (kind === 'configuration') {
      this.circuit.open(e as AlipayApiError, row.authAppId);
      await this.store.releaseLease(appId, row.authAppId, owner);
      return { outcome: 'configuration_error', row, error: e };
    }
    if (kind === 'foreign-credential' && this.circuit.foreignCredential(e as AlipayApiError, row.authAppId)) {
      // Several rows at once: it is our app id, not their data.
      await this.store.releaseLease(appId, row.authAppId, owner);
      return { outcome: 'configuration_error', row, error: e };
    }
    if (kind === 'dead-refresh-token') {
      const status = opts.tokenRefused ? 'cancelled' : 'reauthorization_required';
      const reason = opts.tokenRefused ? `token invalid and refresh token refused (${code})` : `Alipay refused the refresh token (${code})`;
      // Both writes are decided on the pair this refresh was sent with: a re-authorization stored
      // meanwhile retired that pair, and its own must stand.
      const recorded = await this.store.recordFailure(appId, row.authAppId, row.version, { errorCode: code, nextAttemptAt: null, owner });
      const updated = recorded ? await this.store.setStatus(appId, row.authAppId, row.version, status, reason) : null;
      if (!updated)
        return this.movedOn(
          row,
          owner,
          `Alipay refused the refresh token of ${row.authAppId} (${code}), but the row changed meanwhile (authorized again?); kept the stored state`,
        );
      this.logger.warn(`Merchant app ${row.authAppId} must authorize again: ${code} (traceId ${traceId ?? '-'})`);
      const event = status === 'cancelled' ? AlipayAuthEvent.Cancelled : AlipayAuthEvent.ReauthorizationRequired;
      this.events.emit(event, { authorization: toAuthorizationInfo(updated), errorCode: code, traceId });
      return { outcome: status, row: updated, error: e };
    }
    if (e instanceof AlipaySignatureError) this.circuit.signatureFailed(e, row.authAppId);
    const ambiguous = kind === 'ambiguous';
    const failureCount = row.failureCount + 1;
    const nextAttemptAt = new Date(
      this.config.clock() + (ambiguous ? verifyDelay(failureCount, this.config) : backoffDelay(failureCount, this.config.refresh)),
    );
    if (!(await this.store.recordFailure(appId, row.authAppId, row.version, { errorCode: code, nextAttemptAt, owner, verify: ambiguous }))) {
      if (!ambiguous) return this.movedOn(row, owner, `Refresh of ${row.authAppId} failed (${code}), but the row changed meanwhile; kept the stored state`);
      // The row moved on while Alipay may still rotate a pair with our refresh token: whatever is stored
      // now may become the superseded one, once the lost request can no longer land.
      return this.raced(row, owner, nextAttemptAt.getTime() - this.config.clock());
    }
    const why =
      kind === 'foreign-credential'
        ? 'its stored credential belongs to another ISV app; next attempt'
        : ambiguous
          ? 'outcome unknown, the pair is verified'
          : 'next attempt';
    this.logger.warn(`Refresh of ${row.authAppId} failed: ${code} (traceId ${traceId ?? '-'}); ${why} at ${nextAttemptAt.toISOString()}`);
    const after = { ...row, failureCount, lastErrorCode: code, nextAttemptAt, verifyAt: ambiguous ? nextAttemptAt : row.verifyAt };
    this.events.emit(AlipayAuthEvent.RefreshFailed, { authorization: toAuthorizationInfo(after), errorCode: code, traceId });
    return { outcome: ambiguous ? 'ambiguous' : 'failed', row: after, error: e };
  }

  /**
   * A row in doubt after a refresh whose answer was lost: that request may still land at Alipay until the
   * longest call has run out, counted from when its failure was written (`updatedAt`, the module clock,
   * which is the database's). Any refresh before then, by whichever path (a refused merchant call, a status
   * check, a verification), would race it, and whichever landed last would leave the other's pair dead:
   * it waits, then renews its lease. Null when the lease or the row moved on meanwhile (the lease is left).
   */
  private async afterLostCall(row: AlipayAuthorization, owner: string): Promise<AlipayAuthorization | null> {
    if (row.verifyAt === null) return row;
    const wait = row.updatedAt.getTime() + maxCallMs(this.config) - this.config.clock();
    if (wait <= 0) return row;
    this.logger.log(`Refresh of ${row.authAppId} waits ${wait} ms: the previous one, whose answer was lost, could still land at Alipay`);
    await new Promise((r) => setTimeout(r, wait));
    const renewed = await this.store.tryLease(this.config.appId, row.authAppId, { owner, ms: this.config.refresh.leaseMs });
    if (renewed && renewed.version === row.version && renewed.status === 'active') return renewed;
    if (renewed) await this.store.releaseLease(this.config.appId, row.authAppId, owner);
    return null;
  }

  /** A write that lost its compare-and-set: the row's current state stands; the lease is released. */
  private async movedOn(row: AlipayAuthorization, owner: string, message: string): Promise<AlipayRefreshResult> {
    this.logger.warn(message);
    await this.store.releaseLease(this.config.appId, row.authAppId, owner);
    return { outcome: 'moved-on', row: await this.store.find(this.config.appId, row.authAppId) };
  }

  /**
   * Alipay answered (or may have answered) a refresh of `row`'s pair, but the row moved on meanwhile (a
   * re-authorization, a notification). Which pair Alipay holds now is unknown: the refresh token of a
   * re-authorized grant may have rotated the new grant's pair. The stored pair is put in doubt, to be
   * verified (refreshed with its own refresh token) after `delayMs`; a write of the current row only.
   */
  private async raced(row: AlipayAuthorization, owner: string, delayMs: number): Promise<AlipayRefreshResult> {
    const { appId } = this.config;
    await this.store.releaseLease(appId, row.authAppId, owner);
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await this.store.find(appId, row.authAppId);
      if (!current || current.status !== 'active' || current.unreadable) return { outcome: 'moved-on', row: current };
      const verify = { errorCode: REFRESH_RACED, nextAttemptAt: new Date(this.config.clock() + Math.max(0, delayMs)), verify: true };
      if (await this.store.recordFailure(appId, row.authAppId, current.version, verify)) {
        this.logger.warn(`A refresh of ${row.authAppId} raced another write of its row (authorized again?); the stored pair is verified at the next run`);
        return {
          outcome: 'moved-on',
          row: {
            ...current,
            failureCount: current.failureCount + 1,
            lastErrorCode: REFRESH_RACED,
            nextAttemptAt: verify.nextAttemptAt,
            verifyAt: verify.nextAttemptAt,
          },
        };
      }
    }
    return { outcome: 'moved-on', row: await this.store.find(appId, row.authAppId) };
  }
}

/** The token elements of an exchange or refresh answer (`tokens[]`, or the top-level fields). */
export function tokenElements(res: AlipayTokenAppResponse | undefined): AlipayTokenAppElement[] {
  const list = Array.isArray(res?.tokens) && res.tokens.length > 0 ? res.tokens : res?.app_auth_token ? [res as AlipayTokenAppElement] : [];
  const valid = list.filter(
    (e) =>
      typeof e?.app_auth_token === 'string' &&
      typeof e.app_refresh_token === 'string' &&
      typeof e.auth_app_id === 'string' &&
      ALIPAY_AUTH_APP_ID_PATTERN.test(e.auth_app_id),
  );
  if (valid.length === 0 || valid.length !== list.length) {
    throw new AlipayApiError({
      status: 200,
      code: 'invalid-token-response',
      message: 'Alipay token response lacks app_auth_token, app_refresh_token or auth_app_id',
    });
  }
  return valid;
}

export function issuedTokens(el: AlipayTokenAppElement, issuedAt: number): AlipayIssuedTokens {
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
