import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, Optional } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayAuthorization, AlipayTokenStore } from '../storage/alipay-token-store';
import { AlipayTokenService } from '../tokens/alipay-token.service';
import { dueCriteria } from '../tokens/refresh-policy';
import { AlipayRateLimiter, runPool, TokenBucketRateLimiter } from './rate-limiter';

export const ALIPAY_REFRESH_CRON_JOB = 'alipay-auth-token-refresh';

export interface AlipayRefreshRunSummary {
  claimed: number;
  refreshed: number;
  failed: number;
  reauthorizationRequired: number;
  skipped: number;
  statusChecked: number;
  cancelledFound: number;
  durationMs: number;
}

/**
 * Scheduled refresh. Each run claims due rows in batches through a database lease, so any number of
 * instances can run it at once without two refreshing the same merchant. `@nestjs/schedule` has no
 * lock of its own; the lease is the lock.
 */
@Injectable()
export class AlipayTokenRefreshScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(AlipayTokenRefreshScheduler.name);
  private readonly limiter: AlipayRateLimiter;
  private job?: CronJob;
  private running?: Promise<AlipayRefreshRunSummary>;
  private stopping = false;

  constructor(
    private readonly tokens: AlipayTokenService,
    @Inject(AlipayTokenStore) private readonly store: AlipayTokenStore,
    @Inject(ALIPAY_AUTH_CONFIG) private readonly config: ResolvedAlipayAuthConfig,
    @Optional() private readonly registry?: SchedulerRegistry,
  ) {
    this.limiter = config.refresh.rateLimiter ?? new TokenBucketRateLimiter(config.refresh.ratePerSecond);
  }

  onApplicationBootstrap(): void {
    if (!this.config.refresh.enabled) return;
    this.job = CronJob.from({
      cronTime: this.config.refresh.cron,
      onTick: () => {
        void this.refreshDue().catch((e) => this.logger.error(`Token refresh run failed: ${e instanceof Error ? e.message : String(e)}`));
      },
      start: false,
    });
    // Visible to the app's SchedulerRegistry when it has ScheduleModule; runs on its own otherwise.
    if (this.registry) this.registry.addCronJob(ALIPAY_REFRESH_CRON_JOB, this.job as never);
    this.job.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.job?.stop();
    if (this.registry && this.job) {
      try {
        this.registry.deleteCronJob(ALIPAY_REFRESH_CRON_JOB);
      } catch {
        /* already gone */
      }
    }
    // Finish what is in flight; unstarted claims are released by the run itself.
    await this.running?.catch(() => undefined);
  }

  /** Refreshes every due authorization now (also what the cron runs). Overlapping calls share one run. */
  refreshDue(): Promise<AlipayRefreshRunSummary> {
    if (this.running) return this.running;
    this.running = this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<AlipayRefreshRunSummary> {
    const started = Date.now();
    const s: AlipayRefreshRunSummary = { claimed: 0, refreshed: 0, failed: 0, reauthorizationRequired: 0, skipped: 0, statusChecked: 0, cancelledFound: 0, durationMs: 0 };
    const { appId, instanceId: owner, refresh: policy } = this.config;
    const seen = new Set<string>();

    while (!this.stopping) {
      const now = this.config.clock();
      const batch = await this.store.claimDue(appId, dueCriteria(now, policy), { owner, until: new Date(now + policy.leaseMs) }, policy.batchSize);
      if (batch.length === 0) break;
      const fresh = batch.filter((r) => !seen.has(r.authAppId));
      // A row due again right after its refresh (Alipay gave a short lifetime) waits for the next run.
      for (const r of batch) if (seen.has(r.authAppId)) await this.store.releaseLease(appId, r.authAppId, owner);
      if (fresh.length === 0) break;
      s.claimed += fresh.length;
      await runPool(fresh, policy.concurrency, async (row) => {
        seen.add(row.authAppId);
        if (this.stopping) {
          await this.store.releaseLease(appId, row.authAppId, owner);
          s.skipped++;
          return;
        }
        await this.limiter.acquire();
        const outcome = await this.tokens.refreshLeased(row, owner).catch(() => 'failed' as const);
        if (outcome === 'refreshed') s.refreshed++;
        else if (outcome === 'failed') s.failed++;
        else if (outcome === 'reauthorization_required') s.reauthorizationRequired++;
        else s.skipped++;
      });
    }

    if (policy.statusCheckIntervalMs > 0) await this.checkStatuses(s);

    s.durationMs = Date.now() - started;
    this.logger.log(
      `Token refresh run: claimed ${s.claimed}, refreshed ${s.refreshed}, failed ${s.failed}, re-authorization required ${s.reauthorizationRequired}, skipped ${s.skipped}, status checked ${s.statusChecked} (cancelled ${s.cancelledFound}) in ${s.durationMs} ms`,
    );
    return s;
  }

  /** The second duty: ask Alipay about authorizations not checked lately, to catch missed cancellations. */
  private async checkStatuses(s: AlipayRefreshRunSummary): Promise<void> {
    const { appId, instanceId: owner, refresh: policy } = this.config;
    const seen = new Set<string>();
    while (!this.stopping) {
      const now = this.config.clock();
      const batch = await this.store.claimStatusCheckDue(appId, new Date(now - policy.statusCheckIntervalMs), new Date(now), { owner, until: new Date(now + policy.leaseMs) }, policy.batchSize);
      const fresh = batch.filter((r) => !seen.has(r.authAppId));
      for (const r of batch) if (seen.has(r.authAppId)) await this.store.releaseLease(appId, r.authAppId, owner);
      if (fresh.length === 0) break;
      await runPool(fresh, policy.concurrency, async (row: AlipayAuthorization) => {
        seen.add(row.authAppId);
        try {
          if (this.stopping) return;
          await this.limiter.acquire();
          const result = await this.tokens.checkStatus(row.authAppId);
          s.statusChecked++;
          if (result.alipayStatus !== 'valid') s.cancelledFound++;
        } catch (e) {
          this.logger.warn(`Status check of ${row.authAppId} failed: ${e instanceof Error ? e.message : String(e)}`);
          // Count it as checked so a broken row does not spin; it is retried at the next interval.
          await this.store.markChecked(appId, row.authAppId, new Date(this.config.clock())).catch(() => undefined);
        } finally {
          await this.store.releaseLease(appId, row.authAppId, owner).catch(() => undefined);
        }
      });
    }
  }
}
