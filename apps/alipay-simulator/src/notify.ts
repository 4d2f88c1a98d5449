import { buildNotifySignContent, rsaSign } from 'nestjs-alipay-auth';
import { randomBytes, type KeyObject } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Grant } from './state';
import type { NotifyResult } from './types';

/**
 * The `alipay.open.auth.appauth.cancelled` message as form parameters, signed like every Alipay
 * asynchronous notification (v2 rule: sorted `k=v&…` without sign/sign_type, RSA2).
 *
 * UNSURE: the exact biz_content of this message is not in any official source we hold (protocol doc
 * §6). The shape below (notify_context.trigger + detail{app_id, auth_app_id, user_id, app_auth_token,
 * auth_time}) is a guess modelled on Alipay's message-service envelope; consumers should confirm with the
 * token query API rather than trust these fields.
 */
export function cancelledNotification(grant: Grant, alipayKey: KeyObject, nowMs: number): Record<string, string> {
  const params: Record<string, string> = {
    msg_method: 'alipay.open.auth.appauth.cancelled',
    app_id: grant.appId,
    notify_id: randomBytes(16).toString('hex'),
    utc_timestamp: String(nowMs),
    version: '1.1',
    charset: 'UTF-8',
    sign_type: 'RSA2',
    biz_content: JSON.stringify({
      notify_context: { trigger: 'merchant' },
      detail: {
        app_id: grant.appId,
        auth_app_id: grant.authAppId,
        user_id: grant.userId,
        app_auth_token: grant.token.token,
        auth_time: nowMs,
      },
    }),
  };
  params.sign = rsaSign(alipayKey, buildNotifySignContent(params));
  return params;
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
