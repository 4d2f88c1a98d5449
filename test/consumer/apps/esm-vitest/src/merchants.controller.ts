import { Body, Controller, Get, Inject, NotFoundException, Param, Post } from '@nestjs/common';
import { AlipayTokenService } from 'nestjs-alipay-auth';

@Controller('merchants')
export class MerchantsController {
  // Explicit token: Vitest's transform emits no decorator metadata.
  constructor(@Inject(AlipayTokenService) private readonly tokens: AlipayTokenService) {}

  /** Alipay redirected the merchant back with a one-time app_auth_code. */
  @Post('authorized')
  async authorized(@Body() body: { code: string }) {
    const [merchant] = await this.tokens.exchangeCode(body.code);
    return { authAppId: merchant.authAppId, status: merchant.status };
  }

  @Get(':authAppId')
  async show(@Param('authAppId') authAppId: string) {
    const merchant = await this.tokens.get(authAppId);
    if (!merchant) throw new NotFoundException();
    return { authAppId, status: merchant.status, token: merchant.maskedToken };
  }
}
