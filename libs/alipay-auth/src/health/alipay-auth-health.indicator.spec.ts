import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorResult, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { AlipayAuthHealthIndicator } from './alipay-auth-health.indicator';
import { AlipayAuthHealthService, AlipayAuthHealthSummary, AlipayAuthHealthThresholds } from './alipay-auth-health.service';

const UP: AlipayAuthHealthSummary = {
  status: 'up',
  problems: [],
  counts: { active: 8, reauthorization_required: 1, revoked: 0, cancelled: 2, failing: 1, verifying: 0, unreadable: 0 },
  overdue: 0,
  totalsAgeMs: 0,
  configurationCircuit: { open: false },
  lastRunAgeMs: 312_400,
};

describe('AlipayAuthHealthIndicator', () => {
  let summary: AlipayAuthHealthSummary | Error;
  const asked: AlipayAuthHealthThresholds[] = [];
  let health: HealthCheckService;
  let indicator: AlipayAuthHealthIndicator;

  beforeAll(async () => {
    const fake = {
      summary: async (t: AlipayAuthHealthThresholds) => {
        asked.push(t);
        if (summary instanceof Error) throw summary;
        return summary;
      },
    };
    const moduleRef = await Test.createTestingModule({
      imports: [TerminusModule.forRoot({ logger: false })],
      providers: [AlipayAuthHealthIndicator, { provide: AlipayAuthHealthService, useValue: fake }],
    }).compile();
    health = moduleRef.get(HealthCheckService);
    indicator = moduleRef.get(AlipayAuthHealthIndicator);
  });

  it("is a terminus indicator: up, with the summary's data under its key; thresholds passed through", async () => {
    summary = UP;
    const result = await health.check([() => indicator.isHealthy('token_refresh', { maxFailingRatio: 0.5 })]);
    expect(result.status).toBe('ok');
    expect(result.details.token_refresh).toEqual({
      status: 'up',
      active: 8,
      failing: 1,
      verifying: 0,
      unreadable: 0,
      reauthorizationRequired: 1,
      revoked: 0,
      cancelled: 2,
      overdue: 0,
      failingRatio: 0.125,
      configurationError: null,
      lastRunAgeSeconds: 312,
      problems: [],
    });
    expect(asked.at(-1)).toEqual({ maxFailingRatio: 0.5 });
  });

  it('down (503 through terminus) with the problems, the circuit code and overdue rows', async () => {
    summary = {
      ...UP,
      status: 'down',
      problems: ['Alipay reports a configuration error (invalid-signature); scheduled refresh stopped', '3 active row(s) overdue for refresh'],
      overdue: 3,
      configurationCircuit: { open: true, errorCode: 'invalid-signature', traceId: '0b1' },
      lastRunAgeMs: null,
    };
    const error = await health.check([() => indicator.isHealthy()]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailableException);
    const body = (error as ServiceUnavailableException).getResponse() as { status: string; error: Record<string, Record<string, unknown>> };
    expect(body.status).toBe('error');
    expect(body.error.alipay_auth).toMatchObject({ status: 'down', overdue: 3, configurationError: 'invalid-signature', lastRunAgeSeconds: null });
    expect(body.error.alipay_auth.problems).toHaveLength(2);
  });

  it('down without the cause when the summary cannot be read (the database)', async () => {
    summary = new Error('connect ECONNREFUSED db.internal:5432 user=alipay');
    const result = await indicator.isHealthy('token_refresh');
    expect(result.token_refresh).toEqual({ status: 'down', message: 'token health unavailable (Error)' });
  });

  it('its result type fits terminus', () => {
    const fits = (r: HealthIndicatorResult): HealthIndicatorResult => r;
    expect(fits).toBeDefined();
    // Compile-time: assignable without a cast.
    const check: () => Promise<HealthIndicatorResult> = () => indicator.isHealthy('x');
    expect(check).toBeDefined();
  });

  it('the library never imports @nestjs/terminus (an optional peer): it loads without it', () => {
    const root = join(process.cwd(), 'libs/alipay-auth/src');
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((f) =>
        statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : f.endsWith('.ts') && !f.endsWith('.spec.ts') ? [join(dir, f)] : [],
      );
    const importing = files(root).filter((f) =>
      /from '@nestjs\/terminus'|require\('@nestjs\/terminus'\)|import\('@nestjs\/terminus'\)/.test(readFileSync(f, 'utf8')),
    );
    expect(importing).toEqual([]);
  });
});
