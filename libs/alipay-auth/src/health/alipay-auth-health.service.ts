import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayTokenRefreshScheduler } from '../refresh/token-refresh.scheduler';
import { AlipayAuthorizationCounts, AlipayTokenStore } from '../storage/alipay-token-store';
import { AlipayConfigurationCircuit, AlipayConfigurationCircuitState } from '../tokens/configuration-circuit';
import { dueCriteria } from '../tokens/refresh-policy';

/** Thresholds of `AlipayAuthHealthService.summary()`; each breach makes the summary `down`. */
export interface AlipayAuthHealthThresholds {
  /** Share of active rows whose refresh is failing. Default 0.1. */
  maxFailingRatio?: number;
  /** Share of active rows whose pair is in doubt after an ambiguous refresh. Default 0.1. */
  maxVerifyingRatio?: number;
  /** Rows whose tokens cannot be decrypted. Default 0. */
  maxUnreadable?: number;
  /** Active rows still due this long after their refresh window opened. Default 0 rows past 1 day. */
  maxOverdue?: number;
  overdueAfterMs?: number;
  /** Age of this instance's last completed scheduled run (ignored when it runs no scheduler). Default 1 hour. */
  maxRunAgeMs?: number;
}

export interface AlipayAuthHealthSummary {
  status: 'up' | 'down';
  /** Why it is down, one line per breached threshold. */
  problems: string[];
  counts: AlipayAuthorizationCounts;
  overdue: number;
  configurationCircuit: AlipayConfigurationCircuitState;
  /** Milliseconds since this instance's last completed run; null when it has none (not started, or refresh disabled). */
  lastRunAgeMs: number | null;
}

const DAY = 24 * 3600_000;

/**
 * The library's own view of its health, for `/health` endpoints and dashboards: failing, verifying,
 * unreadable and overdue rows, the configuration circuit and the age of the last scheduled run. Also the
 * start-up checks that need the database (clock offset, rows under keys that are not configured).
 */
@Injectable()
export class AlipayAuthHealthService implements OnApplicationBootstrap {
  private readonly logger = new Logger(AlipayAuthHealthService.name);

  constructor(
    @Inject(AlipayTokenStore) private readonly store: AlipayTokenStore,
    @Inject(ALIPAY_AUTH_CONFIG) private readonly config: ResolvedAlipayAuthConfig,
    private readonly circuit: AlipayConfigurationCircuit,
    private readonly scheduler: AlipayTokenRefreshScheduler,
  ) {}

  async summary(thresholds: AlipayAuthHealthThresholds = {}): Promise<AlipayAuthHealthSummary> {
    const t = { maxFailingRatio: 0.1, maxVerifyingRatio: 0.1, maxUnreadable: 0, maxOverdue: 0, overdueAfterMs: DAY, maxRunAgeMs: 3600_000, ...thresholds };
    const now = this.config.clock();
    const counts = await this.store.countByStatus(this.config.appId);
    // Overdue: due already at (now - overdueAfterMs), i.e. inside the refresh window for longer than that.
    const overdue = await this.store.countDue(this.config.appId, dueCriteria(now - t.overdueAfterMs, this.config.refresh));
    const circuit = this.circuit.state;
    const last = this.scheduler.lastCompletedRun;
    const lastRunAgeMs = last ? Math.max(0, now - last.finishedAt.getTime()) : null;
    const problems: string[] = [];
    const ratio = (n: number) => (counts.active > 0 ? n / counts.active : 0);
    if (circuit.open) problems.push(`Alipay reports a configuration error (${circuit.errorCode}); scheduled refresh stopped`);
    if (counts.unreadable > t.maxUnreadable) problems.push(`${counts.unreadable} row(s) cannot be decrypted`);
    if (overdue > t.maxOverdue) problems.push(`${overdue} active row(s) overdue for refresh`);
    if (ratio(counts.failing) > t.maxFailingRatio) problems.push(`${counts.failing} of ${counts.active} active row(s) failing to refresh`);
    if (ratio(counts.verifying) > t.maxVerifyingRatio) problems.push(`${counts.verifying} of ${counts.active} active row(s) awaiting verification`);
    if (this.config.refresh.enabled && lastRunAgeMs !== null && lastRunAgeMs > t.maxRunAgeMs) problems.push(`last scheduled run finished ${Math.round(lastRunAgeMs / 1000)} s ago`);
    return { status: problems.length ? 'down' : 'up', problems, counts, overdue, configurationCircuit: circuit, lastRunAgeMs };
  }

  async onApplicationBootstrap(): Promise<void> {
    try {
      const dbNow = await this.store.databaseNow();
      const offset = this.config.clock() - dbNow;
      if (Math.abs(offset) > 5_000) {
        this.logger.warn(`This instance's clock is ${offset > 0 ? 'ahead of' : 'behind'} the database's by ${Math.abs(offset)} ms; leases use the database's clock, refresh timing uses this one`);
      }
      const keyed = this.store as AlipayTokenStore & { countUnknownKeyRows?: () => Promise<number> };
      const unknown = keyed.countUnknownKeyRows ? await keyed.countUnknownKeyRows() : 0;
      if (unknown > 0) {
        this.logger.warn(`${unknown} stored authorization(s) use key ids not in option "tokenEncryptionKeys": they cannot be read. Add the old key back (after the current one) and run the re-encryption`);
      }
    } catch (e) {
      // The table may not exist yet (migrations run later): the checks are advice, never a boot failure.
      this.logger.debug(`Start-up checks skipped: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
