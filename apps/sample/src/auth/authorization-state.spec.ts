import { createState, newNonce, STATE_TTL_MS, verifyState } from './authorization-state';
import { RecentExchanges } from './recent-exchanges';

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

describe('RecentExchanges', () => {
  it('remembers results for a while, bounded, and joins concurrent exchanges of one code', async () => {
    let now = T0;
    const recent = new RecentExchanges(() => now, 60_000, 2);
    let calls = 0;
    const run = async () => {
      calls++;
      return [];
    };
    await Promise.all([recent.exchange('code-1', 's', run), recent.exchange('code-1', 's', run)]);
    expect(calls).toBe(1);
    expect(recent.get('code-1')).toMatchObject({ state: 's' });
    await recent.exchange('code-2', null, run);
    await recent.exchange('code-3', null, run);
    expect(recent.get('code-1')).toBeUndefined(); // oldest out
    expect(recent.size).toBe(2);
    now += 60_001;
    expect(recent.get('code-3')).toBeUndefined();
  });

  it('does not remember a failed exchange', async () => {
    const recent = new RecentExchanges(() => T0);
    await expect(recent.exchange('code-x', null, () => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    expect(recent.get('code-x')).toBeUndefined();
  });
});
