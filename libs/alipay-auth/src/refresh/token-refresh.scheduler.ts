import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, Optional } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayAuthorization, AlipayTokenStore } from '../storage/alipay-token-store';
import { AlipayDatabaseClock } from '../storage/database-clock';
import { AlipayConfigurationCircuit } from '../tokens/configuration-circuit';
import { AlipayRefreshCoordinator } from '../tokens/refresh-coordinator';
import { AlipayAuthTelemetry } from '../telemetry/alipay-auth.telemetry';
import { dueCriteria } from '../tokens/refresh-policy';
import { AlipayCallGate, AlipayCallNotSent, AlipayRateLimiter, callGate, TokenBucketRateLimiter } from '../client/call-gate';
import { AlipayCallBudget } from './call-budget';
import { runPipeline } from './pipeline';

export const ALIPAY_REFRESH_CRON_JOB = 'alipay-auth-token-refresh';

export interface AlipayRefreshRunSummary {
  claimed: number;
  refreshed: number;
  /** Pairs in doubt (or refused) repaired with the stored refresh token. */
  recovered: number;
  failed: number;
  reauthorizationRequired: number;
  skipped: number;
  /** Rows whose tokens cannot be decrypted (skipped, reported). */
  unreadable: number;
  statusChecked: number;
  cancelledFound: number;
  /** The run stopped: Alipay said our configuration is wrong (see `AlipayConfigurationCircuit`). */
  stoppedByConfigurationError: boolean;
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
  private readonly budget: AlipayCallBudget;
  private job?: CronJob;
  private running?: Promise<AlipayRefreshRunSummary>;
  private stopping = false;
  /** When each claimed row was claimed (performance.now()): a row refreshed right after its claim is not re-leased. */
  private readonly claimedAt = new WeakMap<AlipayAuthorization, number>();
  private lastRun?: { finishedAt: Date; summary: AlipayRefreshRunSummary };

  constructor(
    private readonly coordinator: AlipayRefreshCoordinator,
    @Inject(AlipayTokenStore) private readonly store: AlipayTokenStore,
    @Inject(ALIPAY_AUTH_CONFIG) private readonly config: ResolvedAlipayAuthConfig,
    private readonly circuit: AlipayConfigurationCircuit,
    private readonly databaseClock: AlipayDatabaseClock,
    @Optional() private readonly registry?: SchedulerRegistry,
    @Optional() private readonly telemetry?: AlipayAuthTelemetry,
  ) {
    const limiter: AlipayRateLimiter = config.refresh.rateLimiter ?? new TokenBucketRateLimiter(config.refresh.ratePerSecond);
    this.budget = new AlipayCallBudget(limiter, config.refresh.statusCheckShare * config.refresh.ratePerSecond);
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
    if (this.registry) this.registry.addCronJob(this.jobName, this.job as never);
    this.job.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.job?.stop();
    if (this.registry && this.job) {
      try {
        this.registry.deleteCronJob(this.jobName);
      } catch {
        /* already gone */
      }
    }
    // Finish what is in flight; unstarted claims are released by the run itself.
    await this.running?.catch(() => undefined);
  }

  /** One cron job per registration: `alipay-auth-token-refresh`, or `alipay-auth-token-refresh:<name>`. */
  get jobName(): string {
    return this.config.name ? `${ALIPAY_REFRESH_CRON_JOB}:${this.config.name}` : ALIPAY_REFRESH_CRON_JOB;
  }

  /** The last completed run of this instance (module clock), for health checks. */
  get lastCompletedRun(): { finishedAt: Date; summary: AlipayRefreshRunSummary } | undefined {
    return this.lastRun;
  }

