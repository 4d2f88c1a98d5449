import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { AlipayTokenService } from 'nestjs-alipay-auth';
import type { AlipayAuthorizationState } from 'nestjs-alipay-auth';

export type BulkJobKind = 'retry-failing' | 'check-verifying';
export const BULK_JOB_KINDS: readonly BulkJobKind[] = ['retry-failing', 'check-verifying'];

/** The progress of one bulk action, as the operators' page and GET /alipay/merchants/bulk show it. */
export interface BulkJobProgress {
  kind: BulkJobKind;
  /** Merchants taken (at most MAX_ROWS). */
  total: number;
  done: number;
  failed: number;
  startedAt: string;
  finishedAt: string | null;
}

/** Bounds: one job at a time per instance, at most this many merchants per job, this many calls at once. */
const MAX_ROWS = 1000;
const LANES = 4;
const STATE: Record<BulkJobKind, AlipayAuthorizationState> = { 'retry-failing': 'failing', 'check-verifying': 'verifying' };

/**
 * "Retry all failing" and "check all verifying" as background work: the merchant ids are read first (one
 * page of at most 1000, oldest failure first), then worked through a few lanes; every call still passes the
 * library's call gate (concurrency and rate limit) and its per-merchant single flight. The job lives in
 * this instance: with several instances, each shows only its own.
 */
@Injectable()
export class BulkJobs implements OnModuleDestroy {
  private readonly logger = new Logger('BulkJobs');
  private job?: BulkJobProgress;
  private running?: Promise<void>;
  private stopping = false;

  constructor(private readonly tokens: AlipayTokenService) {}

  current(): BulkJobProgress | undefined {
    return this.job && { ...this.job };
  }

  /** Starts a job; false when one is still running. */
  async start(kind: BulkJobKind): Promise<boolean> {
    if (this.running) return false;
    const { items } = await this.tokens.list({ state: STATE[kind] }, { limit: MAX_ROWS, order: 'due' });
    if (this.running) return false;
    const job: BulkJobProgress = { kind, total: items.length, done: 0, failed: 0, startedAt: new Date().toISOString(), finishedAt: null };
    this.job = job;
    const queue = items.map((m) => m.authAppId);
    const lane = async () => {
      for (let id = queue.shift(); id !== undefined && !this.stopping; id = queue.shift()) {
        try {
          if (kind === 'retry-failing') await this.tokens.refresh(id);
          else await this.tokens.checkStatus(id);
        } catch {
          // The library logged the failure and recorded it on the row: the row says why.
          job.failed++;
        }
        job.done++;
      }
    };
    this.running = Promise.all(Array.from({ length: LANES }, lane))
      .then(() => undefined)
      .catch((e: unknown) => this.logger.error(`Bulk ${kind} stopped: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => {
        job.finishedAt = new Date().toISOString();
        this.running = undefined;
      });
    return true;
  }

  /** Lets the calls in flight finish, starts no new one. */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    await this.running;
  }
}
