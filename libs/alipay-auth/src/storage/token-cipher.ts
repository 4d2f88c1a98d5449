import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { ResolvedAlipayAuthConfig } from '../alipay-auth.config';
import { AlipayAuthError, AlipayConfigError } from '../errors/alipay-auth.errors';

/** Why a stored value could not be decrypted. */
export type AlipayTokenDecryptFailure = 'malformed' | 'unknown-key' | 'authentication-failed' | 'key-required';

/**
 * A stored token could not be turned back into plaintext. The message names the key id or the row
 * context, never the stored value nor any part of the token.
 */
export class AlipayTokenDecryptError extends AlipayAuthError {
  constructor(
    readonly reason: AlipayTokenDecryptFailure,
    message: string,
    readonly keyId?: string,
  ) {
    super(message);
  }
}

const KEY_ID = /^[A-Za-z0-9_.-]{1,32}$/;
const B64URL = /^[A-Za-z0-9_-]*$/;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * At-rest encryption of tokens.
 *
 * With keys: AES-256-GCM, a random 12-byte IV per value, stored as
 * `v1.<keyId>.<iv b64url>.<ciphertext b64url>.<tag b64url>`. The first key encrypts; every listed key
 * decrypts, so keys rotate by putting the new key first and keeping the old ones until rows are rewritten.
 * The additional authenticated data is `v1.<keyId>` plus the caller's context (the store passes
 * `<appId>:<authAppId>:<field>`), so a value copied to another row or field fails to decrypt.
 *
 * Without keys (allowed outside production, see {@link assertTokenEncryptionConfigured}): values are
 * stored as `v0.<base64url>`, which is an encoding, NOT encryption; the prefix makes that visible in
 * the table. `v0.` values stay readable after keys are configured and are re-encrypted on the next write.
 */
export class AlipayTokenCipher {
  private readonly keys = new Map<string, Buffer>();
  private readonly writeKeyId: string | null;

  constructor(keys: ReadonlyArray<{ id: string; key: Buffer }> = []) {
    for (const [i, k] of keys.entries()) {
      if (!k || typeof k.id !== 'string' || !KEY_ID.test(k.id)) {
        throw new AlipayConfigError(`Option "tokenEncryptionKeys[${i}].id" must be 1-32 characters of [A-Za-z0-9_.-]`);
      }
      if (!Buffer.isBuffer(k.key) || k.key.length !== 32) {
        throw new AlipayConfigError(`Option "tokenEncryptionKeys[${i}].key" must be 32 bytes`);
      }
      if (this.keys.has(k.id)) throw new AlipayConfigError(`Option "tokenEncryptionKeys[${i}].id" repeats id ${k.id}`);
      this.keys.set(k.id, Buffer.from(k.key));
    }
    this.writeKeyId = keys.length ? keys[0].id : null;
  }

  /** Whether values are really encrypted (a key is configured). */
  get encrypting(): boolean {
    return this.writeKeyId !== null;
  }

  /**
   * Keyed hash of a token for lookups (HMAC-SHA256 under a key derived from the current key; a fixed key
   * without one). Equal tokens give equal hashes; the hash reveals nothing without the key.
   */
  lookupHash(token: string): string {
    return this.hashWith(this.writeKeyId, token);
  }

  /** The token's hash under every configured key (rows not yet rewritten carry an older key's). */
  lookupHashes(token: string): string[] {
    return [...new Set([this.writeKeyId, ...this.keys.keys()].map((id) => this.hashWith(id, token)))];
  }

  /** Lookup-hash keys, derived once per key id (every token write hashes). */
  private readonly hashKeys = new Map<string | null, Buffer>();

  private hashWith(keyId: string | null, token: string): string {
    let key = this.hashKeys.get(keyId);
    if (!key) {
      key =
        keyId === null
          ? createHash('sha256').update('alipay-token-lookup').digest()
          : Buffer.from(hkdfSync('sha256', this.keys.get(keyId)!, '', 'alipay-token-lookup', 32));
      this.hashKeys.set(keyId, key);
    }
    return createHmac('sha256', key).update(token, 'utf8').digest('hex');
  }

  /** The configured key ids. */
  get keyIds(): IterableIterator<string> {
    return this.keys.keys();
  }

  /** Id of the key new values are encrypted with, or null when none is configured. */
  get currentKeyId(): string | null {
    return this.writeKeyId;
  }

