/**
 * Metrics and traces through OpenTelemetry (issue 14), read with the SDK's in-memory readers: counters,
 * the Alipay call latency histogram, the state gauges, and spans per call and per run that carry ids and
 * Alipay codes but never a token.
 */
import { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { metrics, trace } from '@opentelemetry/api';
import { AggregationTemporality, MeterProvider, MetricReader, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { AlipayAuthModule, AlipayTokenRefreshScheduler, AlipayTokenService } from 'nestjs-alipay-auth';
import { TOKEN_PATH as TOKEN_APP_PATH } from 'nestjs-alipay-auth/protocol';
import { ALIPAY_AUTH_ENTITIES, alipayAuthMigrations } from 'nestjs-alipay-auth/typeorm';
import { SimulatedAlipay, TEST_APP_ID } from '../support/simulated-alipay';

const DAY = 86_400_000;

class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

describe('OpenTelemetry metrics and traces', () => {
  let alipay: SimulatedAlipay;
  let app: INestApplicationContext;
  const reader = new TestReader();
  const spans = new InMemorySpanExporter();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });

  beforeAll(async () => {
    metrics.setGlobalMeterProvider(meterProvider);
    trace.setGlobalTracerProvider(tracerProvider);
    alipay = await SimulatedAlipay.start();
    app = await (
      await Test.createTestingModule({
        imports: [
          TypeOrmModule.forRoot({
            type: 'better-sqlite3',
            database: ':memory:',
            entities: ALIPAY_AUTH_ENTITIES,
            migrations: alipayAuthMigrations('better-sqlite3'),
            migrationsRun: true,
          }),
          AlipayAuthModule.forRoot(alipay.moduleOptions()),
        ],
      }).compile()
    ).init();
  });

  afterAll(async () => {
    await app?.close();
    await alipay?.close();
    metrics.disable();
    trace.disable();
  });

  async function collected(): Promise<Map<string, Array<{ attributes: Record<string, unknown>; value: unknown }>>> {
    const { resourceMetrics }: { resourceMetrics: ResourceMetrics } = await reader.collect();
    const out = new Map<string, Array<{ attributes: Record<string, unknown>; value: unknown }>>();
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const m of scope.metrics)
        out.set(
          m.descriptor.name,
          m.dataPoints.map((d) => ({ attributes: d.attributes, value: d.value })),
        );
    }
    return out;
  }

  it('counts exchanges, refreshes by outcome and failures by code; times calls by route; gauges rows by state', async () => {
    const svc = app.get(AlipayTokenService);
    const ids = ['2021004100000301', '2021004100000302'];
    await svc.exchangeCode(alipay.sim.controls.authorize(TEST_APP_ID, { authAppIds: ids }).app_auth_code);
    const tokens = await Promise.all(ids.map((id) => svc.getAppAuthToken(id)));
    alipay.advance(340 * DAY);
    alipay.sim.controls.addFault({ route: TOKEN_APP_PATH, kind: 'rate-limit', grantType: 'refresh_token', count: 1 });
    await app.get(AlipayTokenRefreshScheduler).refreshDue();
    alipay.sim.controls.clearFaults();

    const m = await collected();
    expect(m.get('alipay_auth.exchanges')!.reduce((n, d) => n + Number(d.value), 0)).toBe(2);
    const refreshes = m.get('alipay_auth.refreshes')!;
    expect(refreshes.find((d) => d.attributes.outcome === 'refreshed')!.value).toBe(1);
    expect(refreshes.find((d) => d.attributes.outcome === 'transient')!.value).toBe(1);
    expect(m.get('alipay_auth.failures')!.find((d) => d.attributes['alipay.code'] === 'app-call-limited')!.value).toBe(1);
    const durations = m.get('alipay_auth.alipay_call.duration')!;
    expect(durations.some((d) => d.attributes.route === TOKEN_APP_PATH && d.attributes.outcome === '200')).toBe(true);
    expect(durations.some((d) => d.attributes.route === TOKEN_APP_PATH && d.attributes.outcome === '429')).toBe(true);
    const states = m.get('alipay_auth.authorizations')!;
    expect(states.find((d) => d.attributes.state === 'active')!.value).toBe(2);
    expect(states.find((d) => d.attributes.state === 'failing')!.value).toBe(1);
    expect(m.get('alipay_auth.due_backlog')![0].value).toBe(1); // the one whose refresh failed is still due
    expect(JSON.stringify([...m.values()])).not.toContain(tokens[0]);
  });

  it('traces each Alipay call and each scheduled run with ids and codes, never a token', async () => {
    const finished = spans.getFinishedSpans();
    const calls = finished.filter((s) => s.name === 'alipay.request');
    expect(calls.length).toBeGreaterThanOrEqual(3);
    const refused = calls.find((s) => s.attributes['alipay.code'] === 'app-call-limited')!;
    expect(refused.attributes).toMatchObject({ 'alipay.route': TOKEN_APP_PATH, 'alipay.app_id': TEST_APP_ID });
    expect(refused.attributes['alipay.auth_app_id']).toMatch(/^20210041000003/);
    expect(refused.attributes['alipay.trace_id']).toBeTruthy();
    const run = finished.find((s) => s.name === 'alipay.refresh.run')!;
    expect(run.attributes).toMatchObject({ 'alipay.run.refreshed': 1, 'alipay.run.failed': 1 });
    const dump = JSON.stringify(finished.map((s) => s.attributes));
    const svc = app.get(AlipayTokenService);
    const tokenShape = /\d{6}BB[0-9a-f]{29}[A-Za-z]\d{2}/;
    for (const id of ['2021004100000301', '2021004100000302']) {
      const token = await svc.getAppAuthToken(id);
      expect(token).toMatch(tokenShape); // the check below would catch a token
      expect(dump).not.toContain(token);
    }
    expect(dump).not.toMatch(tokenShape);
  });
});
