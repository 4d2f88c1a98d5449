import { createHash, randomBytes, randomInt } from 'node:crypto';

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const digits = (n: number): string => Array.from({ length: n }, () => randomInt(10)).join('');

/** China Standard Time: Alipay renders its dates in UTC+8. */
const CST_OFFSET_MS = 8 * 3600_000;

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** One upper-case letter + 2 digits: the tail of real tokens and codes (e.g. `X09`, `D11`). */
const tail = (): string => LETTERS[randomInt(LETTERS.length)] + digits(2);

/**
 * The 40-character token shape of real captures (protocol doc §9.1): `YYYYMM` + `BB` + 29 hex + one
 * letter + 2 digits (e.g. `202007BB…X09`). Used for both app_auth_token and app_refresh_token.
 */
export function newToken(nowMs: number): string {
  const d = new Date(nowMs + CST_OFFSET_MS);
  const ym = `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
  return `${ym}BB${hex(15).slice(0, 29)}${tail()}`;
}

/** app_auth_code: 32 characters, 29 hex + one letter + 2 digits (e.g. `ca34ea49…c4cD11`). */
export const newAuthCode = (): string => `${hex(15).slice(0, 29)}${tail()}`;

/** Message-service notify_id: a long digit string (34 digits in captures), never a leading zero. */
export const newNotifyId = (): string => `${1 + randomInt(9)}${digits(33)}`;

/** Merchant app id: 16 digits starting with 2021. */
export const newAuthAppId = (): string => `2021${digits(12)}`;

/** Merchant user id: `2088` + 12 digits. */
export const newUserId = (): string => `2088${digits(12)}`;

export const newTraceId = (): string => `0b${hex(15)}`;
export const newNonce = (): string => hex(16);
export const newId = (): string => hex(8);

/** `yyyy-MM-dd HH:mm:ss` in UTC+8. */
export function formatAlipayTime(ms: number): string {
  const iso = new Date(ms + CST_OFFSET_MS).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

/** An uploaded image's id: 32 base64url characters like real ones, derived from the bytes (the same file, the same id). */
export const newImageId = (content: Buffer): string => createHash('sha256').update(content).digest('base64url').slice(0, 32);
