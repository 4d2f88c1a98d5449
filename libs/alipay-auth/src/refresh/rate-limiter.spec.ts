import { jest } from '@jest/globals';
import { runPool, TokenBucketRateLimiter } from './rate-limiter';

describe('TokenBucketRateLimiter', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('lets a burst of one second through, then paces callers in order', async () => {
    const limiter = new TokenBucketRateLimiter(4);
    const done: number[] = [];
    for (let i = 0; i < 10; i++) void limiter.acquire().then(() => done.push(i));
    await jest.advanceTimersByTimeAsync(0);
    expect(done).toEqual([0, 1, 2, 3]);
    await jest.advanceTimersByTimeAsync(500);
    expect(done).toEqual([0, 1, 2, 3, 4, 5]);
    await jest.advanceTimersByTimeAsync(1000);
    expect(done).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe('runPool', () => {
  it('runs every item with at most `concurrency` in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    await runPool([...Array(20).keys()], 3, async (i) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setImmediate(r));
      seen.push(i);
      inFlight--;
    });
    expect(peak).toBe(3);
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
  });
});
