import { checkState, createState, DEFAULT_STATE_TTL_MS, newNonce } from './authorization-state';

const SECRET = 'a-state-secret-of-at-least-32-characters!';
const T0 = 1_800_000_000_000;
const TTL = DEFAULT_STATE_TTL_MS;

describe('authorization state', () => {
  const nonce = newNonce();
  const state = createState(SECRET, nonce, T0, TTL);

  it('has the v1 shape: expiry, nonce, HMAC', () => {
    expect(state).toMatch(/^v1\.[0-9a-z]+\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(parseInt(state.split('.')[1], 36)).toBe(T0 + TTL);
  });

  it('verifies with its nonce until it expires', () => {
    expect(checkState(SECRET, state, nonce, T0, TTL)).toEqual({ ok: true, nonce });
    expect(checkState(SECRET, state, nonce, T0 + TTL - 1, TTL)).toEqual({ ok: true, nonce });
    expect(checkState(SECRET, state, nonce, T0 + TTL, TTL)).toEqual({ ok: false, problem: 'expired' });
  });

  it('refuses a signed expiry beyond what the TTL allows (issued under a longer TTL)', () => {
    const long = createState(SECRET, nonce, T0, TTL * 6);
    expect(checkState(SECRET, long, nonce, T0, TTL)).toEqual({ ok: false, problem: 'expired' });
  });

  it('refuses another secret, a changed expiry or nonce, another nonce, no nonce, junk', () => {
    expect(checkState('another-secret-of-at-least-32-characters', state, nonce, T0, TTL)).toEqual({ ok: false, problem: 'bad-signature' });
    const [v, exp, n, mac] = state.split('.');
    const later = (parseInt(exp, 36) + TTL).toString(36);
    expect(checkState(SECRET, [v, later, n, mac].join('.'), nonce, T0, TTL)).toEqual({ ok: false, problem: 'bad-signature' });
    const other = newNonce();
    expect(checkState(SECRET, [v, exp, other, mac].join('.'), other, T0, TTL)).toEqual({ ok: false, problem: 'bad-signature' });
    expect(checkState(SECRET, state, newNonce(), T0, TTL)).toEqual({ ok: false, problem: 'other-browser' });
    expect(checkState(SECRET, state, undefined, T0, TTL)).toEqual({ ok: false, problem: 'no-cookie' });
    expect(checkState(SECRET, state, ['x'], T0, TTL)).toEqual({ ok: false, problem: 'no-cookie' });
    for (const junk of ['', 'v1', 'v2.a.b.c', `${state}.x`, 'x'.repeat(500), undefined, ['a']]) {
      expect(checkState(SECRET, junk, nonce, T0, TTL)).toEqual({ ok: false, problem: 'malformed' });
    }
  });
});
