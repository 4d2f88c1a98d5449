import { Injectable, Logger } from '@nestjs/common';
import { AlipayAuthError, AlipaySignatureError, AlipayStoreUnavailableError } from '../errors/alipay-auth.errors';
import { AlipayTokenService } from '../tokens/alipay-token.service';
import { AlipayNotificationResult, escapeLogValue } from '../tokens/alipay-notification.handler';
import { AlipayHttpRequest, header } from './alipay-http-request';

/** What to answer Alipay: `body` as `text/plain` with `status`. Alipay re-sends until it reads `success`. */
export interface AlipayNotificationAnswer {
  status: 200 | 400 | 500;
  body: 'success' | 'fail';
  /** What the notification did, when it verified. */
  result?: AlipayNotificationResult;
}

/** Names that would reach an object's prototype machinery if a parameter map were ever merged or spread. */
const RESERVED_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * The form parameters exactly as sent (the signature covers the raw values), from the raw body rather
 * than the parsed one, which would turn `a[b]=` names into objects. Kept in a map without a prototype.
 * Null when the body is not a form, a parameter repeats, or a name is `__proto__`, `constructor` or `prototype`.
 */
export function alipayNotificationParams(request: AlipayHttpRequest): Record<string, string> | null {
  const type = header(request, 'content-type')?.split(';')[0].trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded' || !Buffer.isBuffer(request.rawBody)) return null;
  const params = Object.create(null) as Record<string, string>;
  for (const [k, v] of new URLSearchParams(request.rawBody.toString('utf8'))) {
    if (RESERVED_NAMES.has(k) || Object.prototype.hasOwnProperty.call(params, k)) return null;
    params[k] = v;
  }
  return params;
}

/**
 * Alipay's notification endpoint for a controller of your own (Express or Fastify): reads the raw form,
 * verifies and handles it (`AlipayTokenService.handleNotification`) and says what to answer: `success`
 * when handled, handled before or verified and ignored; `fail` with 400 for a bad signature or form; `fail`
 * with 500 when our side failed (Alipay tries again later). Needs `NestFactory.create(AppModule, { rawBody: true })`.
 */
@Injectable()
export class AlipayNotificationEndpoint {
  private readonly logger = new Logger(AlipayNotificationEndpoint.name);

  constructor(private readonly tokens: AlipayTokenService) {}

  async receive(request: AlipayHttpRequest): Promise<AlipayNotificationAnswer> {
    if (!Buffer.isBuffer(request.rawBody)) {
      // Our set-up, not Alipay's message: say exactly what is missing, and let Alipay resend once it is fixed.
      this.logger.error(
        'Notification not handled: the raw body is not available. Create the app with NestFactory.create(AppModule, { rawBody: true }): the signature covers the form exactly as sent',
      );
      return { status: 500, body: 'fail' };
    }
    const params = alipayNotificationParams(request);
    if (!params) {
      this.logger.warn('Notification refused: not a form-urlencoded body, or a parameter repeats');
      return { status: 400, body: 'fail' };
    }
    try {
      const result = await this.tokens.handleNotification(params);
      const kind = escapeLogValue(params.msg_method ?? params.notify_type);
      this.logger.log(
        result.handled
          ? `Notification ${kind} ${result.action}${result.authAppId ? ` for merchant app ${result.authAppId}` : ''}`
          : `Notification ${kind} verified and ignored`,
      );
      return { status: 200, body: 'success', result };
    } catch (e) {
      // Unauthenticated input: values are escaped, so a crafted one cannot forge a log line.
      const id = escapeLogValue(params.notify_id);
      if (e instanceof AlipaySignatureError) {
        this.logger.warn(`Notification refused: ${e.code} (notify_id ${id})`);
        return { status: 400, body: 'fail' };
      }
      if (e instanceof AlipayAuthError && !(e instanceof AlipayStoreUnavailableError)) {
        this.logger.warn(`Notification refused: ${e.message} (notify_id ${id})`);
        return { status: 400, body: 'fail' };
      }
      // Our side failed (the store): Alipay tries again later.
      this.logger.error(`Notification ${id} failed: ${e instanceof Error ? e.message : String(e)}`);
      return { status: 500, body: 'fail' };
    }
  }
}
