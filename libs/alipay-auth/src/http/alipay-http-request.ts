/**
 * The parts of an incoming request the HTTP helpers read: Express's and Fastify's requests both fit, so
 * a controller passes `@Req() req` as it is. Cookies are read from the `Cookie` header itself: no cookie
 * parser is needed, and one that runs changes nothing.
 */
export interface AlipayHttpRequest {
  headers: Record<string, string | string[] | undefined>;
  /** The parsed query string (callback). */
  query?: unknown;
  /** The body as received: set by `NestFactory.create(AppModule, { rawBody: true })` (notifications). */
  rawBody?: Buffer;
}

/** The first value of a header, or undefined. */
export function header(request: AlipayHttpRequest, name: string): string | undefined {
  const v = request.headers?.[name];
  return Array.isArray(v) ? v[0] : v;
}

/** One cookie's value from the `Cookie` header; when a name repeats, the first (browsers send the most specific path first). */
export function cookie(request: AlipayHttpRequest, name: string): string | undefined {
  const raw = header(request, 'cookie');
  if (!raw) return undefined;
  for (const part of raw.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(value);
    } catch {
      return undefined;
    }
  }
  return undefined;
}
