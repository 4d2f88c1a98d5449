import { Inject, Injectable } from '@nestjs/common';
import { AlipayAuthHealthService } from 'nestjs-alipay-auth';
import { SAMPLE_CONFIG, SampleConfig } from '../config/sample-config';
import type { HealthReason } from '../views/operator-text';

/** Why /health says down, for the banner of the operators' page; null while it is up. */
export interface HealthBannerState {
  reasons: HealthReason[];
}

// The library's problem lines (AlipayAuthHealthService.summary), read back into values the page says in
// either language; a line not recognised is shown as it is.
const LINES: Array<[RegExp, (m: RegExpMatchArray) => HealthReason]> = [
  [/^Alipay reports a configuration error \((.+)\); scheduled refresh stopped$/, (m) => ({ kind: 'circuit', code: m[1] })],
  [/^(\d+) row\(s\) cannot be decrypted$/, (m) => ({ kind: 'unreadable', n: +m[1] })],
  [/^(\d+) active row\(s\) overdue for refresh$/, (m) => ({ kind: 'overdue', n: +m[1] })],
  [/^(\d+) of (\d+) active row\(s\) failing to refresh$/, (m) => ({ kind: 'failing', n: +m[1], of: +m[2] })],
  [/^(\d+) of (\d+) active row\(s\) awaiting verification$/, (m) => ({ kind: 'verifying', n: +m[1], of: +m[2] })],
  [
    /^(\d+) active row\(s\) hold a credential of another Alipay app \((.*)\), e\.g\. merchant app (\S+): the merchant must authorize app (\S+) again$/,
    (m) => ({ kind: 'foreign', n: +m[1], codes: m[2], example: m[3], appId: m[4] }),
  ],
  [/^last scheduled run finished (\d+) s ago$/, (m) => ({ kind: 'last-run', seconds: +m[1] })],
];

export function healthReason(line: string): HealthReason {
  for (const [pattern, reason] of LINES) {
    const m = pattern.exec(line);
    if (m) return reason(m);
  }
  return { kind: 'other', text: line };
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
      return summary.status === 'down' ? { reasons: summary.problems.map(healthReason) } : null;
    } catch (e) {
      return { reasons: [{ kind: 'unknown', error: e instanceof Error ? e.name : 'error' }] };
    }
  }
}
