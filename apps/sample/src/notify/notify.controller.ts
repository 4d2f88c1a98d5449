import { Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { RawBodyRequest } from '@nestjs/common';
import { ApiConsumes, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AlipayNotificationEndpoint } from 'nestjs-alipay-auth';
import { NOTIFY_PATH } from '../routes';

@ApiTags('alipay')
@Controller()
export class NotifyController {
  constructor(private readonly notifications: AlipayNotificationEndpoint) {}

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
    // The library reads the raw form, verifies and handles it, and logs what it did.
    const answer = await this.notifications.receive(req);
    res.status(answer.status).type('text/plain').send(answer.body);
  }
}
