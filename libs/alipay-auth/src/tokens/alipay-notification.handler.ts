import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { AlipayAuthTelemetry } from '../telemetry/alipay-auth.telemetry';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayAuthError, AlipaySignatureError } from '../errors/alipay-auth.errors';
import { AlipaySigner } from '../signer/alipay-signer';
import { AlipayAuthorization, AlipayTokenStore } from '../storage/alipay-token-store';
import { AlipayAuthEvent, AlipayAuthEventPublisher } from './alipay-auth.events';
import { AlipayAuthorizationInfo, toAuthorizationInfo } from './alipay-token.types';
import { ALIPAY_AUTH_APP_ID_PATTERN, issuedTokens } from './token-refresher';
import { rememberStoredPair, wasPairStored, WRITE_ATTEMPTS } from './authorization-writes';

export const CANCELLED_MSG_METHOD = 'alipay.open.auth.appauth.cancelled';
export const AUTHORIZED_NOTIFY_TYPE = 'open_app_auth_notify';
/** How long a handled `notify_id` is remembered: longer than Alipay's resend schedule (about 25 h) by far. */
const NOTIFY_ID_RETENTION_MS = 30 * 24 * 3600_000;
const NOTIFY_ID_PATTERN = /^[0-9A-Za-z_-]{1,64}$/;
/** An authorization notification this close to (and not after) the stored one may be a clock disagreement: Alipay is asked. */
const DOUBT_MS = 10 * 60_000;

export interface AlipayNotificationResult {
  /** False for a message that is not for this library (another method, another app): answer `success` all the same. */
  handled: boolean;
  authAppId?: string;
  /**
   * `cancelled`, `authorized`; `duplicate` (this notify_id was handled before); `stale` (it predates the
   * merchant's current authorization, so it changes nothing); `status-check-requested` (the merchant could
   * not be identified for sure: its authorizations are checked with Alipay at the next run); `ignored`.
   */
  action: 'cancelled' | 'authorized' | 'duplicate' | 'stale' | 'status-check-requested' | 'ignored';
  authorization?: AlipayAuthorizationInfo;
}

type Fields = Record<string, unknown>;

/**
 * Alipay's asynchronous messages about authorizations, verified and idempotent: a `notify_id` handled
 * once (on any instance) is acknowledged and ignored, and a cancellation older than the merchant's current
 * authorization never touches it. The cancellation's `biz_content` is not published, so the merchant is
 * looked for wherever it may be (`detail`, the top level, `msg_app_id`, the token it carries); when it
 * still cannot be identified the message is acknowledged and the status check settles it.
 */
@Injectable()
export class AlipayNotificationHandler {
  private readonly logger = new Logger(AlipayNotificationHandler.name);

  constructor(
    private readonly signer: AlipaySigner,
    @Inject(AlipayTokenStore) private readonly store: AlipayTokenStore,
    @Inject(ALIPAY_AUTH_CONFIG) private readonly config: ResolvedAlipayAuthConfig,
    private readonly events: AlipayAuthEventPublisher,
    @Optional() private readonly telemetry?: AlipayAuthTelemetry,
  ) {}

  /** Throws `AlipaySignatureError` when the signature does not verify (answer anything but `success`). */
  async handle(params: Record<string, string | undefined>): Promise<AlipayNotificationResult> {
    if (!params || typeof params !== 'object' || !(await this.signer.verifyNotification(params))) {
      throw new AlipaySignatureError('response-signature-verify-error', 'Alipay notification signature does not verify');
    }
    const biz = parseObject(params.biz_content);
    const detail = isObject(biz.detail) ? biz.detail : {};
    // Whoever the message says it is for, wherever it says it: never act on another ISV app's message.
    const receivers = [params.app_id, text(detail.app_id)].filter((v): v is string => !!v);
    if (receivers.some((v) => v !== this.config.appId)) {
      this.logger.log(
        `Ignored a notification for app ${escapeLogValue(receivers.find((v) => v !== this.config.appId))} (notify_id ${escapeLogValue(params.notify_id)})`,
      );
      return { handled: false, action: 'ignored' };
    }
    const isCancel = params.msg_method === CANCELLED_MSG_METHOD;
    const isAuthorize = params.notify_type === AUTHORIZED_NOTIFY_TYPE;
    if (!isCancel && !isAuthorize) return { handled: false, action: 'ignored' };

    const notifyId = params.notify_id && NOTIFY_ID_PATTERN.test(params.notify_id) ? params.notify_id : undefined;
    if (notifyId && (await this.store.isNotificationHandled(this.config.appId, notifyId))) {
      this.logger.log(`Notification ${notifyId} was handled before; acknowledged again`);
      return { handled: true, action: 'duplicate' };
    }
    const result = isCancel ? await this.cancelled(params, biz, detail) : await this.authorized(params, detail);
    this.telemetry?.count('notifications', { action: result.action });
    // Remembered after it took effect: a failure above makes Alipay resend, and the resend is handled then.
    if (notifyId) await this.store.markNotificationHandled(this.config.appId, notifyId, new Date(this.config.clock() + NOTIFY_ID_RETENTION_MS));
    return result;
  }

