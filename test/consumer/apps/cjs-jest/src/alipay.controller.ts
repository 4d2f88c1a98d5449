import { Controller, Get, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AlipayAuthorizationCallback, AlipayNotificationEndpoint } from 'nestjs-alipay-auth';

@Controller('alipay')
export class AlipayController {
  constructor(
    private readonly authorization: AlipayAuthorizationCallback,
    private readonly notifications: AlipayNotificationEndpoint,
  ) {}

  /** Link merchants here: Alipay's authorization page, bound to this browser by a cookie. */
  @Get('authorize')
  authorize(@Req() req: Request, @Res() res: Response) {
    const start = this.authorization.start(req);
    res.setHeader('set-cookie', start.setCookie);
    res.redirect(302, start.url);
  }

  /** ALIPAY_REDIRECT_URI: checks the state against the cookie, exchanges the code, stores the tokens. */
  @Get('callback')
  async callback(@Req() req: Request) {
    const authorizations = await this.authorization.complete(req);
    return { authorized: authorizations.map((a) => a.authAppId) };
  }

  /** The app's notification URL in Alipay's console: cancellations, authorizations made at Alipay. */
  @Post('notify')
  async notify(@Req() req: Request, @Res() res: Response) {
    const answer = await this.notifications.receive(req);
    res.status(answer.status).type('text/plain').send(answer.body);
  }
}