  encrypt(plaintext: string, context = ''): string {
    if (typeof plaintext !== 'string') throw new TypeError('AlipayTokenCipher.encrypt expects a string');
    if (this.writeKeyId === null) return `v0.${Buffer.from(plaintext, 'utf8').toString('base64url')}`;
    const keyId = this.writeKeyId;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(keyId)!, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(keyId, context));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return `v1.${keyId}.${iv.toString('base64url')}.${ciphertext.toString('base64url')}.${tag.toString('base64url')}`;
  }

  decrypt(stored: string, context = ''): string {
    if (typeof stored !== 'string') throw new AlipayTokenDecryptError('malformed', 'Stored token is not a string');
    if (stored.startsWith('v0.')) {
      const body = stored.slice(3);
      if (!B64URL.test(body)) throw new AlipayTokenDecryptError('malformed', 'Stored token has a malformed v0 value');
      return Buffer.from(body, 'base64url').toString('utf8');
    }
    if (!stored.startsWith('v1.')) throw new AlipayTokenDecryptError('malformed', 'Stored token has an unknown format (expected a v1. or v0. prefix)');
    // Key ids may contain '.', base64url never does: the last three parts are iv, ciphertext and tag.
    const parts = stored.split('.');
    if (parts.length < 5) throw new AlipayTokenDecryptError('malformed', 'Stored token has a malformed v1 value');
    const [ivText, ctText, tagText] = parts.slice(-3);
    const keyId = parts.slice(1, -3).join('.');
    if (!KEY_ID.test(keyId) || ![ivText, ctText, tagText].every((p) => B64URL.test(p))) {
      throw new AlipayTokenDecryptError('malformed', 'Stored token has a malformed v1 value');
    }
    const key = this.keys.get(keyId);
    if (!key) throw unknownKey(keyId);
    const iv = Buffer.from(ivText, 'base64url');
    const tag = Buffer.from(tagText, 'base64url');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new AlipayTokenDecryptError('malformed', 'Stored token has a malformed v1 value', keyId);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(keyId, context));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(ctText, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new AlipayTokenDecryptError(
        'authentication-failed',
        `Stored token failed authentication with key id "${keyId}": it was altered, copied from another row or field, or the key changed`,
        keyId,
      );
    }
  }

  /** Key id a stored value was written with: null for `v0.` (not encrypted), undefined when malformed. */
  static keyIdOf(stored: string): string | null | undefined {
    if (typeof stored !== 'string') return undefined;
    if (stored.startsWith('v0.')) return null;
    if (!stored.startsWith('v1.')) return undefined;
    const parts = stored.split('.');
    if (parts.length < 5) return undefined;
    const id = parts.slice(1, -3).join('.');
    return KEY_ID.test(id) ? id : undefined;
  }
}

function unknownKey(keyId: string): AlipayTokenDecryptError {
  return new AlipayTokenDecryptError(
    'unknown-key',
    `Stored token was encrypted with key id "${keyId}", which is not in option "tokenEncryptionKeys"; add that key back (after the current one) to read it`,
    keyId,
  );
}

/**
 * Why `stored` cannot be decrypted as far as its format and key id tell, or null: a check that decrypts
 * nothing (listings). An altered ciphertext passes it and fails `decrypt`.
 */
export function storedTokenProblem(cipher: AlipayTokenCipher, stored: string): AlipayTokenDecryptError | null {
  const keyId = AlipayTokenCipher.keyIdOf(stored);
  if (keyId === undefined) return new AlipayTokenDecryptError('malformed', 'Stored token has a malformed value');
  if (keyId !== null && ![...cipher.keyIds].includes(keyId)) return unknownKey(keyId);
  return null;
}

function aad(keyId: string, context: string): Buffer {
  return Buffer.from(`v1.${keyId}|${context}`, 'utf8');
}

/** Minimal logger shape (Nest's `Logger` fits). */
export interface AlipayWarnLogger {
  warn(message: string): unknown;
}

/**
 * Start-up check of token encryption. In production (`NODE_ENV=production`) a missing
 * `tokenEncryptionKeys` is an error; elsewhere it logs a loud warning, and tokens are stored as `v0.`
 * (base64, not encrypted).
 */
export function assertTokenEncryptionConfigured(
  config: Pick<ResolvedAlipayAuthConfig, 'tokenEncryptionKeys'>,
  logger: AlipayWarnLogger,
  nodeEnv: string | undefined = process.env.NODE_ENV,
): void {
  if (config.tokenEncryptionKeys && config.tokenEncryptionKeys.length > 0) return;
  if (nodeEnv === 'production') {
    throw new AlipayConfigError(
      'Option "tokenEncryptionKeys" is required when NODE_ENV=production: app_auth_token and app_refresh_token must be encrypted at rest',
    );
  }
  logger.warn(
    '!!! Option "tokenEncryptionKeys" is not set: Alipay app_auth_token and app_refresh_token are stored UNENCRYPTED ' +
      '(base64, prefix "v0."). This is refused when NODE_ENV=production. Configure a 32-byte base64 key, e.g. `openssl rand -base64 32`. !!!',
  );
}
