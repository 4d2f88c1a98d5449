import { Injectable } from '@nestjs/common';
import { AlipayTokenService } from 'nestjs-alipay-auth';

export type MerchantCountsByStatus = Awaited<ReturnType<AlipayTokenService['stats']>>;

/** Authorization counts by status, plus `failing` (active, with failed refreshes), for the page and /health. */
@Injectable()
export class MerchantCounts {
  constructor(private readonly tokens: AlipayTokenService) {}

  get(): Promise<MerchantCountsByStatus> {
    return this.tokens.stats();
  }
}
