import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import type { Attributes, Counter, Histogram, Span, Tracer } from '@opentelemetry/api';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayTokenStore } from '../storage/alipay-token-store';
import { dueCriteria } from '../tokens/refresh-policy';

/** Attributes the library puts on metrics and spans: ids, codes and outcomes, never a token. */
export interface AlipayTelemetryAttributes {
  authAppId?: string;
  code?: string;
  traceId?: string;
  [key: string]: string | number | boolean | undefined;
}

/** How long gauges reuse one database count, so a scrape every few seconds costs one query at most. */
const GAUGE_CACHE_MS = 15_000;

/**
 * Metrics and traces through `@opentelemetry/api` (an optional peer, loaded at init): a no-op when the
 * package is absent or the app registered no SDK. Counters: `alipay_auth.exchanges`, `.refreshes`
 * (by outcome), `.failures` (by Alipay code), `.recoveries`, `.notifications` (by action); a histogram of
 * Alipay call latency by route (`alipay_auth.alipay_call.duration`, ms); gauges of rows by state
 * (`alipay_auth.authorizations`) and of the due backlog (`alipay_auth.due_backlog`); a span per Alipay
 * call and per scheduled run carrying `alipay.auth_app_id`, `alipay.code` and `alipay.trace_id`.
 */
@Injectable()
export class AlipayAuthTelemetry implements OnModuleInit {
  private tracer?: Tracer;
  private counters = new Map<string, Counter>();
  private callDuration?: Histogram;
  private gauges?: { at: number; value: Promise<{ states: Record<string, number>; due: number }> };

  constructor(
    @Inject(ALIPAY_AUTH_CONFIG) private readonly config: ResolvedAlipayAuthConfig,
    @Inject(AlipayTokenStore) private readonly store: AlipayTokenStore,
  ) {}

  async onModuleInit(): Promise<void> {
    const api = await import('@opentelemetry/api').catch(() => null);
    if (!api) return;
    const meter = api.metrics.getMeter('nestjs-alipay-auth');
    const counter = (name: string, description: string) => this.counters.set(name, meter.createCounter(`alipay_auth.${name}`, { description }));
    counter('exchanges', 'Authorization codes exchanged (one per merchant app authorized)');
    counter('refreshes', 'Refresh calls by outcome');
    counter('failures', 'Failed Alipay calls of the token lifecycle, by Alipay code');
    counter('recoveries', 'Token pairs repaired with the stored refresh token');
    counter('notifications', 'Alipay notifications by action');
    this.callDuration = meter.createHistogram('alipay_auth.alipay_call.duration', { description: 'Alipay OpenAPI call latency', unit: 'ms' });
    const states = meter.createObservableGauge('alipay_auth.authorizations', { description: 'Authorizations by state' });
    const backlog = meter.createObservableGauge('alipay_auth.due_backlog', { description: 'Active authorizations due for refresh now' });
    meter.addBatchObservableCallback(
      async (result) => {
        const { states: counts, due } = await this.snapshot();
        for (const [state, n] of Object.entries(counts)) result.observe(states, n, { app_id: this.config.appId, state });
        result.observe(backlog, due, { app_id: this.config.appId });
      },
      [states, backlog],
    );
    this.tracer = api.trace.getTracer('nestjs-alipay-auth');
  }

  count(name: 'exchanges' | 'refreshes' | 'failures' | 'recoveries' | 'notifications', attributes: AlipayTelemetryAttributes = {}, n = 1): void {
    this.counters.get(name)?.add(n, this.attributes(attributes));
  }

  recordCall(route: string, ms: number, outcome: string): void {
    this.callDuration?.record(ms, { app_id: this.config.appId, route, outcome });
  }

  /** Runs `fn` in a span (when tracing is on); `fn` may add attributes; errors are recorded and rethrown. */
  async span<T>(name: string, attributes: AlipayTelemetryAttributes, fn: (annotate: (a: AlipayTelemetryAttributes) => void) => Promise<T>): Promise<T> {
    if (!this.tracer) return fn(() => undefined);
    return this.tracer.startActiveSpan(name, { attributes: this.attributes(attributes) }, async (span: Span) => {
      try {
        return await fn((a) => span.setAttributes(this.attributes(a)));
      } catch (e) {
        span.setStatus({ code: 2, message: e instanceof Error ? e.name : 'error' });
        const code = (e as { code?: unknown })?.code;
        const traceId = (e as { traceId?: unknown })?.traceId;
        span.setAttributes(this.attributes({ code: typeof code === 'string' ? code : undefined, traceId: typeof traceId === 'string' ? traceId : undefined }));
        throw e;
      } finally {
        span.end();
      }
    });
  }

  private attributes(a: AlipayTelemetryAttributes): Attributes {
    const out: Attributes = { 'alipay.app_id': this.config.appId };
    for (const [k, v] of Object.entries(a)) {
      if (v === undefined) continue;
      const key = k === 'authAppId' ? 'alipay.auth_app_id' : k === 'code' ? 'alipay.code' : k === 'traceId' ? 'alipay.trace_id' : k;
      out[key] = v;
    }
    return out;
  }

  private snapshot(): Promise<{ states: Record<string, number>; due: number }> {
    const now = Date.now();
    if (!this.gauges || now - this.gauges.at > GAUGE_CACHE_MS) {
      const value = (async () => {
        const counts = await this.store.countByStatus(this.config.appId);
        const due = await this.store.countDue(this.config.appId, dueCriteria(this.config.clock(), this.config.refresh));
        return { states: { ...counts }, due };
      })();
      // A failed count is retried at the next scrape.
      value.catch(() => (this.gauges = undefined));
      this.gauges = { at: now, value };
    }
    return this.gauges.value;
  }
}
