import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { vectors } from '../../../../test/fixtures/vectors';
import { resolveAlipayAuthConfig } from '../alipay-auth.config';
import type { AlipayCallGate } from '../client/call-gate';
import type { AlipayAuthorization } from '../storage/alipay-token-store';
import type { AlipayDatabaseClock } from '../storage/database-clock';
import { InMemoryAlipayTokenStore } from '../testing/in-memory-token-store';
import type { AlipayAuthEventPublisher } from '../tokens/alipay-auth.events';
import { AlipayConfigurationCircuit } from '../tokens/configuration-circuit';
import type { AlipayRefreshCoordinator } from '../tokens/refresh-coordinator';
import { AlipayTokenRefreshScheduler } from './token-refresh.scheduler';

const APP_ID = '2021004100000001';
const T0 = Date.UTC(2025, 0, 15, 8, 30);
const DAY = 86_400_000;
const RATE = 20;
const SHARE = 0.1;
const CALL_MS = 40;

type Event = { kind: 'refresh-wait' | 'refresh-send' | 'check-send'; id: string; at: number };

/**
 * The status checks' budget, on the real scheduler over the in-memory store, with a coordinator that only
 * records when each call waits for its slot and when it is sent (fake timers: the times are exact).
 */
describe('AlipayTokenRefreshScheduler: status checks on what refreshes leave', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn']));
  beforeEach(() => jest.useFakeTimers({ now: T0 }));
  afterEach(() => jest.useRealTimers());

  function setUp() {
    const config = resolveAlipayAuthConfig({
      appId: APP_ID,
      privateKey: vectors.keys.app.privateKeyPkcs8Pem,
      alipayPublicKey: vectors.keys.alipay.publicKeySpkiPem,
      clock: () => T0,
      refresh: { enabled: false, ratePerSecond: RATE, statusCheckShare: SHARE, concurrency: 16, batchSize: 10, statusCheckIntervalMs: DAY },
    });
    const store = new InMemoryAlipayTokenStore({ clock: () => T0 });
    const events: Event[] = [];
    const call = async <T>(gate: AlipayCallGate | undefined, kind: 'refresh' | 'check', row: AlipayAuthorization, write: () => Promise<T>): Promise<T> => {
      if (kind === 'refresh') events.push({ kind: 'refresh-wait', id: row.authAppId, at: Date.now() });
      return gate!(async () => {
        events.push({ kind: `${kind}-send`, id: row.authAppId, at: Date.now() });
        await new Promise((r) => setTimeout(r, CALL_MS));
        return write();
      });
    };
    const coordinator = {
      refreshLeased: (row: AlipayAuthorization, _owner: string, gate?: AlipayCallGate) =>
        call(gate, 'refresh', row, async () => {
          const fresh = { appAuthToken: `a-${row.authAppId}-2`, appRefreshToken: `r-${row.authAppId}-2`, issuedAt: new Date(T0) };
          await store.saveRefreshed(APP_ID, row.authAppId, row.version, { ...fresh, expiresAt: new Date(T0 + 300 * DAY), refreshExpiresAt: null });
          return 'refreshed' as const;
        }),
      checkLeased: (row: AlipayAuthorization, owner: string, gate?: AlipayCallGate) =>
        call(gate, 'check', row, async () => {
          await store.markChecked(APP_ID, row.authAppId, row.version, new Date(T0));
          await store.releaseLease(APP_ID, row.authAppId, owner);
          return 'valid' as const;
        }),
    } as unknown as AlipayRefreshCoordinator;
    const circuit = new AlipayConfigurationCircuit(config, { emit: () => undefined } as unknown as AlipayAuthEventPublisher);
    const clock = { measure: async () => undefined } as unknown as AlipayDatabaseClock;
    const scheduler = new AlipayTokenRefreshScheduler(coordinator, store, config, circuit, clock);
    const save = (id: string, expiresInDays: number, checkedDaysAgo: number) =>
      store
        .saveAuthorization({
          appId: APP_ID,
          authAppId: id,
          userId: null,
          authorizedAt: new Date(T0),
          expectedVersion: null,
          tokens: {
            appAuthToken: `a-${id}`,
            appRefreshToken: `r-${id}`,
            expiresAt: new Date(T0 + expiresInDays * DAY),
            refreshExpiresAt: null,
            issuedAt: new Date(T0),
          },
        })
        .then(() => store.patch(APP_ID, id, { lastCheckedAt: new Date(T0 - checkedDaysAgo * DAY) }));
    return { scheduler, store, events, save };
  }

  /** Runs the scheduler to its end on fake time, calling `at(ms)` hooks on the way. */
  async function runToEnd(scheduler: AlipayTokenRefreshScheduler, hooks: Array<[number, () => Promise<void>]>) {
    let done = false;
    const run = scheduler.refreshDue().finally(() => (done = true));
    for (let t = 0; !done && t < 120_000; t += 10) {
      for (const [when, hook] of hooks) if (when === t) await hook();
      await jest.advanceTimersByTimeAsync(10);
    }
    return run;
  }

  const windows = (times: number[]) => Math.max(0, ...times.map((start) => times.filter((t) => t >= start && t < start + 1000).length));

  it('never sends a check while a claimed refresh waits for a slot, never more than its share in any second, and refreshes that fall due mid-pass go first', async () => {
    const { scheduler, store, events, save } = setUp();
    for (let i = 0; i < 30; i++) await save(`due-${i}`, 10, 0);
    for (let i = 0; i < 12; i++) await save(`check-${i}`, 300, 2 + i / 100);
    const late: string[] = [];
    const summary = await runToEnd(scheduler, [
      [
        2_500,
        async () => {
          // Mid-way through the checks: 25 merchants fall due (saved with a near expiry).
          for (let i = 0; i < 25; i++) {
            late.push(`late-${i}`);
            await save(`late-${i}`, 5, 0);
          }
        },
      ],
    ]);

    expect(summary).toMatchObject({ claimed: 55, refreshed: 55, statusChecked: 12, failed: 0 });
    const checks = events.filter((e) => e.kind === 'check-send');
    const refreshes = events.filter((e) => e.kind === 'refresh-send');
    expect(checks).toHaveLength(12);
    expect(refreshes).toHaveLength(55);
    // The checks began after the refresh backlog, and the late refreshes were sent before the checks ended.
    expect(checks[0].at).toBeGreaterThanOrEqual(Math.max(...refreshes.filter((e) => e.id.startsWith('due-')).map((e) => e.at)));
    expect(Math.max(...refreshes.filter((e) => late.includes(e.id)).map((e) => e.at))).toBeLessThan(checks[checks.length - 1].at);
    // At each check sent, no refresh had asked for a slot without getting it.
    const waiting = new Set<string>();
    for (const e of events) {
      if (e.kind === 'refresh-wait') waiting.add(e.id);
      else if (e.kind === 'refresh-send') waiting.delete(e.id);
      else expect({ check: e.id, refreshesWaiting: [...waiting] }).toEqual({ check: e.id, refreshesWaiting: [] });
    }
    // The share (2 of 20 calls/s), evenly spaced, and the whole rate, in every one-second window.
    expect(windows(checks.map((e) => e.at))).toBeLessThanOrEqual(RATE * SHARE);
    for (let i = 1; i < checks.length; i++) expect(checks[i].at - checks[i - 1].at).toBeGreaterThanOrEqual(1000 / (RATE * SHARE));
    expect(windows([...checks, ...refreshes].map((e) => e.at))).toBeLessThanOrEqual(RATE);
    // Every row is refreshed or checked: none left due.
    const rows = store.all();
    expect(rows.filter((r) => r.expiresAt!.getTime() < T0 + 30 * DAY)).toEqual([]);
    expect(rows.filter((r) => r.lastCheckedAt!.getTime() < T0 - DAY)).toEqual([]);
  });

  it('with no refresh due, the checks still take no more than their share: a backlog is spread, not burst', async () => {
    const { scheduler, events, save } = setUp();
    for (let i = 0; i < 9; i++) await save(`check-${i}`, 300, 3);
    const summary = await runToEnd(scheduler, []);
    expect(summary).toMatchObject({ claimed: 0, statusChecked: 9 });
    const checks = events.filter((e) => e.kind === 'check-send').map((e) => e.at);
    expect(windows(checks)).toBe(RATE * SHARE);
    // Nine checks at two a second: four seconds from the first to the last, not one burst.
    expect(checks[checks.length - 1] - checks[0]).toBeGreaterThanOrEqual(4000);
  });
});
