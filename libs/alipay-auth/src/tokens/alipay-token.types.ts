import type { AlipayAuthorization, AlipayListedAuthorization } from '../storage/alipay-token-store';

/** One element of the token/app response (`tokens[]`, or the top-level fields). Numbers may be strings. */
export interface AlipayTokenAppElement {
  app_auth_token: string;
  app_refresh_token: string;
  auth_app_id: string;
  user_id?: string;
  expires_in?: string | number;
  re_expires_in?: string | number;
}

/** Body of `POST /v3/alipay/open/auth/token/app`. */
export interface AlipayTokenAppResponse extends Partial<AlipayTokenAppElement> {
  tokens?: AlipayTokenAppElement[];
}

/** Body of `GET /v3/alipay/open/auth/token/app/query`. */
export interface AlipayTokenQueryResponse {
  user_id?: string;
  auth_app_id?: string;
  expires_in?: number | string;
  auth_methods?: string[];
  auth_start?: string;
  auth_end?: string;
  status?: 'valid' | 'invalid' | string;
  is_by_app_auth?: boolean;
}

/** What the library shows of an authorization: everything but the secrets and the bookkeeping; the token masked. */
export type AlipayAuthorizationInfo = Omit<
  AlipayAuthorization,
  'appAuthToken' | 'appRefreshToken' | 'version' | 'leaseOwner' | 'leaseUntil' | 'createdAt' | 'updatedAt'
> & {
  /** `2026…F12` style: first 6 and last 3 characters. */
  maskedToken: string;
};

export function maskToken(token: string): string {
  if (!token) return '';
  if (token.length <= 10) return '*'.repeat(token.length);
  return `${token.slice(0, 6)}…${token.slice(-3)}`;
}

/** An authorization as `list` shows it: `AlipayAuthorizationInfo` without the masked token (a listing decrypts nothing). */
export type AlipayAuthorizationListItem = Omit<AlipayAuthorizationInfo, 'maskedToken'>;

export function toAuthorizationInfo(a: AlipayAuthorization): AlipayAuthorizationInfo {
  return { ...toAuthorizationListItem(a), maskedToken: maskToken(a.appAuthToken) };
}

/** Drops the bookkeeping and any tokens (a custom store's `list` may return whole rows). */
export function toAuthorizationListItem(a: AlipayListedAuthorization & Partial<AlipayAuthorization>): AlipayAuthorizationListItem {
  const { appAuthToken: _t, appRefreshToken: _r, version: _v, leaseOwner: _o, leaseUntil: _u, createdAt: _c, updatedAt: _p, ...shown } = a;
  return shown;
}

/** Parses `expires_in`/`re_expires_in` leniently (string or number); null when absent or not a positive number. */
export function parseSeconds(value: string | number | undefined | null): number | null {
  if (value === undefined || value === null || value === '') return null;
  const n = typeof value === 'number' ? value : Number(String(value).trim());
  return Number.isFinite(n) && n > 0 ? n : null;
}
