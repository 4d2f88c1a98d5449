/**
 * Every error the library throws extends AlipayAuthError, so callers can catch the family
 * or one precise kind. Messages never carry keys, tokens or refresh tokens.
 */
export class AlipayAuthError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A link Alipay attaches to an error (usually the "errCheck" diagnosis page). */
export interface AlipayErrorLink {
  link: string;
  desc?: string;
}

/** Alipay answered with an error body `{ code, message, links }` (HTTP status >= 400). */
export class AlipayApiError extends AlipayAuthError {
  readonly status: number;
  readonly code: string;
  readonly alipayMessage: string;
  readonly links: AlipayErrorLink[];
  readonly traceId?: string;

  constructor(init: { status: number; code: string; message: string; links?: AlipayErrorLink[]; traceId?: string }) {
    super(`Alipay returned ${init.status} ${init.code}: ${init.message}${init.traceId ? ` (traceId: ${init.traceId})` : ''}`);
    this.status = init.status;
    this.code = init.code;
    this.alipayMessage = init.message;
    this.links = init.links ?? [];
    this.traceId = init.traceId;
  }
}

export type AlipaySignatureErrorCode =
  'response-signature-missing' | 'response-signature-verify-error' | 'response-alipay-sn-verify-error' | 'response-decrypt-error';

/** A response could not be trusted: missing or wrong signature, unknown certificate SN, undecryptable body. */
export class AlipaySignatureError extends AlipayAuthError {
  constructor(
    readonly code: AlipaySignatureErrorCode,
    message: string,
    readonly traceId?: string,
    readonly status?: number,
  ) {
    super(`${message}${traceId ? ` (traceId: ${traceId})` : ''}`);
  }
}

export type AlipayNetworkErrorKind = 'timeout' | 'reset' | 'connect' | 'other';

/** No usable response: timeout, connection refused or reset. `sent` says whether Alipay may have received the request. */
export class AlipayNetworkError extends AlipayAuthError {
  constructor(
    readonly kind: AlipayNetworkErrorKind,
    message: string,
    readonly sent: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A module option (or the environment variable it is read from) is missing or malformed. The message names
 * the option, never its value; `problems` lists each one when several were found at once.
 */
export class AlipayConfigError extends AlipayAuthError {
  readonly problems: readonly string[];

  constructor(message: string, options?: { cause?: unknown; problems?: readonly string[] }) {
    super(message, options);
    this.problems = options?.problems ?? [message];
  }
}

/**
 * Input from a client is missing or malformed (a callback without a well-formed `app_auth_code`, an
 * `authAppId` that cannot exist). `field` names it; the message never echoes the value.
 * `AlipayAuthExceptionFilter` answers it with HTTP 400 `invalid-input`.
 */
export class AlipayInvalidInputError extends AlipayAuthError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** The merchant has no usable authorization: never authorized, revoked, cancelled, or its refresh token died. */
export class AlipayAuthorizationRequiredError extends AlipayAuthError {
  constructor(
    readonly authAppId: string,
    readonly reason: string,
  ) {
    super(`Merchant app ${authAppId} must authorize the app again: ${reason}`);
  }
}

/**
 * The stored tokens of a merchant cannot be decrypted (their key id is not in "tokenEncryptionKeys", or the
 * bytes were altered). The merchant's authorization may be fine at Alipay: restore the key, then re-encrypt.
 */
export class AlipayTokenUnreadableError extends AlipayAuthError {
  constructor(
    readonly authAppId: string,
    readonly reason: string,
  ) {
    super(`Stored tokens of merchant app ${authAppId} cannot be decrypted: ${reason}`);
  }
}

/** What is wrong with the `state` an authorization callback brought back. */
export type AlipayAuthorizationStateProblem = 'malformed' | 'bad-signature' | 'expired' | 'no-cookie' | 'other-browser';

/**
 * The callback's `state` does not prove that this browser started this authorization recently: malformed,
 * not signed by us (tampered), expired, or bound to another browser's nonce (or to none). Never carries the state.
 */
export class AlipayAuthorizationStateError extends AlipayAuthError {
  constructor(readonly problem: AlipayAuthorizationStateProblem) {
    super(`Authorization callback refused: state ${problem}`);
  }
}

/** The driver's short code of a store failure (`57P01`, `PROTOCOL_CONNECTION_LOST`, `ECONNREFUSED`, `SQLITE_BUSY`), else the error's class name. */
function storeFailureReason(error: unknown): string {
  const safe = (v: unknown) => (typeof v === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(v) ? v : undefined);
  // TypeORM's QueryFailedError keeps the driver's error as `driverError`; other wrappers use `cause`.
  for (let e = error as { code?: unknown; driverError?: unknown; cause?: unknown } | undefined, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const code = safe(e.code) ?? safe((e.driverError as { code?: unknown } | undefined)?.code);
    if (code) return code;
    e = e.cause as typeof e;
  }
  return safe(error instanceof Error ? error.name : undefined) ?? 'unknown';
}

/**
 * The token store failed (database down, connection lost, busy, timed out): a retry later may succeed.
 * `cause` is the store's or driver's own error, for the operator; the message names the store method and
 * the driver's code only, never SQL, parameters or token values.
 */
export class AlipayStoreUnavailableError extends AlipayAuthError {
  /** The driver's code (`57P01`, `PROTOCOL_CONNECTION_LOST`…) or the error's class name. */
  readonly reason: string;

  constructor(
    /** The store method that failed (`find`, `claimDue`…). */
    readonly operation: string,
    cause: unknown,
  ) {
    const reason = storeFailureReason(cause);
    super(`Token store unavailable: ${operation} failed (${reason})`, { cause });
    this.reason = reason;
  }
}
