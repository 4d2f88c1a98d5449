import { buildNotifySignContent, rsaSign } from 'nestjs-alipay-auth/protocol';
import type { KeyObject } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { SimulatorInputError } from './errors';
import { formatAlipayTime, newNotifyId } from './ids';
import type { CodeRecord, Grant } from './state';
import type { NotificationRecord, NotifyResult } from './types';

/** Payments' documented schedule (8 attempts in about 25 h); the message service's own is UNCONFIRMED. */
export const DEFAULT_NOTIFY_RETRY_DELAYS_MS = [4, 10, 10, 60, 120, 360, 900].map((m) => m * 60_000);

export interface NotifySettings {
  /** Waits between attempts: after attempt n fails, attempt n+1 comes notifyRetryDelaysMs[n-1] later. */
  notifyRetryDelaysMs: number[];
  /** Multiplies every wait: 0.001 turns 4 minutes into 240 ms. */
  notifyTimeScale: number;
}

/** Signs like every Alipay asynchronous notification ("V1": sorted `k=v&…` without sign/sign_type and empty values, RSA2). */
function signed(params: Record<string, string>, alipayKey: KeyObject): Record<string, string> {
  return { ...params, sign: rsaSign(alipayKey, buildNotifySignContent(params)) };
}

/**
 * `alipay.open.auth.appauth.cancelled` in the message-service envelope (version 1.1, protocol doc §9.5).
 *
 * UNSURE: the message's biz_content is in no official source. The shape (notify_context.trigger +
 * detail{app_id, auth_app_id, user_id, app_auth_token, auth_time}) is modelled on the sibling
 * open_app_auth_notify. msg_type `sys`, msg_uid = the merchant's user id and msg_app_id = the merchant app
 * are guesses too; consumers should confirm with the token query API.
 */
export function cancelledNotification(grant: Grant, alipayKey: KeyObject, nowMs: number): Record<string, string> {
  return signed(
    {
      notify_id: newNotifyId(),
      utc_timestamp: String(nowMs),
      msg_method: 'alipay.open.auth.appauth.cancelled',
      app_id: grant.appId,
      msg_type: 'sys',
      msg_uid: grant.userId,
      msg_app_id: grant.authAppId,
      version: '1.1',
      charset: 'UTF-8',
      sign_type: 'RSA2',
      biz_content: JSON.stringify({
        notify_context: { trigger: 'merchant' },
        detail: { app_id: grant.appId, auth_app_id: grant.authAppId, user_id: grant.userId, app_auth_token: grant.token.token, auth_time: nowMs },
      }),
    },
    alipayKey,
  );
}

/**
 * The authorization notification of service-market, plugin and agent flows (protocol doc §9.5): the older
 * v1.0 form, `notify_type=open_app_auth_notify`, `status=execute_auth`, full tokens in biz_content.detail
 * with numeric durations. UNSURE: the trigger names and trigger_context; given by the caller.
 */
export function authorizedNotification(
  code: CodeRecord,
  grant: Grant,
  o: { alipayKey: KeyObject; nowMs: number; tokenTtlSec: number; refreshTtlSec: number; trigger: string; triggerContext: Record<string, unknown> },
): Record<string, string> {
  return signed(
    {
      notify_id: newNotifyId(),
      notify_time: formatAlipayTime(o.nowMs),
      notify_type: 'open_app_auth_notify',
      status: 'execute_auth',
      app_id: grant.appId,
      version: '1.0',
      charset: 'utf-8',
      sign_type: 'RSA2',
      biz_content: JSON.stringify({
        notify_context: { trigger: o.trigger, trigger_context: o.triggerContext },
        detail: {
          app_auth_token: grant.token.token,
          app_refresh_token: grant.refresh.token,
          app_auth_code: code.code,
          user_id: grant.userId,
          auth_app_id: grant.authAppId,
          app_id: grant.appId,
          auth_time: grant.startedAt,
          expires_in: o.tokenTtlSec,
          re_expires_in: o.refreshTtlSec,
        },
        error: {},
      }),
    },
    o.alipayKey,
  );
}

