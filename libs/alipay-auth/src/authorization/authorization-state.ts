import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AlipayAuthorizationStateProblem } from '../errors/alipay-auth.errors';

/**
 * The `state` of the authorization link binds the callback to the browser that started the flow
 * (login-CSRF defence): `v1.<expiry ms, base36>.<nonce>.<HMAC-SHA256>`, where the nonce is also kept by
 * the browser (an HttpOnly, SameSite=Lax cookie). Alipay echoes `state` back unchanged.
 */
export const DEFAULT_STATE_TTL_MS = 10 * 60_000;
/** Longest state ever issued, with room to spare; anything longer is refused unparsed. */
export const ALIPAY_MAX_STATE_LENGTH = 128;
/** Tolerated clock skew between the instance that issued a state and the one checking it. */
const SKEW_MS = 60_000;

const NONCE = /^[A-Za-z0-9_-]{22}$/;
const MAC = /^[A-Za-z0-9_-]{43}$/;

export type AlipayStateCheck = { ok: true; nonce: string } | { ok: false; problem: AlipayAuthorizationStateProblem };

export function newNonce(): string {
  return randomBytes(16).toString('base64url');
}

export function isNonce(value: unknown): value is string {
  return typeof value === 'string' && NONCE.test(value);
}

function mac(secret: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(payload, 'utf8').digest();
}

function equal(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function createState(secret: string, nonce: string, now: number, ttlMs: number): string {
  const payload = `v1.${(now + ttlMs).toString(36)}.${nonce}`;
  return `${payload}.${mac(secret, payload).toString('base64url')}`;
}

/** Signature first (nothing in the state is trusted before it), then expiry, then the browser binding. */
export function checkState(secret: string, state: unknown, cookieNonce: unknown, now: number, ttlMs: number): AlipayStateCheck {
  if (typeof state !== 'string' || state.length > ALIPAY_MAX_STATE_LENGTH) return { ok: false, problem: 'malformed' };
  const parts = state.split('.');
  if (parts.length !== 4 || parts[0] !== 'v1' || !/^[0-9a-z]{1,12}$/.test(parts[1]) || !NONCE.test(parts[2]) || !MAC.test(parts[3])) {
    return { ok: false, problem: 'malformed' };
  }
  if (!equal(mac(secret, parts.slice(0, 3).join('.')), Buffer.from(parts[3], 'base64url'))) return { ok: false, problem: 'bad-signature' };
  const expiresAt = parseInt(parts[1], 36);
  // A signed expiry further out than the TTL allows was issued under a longer TTL: no longer honoured.
  if (!(expiresAt > now) || expiresAt - now > ttlMs + SKEW_MS) return { ok: false, problem: 'expired' };
  if (!isNonce(cookieNonce)) return { ok: false, problem: 'no-cookie' };
  if (!equal(Buffer.from(cookieNonce), Buffer.from(parts[2]))) return { ok: false, problem: 'other-browser' };
  return { ok: true, nonce: parts[2] };
}
