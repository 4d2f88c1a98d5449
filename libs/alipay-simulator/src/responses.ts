import { buildResponseSignContent, rsaSign } from 'nestjs-alipay-auth/protocol';
import type { KeyObject } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { newNonce } from './ids';

export interface SendOptions {
  traceId: string;
  /** Add `alipay-sn` (the caller is a certificate-mode app). */
  certMode: boolean;
  /** Replace the signature with a wrong one (the `bad-signature` fault). */
  corruptSignature?: boolean;
  contentType?: string;
  /** No signature headers (the gateway's own errors come unsigned, protocol doc §10.3). */
  unsigned?: boolean;
}

/** Alipay's error body: `{ code, message, links: [{ link, desc }] }`. */
export function errorBody(code: string, message: string, traceId: string): string {
  return JSON.stringify({
    code,
    message,
    links: [{ link: `https://open.alipay.com/api/errCheck?traceId=${traceId}`, desc: '解决方案' }],
  });
}

/**
 * Writes gateway answers. Every answer, success or error, carries alipay-trace-id and is signed
 * (alipay-timestamp, alipay-nonce, alipay-signature over `<ts>\n<nonce>\n<raw body>\n`), plus alipay-sn
 * for certificate-mode callers. Alipay signs some error answers and not others; the simulator signs all,
 * which both SDKs accept (Node never checks errors, Java checks them when signed).
 */
export class GatewayResponder {
  constructor(
    private readonly alipayKey: KeyObject,
    private readonly alipayCertSn: string | undefined,
    private readonly now: () => number,
  ) {}

  send(res: ServerResponse, status: number, body: string, o: SendOptions): void {
    const timestamp = String(this.now());
    const nonce = newNonce();
    let signature = rsaSign(this.alipayKey, buildResponseSignContent(timestamp, nonce, body));
    if (o.corruptSignature) signature = rsaSign(this.alipayKey, buildResponseSignContent(timestamp, nonce, `${body} `));
    const headers: Record<string, string | number> = {
      'content-type': o.contentType ?? 'application/json;charset=utf-8',
      'content-length': Buffer.byteLength(body, 'utf8'),
      'alipay-trace-id': o.traceId,
      'alipay-timestamp': timestamp,
      'alipay-nonce': nonce,
      'alipay-signature': signature,
    };
    if (o.unsigned) for (const h of ['alipay-timestamp', 'alipay-nonce', 'alipay-signature']) delete headers[h];
    else if (o.certMode && this.alipayCertSn) headers['alipay-sn'] = this.alipayCertSn;
    res.writeHead(status, headers).end(body);
  }

  error(res: ServerResponse, status: number, code: string, message: string, o: SendOptions): void {
    this.send(res, status, errorBody(code, message, o.traceId), o);
  }
}

/** Plain JSON for the admin API (not signed). */
export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json;charset=utf-8', 'content-length': Buffer.byteLength(body, 'utf8') }).end(body);
}
