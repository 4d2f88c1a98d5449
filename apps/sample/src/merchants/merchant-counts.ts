import { Inject, Injectable } from '@nestjs/common';
import { ALIPAY_AUTH_CONFIG, AlipayTokenStore, ResolvedAlipayAuthConfig } from 'nestjs-alipay-auth';

export type MerchantCountsByStatus = Awaited<ReturnType<AlipayTokenStore['countByStatus']>>;

/** Authorization counts by status, plus `failing` (active, with failed refreshes), for the page and /health. */
@Injectable()
export class MerchantCounts {
  constructor(
    @Inject(AlipayTokenStore) private readonly store: AlipayTokenStore,
    @Inject(ALIPAY_AUTH_CONFIG) private readonly alipay: ResolvedAlipayAuthConfig,
  ) {}

  get(): Promise<MerchantCountsByStatus> {
    return this.store.countByStatus(this.alipay.appId);
  }
}
