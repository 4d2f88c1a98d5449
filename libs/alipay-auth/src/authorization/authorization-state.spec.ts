import { createHmac } from 'node:crypto';
import { ALIPAY_MAX_STATE_LENGTH, checkState, createState, DEFAULT_STATE_TTL_MS, isNonce, newNonce } from './authorization-state';

const SECRET = 'a-state-secret-of-at-least-32-characters!';
const T0 = 1_800_000_000_000;
const TTL = DEFAULT_STATE_TTL_MS;

/** A state as the first format issued it (`v1.<expiry base36>.<nonce>.<HMAC base64url>`), built independently. */
function v1State(secret: string, nonce: string, expiresAt: number): string {
  const payload = `v1.${expiresAt.toString(36)}.${nonce}`;
  return `${payload}.${createHmac('sha256', secret).update(payload).digest('base64url')}`;
}

describe('authorization state', () => {
  const nonce = newNonce();
  const state = createState(SECRET, nonce, T0, TTL);

  it('is standard base64 within Alipay 100-character limit: version, expiry, nonce, HMAC over them', () => {
    expect(ALIPAY_MAX_STATE_LENGTH).toBe(100);
    expect(state).toMatch(/^[A-Za-z0-9+/]{74}==$/);
    expect(state.length).toBeLessThanOrEqual(ALIPAY_MAX_STATE_LENGTH);
    const bytes = Buffer.from(state, 'base64');
    expect(bytes.toString('base64')).toBe(state);
    expect(bytes[0]).toBe(2);
    expect(bytes.readUIntBE(1, 6)).toBe(T0 + TTL);
    expect(bytes.subarray(7, 23).toString('base64url')).toBe(nonce);
    expect(bytes.subarray(23)).toEqual(createHmac('sha256', SECRET).update(bytes.subarray(0, 23)).digest());
  });

  it('uses the whole base64 alphabet across many states, and never anything else', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 400; i++) for (const c of createState(SECRET, newNonce(), T0 + i, TTL)) seen.add(c);
    expect(seen.has('+') && seen.has('/')).toBe(true);
    expect([...seen].every((c) => /[A-Za-z0-9+/=]/.test(c))).toBe(true);
  });

  it('verifies with its nonce until it expires', () => {
    expect(checkState(SECRET, state, nonce, T0, TTL)).toEqual({ ok: true, nonce });
    expect(checkState(SECRET, state, nonce, T0 + TTL - 1, TTL)).toEqual({ ok: true, nonce });
    expect(checkState(SECRET, state, nonce, T0 + TTL, TTL)).toEqual({ ok: false, problem: 'expired' });
  });

  it('reads a `+` that came back unescaped (a space after query decoding) as the `+` it was', () => {
    let withPlus = state;
    for (let i = 0; !withPlus.includes('+'); i++) withPlus = createState(SECRET, nonce, T0 + i, TTL);
    expect(checkState(SECRET, withPlus.replace(/\+/g, ' '), nonce, T0, TTL)).toEqual({ ok: true, nonce });
  });

  it('refuses a signed expiry beyond what the TTL allows (issued under a longer TTL)', () => {
    const long = createState(SECRET, nonce, T0, TTL * 6);
    expect(checkState(SECRET, long, nonce, T0, TTL)).toEqual({ ok: false, problem: 'expired' });
  });

  it('refuses another secret, a changed expiry, nonce or MAC byte, another browser, no nonce', () => {
    expect(checkState('another-secret-of-at-least-32-characters', state, nonce, T0, TTL)).toEqual({ ok: false, problem: 'bad-signature' });
    for (const offset of [1, 6, 7, 22, 23, 54]) {
      const bytes = Buffer.from(state, 'base64');
      bytes[offset] ^= 0x01;
      expect(checkState(SECRET, bytes.toString('base64'), nonce, T0, TTL)).toEqual({ ok: false, problem: 'bad-signature' });
    }
    const swapped = Buffer.from(state, 'base64');
    const other = newNonce();
    Buffer.from(other, 'base64url').copy(swapped, 7);
    expect(checkState(SECRET, swapped.toString('base64'), other, T0, TTL)).toEqual({ ok: false, problem: 'bad-signature' });
    expect(checkState(SECRET, state, newNonce(), T0, TTL)).toEqual({ ok: false, problem: 'other-browser' });
    expect(checkState(SECRET, state, undefined, T0, TTL)).toEqual({ ok: false, problem: 'no-cookie' });
    expect(checkState(SECRET, state, ['x'], T0, TTL)).toEqual({ ok: false, problem: 'no-cookie' });
  });

  it('refuses junk unparsed: wrong version byte, other lengths, base64url, over 100 characters', () => {
    const v9 = Buffer.from(state, 'base64');
    v9[0] = 9;
    const junk = ['', 'v1', 'v2.a.b.c', `${state}=`, state.slice(0, -4), state.replace(/\+/g, '-').replace(/\//g, '_'), v9.toString('base64'), 'A'.repeat(101)];
    for (const j of [...junk, undefined, ['a']]) {
      if (j === state) continue;
      expect(checkState(SECRET, j, nonce, T0, TTL)).toEqual({ ok: false, problem: 'malformed' });
    }
  });

  it('accepts a state of the first format until it expires, with the same checks', () => {
    const old = v1State(SECRET, nonce, T0 + TTL);
    expect(old).toMatch(/^v1\.[0-9a-z]+\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(checkState(SECRET, old, nonce, T0 + TTL - 1, TTL)).toEqual({ ok: true, nonce });
    expect(checkState(SECRET, old, nonce, T0 + TTL, TTL)).toEqual({ ok: false, problem: 'expired' });
    expect(checkState(SECRET, old, newNonce(), T0, TTL)).toEqual({ ok: false, problem: 'other-browser' });
    // A character inside the MAC (the last one also carries padding bits, which decode to the same bytes).
    const at = old.length - 10;
    const tampered = old.slice(0, at) + (old[at] === 'A' ? 'B' : 'A') + old.slice(at + 1);
    expect(checkState(SECRET, tampered, nonce, T0, TTL)).toEqual({ ok: false, problem: 'bad-signature' });
    expect(checkState(SECRET, v1State(SECRET, nonce, T0 + 7 * TTL), nonce, T0, TTL)).toEqual({ ok: false, problem: 'expired' });
  });

  it('nonces are canonical base64url of 16 bytes (the state carries the bytes)', () => {
    expect(isNonce(nonce)).toBe(true);
    // Same 16 bytes, but the unused low bits of the last character set: not what newNonce() makes.
    const last = nonce.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const variant = nonce.slice(0, -1) + alphabet[alphabet.indexOf(last) | 1];
    expect(isNonce(variant)).toBe(false);
    expect(() => createState(SECRET, variant, T0, TTL)).toThrow(TypeError);
  });
});
