import {
  ALIPAY_AUTHORIZATION_STATUSES,
  AlipayAuthorization,
  AlipayAuthorizationStatus,
  AlipayIssuedTokens,
  AlipayListedAuthorization,
} from '../storage/alipay-token-store';
import { AlipayRefreshWindow, refreshDueAt } from '../storage/refresh-window';
import { AlipayTokenCipher, AlipayTokenDecryptError, storedTokenProblem } from '../storage/token-cipher';
import type { Params, Row } from './statements';

const TOKEN_FIELD = 'app_auth_token';
/** Values the codec remembers: two tokens of two claim batches of the largest size. */
const OPENED_MEMO = 4000;
const REFRESH_FIELD = 'app_refresh_token';

/** The columns a row is read with: everything but the lookup hash (`check_due_at` orders claimed rows). */
export const ROW_COLUMNS = [
  'id',
  'app_id',
  'auth_app_id',
  'user_id',
  'app_auth_token_enc',
  'app_refresh_token_enc',
  'expires_at',
  'refresh_expires_at',
  'token_issued_at',
  'status',
  'status_reason',
  'authorized_at',
  'last_refreshed_at',
  'last_checked_at',
  'check_due_at',
  'failure_count',
  'last_error_code',
  'last_failure_at',
  'next_attempt_at',
  'verify_at',
  'due_at',
  'version',
  'lease_owner',
  'lease_until',
  'created_at',
  'updated_at',
];

/** `ROW_COLUMNS` as a select list, optionally qualified with a table alias. */
export function rowColumns(alias?: string): string {
  return alias ? ROW_COLUMNS.map((c) => `${alias}.${c}`).join(', ') : ROW_COLUMNS.join(', ');
}

/** Additional authenticated data binding an encrypted token to its row and field. */
export function alipayTokenAad(appId: string, authAppId: string, field: 'app_auth_token' | 'app_refresh_token'): string {
  return `${appId}:${authAppId}:${field}`;
}

export function ms(value: Date, name: string): number {
  const t = value instanceof Date ? value.getTime() : NaN;
  if (!Number.isFinite(t)) throw new TypeError(`${name} must be a valid Date`);
  return t;
}

export function msOrNull(value: Date | null | undefined, name: string): number | null {
  return value === null || value === undefined ? null : ms(value, name);
}

export function num(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

export function date(value: unknown): Date | null {
  return value === null || value === undefined ? null : new Date(Number(value));
}

export function str(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

export function text(value: string | null | undefined, max: number): string | null {
  if (value === null || value === undefined) return null;
  const s = String(value);
  return s.length > max ? s.slice(0, max) : s;
}

export function id(value: string, name: string, max = 32): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) throw new TypeError(`${name} must be a string of 1-${max} characters`);
  return value;
}

/** The version a compare-and-set was decided on (null: "no row yet", where allowed). */
export function expected(value: number | null, nullable = false): number | null {
  if (nullable && value === null) return null;
  if (!Number.isInteger(value)) throw new TypeError(`expectedVersion must be an integer${nullable ? ' or null' : ''}`);
  return value;
}

export function status(value: AlipayAuthorizationStatus): AlipayAuthorizationStatus {
  if (!ALIPAY_AUTHORIZATION_STATUSES.includes(value)) throw new TypeError(`status must be one of ${ALIPAY_AUTHORIZATION_STATUSES.join(', ')}`);
  return value;
}

/**
 * Rows in and out: a row read becomes an `AlipayAuthorization` with its tokens decrypted, a token pair to
 * write becomes the sealed column values (ciphertexts bound to their row and field, the lookup hash, due_at).
 */
export class AlipayRowCodec {
  /**
   * The latest values sealed or opened, by context and ciphertext: a refresh reads its row three times (the
   * claim, the re-lease, the write's RETURNING) and decrypts it once. Bounded; keyed with the context, so a
   * value moved to another row or field still fails its authentication.
   */
  private readonly opened = new Map<string, string>();

  constructor(
    private readonly cipher: AlipayTokenCipher,
    private readonly window: AlipayRefreshWindow,
  ) {}

  /** A row whose tokens cannot be decrypted comes back with `unreadable` set and empty tokens: one bad row never fails a batch. */
  toDomain(r: Row): AlipayAuthorization {
    const appId = String(r.app_id);
    const authAppId = String(r.auth_app_id);
    let tokens = { appAuthToken: '', appRefreshToken: '' };
    let unreadable: string | null = null;
    try {
      tokens = {
        appAuthToken: this.open(r.app_auth_token_enc, appId, authAppId, TOKEN_FIELD),
        appRefreshToken: this.open(r.app_refresh_token_enc, appId, authAppId, REFRESH_FIELD),
      };
    } catch (e) {
      if (!(e instanceof AlipayTokenDecryptError)) throw e;
      unreadable = `${e.reason}: ${e.message}`;
    }
    return { ...tokens, ...this.fields(r, unreadable) };
  }

