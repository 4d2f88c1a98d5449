import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { resolveAlipayAuthConfig } from '../alipay-auth.config';
import { vectors } from '../../../../test/fixtures/vectors';
import type { AlipayOpenApiClient } from '../client/alipay-openapi.client';
import { AlipayApiError } from '../errors/alipay-auth.errors';
import type { AlipayTokenRefreshScheduler } from '../refresh/token-refresh.scheduler';
import type { AlipayAuthorization, AlipayTokenStore } from '../storage/alipay-token-store';
import type { AlipayAuthEventPublisher } from '../tokens/alipay-auth.events';
import { AlipayConfigurationCircuit } from '../tokens/configuration-circuit';
import { AlipayAuthHealthService } from './alipay-auth-health.service';

const APP_ID = '2021004100000001';
const config = resolveAlipayAuthConfig({
  appId: APP_ID,
  privateKey: vectors.keys.app.privateKeyPkcs8Pem,
  alipayPublicKey: vectors.keys.alipay.publicKeySpkiPem,
  refresh: { enabled: false },
});

describe('AlipayAuthHealthService: rows holding another app’s credential', () => {
  let rows: Map<string, Partial<AlipayAuthorization>>;
  let circuit: AlipayConfigurationCircuit;
  let health: AlipayAuthHealthService;

  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn']));

  beforeEach(() => {
    rows = new Map();
    const store = {
      countByStatus: async () => ({ active: 100, reauthorization_required: 0, revoked: 0, cancelled: 0, failing: 1, verifying: 0, unreadable: 0 }),
      countDue: async () => 0,
      find: async (_appId: string, id: string) => (rows.get(id) ?? null) as AlipayAuthorization | null,
    } as unknown as AlipayTokenStore;
    circuit = new AlipayConfigurationCircuit(config, { emit: () => undefined } as unknown as AlipayAuthEventPublisher);
    const scheduler = { lastCompletedRun: null } as unknown as AlipayTokenRefreshScheduler;
    health = new AlipayAuthHealthService(store, config, circuit, scheduler, {} as AlipayOpenApiClient);
  });

  const foreign = (id: string, code = 'APP_ID_NOT_CONSISTENT') => {
    circuit.foreignCredential(new AlipayApiError({ status: 400, code, message: 'not this app' }), id);
    rows.set(id, { authAppId: id, status: 'active', lastErrorCode: code, failureCount: 1 });
  };

  it('is up with no such row', async () => {
    expect(await health.summary()).toMatchObject({ status: 'up', problems: [] });
  });

  it('one such row among healthy ones: a problem line naming the code and the merchant; the circuit stays closed', async () => {
    foreign('2021007700000001');
    const s = await health.summary();
    expect(s.status).toBe('down');
    expect(s.configurationCircuit.open).toBe(false);
    expect(s.problems).toEqual([
      expect.stringMatching(/^1 active row\(s\) hold a credential of another Alipay app \(APP_ID_NOT_CONSISTENT\), e\.g\. merchant app 2021007700000001/),
    ]);
  });

  it('a row re-authorized since (or no longer active) drops out', async () => {
    foreign('2021007700000001');
    circuit.succeeded(circuit.ticket());
    foreign('2021007700000002', 'isv.AUTH_TOKEN_NOT_CONSISTENT');
    rows.set('2021007700000001', { authAppId: '2021007700000001', status: 'active', lastErrorCode: null });
    expect((await health.summary()).problems).toEqual([
      expect.stringMatching(/^1 active row\(s\) .*\(isv\.AUTH_TOKEN_NOT_CONSISTENT\), e\.g\. merchant app 2021007700000002/),
    ]);
    rows.set('2021007700000002', { authAppId: '2021007700000002', status: 'reauthorization_required', lastErrorCode: 'isv.AUTH_TOKEN_NOT_CONSISTENT' });
    expect((await health.summary()).status).toBe('up');
  });
});

describe('AlipayAuthHealthService: probes share the row counts', () => {
  let counted: number;
  let health: AlipayAuthHealthService;
  let active: number;
  let countMs: number;

  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn']));
  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
    counted = 0;
    active = 100;
    countMs = 20;
    const store = {
      countByStatus: async () => {
        counted++;
        await new Promise((r) => setTimeout(r, countMs));
        return { active, reauthorization_required: 0, revoked: 0, cancelled: 0, failing: 0, verifying: 0, unreadable: 0 };
      },
      countDue: async () => 0,
      find: async () => null,
    } as unknown as AlipayTokenStore;
    const circuit = new AlipayConfigurationCircuit(config, { emit: () => undefined } as unknown as AlipayAuthEventPublisher);
    health = new AlipayAuthHealthService(
      store,
      config,
      circuit,
      { lastCompletedRun: null } as unknown as AlipayTokenRefreshScheduler,
      {} as AlipayOpenApiClient,
    );
  });
  afterEach(() => jest.useRealTimers());

  const probe = async (n: number, thresholds = {}) => {
    const all = Promise.all(Array.from({ length: n }, () => health.summary(thresholds)));
    await jest.advanceTimersByTimeAsync(50);
    return all;
  };

  it('concurrent probes, and probes within countsMaxAgeMs, read the table once; a quick count is fresh at every probe', async () => {
    expect((await probe(20)).map((s) => s.counts.active)).toEqual(Array(20).fill(100));
    expect(counted).toBe(1);
    // A 20 ms count is cheap: the next probe counts again and sees the change.
    active = 101;
    expect((await probe(5))[0].counts.active).toBe(101);
    expect(counted).toBe(2);
    // An explicit age holds whatever the count's duration.
    active = 102;
    await jest.advanceTimersByTimeAsync(4_000);
    expect((await probe(1, { countsMaxAgeMs: 10_000 }))[0].counts.active).toBe(101);
    expect(counted).toBe(2);
    await jest.advanceTimersByTimeAsync(7_000);
    expect((await probe(1, { countsMaxAgeMs: 10_000 }))[0].counts.active).toBe(102);
    expect(counted).toBe(3);
  });

  it('a slow count is shared longer: 50 times its own duration (counting at most 2 % of the time)', async () => {
    countMs = 400;
    const slowProbe = async () => {
      const p = health.summary();
      await jest.advanceTimersByTimeAsync(500);
      return p;
    };
    await slowProbe();
    expect(counted).toBe(1);
    // 400 ms of counting: shared for 20 s.
    await jest.advanceTimersByTimeAsync(15_000);
    await slowProbe();
    expect(counted).toBe(1);
    await jest.advanceTimersByTimeAsync(5_000);
    await slowProbe();
    expect(counted).toBe(2);
  });

  it('countsMaxAgeMs 0 counts at every probe; another overdue window is its own count', async () => {
    await probe(3, { countsMaxAgeMs: 0 });
    expect(counted).toBe(3);
    await probe(1, { overdueAfterMs: 3600_000 });
    expect(counted).toBe(4);
  });
});
