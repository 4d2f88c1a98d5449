/** The simulator clock: real time plus a settable offset. Drives token expiry, code age and the timestamp window. */
export class SimulatorClock {
  private offsetMs = 0;

  now(): number {
    return Date.now() + this.offsetMs;
  }

  set(nowMs: number): number {
    this.offsetMs = nowMs - Date.now();
    return this.now();
  }

  advance(ms: number): number {
    this.offsetMs += ms;
    return this.now();
  }

  reset(): void {
    this.offsetMs = 0;
  }
}
