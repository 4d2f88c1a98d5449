import { randomBytes, randomInt } from 'node:crypto';

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const digits = (n: number): string => Array.from({ length: n }, () => randomInt(10)).join('');

/** China Standard Time: Alipay renders its dates in UTC+8. */
const CST_OFFSET_MS = 8 * 3600_000;

/**
 * Token shape seen in Alipay responses: `YYYYMM` + `BB` + 32 hex + 3 chars (e.g. `202611BB7f2c…F12`).
 * Used for both app_auth_token and app_refresh_token.
 */
export function newToken(nowMs: number): string {
  const d = new Date(nowMs + CST_OFFSET_MS);
  const ym = `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
  const tail = 'ABCDEF'[randomInt(6)] + digits(2);
  return `${ym}BB${hex(16)}${tail}`;
}

/** app_auth_code: 32 lower-case hex characters. */
export const newAuthCode = (): string => hex(16);

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
