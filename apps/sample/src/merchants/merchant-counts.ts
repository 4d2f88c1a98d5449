import { Injectable } from '@nestjs/common';
import { ALIPAY_AUTHORIZATION_STATES, AlipayTokenService } from 'nestjs-alipay-auth';
import type { AlipayAuthorizationState } from 'nestjs-alipay-auth';
import { MerchantView, viewFilter } from './merchant-list-state';

export type MerchantCountsByStatus = Awaited<ReturnType<AlipayTokenService['stats']>>;
/** How many rows each view of the operators' page lists. */
export type MerchantCountsByView = Record<MerchantView, number>;

/** Authorization counts by status, plus `failing` (active, with failed refreshes), for the page and /health. */
@Injectable()
export class MerchantCounts {
  constructor(private readonly tokens: AlipayTokenService) {}

  get(): Promise<MerchantCountsByStatus> {
    return this.tokens.stats();
  }

  /** The total of each view, counted with the very filters the list uses (so a counter and its list agree). */
  async byView(now: number): Promise<MerchantCountsByView> {
    const count = async (view: MerchantView) => (await this.tokens.list(viewFilter(view, '', now), { limit: 0 })).total;
    const states = await Promise.all(ALIPAY_AUTHORIZATION_STATES.map(count));
    const byState = Object.fromEntries(ALIPAY_AUTHORIZATION_STATES.map((s, i) => [s, states[i]])) as Record<AlipayAuthorizationState, number>;
    return { attention: await count('attention'), all: states.reduce((a, b) => a + b, 0), ...byState };
  }
}
