import { jest } from '@jest/globals';
import { runPipeline } from '../refresh/pipeline';
import { callGate, TokenBucketRateLimiter } from './call-gate';

describe('TokenBucketRateLimiter', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('paces callers in order, 1/rate apart, with no initial burst', async () => {
    const limiter = new TokenBucketRateLimiter(4);
    const done: number[] = [];
    for (let i = 0; i < 10; i++) void limiter.acquire().then(() => done.push(i));
    await jest.advanceTimersByTimeAsync(0);
    expect(done).toEqual([0]);
    await jest.advanceTimersByTimeAsync(500);
    expect(done).toEqual([0, 1, 2]);
    await jest.advanceTimersByTimeAsync(1750);
    expect(done).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('never grants more than the rate in any one-second window, idle gaps included', async () => {
    const limiter = new TokenBucketRateLimiter(20);
    const grants: number[] = [];
    const take = (n: number) => Array.from({ length: n }, () => limiter.acquire().then(() => grants.push(Date.now())));
    void Promise.all(take(50));
    await jest.advanceTimersByTimeAsync(1300);
    await jest.advanceTimersByTimeAsync(2000); // idle: a bucket would refill to a burst here
    void Promise.all(take(50));
    await jest.advanceTimersByTimeAsync(4000);
    expect(grants).toHaveLength(100);
    for (const start of grants) expect(grants.filter((t) => t >= start && t < start + 1000).length).toBeLessThanOrEqual(20);
  });
});

describe('TokenBucketRateLimiter.tryAcquire', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('takes a free slot at once, never one that is spoken for, and never ahead of a waiting caller', async () => {
    const limiter = new TokenBucketRateLimiter(4);
    expect(limiter.tryAcquire()).toBe(true);
    expect(limiter.tryAcquire()).toBe(false); // the next slot is 250 ms away
    await jest.advanceTimersByTimeAsync(250);
    const waiting = limiter.acquire();
    expect(limiter.tryAcquire()).toBe(false); // an acquire() is queued: it goes first
    await jest.advanceTimersByTimeAsync(0);
    await waiting;
    await jest.advanceTimersByTimeAsync(250);
    expect(limiter.tryAcquire()).toBe(true);
  });
});

describe('callGate', () => {
  it('starts the call synchronously when a place and a rate slot are free', async () => {
    let started = false;
    const gate = callGate(1, new TokenBucketRateLimiter(1000));
    const done = gate(async () => void (started = true));
    expect(started).toBe(true);
    await done;
  });

  it('holds at most `concurrency` calls, each on a rate slot', async () => {
    let inFlight = 0;
    let peak = 0;
    let slots = 0;
    const gate = callGate(3, { acquire: async () => void slots++ });
    await Promise.all(
      [...Array(20).keys()].map(() =>
        gate(async () => {
          inFlight++;
          peak = Math.max(peak, inFlight);
          await new Promise((r) => setImmediate(r));
          inFlight--;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(slots).toBe(20);
  });

  it('frees the place when the call throws', async () => {
    const gate = callGate(1, { acquire: async () => undefined });
    await expect(gate(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(gate(async () => 'next')).resolves.toBe('next');
  });
});

describe('runPipeline', () => {
  it('claims the next batch while the current one is worked, and works every item once', async () => {
    const batches = [[1, 2, 3, 4], [5, 6, 7, 8], [9], []];
    const claimedWhileBusy: boolean[] = [];
    let busy = 0;
    const seen: number[] = [];
    await runPipeline(
      async () => {
        claimedWhileBusy.push(busy > 0);
        return batches.shift() ?? [];
      },
      4,
      4,
      async (i) => {
        busy++;
        await new Promise((r) => setImmediate(r));
        seen.push(i);
        busy--;
      },
    );
    expect(seen.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(claimedWhileBusy.slice(1).some(Boolean)).toBe(true); // not only at batch boundaries
  });

  it('fails the run when a claim fails, after the workers stop', async () => {
    let n = 0;
    await expect(
      runPipeline(
        async () => (n++ === 0 ? [1, 2] : Promise.reject(new Error('db down'))),
        2,
        2,
        async () => undefined,
      ),
    ).rejects.toThrow('db down');
  });
});
