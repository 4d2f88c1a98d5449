import { createPrivateKey, createPublicKey, createSign, createVerify, KeyObject } from 'node:crypto';
import { AlipayConfigError } from '../errors/alipay-auth.errors';

const PEM = /-----BEGIN [A-Z ]+-----/;

function bare(text: string): Buffer {
  const b64 = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+=*$/.test(b64)) throw new Error('not base64');
  return Buffer.from(b64, 'base64');
}

/**
 * Loads an RSA private key given as PEM (PKCS#1 or PKCS#8) or as the bare base64 Alipay's key tool
 * prints (PKCS#8, or PKCS#1). `option` names the option in errors; the key itself is never echoed.
 */
export function loadPrivateKey(input: string | Buffer | KeyObject, option = 'privateKey'): KeyObject {
  if (input instanceof KeyObject) return assertRsa(input, 'private', option);
  const text = Buffer.isBuffer(input) ? input.toString('utf8') : input;
  if (!text || !text.trim()) throw new AlipayConfigError(`Option "${option}" is empty`);
  try {
    if (PEM.test(text)) return assertRsa(createPrivateKey({ key: text, format: 'pem' }), 'private', option);
    const der = bare(text);
    for (const type of ['pkcs8', 'pkcs1'] as const) {
      try {
        return assertRsa(createPrivateKey({ key: der, format: 'der', type }), 'private', option);
      } catch {
        /* try the next encoding */
      }
    }
    throw new Error('neither PKCS#8 nor PKCS#1');
  } catch (e) {
    if (e instanceof AlipayConfigError) throw e;
    throw new AlipayConfigError(`Option "${option}" is not a readable RSA private key (expected PEM, or bare base64 PKCS#8/PKCS#1)`);
  }
}

/** Loads an RSA public key given as PEM (SPKI or PKCS#1), a certificate PEM, or bare base64 SPKI. */
export function loadPublicKey(input: string | Buffer | KeyObject, option = 'alipayPublicKey'): KeyObject {
  if (input instanceof KeyObject) return assertRsa(input, 'public', option);
  const text = Buffer.isBuffer(input) ? input.toString('utf8') : input;
  if (!text || !text.trim()) throw new AlipayConfigError(`Option "${option}" is empty`);
  try {
    if (PEM.test(text)) return assertRsa(createPublicKey({ key: text, format: 'pem' }), 'public', option);
    return assertRsa(createPublicKey({ key: bare(text), format: 'der', type: 'spki' }), 'public', option);
  } catch (e) {
    if (e instanceof AlipayConfigError) throw e;
    throw new AlipayConfigError(`Option "${option}" is not a readable RSA public key (expected PEM or bare base64 SPKI)`);
  }
}

function assertRsa(key: KeyObject, type: 'private' | 'public', option: string): KeyObject {
  if (key.type !== type || key.asymmetricKeyType !== 'rsa') {
    throw new AlipayConfigError(`Option "${option}" must be an RSA ${type} key (got ${key.asymmetricKeyType ?? key.type})`);
  }
  return key;
}

/** SHA256withRSA (RSASSA-PKCS1-v1_5) over the UTF-8 bytes, standard base64. */
export function rsaSign(key: KeyObject, content: string): string {
  return createSign('RSA-SHA256').update(content, 'utf8').sign(key, 'base64');
}

export function rsaVerify(key: KeyObject, content: string, signature: string | undefined | null): boolean {
  if (!signature) return false;
  try {
    return createVerify('RSA-SHA256').update(content, 'utf8').verify(key, signature, 'base64');
  } catch {
    return false;
  }
}

/** The bare base64 SPKI form Alipay's console shows. */
export function publicKeyToBase64(key: KeyObject): string {
  return key.export({ format: 'der', type: 'spki' }).toString('base64');
}
