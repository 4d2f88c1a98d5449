import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayOpenApiClient } from '../client/alipay-openapi.client';
import { AlipayApiError, AlipayConfigError, AlipayNetworkError, AlipaySignatureError } from '../errors/alipay-auth.errors';
import { TOKEN_QUERY_PATH } from '../tokens/token-recovery';
import { AlipayTokenRefreshScheduler } from '../refresh/token-refresh.scheduler';
import { AlipayAuthorization, AlipayAuthorizationCounts, AlipayTokenStore } from '../storage/alipay-token-store';
import { AlipayConfigurationCircuit, AlipayConfigurationCircuitState } from '../tokens/configuration-circuit';
import { bareAlipayCode, dueCriteria, FOREIGN_CREDENTIAL_CODES, isConfigurationError } from '../tokens/refresh-policy';

/** A token that cannot exist: the query for it must come back as a signed business error. */
const BOOT_CHECK_TOKEN = '000000BB00000000000000000000000000000X00';

export interface AlipayBootCheckResult {
  ok: boolean;
  /** What was proven, or which side is wrong. */
  message: string;
  errorCode?: string;
}

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
  /**
   * How old the row counts may be: probes within this time (and concurrent ones) share one count instead
   * of each reading the table. Default: a count under way is shared by the probes that arrive meanwhile;
   * once a count takes 100 ms or more (a large table), its result is shared for 50 times as long, so
   * counting takes at most 2 % of the time (a 0.8 s count: 40 s). 0 counts at every call. The circuit and
   * the run age are live.
   */
  countsMaxAgeMs?: number;
  /**
   * With a store that keeps its totals (the TypeORM store): how old the totals per status may be before one
   * instance of the cluster counts them again, in the background. Default 5 minutes. A table that counts in
   * under 100 ms is counted at every count instead, so small installs see exact totals. The problem counts
   * (failing, verifying, unreadable, overdue) are read at every count, from index ranges that hold only them.
   */
  totalsMaxAgeMs?: number;
}

export interface AlipayAuthHealthSummary {
  status: 'up' | 'down';
  /** Why it is down, one line per breached threshold. */
  problems: string[];
  /**
   * `failing`, `verifying`, `unreadable` and `overdue`: exact when counted (within `countsMaxAgeMs`). The four
   * statuses (`active` … `cancelled`, the ratios' denominators): `totalsAgeMs` old.
   */
  counts: AlipayAuthorizationCounts;
  overdue: number;
  /**
   * Age of the totals per status in `counts` (database clock, ms): 0 when counted for this summary; with the
   * TypeORM store up to `totalsMaxAgeMs` plus one count. With such a store `unreadable` counts active rows only.
   */
  totalsAgeMs: number;
  configurationCircuit: AlipayConfigurationCircuitState;
  /** Milliseconds since this instance's last completed run; null when it has none (not started, or refresh disabled). */
  lastRunAgeMs: number | null;
}

const DAY = 24 * 3600_000;

type RowCounts = { counts: AlipayAuthorizationCounts; overdue: number; totalsAgeMs: number };

/** Upkeep a store may offer (the TypeORM store does): start-up and health call each that is there. */
interface StoreUpkeep {
  healthCounts(appId: string, overdueBefore: Date, options: { owner: string; totalsMaxAgeMs: number }): Promise<RowCounts>;
  sampleUnknownKeyRows(): Promise<{ sampled: number; unknown: number }>;
  applyRefreshWindows(appId: string, options: { owner: string; stopped: () => boolean }): Promise<{ state: string; changed: number }>;
}
/** Default `countsMaxAgeMs`: fresh while a count is quicker than this; beyond, this many times its duration. */
const SLOW_COUNT_MS = 100;
const COUNT_TIME_FACTOR = 50;
/** Default `totalsMaxAgeMs`. */
const TOTALS_MAX_AGE_MS = 5 * 60_000;

/**
 * The library's own view of its health, for `/health` endpoints and dashboards: failing, verifying,
 * unreadable and overdue rows, the configuration circuit and the age of the last scheduled run. Also the
 * start-up checks that need the database (clock offset, rows under keys that are not configured).
 */
