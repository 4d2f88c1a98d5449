import { Injectable, Logger } from '@nestjs/common';
import { AlipayAuthHealthService, AlipayAuthHealthThresholds } from './alipay-auth-health.service';

/** What the indicator reports under its key (besides `status`). */
export interface AlipayAuthHealthData {
  active: number;
  failing: number;
  verifying: number;
  unreadable: number;
  reauthorizationRequired: number;
  revoked: number;
  cancelled: number;
  /** Active rows still due `overdueAfterMs` after their refresh window opened. */
  overdue: number;
  /** failing / active, 3 decimals (0 without active rows). */
  failingRatio: number;
  /** Alipay's code that opened the configuration circuit (scheduled refresh stopped), or null. */
  configurationError: string | null;
  /** Seconds since this instance's last completed scheduled run; null when it has none. */
  lastRunAgeSeconds: number | null;
  /** One line per breached threshold; empty when up. */
  problems: string[];
}

/**
 * Same shape as `@nestjs/terminus`'s `HealthIndicatorResult` (terminus only reads `status`), declared here
 * so that the library neither imports nor requires terminus.
 */
export type AlipayAuthHealthIndicatorResult<Key extends string = string> = Record<
  Key,
  ({ status: 'up' | 'down' } & AlipayAuthHealthData) | { status: 'down'; message: string }
>;

/**
 * A `@nestjs/terminus` health indicator over `AlipayAuthHealthService.summary()`:
 * `health.check([() => alipayHealth.isHealthy('alipay_auth', { maxFailingRatio: 0.5 })])`.
 * Down when a threshold is breached (failing or verifying share, unreadable or overdue rows, the
 * configuration circuit, the age of the last scheduled run) or when the summary cannot be read.
 */
@Injectable()
export class AlipayAuthHealthIndicator {
  private readonly logger = new Logger(AlipayAuthHealthIndicator.name);

  constructor(private readonly health: AlipayAuthHealthService) {}

  async isHealthy<Key extends string = 'alipay_auth'>(
    key: Key = 'alipay_auth' as Key,
    thresholds: AlipayAuthHealthThresholds = {},
  ): Promise<AlipayAuthHealthIndicatorResult<Key>> {
    const result = (detail: AlipayAuthHealthIndicatorResult<Key>[Key]) => ({ [key]: detail }) as AlipayAuthHealthIndicatorResult<Key>;
    let h;
    try {
      h = await this.health.summary(thresholds);
    } catch (e) {
      // Usually the database; its message may name hosts or users, so it goes to the log, not the response.
      this.logger.warn(`Token health unavailable: ${e instanceof Error ? e.message : String(e)}`);
      return result({ status: 'down', message: `token health unavailable (${e instanceof Error ? e.name : 'error'})` });
    }
    const { counts } = h;
    return result({
      status: h.status,
      active: counts.active,
      failing: counts.failing,
      verifying: counts.verifying,
      unreadable: counts.unreadable,
      reauthorizationRequired: counts.reauthorization_required,
      revoked: counts.revoked,
      cancelled: counts.cancelled,
      overdue: h.overdue,
      failingRatio: counts.active > 0 ? Math.round((counts.failing / counts.active) * 1000) / 1000 : 0,
      configurationError: h.configurationCircuit.open ? (h.configurationCircuit.errorCode ?? 'unknown') : null,
      lastRunAgeSeconds: h.lastRunAgeMs === null ? null : Math.round(h.lastRunAgeMs / 1000),
      problems: h.problems,
    });
  }
}
