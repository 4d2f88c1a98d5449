import { resolveAlipayAuthConfig } from '../alipay-auth.config';
import { vectors } from '../../../../test/fixtures/vectors';
import type { AlipayAuthorization } from '../storage/alipay-token-store';
import { backoffDelay, isDue } from './refresh-policy';
import { parseSeconds } from './alipay-token.types';

const DAY = 86_400_000;
const policy = (refresh = {}) =>
  resolveAlipayAuthConfig({ appId: '2021004100000001', privateKey: vectors.keys.app.privateKeyPkcs8Pem, alipayPublicKey: vectors.keys.alipay.publicKeySpkiPem, refresh }).refresh;
const row = (p: Partial<AlipayAuthorization>): AlipayAuthorization =>
  ({ expiresAt: null, refreshExpiresAt: null, tokenIssuedAt: new Date(0), ...p }) as AlipayAuthorization;

describe('refresh policy', () => {
  const now = 1000 * DAY;
  it('is due inside the refresh-ahead window of expires_at', () => {
    expect(isDue(row({ expiresAt: new Date(now + 31 * DAY) }), now, policy())).toBe(false);
    expect(isDue(row({ expiresAt: new Date(now + 29 * DAY) }), now, policy())).toBe(true);
  });
  it('is due well before the refresh token itself expires, even with no expires_at', () => {
    expect(isDue(row({ refreshExpiresAt: new Date(now + 40 * DAY) }), now, policy())).toBe(false);
    expect(isDue(row({ refreshExpiresAt: new Date(now + 20 * DAY) }), now, policy())).toBe(true);
  });
  it('rotates tokens older than maxTokenAgeMs when set', () => {
    const r = row({ tokenIssuedAt: new Date(now - 100 * DAY) });
    expect(isDue(r, now, policy())).toBe(false);
    expect(isDue(r, now, policy({ maxTokenAgeMs: 90 * DAY }))).toBe(true);
  });
  it('backs off exponentially, capped, with bounded jitter', () => {
    const p = policy({ backoffBaseMs: 1000, backoffMaxMs: 60_000 });
    expect(backoffDelay(1, p, () => 0.5)).toBe(1000);
    expect(backoffDelay(3, p, () => 0.5)).toBe(4000);
    expect(backoffDelay(30, p, () => 0.5)).toBe(60_000);
    expect(backoffDelay(1, p, () => 0)).toBe(800);
    expect(backoffDelay(1, p, () => 1)).toBe(1200);
  });
  it('parses expires_in given as a string or a number', () => {
    expect(parseSeconds('31536000')).toBe(31536000);
    expect(parseSeconds(32140800)).toBe(32140800);
    expect(parseSeconds('')).toBeNull();
    expect(parseSeconds('soon')).toBeNull();
    expect(parseSeconds(undefined)).toBeNull();
  });
});
