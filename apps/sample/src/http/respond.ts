import type { Request, Response } from 'express';

/** Our own pages need no script and load nothing from elsewhere. */
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export function sendHtml(res: Response, status: number, body: string): void {
  res.status(status).set({ 'content-type': 'text/html; charset=utf-8', 'content-security-policy': PAGE_CSP, 'cache-control': 'no-store' }).send(body);
}

/** True when the client prefers JSON (`Accept: application/json`); browsers get HTML. */
export function wantsJson(req: Request): boolean {
  return req.accepts(['html', 'json']) === 'json';
}

/** A query parameter given once, as text; arrays (repeated parameters) and objects are refused. */
export function single(value: unknown): string | undefined | null {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : null;
}
