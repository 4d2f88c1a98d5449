import type { AlipayAuthorizationInfo } from 'nestjs-alipay-auth';

export interface RecentExchange {
  authorizations: AlipayAuthorizationInfo[];
  /** The `state` the successful callback carried (null without one). */
  state: string | null;
  at: number;
}

/**
 * Codes this process exchanged successfully, with their result, so that a reloaded or replayed callback
 * (the code is single-use at Alipay) shows the merchant the same success instead of Alipay's
 * AUTH_CODE_NOT_VALID. In memory, bounded, short-lived; also joins concurrent callbacks for one code.
 */
export class RecentExchanges {
  private readonly done = new Map<string, RecentExchange>();
  private readonly inflight = new Map<string, Promise<AlipayAuthorizationInfo[]>>();

  constructor(
    private readonly clock: () => number,
    readonly ttlMs = 30 * 60_000,
    readonly maxEntries = 1000,
  ) {}

  get(code: string): RecentExchange | undefined {
    const hit = this.done.get(code);
    if (!hit) return undefined;
    if (this.clock() - hit.at > this.ttlMs) {
      this.done.delete(code);
      return undefined;
    }
    return hit;
  }

  /** Runs the exchange once per code at a time; a concurrent caller gets the same promise. */
  exchange(code: string, state: string | null, run: () => Promise<AlipayAuthorizationInfo[]>): Promise<AlipayAuthorizationInfo[]> {
    const running = this.inflight.get(code);
    if (running) return running;
    const p = run()
      .then((authorizations) => {
        this.remember(code, { authorizations, state, at: this.clock() });
        return authorizations;
      })
      .finally(() => this.inflight.delete(code));
    this.inflight.set(code, p);
    return p;
  }

  private remember(code: string, entry: RecentExchange): void {
    this.done.delete(code);
    const now = this.clock();
    for (const [k, v] of this.done) {
      if (this.done.size < this.maxEntries && now - v.at <= this.ttlMs) break;
      this.done.delete(k); // oldest first (insertion order)
    }
    this.done.set(code, entry);
  }

  get size(): number {
    return this.done.size;
  }
}
