import { randomBytes } from 'node:crypto';
import { entropyBits, weakSecretReason } from './secret-strength';

describe('weakSecretReason', () => {
  it('accepts generated values', () => {
    for (let i = 0; i < 20; i++) {
      expect(weakSecretReason(randomBytes(32).toString('base64'), 128)).toBeUndefined();
      expect(weakSecretReason(randomBytes(24).toString('base64url'), 96)).toBeUndefined();
    }
  });

  it('refuses placeholders and long but repetitive values', () => {
    expect(weakSecretReason('change-me-change-me-change-me-change-me', 128)).toContain('placeholder');
    expect(weakSecretReason('my-super-secret-state-value-for-prod', 128)).toContain('placeholder');
    expect(weakSecretReason('a'.repeat(64), 128)).toContain('hand-made');
    expect(weakSecretReason('abababababababababababababababab', 96)).toContain('hand-made');
    expect(entropyBits('aaaa')).toBe(0);
    expect(entropyBits('abcd')).toBe(8);
  });
});
