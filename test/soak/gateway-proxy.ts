/**
 * A loopback proxy in front of the simulator's gateway, one per soak instance, so the journal knows which
 * instance sent each Alipay request, when it reached "Alipay", when the answer came back (or that the
 * connection was reset), and what it carried, as token fingerprints. The upstream request always runs to
 * its end, even after the instance gave up (a timeout): a late answer is what the soak is about.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const fp = (token: unknown): string | undefined =>
  typeof token === 'string' && token ? createHash('sha256').update(token).digest('hex').slice(0, 10) : undefined;

/** Token fingerprints seen in answers, mapped to their merchant (shared by the proxies of one soak). */
export class TokenIndex {
  private readonly byFp = new Map<string, string>();
  learn(token: unknown, authAppId: string): void {
    const f = fp(token);
    if (f) this.byFp.set(f, authAppId);
  }
  merchantOf(f: string | undefined): string | undefined {
    return f ? this.byFp.get(f) : undefined;
  }
}

export interface GatewayRecord {
  kind: 'gateway';
  inst: string;
  method: string;
  route: string;
  grant?: string;
  authAppId?: string;
  /** Fingerprints of the refresh token / app_auth_token the request carried. */
  sentRt?: string;
  sentTok?: string;
  /** Proxy receive time, upstream answer time (real ms). */
  t0: number;
  t1: number;
  status?: number;
  code?: string;
  traceId?: string;
  /** The pairs an answer issued (fingerprints). */
  issued?: Array<{ authAppId: string; tok?: string; rt?: string }>;
  /** How it ended: answered, `upstream-reset` (the simulator dropped the connection), `client-gone` (the instance stopped waiting first). */
  end: string;
}

function json(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text);
    return v && typeof v === 'object' ? v : undefined;
  } catch {
    return undefined;
  }
}

export async function startGatewayProxy(opts: {
  upstream: string;
  inst: string;
  index: TokenIndex;
  record: (r: GatewayRecord) => void;
  /** A request was read in full and is about to be forwarded (so it reaches the simulator's faults after this). */
  forwarding?: (route: string, grant: string | undefined) => void;
}): Promise<{ url: string; close(): Promise<void> }> {
  const upstream = new URL(opts.upstream);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const server = http.createServer((req, res) => {
    const t0 = Date.now();
    const chunks: Buffer[] = [];
    let clientGone = false;
    res.on('close', () => {
      if (!res.writableFinished) clientGone = true;
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = (req.url ?? '/').split('?')[0];
      const reqJson = json(body.toString('utf8'));
      const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
      const rec: GatewayRecord = { kind: 'gateway', inst: opts.inst, method: req.method ?? 'GET', route: path, t0, t1: 0, end: '' };
      if (typeof reqJson?.grant_type === 'string') rec.grant = reqJson.grant_type;
      rec.sentRt = fp(reqJson?.refresh_token);
      rec.sentTok = fp(req.headers['alipay-app-auth-token'] ?? query.get('app_auth_token') ?? undefined);
      rec.authAppId = opts.index.merchantOf(rec.sentRt) ?? opts.index.merchantOf(rec.sentTok);
      opts.forwarding?.(path, rec.grant);

      const up = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent }, (upRes) => {
        const out: Buffer[] = [];
        upRes.on('data', (c: Buffer) => out.push(c));
        upRes.on('end', () => {
          const text = Buffer.concat(out).toString('utf8');
          const data = json(text);
          rec.t1 = Date.now();
          rec.status = upRes.statusCode;
          rec.traceId = upRes.headers['alipay-trace-id'] as string | undefined;
          if (typeof data?.code === 'string') rec.code = data.code;
          const tokens = Array.isArray(data?.tokens) ? (data!.tokens as Array<Record<string, unknown>>) : [];
          if (tokens.length) {
            rec.issued = tokens.map((t) => {
              const id = String(t.auth_app_id);
              opts.index.learn(t.app_auth_token, id);
              opts.index.learn(t.app_refresh_token, id);
              return { authAppId: id, tok: fp(t.app_auth_token), rt: fp(t.app_refresh_token) };
            });
            rec.authAppId ??= rec.issued[0].authAppId;
          }
          rec.end = clientGone ? 'client-gone' : 'answered';
          opts.record(rec);
          if (clientGone) return;
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          res.end(text === '' ? undefined : Buffer.concat(out));
        });
        upRes.on('error', () => undefined);
      });
      up.on('error', () => {
        // The simulator reset the connection (reset, drop-after-issue): so does the proxy, to the instance.
        rec.t1 = Date.now();
        rec.end = clientGone ? 'client-gone,upstream-reset' : 'upstream-reset';
        opts.record(rec);
        req.socket.destroy();
      });
      up.end(body);
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
