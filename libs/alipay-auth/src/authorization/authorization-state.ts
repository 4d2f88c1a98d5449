import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AlipayAuthorizationStateProblem } from '../errors/alipay-auth.errors';

/**
 * The `state` of the authorization link binds the callback to the browser that started the flow
 * (login-CSRF defence): the browser keeps a nonce (an HttpOnly, SameSite=Lax cookie) and the state carries
 * it, signed and with an expiry. Alipay requires `state` to be standard base64 of at most 100 characters,
 * so it is the base64 of `0x02 | expiry ms (6 bytes) | nonce (16 bytes) | HMAC-SHA256 (32 bytes)`: 76
 * characters. States of the first format (`v1.<expiry>.<nonce>.<mac>`) are still accepted until they expire.
 */
export const DEFAULT_STATE_TTL_MS = 10 * 60_000;
/** Alipay's limit on `state`; anything longer is refused unparsed. */
export const ALIPAY_MAX_STATE_LENGTH = 100;
/** Tolerated clock skew between the instance that issued a state and the one checking it. */
const SKEW_MS = 60_000;

const VERSION = 0x02;
const STATE_BYTES = 1 + 6 + 16 + 32;
/** Standard base64 of 55 bytes: 74 characters and `==`. */
const STATE = /^[A-Za-z0-9+/]{74}==$/;
const NONCE = /^[A-Za-z0-9_-]{22}$/;
const V1_MAC = /^[A-Za-z0-9_-]{43}$/;

export type AlipayStateCheck = { ok: true; nonce: string } | { ok: false; problem: AlipayAuthorizationStateProblem };

export function newNonce(): string {
  return randomBytes(16).toString('base64url');
}

/** 22 characters of base64url that are the canonical encoding of 16 bytes (the state carries the bytes). */
export function isNonce(value: unknown): value is string {
  return typeof value === 'string' && NONCE.test(value) && Buffer.from(value, 'base64url').toString('base64url') === value;
}

function mac(secret: string, payload: string | Buffer): Buffer {
  return createHmac('sha256', secret).update(payload).digest();
}

function equal(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function createState(secret: string, nonce: string, now: number, ttlMs: number): string {
  if (!isNonce(nonce)) throw new TypeError('The nonce of a state must come from newNonce()');
  const payload = Buffer.alloc(1 + 6 + 16);
  payload[0] = VERSION;
  payload.writeUIntBE(now + ttlMs, 1, 6);
  Buffer.from(nonce, 'base64url').copy(payload, 7);
  return Buffer.concat([payload, mac(secret, payload)]).toString('base64');
}

type Parsed = { signed: boolean; expiresAt: number; nonce: string } | null;

function parseV2(secret: string, state: string): Parsed {
  // A `+` that came back unescaped in a query string reads as a space; base64 has no spaces.
  const text = state.replace(/ /g, '+');
  if (!STATE.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  // Only the canonical encoding (no stray low bits before the padding) is a state this code issued.
  if (bytes.length !== STATE_BYTES || bytes[0] !== VERSION || bytes.toString('base64') !== text) return null;
  const payload = bytes.subarray(0, 23);
  return {
    signed: equal(mac(secret, payload), bytes.subarray(23)),
    expiresAt: payload.readUIntBE(1, 6),
    nonce: payload.subarray(7).toString('base64url'),
  };
}

function parseV1(secret: string, state: string): Parsed {
  const parts = state.split('.');
  if (parts.length !== 4 || parts[0] !== 'v1' || !/^[0-9a-z]{1,12}$/.test(parts[1]) || !NONCE.test(parts[2]) || !V1_MAC.test(parts[3])) return null;
  return {
    signed: equal(mac(secret, parts.slice(0, 3).join('.')), Buffer.from(parts[3], 'base64url')),
    expiresAt: parseInt(parts[1], 36),
    nonce: parts[2],
  };
}

/** Signature first (nothing in the state is trusted before it), then expiry, then the browser binding. */
export function checkState(secret: string, state: unknown, cookieNonce: unknown, now: number, ttlMs: number): AlipayStateCheck {
  if (typeof state !== 'string' || state.length > ALIPAY_MAX_STATE_LENGTH) return { ok: false, problem: 'malformed' };
  const parsed = state.startsWith('v1.') ? parseV1(secret, state) : parseV2(secret, state);
  if (!parsed) return { ok: false, problem: 'malformed' };
  if (!parsed.signed) return { ok: false, problem: 'bad-signature' };
  // A signed expiry further out than the TTL allows was issued under a longer TTL: no longer honoured.
  if (!(parsed.expiresAt > now) || parsed.expiresAt - now > ttlMs + SKEW_MS) return { ok: false, problem: 'expired' };
  if (!isNonce(cookieNonce)) return { ok: false, problem: 'no-cookie' };
  // Both sides are the canonical base64url of 16 bytes (re-encoded from the signed bytes).
  if (!equal(Buffer.from(cookieNonce), Buffer.from(parsed.nonce))) return { ok: false, problem: 'other-browser' };
  return { ok: true, nonce: parsed.nonce };
}