  private async cancelled(params: Record<string, string | undefined>, biz: Fields, detail: Fields): Promise<AlipayNotificationResult> {
    const { appId } = this.config;
    const ids = [text(detail.auth_app_id), text(biz.auth_app_id), params.auth_app_id, params.msg_app_id].filter(
      (v): v is string => !!v && ALIPAY_AUTH_APP_ID_PATTERN.test(v),
    );
    const token = text(detail.app_auth_token) ?? text(biz.app_auth_token);
    let row: AlipayAuthorization | null = null;
    for (const id of new Set(ids)) if (!row) row = await this.store.find(appId, id);
    if (!row && token) row = await this.store.findByToken(appId, token);
    if (!row) {
      const userId = text(detail.user_id) ?? text(biz.user_id) ?? params.msg_uid;
      const asked = userId && /^[0-9A-Za-z]{1,32}$/.test(userId) ? await this.store.requestStatusCheck(appId, { userId }) : 0;
      this.logger.warn(
        `Cancellation notification names no stored merchant (notify_id ${escapeLogValue(params.notify_id)}, msg_app_id ${escapeLogValue(params.msg_app_id)}, msg_uid ${escapeLogValue(params.msg_uid)}, utc_timestamp ${escapeLogValue(params.utc_timestamp)}); acknowledged, ${asked} authorization(s) of that user checked at the next run`,
      );
      return { handled: true, action: 'status-check-requested' };
    }
    for (let attempt = 0; row && attempt < WRITE_ATTEMPTS; attempt++) {
      // A message naming the current token is about the current authorization, whatever the clocks say.
      // Otherwise one naming another token, or older than the current authorization, is most likely about
      // a previous one (a resend, a replay); in doubt Alipay is asked, at the next status check.
      const readable = !row.unreadable;
      const namesCurrent = token !== undefined && readable && token === row.appAuthToken;
      const at = instant(detail.auth_time) ?? instant(biz.auth_time) ?? instant(params.utc_timestamp);
      const namesOther = token !== undefined && readable && token !== row.appAuthToken;
      if (!namesCurrent && (namesOther || (at !== null && at < row.authorizedAt.getTime()))) {
        await this.store.requestStatusCheck(appId, { authAppId: row.authAppId });
        this.logger.log(
          `Cancellation of merchant app ${row.authAppId} may predate its current authorization; its status is checked with Alipay at the next run (notify_id ${escapeLogValue(params.notify_id)})`,
        );
        return { handled: true, authAppId: row.authAppId, action: 'stale', authorization: toAuthorizationInfo(row) };
      }
      if (row.status === 'cancelled') return { handled: true, authAppId: row.authAppId, action: 'duplicate', authorization: toAuthorizationInfo(row) };
      const updated = await this.store.setStatus(appId, row.authAppId, row.version, 'cancelled', 'cancelled by the merchant (notification)');
      if (updated) {
        this.logger.log(`Merchant app ${row.authAppId} cancelled its authorization`);
        this.events.emit(AlipayAuthEvent.Cancelled, { authorization: toAuthorizationInfo(updated) });
        return { handled: true, authAppId: row.authAppId, action: 'cancelled', authorization: toAuthorizationInfo(updated) };
      }
      // The row moved on while this was decided (authorized again, refreshed): decide again on what it holds now.
      row = await this.store.find(appId, row.authAppId);
    }
    // Throwing makes Alipay resend, and the resend is decided on the row as it will be then.
    if (row) throw new AlipayAuthError(`Cancellation of merchant app ${row.authAppId}: its row kept changing while it was handled`);
    return { handled: true, action: 'status-check-requested' };
  }