  /** Refreshes every due authorization now (also what the cron runs). Overlapping calls share one run. */
  refreshDue(): Promise<AlipayRefreshRunSummary> {
    if (this.running) return this.running;
    const traced = this.telemetry
      ? this.telemetry.span('alipay.refresh.run', { 'alipay.instance_id': this.config.instanceId }, async (annotate) => {
          const s = await this.run();
          annotate({ ...Object.fromEntries(Object.entries(s).map(([k, v]) => [`alipay.run.${k}`, v])) });
          return s;
        })
      : this.run();
    this.running = traced.finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<AlipayRefreshRunSummary> {
    const started = Date.now();
    const s: AlipayRefreshRunSummary = {
      claimed: 0,
      refreshed: 0,
      recovered: 0,
      failed: 0,
      reauthorizationRequired: 0,
      skipped: 0,
      unreadable: 0,
      statusChecked: 0,
      cancelledFound: 0,
      stoppedByConfigurationError: false,
      durationMs: 0,
    };
    const { appId, instanceId: owner, refresh: policy } = this.config;
    // Host clocks drift: each run starts from the database's clock again.
    await this.databaseClock.measure().catch(() => undefined);
    const lease = { owner, ms: policy.leaseMs };
    const seen = new Set<string>();
    // A run starts even while the circuit is open (a call that succeeds closes it); it stops once a call opens it.
    const runTicket = this.circuit.ticket();
    const halted = () => this.stopping || s.stoppedByConfigurationError || this.circuit.openedSince(runTicket);

    // Twice as many lanes as calls in flight: while some lanes are in the database, others call Alipay.
    const gate = callGate(policy.concurrency, this.budget.refreshes, halted);
    const claimRefreshes = () =>
      this.claimFresh(() => this.store.claimDue(appId, dueCriteria(this.config.clock(), policy), lease, policy.batchSize), seen, s, halted);
    const refresh = (row: AlipayAuthorization) => this.refreshOne(row, gate, s, halted);
    await runPipeline(claimRefreshes, 2 * policy.concurrency, policy.concurrency, refresh);

    if (policy.statusCheckIntervalMs > 0 && !halted()) await this.checkStatuses(s, halted, claimRefreshes, refresh);

    s.durationMs = Date.now() - started;
    const line = `Token refresh run: claimed ${s.claimed}, refreshed ${s.refreshed}, recovered ${s.recovered}, failed ${s.failed}, re-authorization required ${s.reauthorizationRequired}, unreadable ${s.unreadable}, skipped ${s.skipped}, status checked ${s.statusChecked} (cancelled ${s.cancelledFound}) in ${s.durationMs} ms`;
    if (s.stoppedByConfigurationError) this.logger.error(`${line}; STOPPED: Alipay reports a configuration error (${this.circuit.state.errorCode})`);
    else this.logger.log(line);
    this.lastRun = { finishedAt: new Date(this.config.clock()), summary: s };
    return s;
  }

  /**
   * One claim, minus rows this run has already handled: a row due again right after its refresh (Alipay
   * gave a short lifetime) waits for the next run. Nothing new ends the run.
   */
  private async claimFresh(
    claim: () => Promise<AlipayAuthorization[]>,
    seen: Set<string>,
    s: AlipayRefreshRunSummary,
    halted: () => boolean,
    count = true,
  ): Promise<AlipayAuthorization[]> {
    if (halted()) return [];
    const batch = await claim();
    const claimedAt = performance.now();
    for (const r of batch) this.claimedAt.set(r, claimedAt);
    const fresh = batch.filter((r) => !seen.has(r.authAppId));
    for (const r of batch) {
      if (seen.has(r.authAppId)) await this.store.releaseLease(this.config.appId, r.authAppId, this.config.instanceId);
      seen.add(r.authAppId);
    }
    if (count) s.claimed += fresh.length;
    return fresh;
  }

  private count(s: AlipayRefreshRunSummary, outcome: string): void {
    switch (outcome) {
      case 'refreshed':
        s.refreshed++;
        break;
      case 'recovered':
        s.recovered++;
        break;
      case 'reauthorization_required':
        s.reauthorizationRequired++;
        break;
      case 'cancelled':
        s.cancelledFound++;
        break;
      case 'unreadable':
        s.unreadable++;
        break;
      case 'configuration_error':
        s.stoppedByConfigurationError = true;
        break;
      case 'failed':
      case 'ambiguous':
        s.failed++;
        break;
      default:
        s.skipped++;
    }
  }

  private async refreshOne(row: AlipayAuthorization, gate: AlipayCallGate, s: AlipayRefreshRunSummary, halted: () => boolean): Promise<void> {
    if (halted()) return this.release(row, s);
    const outcome = await this.coordinator.refreshLeased(row, this.config.instanceId, gate, this.claimedAt.get(row)).catch((e) => {
      this.logger.warn(`Refresh of ${row.authAppId} failed: ${e instanceof Error ? e.message : String(e)}`);
      return 'failed' as const;
    });
    this.count(s, outcome);
  }

  private async release(row: AlipayAuthorization, s: AlipayRefreshRunSummary): Promise<void> {
    await this.store.releaseLease(this.config.appId, row.authAppId, this.config.instanceId).catch(() => undefined);
    s.skipped++;
  }

  /**
   * The second duty: ask Alipay about authorizations not checked lately, to catch missed cancellations and
   * lost pairs. Checks run on the budget's check share (spaced evenly, never ahead of a refresh); every
   * claim first looks for refreshes that fell due meanwhile and works those first. Small batches (about
   * two seconds of checks, as many lanes) keep that look frequent. Under the cron, the pass ends before the next tick,
   * so every run completes and the next one starts with the refreshes.
   */
  private async checkStatuses(
    s: AlipayRefreshRunSummary,
    halted: () => boolean,
    claimRefreshes: () => Promise<AlipayAuthorization[]>,
    refresh: (row: AlipayAuthorization) => Promise<void>,
  ): Promise<void> {
    const { appId, instanceId: owner, refresh: policy } = this.config;
    const seen = new Set<string>();
    const gate = callGate(policy.concurrency, this.budget.checks, halted);
    const checksPerSecond = policy.statusCheckShare * policy.ratePerSecond;
    const batch = Math.max(1, Math.min(policy.batchSize, Math.ceil(2 * checksPerSecond)));
    const nextTick = this.job?.nextDate()?.toMillis();
    // The checks already claimed (two batches at most) are sent before the tick, so that tick starts a new run.
    const deadline = nextTick === undefined ? Infinity : nextTick - 1_000 - (2 * batch * 1000) / checksPerSecond;
    const claimChecks = () =>
      this.claimFresh(
        () => this.store.claimStatusCheckDue(appId, new Date(this.config.clock() - policy.statusCheckIntervalMs), { owner, ms: policy.leaseMs }, batch),
        seen,
        s,
        halted,
        false,
      );
    const claim = async (): Promise<AlipayAuthorization[]> => {
      if (Date.now() >= deadline) return [];
      // Refreshes that fell due meanwhile are drained first, with all the refresh lanes.
      const found = await claimRefreshes();
      if (found.length) await runPipeline(async () => (found.length ? found.splice(0) : claimRefreshes()), 2 * policy.concurrency, policy.concurrency, refresh);
      return claimChecks();
    };
    // As many lanes as one batch: a claim (and with it the look for due refreshes) comes as each batch is sent.
    await runPipeline(claim, batch, 1, (row) => this.checkOne(row, gate, s, halted));
  }

  private async checkOne(row: AlipayAuthorization, gate: AlipayCallGate, s: AlipayRefreshRunSummary, halted: () => boolean): Promise<void> {
    const { appId, instanceId: owner } = this.config;
    if (halted()) return void (await this.store.releaseLease(appId, row.authAppId, owner).catch(() => undefined));
    try {
      const outcome = await this.coordinator.checkLeased(row, owner, gate);
      if (outcome === 'unreadable') s.unreadable++;
      else s.statusChecked++;
      if (outcome === 'refreshed') s.recovered++;
      if (outcome === 'configuration_error') s.stoppedByConfigurationError = true;
      if (outcome === 'cancelled') s.cancelledFound++;
    } catch (e) {
      if (e instanceof AlipayCallNotSent) return void (await this.store.releaseLease(appId, row.authAppId, owner).catch(() => undefined));
      this.logger.warn(`Status check of ${row.authAppId} failed: ${e instanceof Error ? e.message : String(e)}`);
      if (!this.circuit.isOpen) {
        // Count it as checked so a broken row does not spin; it is retried at the next interval.
        await this.store.markChecked(appId, row.authAppId, row.version, new Date(this.config.clock())).catch(() => undefined);
      } else s.stoppedByConfigurationError = true;
      await this.store.releaseLease(appId, row.authAppId, owner).catch(() => undefined);
    }
  }
}
