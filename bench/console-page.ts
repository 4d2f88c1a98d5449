/*
 * The operators' page's server time at many merchants (issue 24), against the authorization page's: the sample
 * app in simulation mode on a temporary SQLite file, seeded set-based (test/support/seed-merchants), then
 * GET requests over loopback, interleaved, one at a time; the time from sending to the last byte.
 * Pages: the landing view (the attention queue, counters), all merchants on the first and the last page,
 * by last failure, the landing view in Chinese, a search by id, and GET /alipay/auth/authorize (a signed state, its cookie and a redirect: no database).
 * Called by bench/run.ts (BENCH_ONLY=console); BENCH_CONSOLE_MERCHANTS (default 10000) sets the rows.
 */
import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { ALIPAY_AUTH_CONFIG, ResolvedAlipayAuthConfig } from 'nestjs-alipay-auth';
import { startSimulatedSample } from '../apps/sample/test/simulated-sample';
import { seededMerchant, seedMerchants } from '../test/support/seed-merchants';

export interface ConsoleBenchResult {
  figures: Array<{ name: string; unit: string; samples: number[] }>;
  notes: string[];
}

const REQUESTS = 60;
const WARMUP = 10;

export async function consolePageBench(merchants = Number(process.env.BENCH_CONSOLE_MERCHANTS ?? 10_000)): Promise<ConsoleBenchResult> {
  const sample = await startSimulatedSample('bench-console', '127.0.0.1');
  try {
    const { app, base } = sample;
    const seedStart = performance.now();
    await seedMerchants(app.get(DataSource), app.get<ResolvedAlipayAuthConfig>(ALIPAY_AUTH_CONFIG), {
      count: merchants,
      problems: { 0: 'failing', 1: 'failing', 2: 'verifying', 3: 'reauthorization_required', 4: 'cancelled' },
    });
    const seedMs = performance.now() - seedStart;
    const pages: Record<string, string> = {
      'authorization page (GET /alipay/auth/authorize)': '/alipay/auth/authorize',
      "operators' page, landing (attention queue and counters)": '/',
      "operators' page, all merchants, page 1 of 200": '/?view=all',
      "operators' page, all merchants, last page": '/?view=all&page=200',
      "operators' page, all merchants by token expiry, 200 a page": '/?view=all&sort=expires&size=200',
      "operators' page, all merchants by last failure": '/?view=all&sort=lastFailure',
      "operators' page in Chinese, landing": '/?lang=zh-CN',
      "operators' page, search by Alipay user id": `/?view=all&q=${seededMerchant(Math.floor(merchants / 2)).userId}`,
    };
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(pages).map((k) => [k, []]));
    for (let i = 0; i < WARMUP + REQUESTS; i++) {
      for (const [name, path] of Object.entries(pages)) {
        const t0 = performance.now();
        const res = await fetch(`${base}${path}`, { redirect: 'manual' });
        await res.arrayBuffer();
        const ms = performance.now() - t0;
        if (res.status >= 400) throw new Error(`${path}: HTTP ${res.status}`);
        if (i >= WARMUP) samples[name].push(ms);
      }
    }
    const auth = median(samples['authorization page (GET /alipay/auth/authorize)']);
    const figures = Object.entries(samples).map(([name, s]) => ({ name: `sample at ${merchants} merchants: ${name}`, unit: 'ms', samples: s }));
    figures.push({
      name: `sample at ${merchants} merchants: landing page ÷ authorization page`,
      unit: 'x',
      samples: samples["operators' page, landing (attention queue and counters)"].map((s) => s / auth),
    });
    return {
      figures,
      notes: [
        `Operators' page: ${merchants} merchants seeded set-based in ${seedMs.toFixed(0)} ms (SQLite, WAL), ${REQUESTS} requests per page after ${WARMUP} warm-up rounds, ` +
          'interleaved, one in flight, over loopback: the time from sending the request to its last byte.',
      ],
    };
  } finally {
    await sample.close();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
