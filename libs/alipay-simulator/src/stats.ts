import type { SimulatorStats } from './types';

const bump = (m: Map<string, number>, k: string, by = 1): void => {
  m.set(k, (m.get(k) ?? 0) + by);
};

/** Counters. Operations count only when they actually happened (a refresh that issued a pair, even if the answer was then dropped). */
export class SimulatorCounters {
  total = 0;
  byRoute = new Map<string, number>();
  byGrantType = { authorization_code: 0, refresh_token: 0 };
  refreshesByMerchant = new Map<string, number>();
  exchanges = 0;
  queries = 0;
  cancellations = 0;
  errorsByCode = new Map<string, number>();
  faultsInjected = 0;
  /** Refresh requests being handled now, per merchant (measurement: racing refreshes). */
  private refreshesInFlight = new Map<string, number>();
  refreshOverlaps = 0;
  refreshOverlapsByMerchant = new Map<string, number>();

  reset(): void {
    Object.assign(this, new SimulatorCounters());
  }

  request(route: string): void {
    this.total++;
    bump(this.byRoute, route);
  }

  grantType(type: string): void {
    if (type === 'authorization_code' || type === 'refresh_token') this.byGrantType[type]++;
  }

  refreshed(authAppId: string): void {
    bump(this.refreshesByMerchant, authAppId);
  }

  /**
   * A refresh request for the merchant arrived (after verification, before faults and the operation).
   * Arriving while another for the same merchant is still being handled counts as an overlap: two
   * refreshes racing, whichever lands last leaves the other's pair dead.
   */
  refreshArrived(authAppId: string): void {
    const n = this.refreshesInFlight.get(authAppId) ?? 0;
    if (n > 0) {
      this.refreshOverlaps++;
      bump(this.refreshOverlapsByMerchant, authAppId);
    }
    this.refreshesInFlight.set(authAppId, n + 1);
  }

  /** That request was answered, failed, or dropped. */
  refreshLeft(authAppId: string): void {
    const n = (this.refreshesInFlight.get(authAppId) ?? 1) - 1;
    if (n > 0) this.refreshesInFlight.set(authAppId, n);
    else this.refreshesInFlight.delete(authAppId);
  }

  error(code: string): void {
    bump(this.errorsByCode, code);
  }

  snapshot(): SimulatorStats {
    return {
      requests: { total: this.total, byRoute: Object.fromEntries(this.byRoute), byGrantType: { ...this.byGrantType } },
      refreshesByMerchant: Object.fromEntries(this.refreshesByMerchant),
      exchanges: this.exchanges,
      queries: this.queries,
      cancellations: this.cancellations,
      errorsByCode: Object.fromEntries(this.errorsByCode),
      faultsInjected: this.faultsInjected,
      refreshOverlaps: this.refreshOverlaps,
      refreshOverlapsByMerchant: Object.fromEntries(this.refreshOverlapsByMerchant),
    };
  }
}
