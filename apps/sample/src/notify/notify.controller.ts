import { Controller, HttpCode, Logger, Post, Req, Res } from '@nestjs/common';
import type { RawBodyRequest } from '@nestjs/common';
import { ApiConsumes, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AlipayAuthError, AlipaySignatureError, AlipayTokenService, escapeLogValue } from 'nestjs-alipay-auth';
import { NOTIFY_PATH } from '../routes';

/** Names that would reach an object's prototype machinery if a parameter map were ever merged or spread. */
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * The form parameters exactly as sent (the signature covers the raw values), from the raw body rather
 * than the parsed one, which would turn `a[b]=` names into objects. Kept in a map without a prototype; a
 * repeated name, or a name such as `__proto__` or `constructor`, refuses the whole message.
 */
export function notificationParams(req: RawBodyRequest<Request>): Record<string, string> | null {
  if (!req.is('application/x-www-form-urlencoded') || !req.rawBody) return null;
  const params = Object.create(null) as Record<string, string>;
  for (const [k, v] of new URLSearchParams(req.rawBody.toString('utf8'))) {
    if (RESERVED.has(k) || Object.prototype.hasOwnProperty.call(params, k)) return null;
    params[k] = v;
  }
  return params;
}

@ApiTags('alipay')
@Controller()
export class NotifyController {
  private readonly logger = new Logger(NotifyController.name);

  constructor(private readonly tokens: AlipayTokenService) {}

  @Post(NOTIFY_PATH)
  @HttpCode(200)
  @ApiOperation({
    summary: "Alipay's notification endpoint (alipay.open.auth.appauth.cancelled, open_app_auth_notify)",
    description:
      'Form-urlencoded, signed by Alipay. Answers the text `success` when handled, handled before (a resend or replay: the same notify_id), or verified and ignored; `fail` (400) when the signature or the form is bad; Alipay re-sends until it reads `success`.',
  })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiProduces('text/plain')
  @ApiResponse({ status: 200, description: 'success' })
  @ApiResponse({ status: 400, description: 'fail (bad signature or form)' })
  async notify(@Req() req: RawBodyRequest<Request>, @Res() res: Response): Promise<void> {
    const answer = (status: number, text: 'success' | 'fail') => res.status(status).type('text/plain').send(text);
    const params = notificationParams(req);
    if (!params) {
      this.logger.warn('Notification refused: not a form-urlencoded body, a parameter repeats, or a reserved name');
      answer(400, 'fail');
      return;
    }
    try {
      const result = await this.tokens.handleNotification(params);
      const kind = escapeLogValue(params.msg_method ?? params.notify_type);
      this.logger.log(
        result.handled
          ? `Notification ${kind} ${result.action}${result.authAppId ? ` for merchant app ${result.authAppId}` : ''}`
          : `Notification ${kind} verified and ignored`,
      );
      answer(200, 'success');
    } catch (e) {
      if (e instanceof AlipaySignatureError) {
        // Unauthenticated input: escaped, so a crafted value cannot forge a log line.
        this.logger.warn(`Notification refused: ${e.code} (notify_id ${escapeLogValue(params.notify_id)})`);
        answer(400, 'fail');
      } else if (e instanceof AlipayAuthError) {
        this.logger.warn(`Notification refused: ${e.message} (notify_id ${escapeLogValue(params.notify_id)})`);
        answer(400, 'fail');
      } else {
        // Our side failed (database): let Alipay try again later.
        this.logger.error(`Notification failed: ${e instanceof Error ? e.message : String(e)}`);
        answer(500, 'fail');
      }
    }
  }
}
