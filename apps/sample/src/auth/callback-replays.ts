import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type Redis from 'ioredis';
import { createHash } from 'node:crypto';
import { DataSource, LessThan } from 'typeorm';
import { SAMPLE_CONFIG, SampleConfig } from '../config/sample-config';
import { SAMPLE_CLOCK } from '../config/sample-config.module';
import { SAMPLE_REDIS } from '../redis/redis.module';
import { CallbackReplayEntity } from './callback-replay.entity';

/** What a success page shows of an authorization (never tokens). */
export interface AuthorizedMerchant {
  authAppId: string;
  userId: string | null;
}

export interface ExchangeRecord {
  merchants: AuthorizedMerchant[];
  /** True when the asking browser is the one that completed the exchange. */
  sameBrowser: boolean;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

interface ReplayBackend {
  put(codeHash: string, binding: string, merchants: AuthorizedMerchant[], expiresAt: number): Promise<void>;
  get(codeHash: string, now: number): Promise<{ binding: string; merchants: AuthorizedMerchant[] } | undefined>;
}

class DatabaseBackend implements ReplayBackend {
  private puts = 0;

  constructor(
    private readonly ds: DataSource,
    private readonly clock: () => number,
  ) {}

  private get repo() {
    return this.ds.getRepository(CallbackReplayEntity);
  }

  async put(codeHash: string, binding: string, merchants: AuthorizedMerchant[], expiresAt: number): Promise<void> {
    // Instants as decimal text: TypeORM writes numbers into SQLite's SQL text, so each put would prepare
    // (and keep, until a GC) a statement of its own; text is bound, and every engine reads it as a bigint.
    await this.repo.save({ codeHash, binding, result: JSON.stringify(merchants), expiresAt: String(expiresAt) });
    // Expired rows go now and then; one indexed delete, never on the answer's path to the merchant.
    if (++this.puts % 50 === 1) await this.repo.delete({ expiresAt: LessThan(String(this.clock())) }).catch(() => undefined);
  }

  async get(codeHash: string, now: number) {
    const row = await this.repo.findOneBy({ codeHash });
    if (!row || Number(row.expiresAt) <= now) return undefined;
    return { binding: row.binding, merchants: JSON.parse(row.result) as AuthorizedMerchant[] };
  }
}

class RedisBackend implements ReplayBackend {
  constructor(
    private readonly redis: Redis,
    private readonly clock: () => number,
    private readonly prefix: string,
  ) {}

  async put(codeHash: string, binding: string, merchants: AuthorizedMerchant[], expiresAt: number): Promise<void> {
    await this.redis.set(`${this.prefix}${codeHash}`, JSON.stringify({ binding, merchants }), 'PX', Math.max(1, expiresAt - this.clock()));
  }

  async get(codeHash: string) {
    const raw = await this.redis.get(`${this.prefix}${codeHash}`);
    return raw ? (JSON.parse(raw) as { binding: string; merchants: AuthorizedMerchant[] }) : undefined;
  }
}

/**
 * Codes exchanged successfully, shared by every instance (the database, or Redis when REDIS_URL is set), so a
 * reloaded callback (the code is single-use at Alipay) answers "authorized" on any instance instead of
 * Alipay's AUTH_CODE_NOT_VALID, and shows the merchant's details only to the browser that completed it.
 * Concurrent callbacks for one code in one process share one exchange.
 */
@Injectable()
export class CallbackReplays {
  static readonly TTL_MS = 30 * 60_000;
  private readonly backend: ReplayBackend;
  private readonly inflight = new Map<string, Promise<AuthorizedMerchant[]>>();
  private readonly logger = new Logger(CallbackReplays.name);

  constructor(
    @InjectDataSource() ds: DataSource,
    @Inject(SAMPLE_REDIS) redis: Redis | null,
    @Inject(SAMPLE_CLOCK) private readonly clock: () => number,
    @Inject(SAMPLE_CONFIG) config: SampleConfig,
  ) {
    this.backend = redis ? new RedisBackend(redis, clock, `${config.redisKeyPrefix}callback:`) : new DatabaseBackend(ds, clock);
  }

  /** The remembered result for `code`, if it was exchanged in the last 30 minutes by any instance. */
  async find(code: string, browserNonce: string | undefined): Promise<ExchangeRecord | undefined> {
    const hit = await this.backend.get(sha256(code), this.clock());
    if (!hit) return undefined;
    return { merchants: hit.merchants, sameBrowser: !!browserNonce && sha256(browserNonce) === hit.binding };
  }

  /** Runs the exchange once per code at a time in this process and remembers its result for `browserNonce`. */
  exchange(code: string, browserNonce: string, run: () => Promise<AuthorizedMerchant[]>): Promise<AuthorizedMerchant[]> {
    const key = sha256(code);
    const running = this.inflight.get(key);
    if (running) return running;
    const p = run()
      .then(async (merchants) => {
        // The merchant is authorized even if this memory fails; a reload then meets AUTH_CODE_NOT_VALID.
        await this.backend
          .put(key, sha256(browserNonce), merchants, this.clock() + CallbackReplays.TTL_MS)
          .catch((e: unknown) => this.logger.warn(`Could not remember an exchanged code: ${e instanceof Error ? e.message : String(e)}`));
        return merchants;
      })
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }
}