  /** `open_app_auth_notify` (service market, plugin and agent flows): a new authorization with its full token pair. */
  private async authorized(params: Record<string, string | undefined>, detail: Fields): Promise<AlipayNotificationResult> {
    if (params.status && params.status !== 'execute_auth') return { handled: false, action: 'ignored' };
    const authAppId = text(detail.auth_app_id);
    const appAuthToken = text(detail.app_auth_token);
    const appRefreshToken = text(detail.app_refresh_token);
    if (!authAppId || !ALIPAY_AUTH_APP_ID_PATTERN.test(authAppId) || !appAuthToken || !appRefreshToken) {
      throw new AlipayAuthError('Authorization notification lacks auth_app_id, app_auth_token or app_refresh_token in biz_content.detail');
    }
    const authTime = instant(detail.auth_time);
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const existing = await this.store.find(this.config.appId, authAppId);
      // Judged by content, not by notify_id alone: a pair stored once (by this message's first delivery,
      // or by the code exchange of the same authorization) is never stored again.
      if (
        (existing && !existing.unreadable && existing.appAuthToken === appAuthToken) ||
        (await wasPairStored(this.store, this.config.appId, authAppId, appAuthToken))
      ) {
        return { handled: true, authAppId, action: 'duplicate', authorization: existing ? toAuthorizationInfo(existing) : undefined };
      }
      if (existing && (authTime === null || authTime <= existing.authorizedAt.getTime())) {
        // Not newer than what is stored, or of unknown age: never replaces it. Close calls may be clocks
        // disagreeing (Alipay's auth_time against an exchange's instant): Alipay settles them.
        if (authTime === null || existing.authorizedAt.getTime() - authTime < DOUBT_MS) await this.store.requestStatusCheck(this.config.appId, { authAppId });
        return { handled: true, authAppId, action: 'stale', authorization: toAuthorizationInfo(existing) };
      }
      const at = authTime ?? this.config.clock();
      const el = {
        app_auth_token: appAuthToken,
        app_refresh_token: appRefreshToken,
        auth_app_id: authAppId,
        expires_in: numeric(detail.expires_in),
        re_expires_in: numeric(detail.re_expires_in),
      };
      const row = await this.store.saveAuthorization({
        appId: this.config.appId,
        authAppId,
        userId: text(detail.user_id) ?? null,
        tokens: issuedTokens(el, at),
        authorizedAt: new Date(at),
        expectedVersion: existing?.version ?? null,
      });
      if (!row) continue; // another writer moved the row on: decide again on what it holds now
      await rememberStoredPair(this.store, row, this.config.clock());
      const info = toAuthorizationInfo(row);
      this.logger.log(`Authorized merchant app ${authAppId} (notification)`);
      this.events.emit(AlipayAuthEvent.Authorized, { authorization: info });
      return { handled: true, authAppId, action: 'authorized', authorization: info };
    }
    throw new AlipayAuthError(`Authorization notification of merchant app ${authAppId}: its row kept changing while it was handled`);
  }
}

function isObject(v: unknown): v is Fields {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function parseObject(json: string | undefined): Fields {
  try {
    const v: unknown = JSON.parse(json ?? '{}');
    return isObject(v) ? v : {};
  } catch {
    return {};
  }
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
}

function numeric(v: unknown): string | number | undefined {
  return typeof v === 'number' || typeof v === 'string' ? v : undefined;
}

/** Epoch ms from a number or a digit string (ms; seconds are scaled). */
function instant(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{9,14}$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n <= 0) return null;
  return n < 1e11 ? n * 1000 : n;
}

/** A value from an unauthenticated request, fit for one log line: quoted, control characters escaped, bounded. */
export function escapeLogValue(v: unknown): string {
  return v === undefined || v === null ? '-' : JSON.stringify(String(v).slice(0, 80));
}
