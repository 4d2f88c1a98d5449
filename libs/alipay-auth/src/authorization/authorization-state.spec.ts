import { createState, newNonce, STATE_TTL_MS, verifyState } from './authorization-state';

const SECRET = 'a-state-secret-of-at-least-32-characters!';
const T0 = 1_800_000_000_000;

describe('authorization state', () => {
  const nonce = newNonce();
  const state = createState(SECRET, nonce, T0);

  it('verifies with its cookie until it expires (10 minutes)', () => {
    expect(verifyState(SECRET, state, nonce, T0)).toEqual({ ok: true, nonce });
    expect(verifyState(SECRET, state, nonce, T0 + STATE_TTL_MS - 1)).toEqual({ ok: true, nonce });
    expect(verifyState(SECRET, state, nonce, T0 + STATE_TTL_MS)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses another secret, a changed expiry or nonce, another cookie, no cookie, junk', () => {
    expect(verifyState('another-secret-of-at-least-32-characters', state, nonce, T0)).toEqual({ ok: false, reason: 'bad-signature' });
    const [v, exp, n, mac] = state.split('.');
    const later = (parseInt(exp, 36) + STATE_TTL_MS).toString(36);
    expect(verifyState(SECRET, [v, later, n, mac].join('.'), nonce, T0)).toEqual({ ok: false, reason: 'bad-signature' });
    const other = newNonce();
    expect(verifyState(SECRET, [v, exp, other, mac].join('.'), other, T0)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyState(SECRET, state, newNonce(), T0)).toEqual({ ok: false, reason: 'other-browser' });
    expect(verifyState(SECRET, state, undefined, T0)).toEqual({ ok: false, reason: 'no-cookie' });
    for (const junk of ['', 'v1', 'v2.a.b.c', `${state}.x`, 'x'.repeat(500)]) {
      expect(verifyState(SECRET, junk, nonce, T0)).toEqual({ ok: false, reason: 'malformed' });
    }
  });
});