  /**
   * A row without its tokens, decrypting nothing: `unreadable` from the stored values' format and key ids
   * (an altered ciphertext shows when it is used, recorded as `row-unreadable`).
   */
  toListed(r: Row): AlipayListedAuthorization {
    const authAppId = String(r.auth_app_id);
    let unreadable: string | null = null;
    for (const [column, field] of [
      [r.app_auth_token_enc, TOKEN_FIELD],
      [r.app_refresh_token_enc, REFRESH_FIELD],
    ] as const) {
      const e = storedTokenProblem(this.cipher, String(column));
      if (e) {
        unreadable = `${e.reason}: ${e.message} (merchant app ${authAppId}, column ${field}_enc)`;
        break;
      }
    }
    return this.fields(r, unreadable);
  }

  private fields(r: Row, unreadable: string | null): AlipayListedAuthorization {
    return {
      appId: String(r.app_id),
      authAppId: String(r.auth_app_id),
      userId: str(r.user_id),
      unreadable,
      expiresAt: date(r.expires_at),
      refreshExpiresAt: date(r.refresh_expires_at),
      tokenIssuedAt: date(r.token_issued_at)!,
      status: String(r.status) as AlipayAuthorizationStatus,
      statusReason: str(r.status_reason),
      authorizedAt: date(r.authorized_at)!,
      lastRefreshedAt: date(r.last_refreshed_at),
      lastCheckedAt: date(r.last_checked_at),
      failureCount: num(r.failure_count) ?? 0,
      lastErrorCode: str(r.last_error_code),
      lastFailureAt: date(r.last_failure_at),
      nextAttemptAt: date(r.next_attempt_at),
      verifyAt: date(r.verify_at),
      dueAt: date(r.due_at),
      version: num(r.version) ?? 0,
      leaseOwner: str(r.lease_owner),
      leaseUntil: date(r.lease_until),
      createdAt: date(r.created_at)!,
      updatedAt: date(r.updated_at)!,
    };
  }

  private open(stored: unknown, appId: string, authAppId: string, field: typeof TOKEN_FIELD | typeof REFRESH_FIELD): string {
    const aad = alipayTokenAad(appId, authAppId, field);
    const key = `${aad}\u0000${String(stored)}`;
    const known = this.opened.get(key);
    if (known !== undefined) return known;
    try {
      return this.remember(key, this.cipher.decrypt(String(stored), aad));
    } catch (e) {
      if (e instanceof AlipayTokenDecryptError) {
        throw new AlipayTokenDecryptError(e.reason, `${e.message} (merchant app ${authAppId}, column ${field}_enc)`, e.keyId);
      }
      throw e;
    }
  }

  private remember(key: string, plain: string): string {
    if (this.opened.size >= OPENED_MEMO) this.opened.delete(this.opened.keys().next().value!);
    this.opened.set(key, plain);
    return plain;
  }

  /** due_at of a fresh pair: the earliest instant its refresh window opens (null: never). */
  private dueAt(tokens: AlipayIssuedTokens): number | null {
    return refreshDueAt({ expiresAt: tokens.expiresAt, refreshExpiresAt: tokens.refreshExpiresAt, tokenIssuedAt: tokens.issuedAt }, this.window);
  }

  seal(appId: string, authAppId: string, tokens: AlipayIssuedTokens): Params {
    if (!tokens || typeof tokens.appAuthToken !== 'string' || !tokens.appAuthToken || typeof tokens.appRefreshToken !== 'string' || !tokens.appRefreshToken) {
      throw new TypeError('tokens.appAuthToken and tokens.appRefreshToken must be non-empty strings');
    }
    const tokenAad = alipayTokenAad(appId, authAppId, TOKEN_FIELD);
    const refreshAad = alipayTokenAad(appId, authAppId, REFRESH_FIELD);
    const tokenEnc = this.cipher.encrypt(tokens.appAuthToken, tokenAad);
    const refreshEnc = this.cipher.encrypt(tokens.appRefreshToken, refreshAad);
    // The write reads the row back (RETURNING): its tokens are these, nothing to decrypt.
    this.remember(`${tokenAad}\u0000${tokenEnc}`, tokens.appAuthToken);
    this.remember(`${refreshAad}\u0000${refreshEnc}`, tokens.appRefreshToken);
    return {
      tokenEnc,
      tokenHash: this.cipher.lookupHash(tokens.appAuthToken),
      refreshEnc,
      expiresAt: msOrNull(tokens.expiresAt, 'tokens.expiresAt'),
      refreshExpiresAt: msOrNull(tokens.refreshExpiresAt, 'tokens.refreshExpiresAt'),
      issuedAt: ms(tokens.issuedAt, 'tokens.issuedAt'),
      dueAt: this.dueAt(tokens),
    };
  }
}