/** POSTs the form and returns what the notify URL answered (never throws). */
export function postForm(url: string, params: Record<string, string>, timeoutMs = 10_000): Promise<NotifyResult> {
  const body = new URLSearchParams(params).toString();
  return new Promise((resolve) => {
    let req: http.ClientRequest;
    try {
      const u = new URL(url);
      const lib = u.protocol === 'https:' ? https : http;
      req = lib.request(u, {
        method: 'POST',
        agent: false,
        timeout: timeoutMs,
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', 'content-length': Buffer.byteLength(body) },
      });
    } catch (e) {
      resolve({ status: 0, body: '', error: (e as Error).message });
      return;
    }
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (e) => resolve({ status: res.statusCode ?? 0, body: '', error: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error('notify timed out')));
    req.on('error', (e) => resolve({ status: 0, body: '', error: e.message }));
    req.end(body);
  });
}

/** Alipay stops re-sending once the ISV answers HTTP 200 with the text `success`. */
const acknowledged = (r: NotifyResult): boolean => r.status === 200 && r.body.trim() === 'success';

interface Entry {
  record: NotificationRecord;
  timer?: NodeJS.Timeout;
  inFlight: number;
  waiters: Array<(r: NotificationRecord) => void>;
}

/** Every notification sent, re-sent on the schedule until acknowledged; past ones can be re-delivered. */
export class NotificationOutbox {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly settings: NotifySettings,
    private readonly now: () => number,
  ) {}

  /** Sends now and returns the first attempt's answer; retries follow on the schedule when it is not `success`. */
  async send(appId: string, url: string, params: Record<string, string>): Promise<{ notifyId: string; result: NotifyResult }> {
    const notifyId = params.notify_id;
    const record: NotificationRecord = {
      notifyId,
      name: params.msg_method ?? params.notify_type ?? 'unknown',
      appId,
      url,
      params,
      attempts: [],
      delivered: false,
    };
    this.entries.set(notifyId, { record, inFlight: 0, waiters: [] });
    return { notifyId, result: await this.attempt(notifyId, true) };
  }

  /** An admin re-delivery of a past message (same notify_id and signature), outside the schedule. */
  redeliver(notifyId: string): Promise<NotifyResult> {
    if (!this.entries.has(notifyId)) throw new SimulatorInputError(`no notification ${notifyId}`);
    return this.attempt(notifyId, false);
  }

  /** Resolves once the message was acknowledged, or its schedule ran out. */
  settled(notifyId: string): Promise<NotificationRecord> {
    const e = this.entries.get(notifyId);
    if (!e) return Promise.reject(new SimulatorInputError(`no notification ${notifyId}`));
    if (this.isSettled(e)) return Promise.resolve(snapshot(e.record));
    return new Promise((resolve) => e.waiters.push(resolve));
  }

  list(): NotificationRecord[] {
    return [...this.entries.values()].map((e) => snapshot(e.record));
  }

  /** Forgets every message and stops their schedules (reset and close). */
  clear(): void {
    for (const e of this.entries.values()) {
      clearTimeout(e.timer);
      e.timer = undefined;
      this.wake(e, true);
    }
    this.entries.clear();
  }

  private isSettled(e: Entry): boolean {
    return e.inFlight === 0 && (e.record.delivered || e.timer === undefined);
  }

  private wake(e: Entry, force = false): void {
    if (!force && !this.isSettled(e)) return;
    const waiters = e.waiters.splice(0);
    for (const w of waiters) w(snapshot(e.record));
  }

  private async attempt(notifyId: string, scheduled: boolean): Promise<NotifyResult> {
    const e = this.entries.get(notifyId)!;
    e.inFlight++;
    const result = await postForm(e.record.url, e.record.params);
    e.inFlight--;
    if (this.entries.get(notifyId) !== e) return result; // cleared meanwhile
    e.record.attempts.push({ at: this.now(), scheduled, ...result });
    if (acknowledged(result)) {
      e.record.delivered = true;
      clearTimeout(e.timer);
      e.timer = undefined;
    } else if (scheduled) {
      const scheduledSoFar = e.record.attempts.filter((a) => a.scheduled).length;
      const delay = this.settings.notifyRetryDelaysMs[scheduledSoFar - 1];
      if (delay !== undefined) {
        e.timer = setTimeout(() => {
          e.timer = undefined;
          void this.attempt(notifyId, true);
        }, delay * this.settings.notifyTimeScale);
        e.timer.unref(); // a pending retry must not keep a test process alive
      }
    }
    this.wake(e);
    return result;
  }
}

function snapshot(r: NotificationRecord): NotificationRecord {
  return { ...r, params: { ...r.params }, attempts: r.attempts.map((a) => ({ ...a })) };
}
