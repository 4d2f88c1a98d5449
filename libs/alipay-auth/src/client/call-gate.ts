/**
 * Paces the scheduler's calls to Alipay. The default is a token bucket per instance; pass your own
 * (`refresh.rateLimiter`, e.g. backed by Redis) for one limit shared by every instance.
 */
export abstract class AlipayRateLimiter {
  /** Resolves when one more call may start. */
  abstract acquire(): Promise<void>;
  /**
   * Optional: takes a slot only if one is free right now and nobody waits for one (then true, and the call
   * starts without waiting for a promise turn). Limiters that must ask a server leave it out.
   */
  tryAcquire?(): boolean;
}

/**
 * Paces calls at most `ratePerSecond`, in ANY window: grants are spaced 1/rate apart (a token bucket of
 * capacity one), so no burst ever exceeds the rate Alipay counts per app. Callers are served in order.
 * Slots are on the monotonic clock (`performance.now()`, sub-millisecond): a wall clock step never
 * bunches grants, and at rates above 1000/s two grants in the same millisecond wait for no timer.
 */
export class TokenBucketRateLimiter extends AlipayRateLimiter {
  private readonly intervalMs: number;
  private nextSlot = -Infinity;
  private queue: Promise<void> = Promise.resolve();
  /** `acquire()` calls whose slot is not reserved yet. */
  private queued = 0;

  constructor(ratePerSecond: number) {
    super();
    this.intervalMs = 1000 / Math.max(ratePerSecond, Number.MIN_VALUE);
  }

  acquire(): Promise<void> {
    this.queued++;
    const turn = this.queue.then(() => this.take());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  tryAcquire(): boolean {
    const now = performance.now();
    if (this.queued > 0 || this.nextSlot > now) return false;
    this.nextSlot = now + this.intervalMs;
    return true;
  }

  private take(): Promise<void> | void {
    this.queued--;
    const now = performance.now();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + this.intervalMs;
    if (slot > now) return waitUntil(slot);
  }
}

/** Resolves once `performance.now()` reaches `t`: timers for whole milliseconds, a loop turn for the rest (a timer may fire early). */
async function waitUntil(t: number): Promise<void> {
  for (let left = t - performance.now(); left > 0; left = t - performance.now()) {
    await new Promise((r) => (left >= 1 ? setTimeout(r, Math.floor(left)) : setImmediate(r)));
  }
}

/** The small part of an ioredis (or node-redis v4 with `eval` adapted) client this limiter uses. */
export interface AlipayRedisEval {
  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
}

/**
 * One slot per call, spaced 1/rate apart for ALL instances sharing `key`: a Lua script reserves the next
 * slot atomically on Redis's own clock (instances' clocks never matter) and answers how long to wait.
 * The cluster never exceeds `ratePerSecond` in any window.
 */
export class RedisRateLimiter extends AlipayRateLimiter {
  static readonly SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, last + tonumber(ARGV[1]))
redis.call('SET', KEYS[1], slot, 'PX', math.max(1000, math.ceil(slot - now) + 1000))
return {tostring(slot), tostring(slot - now)}`;
  private readonly intervalMs: number;

  constructor(
    private readonly redis: AlipayRedisEval,
    ratePerSecond: number,
    private readonly key = 'alipay-auth:rate',
  ) {
    super();
    if (!(ratePerSecond > 0)) throw new TypeError('ratePerSecond must be positive');
    this.intervalMs = 1000 / ratePerSecond;
  }

  async acquire(): Promise<void> {
    const { waitMs } = await this.reserve();
    if (waitMs > 0) await new Promise((r) => setTimeout(r, Math.ceil(waitMs)));
  }

  /** Reserves the next cluster-wide slot: its instant on Redis's clock (ms) and how long to wait for it. */
  async reserve(): Promise<{ slot: number; waitMs: number }> {
    const [slot, waitMs] = (await this.redis.eval(RedisRateLimiter.SCRIPT, 1, this.key, this.intervalMs)) as [string, string];
    return { slot: Number(slot), waitMs: Number(waitMs) };
  }
}

/** Runs one Alipay call when the gate allows it. */
export type AlipayCallGate = <T>(call: () => Promise<T>) => Promise<T>;

/** Thrown by a gate instead of making the call: the run stopped while the call waited for its turn. */
export class AlipayCallNotSent extends Error {
  constructor() {
    super('The call was not sent: the run stopped while it waited');
    this.name = 'AlipayCallNotSent';
  }
}

/**
 * At most `concurrency` calls in flight, each started on a `limiter` slot. Only the call holds a place:
 * the database reads and writes around it do not, so the slots stay busy with Alipay calls. When
 * `stopped()` is true once a call's turn comes, it is not sent (`AlipayCallNotSent`).
 * With a free place and a free rate slot (`tryAcquire`), the call starts synchronously: a place that
 * frees up goes to the next call before the finished one's database write gets the event loop.
 */
export function callGate(concurrency: number, limiter: AlipayRateLimiter, stopped: () => boolean = () => false): AlipayCallGate {
  let active = 0;
  const waiting: Array<() => void> = [];
  const leave = () => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };
  return async <T>(call: () => Promise<T>): Promise<T> => {
    if (active < concurrency) active++;
    else await new Promise<void>((r) => waiting.push(r));
    try {
      if (!limiter.tryAcquire?.()) await limiter.acquire();
      if (stopped()) throw new AlipayCallNotSent();
      return await call();
    } finally {
      leave();
    }
  };
}
