/**
 * Preloaded (`node -r`) into a soak instance before anything else: moves the host clock SOAK_SKEW_MS
 * ahead, as a server whose clock is wrong. Date.now and `new Date()` both move; the library gets no
 * `clock` option, so it sees what such a host would show it. The real time stays available to the soak's
 * own journal as `globalThis.__soakRealNow`.
 */
const skewMs = Number(process.env.SOAK_SKEW_MS || 0);
const RealDate = Date;
const realNow = RealDate.now.bind(RealDate);
(globalThis as Record<string, unknown>).__soakRealNow = realNow;

if (skewMs) {
  class SkewedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(realNow() + skewMs);
      else super(...(args as [string | number | Date]));
    }
    static now(): number {
      return realNow() + skewMs;
    }
  }
  // Date() called as a function answers a string of the current (skewed) time.
  const DateShim = new Proxy(SkewedDate, {
    apply: () => new SkewedDate().toString(),
  });
  (globalThis as Record<string, unknown>).Date = DateShim;
}