@Injectable()
export class AlipayAuthHealthService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(AlipayAuthHealthService.name);
  /** The re-application of the refresh windows started at boot, if any (awaited at shutdown). */
  private windowSync?: Promise<void>;
  private stopping = false;
  /** How long the last count of the rows took (the default `countsMaxAgeMs` grows with it). */
  private lastCountMs = 0;
  private counts?: { overdueAfterMs: number; at: number; settled: boolean; value: Promise<RowCounts> };

  constructor(
    @Inject(AlipayTokenStore) private readonly store: AlipayTokenStore,
    @Inject(ALIPAY_AUTH_CONFIG) private readonly config: ResolvedAlipayAuthConfig,
    private readonly circuit: AlipayConfigurationCircuit,
    private readonly scheduler: AlipayTokenRefreshScheduler,
    private readonly client: AlipayOpenApiClient,
  ) {}

  /**
   * One signed call Alipay must refuse with a business error. Proves that Alipay accepts our signature and
   * app id, and (when Alipay signs its error answers, as it does its successful ones) that the answer
   * verifies with the configured Alipay key or certificate. A failure says which side is wrong.
   */
  async verifyOnline(): Promise<AlipayBootCheckResult> {
    try {
      await this.client.request({ method: 'GET', path: TOKEN_QUERY_PATH, query: { app_auth_token: BOOT_CHECK_TOKEN }, retries: 0 });
      return { ok: true, message: 'Alipay answered the self-check query; signature and keys work' };
    } catch (e) {
      if (isConfigurationError(e)) {
        return {
          ok: false,
          errorCode: e.code,
          message: `Alipay refused our request with ${e.code} (traceId ${e.traceId ?? '-'}): the private key, app id or app certificate does not match what Alipay has for app ${this.config.appId}`,
        };
      }
      if (e instanceof AlipaySignatureError) {
        return {
          ok: false,
          errorCode: e.code,
          message: `Alipay's answer does not verify (${e.code}): option "alipayPublicKey" (or "alipayPublicCert") is not the Alipay key of this environment`,
        };
      }
      if (e instanceof AlipayApiError && e.status >= 400 && e.status < 500) {
        return { ok: true, message: `Alipay accepted our signature and answered ${e.code} as expected` };
      }
      const why = e instanceof AlipayNetworkError ? `${e.kind}` : e instanceof AlipayApiError ? `${e.status} ${e.code}` : e instanceof Error ? e.name : 'error';
      return { ok: true, message: `Alipay could not be asked (${why}); the keys are unverified` };
    }
  }

  async summary(thresholds: AlipayAuthHealthThresholds = {}): Promise<AlipayAuthHealthSummary> {
    const t = {
      maxFailingRatio: 0.1,
      maxVerifyingRatio: 0.1,
      maxUnreadable: 0,
      maxOverdue: 0,
      overdueAfterMs: DAY,
      maxRunAgeMs: 3600_000,
      ...thresholds,
    };
    const now = this.config.clock();
    const { counts, overdue, totalsAgeMs } = await this.rowCounts(t.overdueAfterMs, thresholds.countsMaxAgeMs, thresholds.totalsMaxAgeMs ?? TOTALS_MAX_AGE_MS);
    const circuit = this.circuit.state;
    const last = this.scheduler.lastCompletedRun;
    const lastRunAgeMs = last ? Math.max(0, now - last.finishedAt.getTime()) : null;
    const problems: string[] = [];
    const ratio = (n: number) => (counts.active > 0 ? n / counts.active : 0);
    if (circuit.open) problems.push(`Alipay reports a configuration error (${circuit.errorCode}); scheduled refresh stopped`);
    if (counts.unreadable > t.maxUnreadable) problems.push(`${counts.unreadable} row(s) cannot be decrypted`);
    if (overdue > t.maxOverdue) problems.push(`${overdue} active row(s) overdue for refresh`);
    const foreign = await this.foreignCredentialRows();
    if (foreign.length) {
      const codes = [...new Set(foreign.map((r) => r.lastErrorCode))].join(', ');
      problems.push(
        `${foreign.length} active row(s) hold a credential of another Alipay app (${codes}), e.g. merchant app ${foreign[0].authAppId}: the merchant must authorize app ${this.config.appId} again`,
      );
    }
    if (ratio(counts.failing) > t.maxFailingRatio) problems.push(`${counts.failing} of ${counts.active} active row(s) failing to refresh`);
    if (ratio(counts.verifying) > t.maxVerifyingRatio) problems.push(`${counts.verifying} of ${counts.active} active row(s) awaiting verification`);
    if (this.config.refresh.enabled && lastRunAgeMs !== null && lastRunAgeMs > t.maxRunAgeMs)
      problems.push(`last scheduled run finished ${Math.round(lastRunAgeMs / 1000)} s ago`);
    return { status: problems.length ? 'down' : 'up', problems, counts, overdue, totalsAgeMs, configurationCircuit: circuit, lastRunAgeMs };
  }

  /**
   * The counts of rows, shared by the probes of `maxAgeMs` (and by concurrent ones): a load balancer probing
   * every instance often costs one count per instance per `maxAgeMs`, not one per probe. A failed count is
   * not kept.
   */
  private rowCounts(overdueAfterMs: number, countsMaxAgeMs: number | undefined, totalsMaxAgeMs: number): Promise<RowCounts> {
    const at = performance.now();
    const kept = this.counts;
    const maxAgeMs = countsMaxAgeMs ?? (this.lastCountMs >= SLOW_COUNT_MS ? COUNT_TIME_FACTOR * this.lastCountMs : 0);
    // A count under way is shared unless every call must count (0); a finished one within maxAgeMs.
    const shared = kept?.overdueAfterMs === overdueAfterMs && (kept.settled ? at - kept.at <= maxAgeMs : true);
    if (kept && shared && countsMaxAgeMs !== 0) return kept.value;
    const value = (async () => {
      const started = performance.now();
      const upkeep = this.store as AlipayTokenStore & Partial<StoreUpkeep>;
      const overdueBefore = this.config.clock() - overdueAfterMs;
      if (upkeep.healthCounts) {
        const r = await upkeep.healthCounts(this.config.appId, new Date(overdueBefore), { owner: this.config.instanceId, totalsMaxAgeMs });
        this.lastCountMs = performance.now() - started;
        return r;
      }
      const counts = await this.store.countByStatus(this.config.appId);
      // Overdue: due already at (now - overdueAfterMs), i.e. inside the refresh window for longer than that.
      const overdue = await this.store.countDue(this.config.appId, dueCriteria(overdueBefore, this.config.refresh));
      this.lastCountMs = performance.now() - started;
      return { counts, overdue, totalsAgeMs: 0 };
    })();
    const entry = { overdueAfterMs, at, value, settled: false };
    this.counts = entry;
    value.then(
      () => (entry.settled = true),
      () => {
        if (this.counts === entry) this.counts = undefined;
      },
    );
    return value;
  }

  /**
   * Active rows whose last error says their credential belongs to another app. Only the rows this instance
   * saw answer so (the circuit remembers the latest 20), re-read so that a re-authorized row drops out.
   */
  private async foreignCredentialRows(): Promise<AlipayAuthorization[]> {
    const ids = [...this.circuit.foreignCredentialRows.keys()].reverse();
    const rows = await Promise.all(ids.map((id) => this.store.find(this.config.appId, id)));
    return rows.filter(
      (r): r is AlipayAuthorization => r?.status === 'active' && r.lastErrorCode !== null && FOREIGN_CREDENTIAL_CODES.has(bareAlipayCode(r.lastErrorCode)),
    );
  }

  /** Stops the background re-application at its next batch (its progress is kept) and waits for that. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.windowSync;
  }

  async onApplicationBootstrap(): Promise<void> {
    for (const w of this.config.bootWarnings) this.logger.warn(w);
    if (this.config.verifyOnBoot) {
      const r = await this.verifyOnline();
      if (!r.ok && this.config.verifyOnBoot === true)
        throw new AlipayConfigError(`Start-up self-check failed: ${r.message} (set "verifyOnBoot: 'warn'" to start anyway with health down)`);
      if (!r.ok) {
        this.logger.error(`Start-up self-check failed: ${r.message}`);
        this.circuit.open(new AlipayApiError({ status: 0, code: r.errorCode ?? 'boot-check-failed', message: r.message }));
      } else this.logger.log(`Start-up self-check: ${r.message}`);
    }
    try {
      if (!this.config.clockOffset) {
        // A `clock` option is used as given: say when it disagrees with the database's.
        const offset = this.config.clock() - (await this.store.databaseNow());
        if (Math.abs(offset) > 5_000) {
          this.logger.warn(
            `The module clock (option "clock") is ${offset > 0 ? 'ahead of' : 'behind'} the database's by ${Math.abs(offset)} ms; leases use the database's clock, refresh timing uses the module clock`,
          );
        }
      }
      const keyed = this.store as AlipayTokenStore & Partial<StoreUpkeep>;
      // Start-up reads a few rows, never the table: the windows' fingerprint, and a sample of key ids.
      if (keyed.sampleUnknownKeyRows) {
        const { sampled, unknown } = await keyed.sampleUnknownKeyRows();
        if (unknown > 0) {
          this.logger.warn(
            `${unknown} of ${sampled} sampled stored authorization(s) use key ids not in option "tokenEncryptionKeys": they cannot be read. Add the old key back (after the current one) and run the re-encryption`,
          );
        }
      }
      // Refresh windows may have changed since the rows were written: re-applied once for the cluster, in
      // the background (a restart resumes it), so the boot does not wait on the table.
      if (keyed.applyRefreshWindows) {
        this.windowSync = keyed
          .applyRefreshWindows(this.config.appId, { owner: this.config.instanceId, stopped: () => this.stopping })
          .then((r) => {
            if (r.changed > 0 || r.state === 'applied') this.logger.log(`Refresh windows applied: due time re-computed for ${r.changed} authorization(s)`);
          })
          .catch((e: unknown) => this.logger.debug(`Refresh windows not re-applied: ${e instanceof Error ? e.message : String(e)}`));
      }
    } catch (e) {
      // The table may not exist yet (migrations run later): the checks are advice, never a boot failure.
      this.logger.debug(`Start-up checks skipped: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
