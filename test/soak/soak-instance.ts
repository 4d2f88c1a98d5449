/*
 * One app instance of the soak, a process of its own (the runner kills it with SIGKILL and starts it
 * again). It boots the library on the shared database and the gateway (through the runner's recording
 * proxy), runs the scheduled refresh in a loop, and answers the runner on a loopback control port:
 *   POST /exchange {code}         the merchant's callback: exchangeCode
 *   POST /call {authAppId}        a caller acting for the merchant: a merchant API call through the library
 *   POST /notify {params}         an Alipay notification relayed by the runner: handleNotification
 *   POST /stop                    graceful shutdown
 * Every output line on stdout is one JSON object (`kind`, real time `t`): the runner journals them.
 * Config: JSON in SOAK_INSTANCE. The clock skew, if any, is preloaded by skew-clock.ts.
 */
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamicModule, LoggerService, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  AlipayApiError,
  AlipayAuthModule,
  AlipayAuthorizationRequiredError,
  AlipayNetworkError,
  AlipayOpenApiClient,
  AlipaySignatureError,
  AlipayTokenRefreshScheduler,
  AlipayTokenService,
} from 'nestjs-alipay-auth';
import { REFUSED_TOKEN_CODES } from 'nestjs-alipay-auth/client/alipay-openapi.client';
import type { AlipayRefreshOptions } from 'nestjs-alipay-auth';
import { ALIPAY_AUTH_ENTITIES } from 'nestjs-alipay-auth/typeorm';

export interface SoakInstanceConfig {
  name: string;
  /** TypeORM options of the shared database (the runner's isolated namespace). */
  dataSource: Record<string, unknown>;
  appId: string;
  privateKey: string;
  alipayPublicKey: string;
  /** The runner's recording proxy in front of the simulator. */
  gateway: string;
  tokenEncryptionKeys: string;
  timeoutMs: number;
  retries: number;
  refresh: AlipayRefreshOptions;
  /** Pause between scheduled refresh runs (jittered ±30 %). */
  refreshEveryMs: number;
  /** Seed of this incarnation's jitter. */
  seed: number;
}

