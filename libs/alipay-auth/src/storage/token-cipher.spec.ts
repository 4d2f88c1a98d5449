import { randomBytes } from 'node:crypto';
import { AlipayConfigError } from '../errors/alipay-auth.errors';
import { AlipayTokenCipher, AlipayTokenDecryptError, assertTokenEncryptionConfigured } from './token-cipher';

const k1 = { id: 'k1', key: randomBytes(32) };
const k2 = { id: 'k2.2025-01', key: randomBytes(32) };
const TOKEN = '202501BB4b3c2f0c0e1a4e8e9f0a1b2c3d4e5f60';
const CTX = '2021004100000001:2021004100000099:app_auth_token';

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

/** Flips one bit of the base64url part at `index` (negative from the end). */
function flip(stored: string, index: number): string {
  const parts = stored.split('.');
  const i = index < 0 ? parts.length + index : index;
  const bytes = Buffer.from(parts[i], 'base64url');
  bytes[0] ^= 0x01;
  parts[i] = bytes.toString('base64url');
  return parts.join('.');
}

describe('AlipayTokenCipher', () => {
  it('round-trips with AES-256-GCM in the v1 format, a fresh IV each time', () => {
    const c = new AlipayTokenCipher([k1]);
    const a = c.encrypt(TOKEN, CTX);
    const b = c.encrypt(TOKEN, CTX);
    expect(a).toMatch(/^v1\.k1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(a).not.toEqual(b);
    expect(a).not.toContain(TOKEN);
    expect(a).not.toContain(Buffer.from(TOKEN).toString('base64url'));
    expect(c.decrypt(a, CTX)).toBe(TOKEN);
    expect(c.decrypt(b, CTX)).toBe(TOKEN);
    expect(c.encrypting).toBe(true);
    expect(c.currentKeyId).toBe('k1');
    expect(AlipayTokenCipher.keyIdOf(a)).toBe('k1');
  });

  it('round-trips empty and non-ASCII text', () => {
    const c = new AlipayTokenCipher([k1]);
    for (const s of ['', 'é令牌🙂', 'x'.repeat(5000)]) expect(c.decrypt(c.encrypt(s, 'ctx'), 'ctx')).toBe(s);
  });

  it('rotates keys: the first key writes, older keys still read', () => {
    const old = new AlipayTokenCipher([k1]);
    const rotated = new AlipayTokenCipher([k2, k1]);
    const written = old.encrypt(TOKEN, CTX);
    expect(rotated.decrypt(written, CTX)).toBe(TOKEN);
    const rewritten = rotated.encrypt(TOKEN, CTX);
    expect(rewritten.startsWith('v1.k2.2025-01.')).toBe(true);
    expect(AlipayTokenCipher.keyIdOf(rewritten)).toBe('k2.2025-01');
    expect(rotated.decrypt(rewritten, CTX)).toBe(TOKEN);
  });

  it('names an unknown key id, never the value', () => {
    const written = new AlipayTokenCipher([k2]).encrypt(TOKEN, CTX);
    const err = thrown(() => new AlipayTokenCipher([k1]).decrypt(written, CTX));
    expect(err).toBeInstanceOf(AlipayTokenDecryptError);
    expect((err as AlipayTokenDecryptError).reason).toBe('unknown-key');
    expect((err as AlipayTokenDecryptError).keyId).toBe('k2.2025-01');
    expect(err.message).toContain('"k2.2025-01"');
    expect(err.message).toContain('tokenEncryptionKeys');
    expect(err.message).not.toContain(TOKEN);
    for (const part of written.split('.').slice(-3)) expect(err.message).not.toContain(part);
  });

  it.each([
    ['iv', -3],
    ['ciphertext', -2],
    ['tag', -1],
  ])('rejects a tampered %s', (_name, index) => {
    const c = new AlipayTokenCipher([k1]);
    const written = c.encrypt(TOKEN, CTX);
    const err = thrown(() => c.decrypt(flip(written, index), CTX));
    expect(err).toBeInstanceOf(AlipayTokenDecryptError);
    expect((err as AlipayTokenDecryptError).reason).toBe('authentication-failed');
    expect(err.message).not.toContain(TOKEN);
  });

  it('rejects a key id swapped in the header (the header is authenticated)', () => {
    const both = new AlipayTokenCipher([k1, { id: 'k3', key: k1.key }]);
    const written = both.encrypt(TOKEN, CTX);
    const swapped = written.replace(/^v1\.k1\./, 'v1.k3.');
    expect(() => both.decrypt(swapped, CTX)).toThrow(AlipayTokenDecryptError);
  });

  it('rejects a value moved to another row or field (AAD)', () => {
    const c = new AlipayTokenCipher([k1]);
    const written = c.encrypt(TOKEN, CTX);
    for (const other of [
      '2021004100000001:2021004100000098:app_auth_token',
      '2021004100000001:2021004100000099:app_refresh_token',
      '2021004100000002:2021004100000099:app_auth_token',
      '',
    ]) {
      const err = thrown(() => c.decrypt(written, other));
      expect((err as AlipayTokenDecryptError).reason).toBe('authentication-failed');
    }
  });

  it.each(['', 'plain', 'v1.k1.abc', 'v1.k1.!!.x.y', 'v2.k1.a.b.c', 'v0.not base64!'])('rejects malformed %p', (stored) => {
    const err = thrown(() => new AlipayTokenCipher([k1]).decrypt(stored, CTX));
    expect(err).toBeInstanceOf(AlipayTokenDecryptError);
    expect((err as AlipayTokenDecryptError).reason).toBe('malformed');
  });

  it('without keys stores v0 (base64url, visibly not encrypted) and reads it back; keyed ciphers read v0 too', () => {
    const none = new AlipayTokenCipher([]);
    expect(none.encrypting).toBe(false);
    expect(none.currentKeyId).toBeNull();
    const stored = none.encrypt(TOKEN, CTX);
    expect(stored).toBe(`v0.${Buffer.from(TOKEN).toString('base64url')}`);
    expect(AlipayTokenCipher.keyIdOf(stored)).toBeNull();
    expect(none.decrypt(stored, CTX)).toBe(TOKEN);
    expect(new AlipayTokenCipher([k1]).decrypt(stored, CTX)).toBe(TOKEN);
    // A keyless cipher cannot read v1 values.
    const err = thrown(() => none.decrypt(new AlipayTokenCipher([k1]).encrypt(TOKEN, CTX), CTX));
    expect((err as AlipayTokenDecryptError).reason).toBe('unknown-key');
  });

  it('validates keys without echoing them', () => {
    const short = randomBytes(16);
    const err = thrown(() => new AlipayTokenCipher([{ id: 'k1', key: short }]));
    expect(err).toBeInstanceOf(AlipayConfigError);
    expect(err.message).not.toContain(short.toString('base64'));
    expect(() => new AlipayTokenCipher([{ id: 'bad id', key: randomBytes(32) }])).toThrow(AlipayConfigError);
    expect(() => new AlipayTokenCipher([k1, k1])).toThrow(/repeats id k1/);
  });
});

describe('assertTokenEncryptionConfigured', () => {
  // Jest runs in ESM mode here, where the `jest` global (jest.fn) is not defined: record calls by hand.
  const logger = () => {
    const calls: string[] = [];
    return { calls, warn: (message: string) => void calls.push(message) };
  };

  it('throws AlipayConfigError in production without keys', () => {
    const l = logger();
    expect(() => assertTokenEncryptionConfigured({ tokenEncryptionKeys: [] }, l, 'production')).toThrow(AlipayConfigError);
    expect(() => assertTokenEncryptionConfigured({ tokenEncryptionKeys: [] }, l, 'production')).toThrow(/tokenEncryptionKeys/);
    expect(l.calls).toEqual([]);
  });

  it('warns loudly outside production without keys', () => {
    for (const env of [undefined, 'development', 'test']) {
      const l = logger();
      assertTokenEncryptionConfigured({ tokenEncryptionKeys: [] }, l, env);
      expect(l.calls).toHaveLength(1);
      expect(l.calls[0]).toMatch(/UNENCRYPTED/);
    }
  });

  it('is silent with a key, in any environment', () => {
    const l = logger();
    assertTokenEncryptionConfigured({ tokenEncryptionKeys: [k1] }, l, 'production');
    assertTokenEncryptionConfigured({ tokenEncryptionKeys: [k1] }, l, 'development');
    expect(l.calls).toEqual([]);
  });

  it('reads NODE_ENV by default', () => {
    const saved = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      expect(() => assertTokenEncryptionConfigured({ tokenEncryptionKeys: [] }, logger())).toThrow(AlipayConfigError);
    } finally {
      process.env.NODE_ENV = saved;
    }
  });
});
