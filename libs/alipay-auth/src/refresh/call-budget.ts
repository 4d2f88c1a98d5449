import { AlipayRateLimiter } from '../client/call-gate';

/**
 * The scheduler's share of Alipay's rate, split between its two duties. Refreshes come first: a status
 * check gets a slot of `limiter` only when no refresh waits for one, and a slot freed while a check
 * waited for it goes to a refresh that arrived meanwhile. Checks are also spaced at least
 * 1/`checksPerSecond` apart, so they never take more than that share in any window, and spread evenly
 * whatever the backlog. Slots are handed out one at a time, in that order, from one loop.
 */
export class AlipayCallBudget {
  private readonly refreshWaiters: Array<() => void> = [];
  private readonly checkWaiters: Array<() => void> = [];
  private readonly checkSpacingMs: number;
  private lastCheckAt = -Infinity;
  private serving = false;
  private wake?: () => void;

  /** Refresh calls: first in line. */
  readonly refreshes: AlipayRateLimiter;
  /** Status-check calls: only on slots no refresh wants, at most `checksPerSecond`. */
  readonly checks: AlipayRateLimiter;

  constructor(
    private readonly limiter: AlipayRateLimiter,
    checksPerSecond: number,
  ) {
    if (!(checksPerSecond > 0)) throw new TypeError('checksPerSecond must be positive');
    this.checkSpacingMs = 1000 / checksPerSecond;
    const { refreshWaiters, checkWaiters } = this;
    const enqueue = (queue: Array<() => void>) => this.enqueue(queue);
    // Nobody queued here: the limiter's own fast path (a free slot right now) is the refresh's.
    const tryFast = () => !this.serving && this.limiter.tryAcquire?.() === true;
    this.refreshes = new (class extends AlipayRateLimiter {
      acquire = () => enqueue(refreshWaiters);
      tryAcquire = tryFast;
    })();
    this.checks = new (class extends AlipayRateLimiter {
      acquire = () => enqueue(checkWaiters);
    })();
  }

  private enqueue(queue: Array<() => void>): Promise<void> {
    const granted = new Promise<void>((resolve) => queue.push(resolve));
    if (queue === this.refreshWaiters) this.wake?.();
    if (!this.serving) void this.serve();
    return granted;
  }

  private async serve(): Promise<void> {
    this.serving = true;
    try {
      for (;;) {
        if (this.refreshWaiters.length) {
          await this.limiter.acquire();
          this.refreshWaiters.shift()!();
          continue;
        }
        if (!this.checkWaiters.length) return;
        const wait = this.lastCheckAt + this.checkSpacingMs - performance.now();
        if (wait > 0) {
          // A refresh arriving meanwhile is served at once; the check waits on.
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, Math.ceil(wait));
            this.wake = () => (clearTimeout(timer), resolve());
          });
          this.wake = undefined;
          continue;
        }
        await this.limiter.acquire();
        // The slot goes to a refresh that started waiting while the check did.
        const next = this.refreshWaiters.length ? this.refreshWaiters : this.checkWaiters;
        if (next === this.checkWaiters) this.lastCheckAt = performance.now();
        next.shift()!();
      }
    } finally {
      this.serving = false;
    }
  }
}