const TRADE_QUERY_PATH = '/v3/alipay/trade/query';
const realNow: () => number = ((globalThis as Record<string, unknown>).__soakRealNow as () => number) ?? Date.now;
const config: SoakInstanceConfig = JSON.parse(process.env.SOAK_INSTANCE ?? '{}');

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ t: realNow(), inst: config.name, ...event })}\n`);
}

/** A short fingerprint of a token for the journal; never the token. */
const fp = (token: string | undefined): string | undefined => (token ? createHash('sha256').update(token).digest('hex').slice(0, 10) : undefined);

const MERCHANT_RE = /\b(\d{16})\b/g;

/** The library's log lines, as JSON, with the merchant app ids they name. */
class JsonLogger implements LoggerService {
  private line(level: string, message: unknown, params: unknown[]): void {
    const context = typeof params[params.length - 1] === 'string' ? params[params.length - 1] : undefined;
    const text = message instanceof Error ? `${message.name}: ${message.message}` : String(message);
    const ids = [...new Set([...text.matchAll(MERCHANT_RE)].map((m) => m[1]).filter((id) => id !== config.appId))];
    emit({ kind: 'log', level, context, msg: text.slice(0, 500), ...(ids.length ? { authAppIds: ids } : {}) });
  }
  log(message: unknown, ...p: unknown[]) {
    this.line('log', message, p);
  }
  warn(message: unknown, ...p: unknown[]) {
    this.line('warn', message, p);
  }
  error(message: unknown, ...p: unknown[]) {
    this.line('error', message, p);
  }
  debug() {}
  verbose() {}
}

@Module({})
class SoakInstanceModule {
  static forRoot(): DynamicModule {
    return {
      module: SoakInstanceModule,
      imports: [
        TypeOrmModule.forRoot({ ...config.dataSource, entities: ALIPAY_AUTH_ENTITIES } as never),
        // No `clock` option: the library reads the host clock, skewed or not (see skew-clock.ts).
        AlipayAuthModule.forRoot({
          appId: config.appId,
          privateKey: config.privateKey,
          alipayPublicKey: config.alipayPublicKey,
          gateway: config.gateway,
          retries: config.retries,
          timeoutMs: config.timeoutMs,
          tokenEncryptionKeys: config.tokenEncryptionKeys,
          instanceId: `${config.name}:${process.pid}`,
          refresh: { ...config.refresh, enabled: false },
        }),
      ],
    };
  }
}

/** What a failure was, in the journal's words. */
function describeError(e: unknown): { code: string; traceId?: string } {
  if (e instanceof AlipayApiError) return { code: e.code, traceId: e.traceId };
  if (e instanceof AlipaySignatureError) return { code: e.code, traceId: e.traceId };
  if (e instanceof AlipayNetworkError) return { code: `network-${e.kind}` };
  if (e instanceof AlipayAuthorizationRequiredError) return { code: 'authorization-required' };
  return { code: e instanceof Error ? e.name : 'unknown' };
}

function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      try {
        resolve(body ? JSON.parse(body) : {});
      } catch (e) {
        reject(e);
      }
    });
    req.on('error', reject);
  });
}

async function main() {
  process.on('uncaughtException', (e) => {
    emit({
      kind: 'crash',
      error: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
      stack: e instanceof Error ? e.stack?.split('\n').slice(0, 6).join(' | ') : undefined,
    });
    process.exit(70);
  });
  process.on('unhandledRejection', (e) => {
    emit({ kind: 'crash', error: `unhandled rejection: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}` });
    process.exit(71);
  });

  const app = await NestFactory.createApplicationContext(SoakInstanceModule.forRoot(), { logger: new JsonLogger() });
  const svc = app.get(AlipayTokenService);
  const client = app.get(AlipayOpenApiClient);
  const scheduler = app.get(AlipayTokenRefreshScheduler);
  let stopping = false;

  // The scheduled refresh, as a loop (a cron job would compute its ticks on the skewed clock).
  let rnd = config.seed >>> 0 || 1;
  const jitter = () => {
    rnd ^= rnd << 13;
    rnd ^= rnd >>> 17;
    rnd ^= rnd << 5;
    return 0.7 + 0.6 * ((rnd >>> 0) / 4294967296);
  };
  const refreshLoop = (async () => {
    while (!stopping) {
      await new Promise((r) => setTimeout(r, config.refreshEveryMs * jitter()));
      if (stopping) break;
      try {
        const s = await scheduler.refreshDue();
        if (s.claimed || s.failed || s.statusChecked || s.cancelledFound || s.recovered) emit({ kind: 'run', ...s });
      } catch (e) {
        emit({ kind: 'run-error', ...describeError(e), msg: e instanceof Error ? e.message.slice(0, 300) : String(e) });
      }
    }
  })();

  async function call(authAppId: string): Promise<Record<string, unknown>> {
    let served: string | undefined;
    try {
      served = fp(await svc.getAppAuthToken(authAppId));
      // A valid token gets ACQ.TRADE_NOT_EXIST from the simulator (it holds no trades).
      await client.request({ method: 'POST', path: TRADE_QUERY_PATH, authAppId, body: { out_trade_no: `soak-${realNow()}` } });
      return { result: 'unexpected-success', served };
    } catch (e) {
      const d = describeError(e);
      if (e instanceof AlipayApiError && e.code === 'ACQ.TRADE_NOT_EXIST') return { result: 'ok', served, traceId: d.traceId };
      if (e instanceof AlipayApiError && REFUSED_TOKEN_CODES.has(e.code)) return { result: 'refused', served, ...d };
      if (e instanceof AlipayAuthorizationRequiredError) return { result: 'authorization-required', served, ...d, msg: e.message.slice(0, 200) };
      return { result: 'error', served, ...d };
    }
  }

  const routes: Record<string, (body: Record<string, unknown>) => Promise<Record<string, unknown>>> = {
    '/exchange': async (b) => {
      try {
        const infos = await svc.exchangeCode(String(b.code));
        return { ok: true, authAppIds: infos.map((i) => i.authAppId) };
      } catch (e) {
        return { ok: false, ...describeError(e) };
      }
    },
    '/call': (b) => call(String(b.authAppId)),
    '/notify': async (b) => {
      try {
        const r = await svc.handleNotification(b.params as Record<string, string>);
        return { ok: true, action: r.action, authAppId: r.authAppId };
      } catch (e) {
        return { ok: false, ...describeError(e) };
      }
    },
    '/get': async (b) => {
      const info = await svc.get(String(b.authAppId));
      return { info };
    },
  };

  const server = http.createServer((req, res) => {
    const reply = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method === 'POST' && req.url === '/stop') {
      reply(200, { ok: true });
      stopping = true;
      void (async () => {
        server.close();
        await refreshLoop;
        await app.close();
        emit({ kind: 'stopped' });
        process.exit(0);
      })();
      return;
    }
    const handler = req.method === 'POST' ? routes[req.url ?? ''] : undefined;
    if (!handler) return reply(404, { error: 'not found' });
    readJson(req)
      .then(handler)
      .then(
        (out) => reply(200, out),
        (e) => reply(500, { error: e instanceof Error ? e.message.slice(0, 200) : String(e) }),
      );
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  emit({ kind: 'ready', port: (server.address() as AddressInfo).port, pid: process.pid, skewMs: Date.now() - realNow() });
}

main().catch((e) => {
  emit({ kind: 'boot-failed', error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  process.exit(1);
});
