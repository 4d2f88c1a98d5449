import { Inject, Injectable } from '@nestjs/common';
import { AlipayAuthHealthService } from 'nestjs-alipay-auth';
import { SAMPLE_CONFIG, SampleConfig } from '../config/sample-config';

/** Why /health says down, for the banner of the operators' page; null while it is up. */
export interface HealthBannerState {
  problems: string[];
}

/** The summary is counted over every row: read at most once per this window (or after an operator action), not on every page view. */
const TTL_MS = 15_000;

/** The token health as /health judges it (same thresholds), cached briefly for the operators' page. */
@Injectable()
export class HealthBanner {
  private cached?: { at: number; value: Promise<HealthBannerState | null> };

  constructor(
    private readonly health: AlipayAuthHealthService,
    @Inject(SAMPLE_CONFIG) private readonly config: SampleConfig,
  ) {}

  get(now = Date.now()): Promise<HealthBannerState | null> {
    if (!this.cached || now - this.cached.at > TTL_MS) this.cached = { at: now, value: this.read() };
    return this.cached.value;
  }

  /** An operator action changed a row: the next page view reads the health again. */
  invalidate(): void {
    this.cached = undefined;
  }

  private async read(): Promise<HealthBannerState | null> {
    const ratio = this.config.healthMaxFailingRatio;
    try {
      const summary = await this.health.summary({ maxFailingRatio: ratio, maxVerifyingRatio: ratio });
      return summary.status === 'down' ? { problems: summary.problems } : null;
    } catch (e) {
      return { problems: [`the token health cannot be read (${e instanceof Error ? e.name : 'error'})`] };
    }
  }
}
