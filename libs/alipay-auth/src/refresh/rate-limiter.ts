/**
 * Paces the scheduler's calls to Alipay. The default is a token bucket per instance; pass your own
 * (`refresh.rateLimiter`, e.g. backed by Redis) for one limit shared by every instance.
 */
export abstract class AlipayRateLimiter {
  /** Resolves when one more call may start. */
  abstract acquire(): Promise<void>;
}

/** A token bucket: at most `ratePerSecond` acquisitions per second, bursts up to one second's worth. */
export class TokenBucketRateLimiter extends AlipayRateLimiter {
  private tokens: number;
  private last = Date.now();
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly ratePerSecond: number) {
    super();
    this.tokens = Math.max(1, ratePerSecond);
  }

  /** Resolves when the caller may proceed; callers are served in order. */
  acquire(): Promise<void> {
    const turn = this.queue.then(() => this.take());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async take(): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(Math.max(1, this.ratePerSecond), this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000)));
    }
  }
}

/** Runs `worker` over `items` with at most `concurrency` in flight. */
export async function runPool<T>(items: T[], concurrency: number, worker: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      await worker(item);
    }
  });
  await Promise.all(lanes);
}
