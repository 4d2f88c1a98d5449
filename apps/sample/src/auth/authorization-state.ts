import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The `state` of the authorization link binds the callback to the browser that started the flow
 * (login-CSRF defence): `v1.<expiry ms, base36>.<nonce>.<HMAC-SHA256>` where the nonce is also in an
 * HttpOnly, SameSite=Lax cookie. Alipay echoes `state` back unchanged.
 */
export const STATE_TTL_MS = 10 * 60_000;
export const NONCE_COOKIE = 'alipay_auth_nonce';

const NONCE = /^[A-Za-z0-9_-]{22}$/;
const MAC = /^[A-Za-z0-9_-]{43}$/;
/** Longest state we ever issue, with room to spare; anything longer is rejected unparsed. */
export const MAX_STATE_LENGTH = 128;

export type StateCheck =
  | { ok: true; nonce: string }
  | { ok: false; reason: 'malformed' | 'bad-signature' | 'expired' | 'no-cookie' | 'other-browser' };

export function newNonce(): string {
  return randomBytes(16).toString('base64url');
}

export function isNonce(value: unknown): value is string {
  return typeof value === 'string' && NONCE.test(value);
}

function mac(secret: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(payload, 'utf8').digest();
}

export function createState(secret: string, nonce: string, now: number, ttlMs = STATE_TTL_MS): string {
  const payload = `v1.${(now + ttlMs).toString(36)}.${nonce}`;
  return `${payload}.${mac(secret, payload).toString('base64url')}`;
}

function equal(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Checks signature first (nothing else is trusted before it), then expiry, then the cookie binding. */
export function verifyState(secret: string, state: string, cookieNonce: string | undefined, now: number): StateCheck {
  if (typeof state !== 'string' || state.length > MAX_STATE_LENGTH) return { ok: false, reason: 'malformed' };
  const parts = state.split('.');
  if (parts.length !== 4 || parts[0] !== 'v1' || !/^[0-9a-z]{1,12}$/.test(parts[1]) || !NONCE.test(parts[2]) || !MAC.test(parts[3])) {
    return { ok: false, reason: 'malformed' };
  }
  const payload = parts.slice(0, 3).join('.');
  if (!equal(mac(secret, payload), Buffer.from(parts[3], 'base64url'))) return { ok: false, reason: 'bad-signature' };
  const expiresAt = parseInt(parts[1], 36);
  if (!(expiresAt > now) || expiresAt - now > STATE_TTL_MS + 60_000) return { ok: false, reason: 'expired' };
  if (!isNonce(cookieNonce)) return { ok: false, reason: 'no-cookie' };
  if (!equal(Buffer.from(cookieNonce), Buffer.from(parts[2]))) return { ok: false, reason: 'other-browser' };
  return { ok: true, nonce: parts[2] };
}

export const STATE_PROBLEMS: Record<Exclude<StateCheck, { ok: true }>['reason'], string> = {
  malformed: 'The "state" parameter is malformed.',
  'bad-signature': 'The "state" parameter was not issued by this application.',
  expired: 'This authorization link has expired (links are valid for 10 minutes). Please start the authorization again.',
  'no-cookie': 'This browser holds no record of starting this authorization: it was started in another browser or at another address of this site, more than 10 minutes ago, or cookies are blocked. Please start the authorization again.',
  'other-browser': 'This authorization was started in another browser session. Please start the authorization again.',
};
