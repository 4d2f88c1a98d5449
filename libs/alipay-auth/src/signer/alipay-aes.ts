import { createCipheriv, createDecipheriv } from 'node:crypto';
import { AlipayConfigError } from '../errors/alipay-auth.errors';

const ZERO_IV = Buffer.alloc(16, 0);

/** Decodes the console's base64 `encrypt_key` (16 bytes for AES-128; 24/32 accepted like the SDKs). */
export function loadAesKey(encryptKey: string, option = 'encryptKey'): Buffer {
  const key = Buffer.from(encryptKey.trim(), 'base64');
  if (![16, 24, 32].includes(key.length)) {
    throw new AlipayConfigError(`Option "${option}" must be base64 of a 16, 24 or 32 byte AES key (got ${key.length} bytes)`);
  }
  return key;
}

function algorithm(key: Buffer): string {
  return `aes-${key.length * 8}-cbc`;
}

/** AES-CBC, zero IV, PKCS#7, base64 of the ciphertext only (deterministic, as Alipay specifies). */
export function aesEncrypt(key: Buffer, plaintext: string): string {
  const c = createCipheriv(algorithm(key), key, ZERO_IV);
  return Buffer.concat([c.update(plaintext, 'utf8'), c.final()]).toString('base64');
}

export function aesDecrypt(key: Buffer, ciphertextBase64: string): string {
  const d = createDecipheriv(algorithm(key), key, ZERO_IV);
  return Buffer.concat([d.update(ciphertextBase64, 'base64'), d.final()]).toString('utf8');
}
