import { ArgumentsHost, Catch, ExceptionFilter, Injectable, Logger, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  AlipayApiError,
  AlipayAuthError,
  AlipayAuthorizationRequiredError,
  AlipayAuthorizationStateError,
  AlipayAuthorizationStateProblem,
  AlipayConfigError,
  AlipayInvalidInputError,
  AlipayNetworkError,
  AlipaySignatureError,
  AlipayStoreUnavailableError,
  AlipayTokenUnreadableError,
} from '../errors/alipay-auth.errors';

/** Stable, machine-readable kind of an `AlipayAuthErrorBody`. */
export type AlipayAuthErrorType =
  | 'authorization-required'
  | 'authorization-state'
  | 'invalid-input'
  | 'token-unreadable'
  | 'alipay-error'
  | 'alipay-signature'
  | 'alipay-timeout'
  | 'alipay-unreachable'
  | 'store-unavailable'
  | 'configuration'
  | 'internal';

/**
 * The JSON body `AlipayAuthExceptionFilter` answers. Only these fields, never tokens, keys, the request
 * sent to Alipay or Alipay's free-text message.
 */
export interface AlipayAuthErrorBody {
  statusCode: number;
  error: {
    type: AlipayAuthErrorType;
    message: string;
    /** authorization-required, token-unreadable: the merchant app concerned. */
    authAppId?: string;
    /** invalid-input: the field at fault (`appAuthCode`, `authAppId`). */
    field?: string;
    /** authorization-required: why (e.g. `revoked`, `refresh-token-expired`); authorization-state: the problem. */
    reason?: string;
    /** alipay-error: Alipay's `code`; alipay-signature: the signature error code. */
    alipayCode?: string;
    /** Alipay's trace id, to quote to Alipay support. */
    traceId?: string;
  };
}

/** What each state problem means, without guessing at the browser: `no-cookie` may be the app's set-up as well. */
const STATE_MESSAGES: Record<AlipayAuthorizationStateProblem, string> = {
  malformed: 'The "state" parameter of the authorization callback is malformed; start the authorization again',
  'bad-signature': 'The "state" parameter was not issued by this application; start the authorization again',
  expired: 'The authorization link has expired; start the authorization again',
  'no-cookie':
    "The callback came without the cookie set by the authorization link: start the authorization from this application's link, at the address of the callback",
  'other-browser': 'The authorization was started in another browser session; start the authorization again',
};

/** One library error class's HTTP answer. */
export interface AlipayAuthErrorAnswer {
  /** The class answered: its instances and its subclasses'. */
  error: abstract new (...args: never[]) => AlipayAuthError;
  statusCode: number;
  /** Only the errors this holds for (one class, two answers). */
  when?(e: AlipayAuthError): boolean;
  /** The body's fields after `type`. */
  fields(e: AlipayAuthError): Omit<AlipayAuthErrorBody['error'], 'type'>;
}

/**
 * Each library error's status and body type, tried in this order (the first match answers; any other
 * `AlipayAuthError` is `internal`). The one table: troubleshooting.ts renders docs/troubleshooting.md from it.
 */
export const ALIPAY_AUTH_ERROR_ANSWERS: Readonly<Record<Exclude<AlipayAuthErrorType, 'internal'>, AlipayAuthErrorAnswer>> = {
  'authorization-required': {
    error: AlipayAuthorizationRequiredError,
    statusCode: 409,
    fields: (e: AlipayAuthorizationRequiredError) => ({ message: 'The merchant must authorize the app again', authAppId: e.authAppId, reason: e.reason }),
  },
  'authorization-state': {
    error: AlipayAuthorizationStateError,
    statusCode: 400,
    fields: (e: AlipayAuthorizationStateError) => ({ message: STATE_MESSAGES[e.problem], reason: e.problem }),
  },
  'invalid-input': {
    error: AlipayInvalidInputError,
    statusCode: 400,
    // The message names the field and its rule, never the value.
    fields: (e: AlipayInvalidInputError) => ({ message: e.message, field: e.field }),
  },
  'token-unreadable': {
    error: AlipayTokenUnreadableError,
    statusCode: 503,
    // The reason names key ids and decryption details: for the operator's log, not for clients.
    fields: (e: AlipayTokenUnreadableError) => ({ message: 'The stored credential of this merchant cannot be read', authAppId: e.authAppId }),
  },
  'store-unavailable': {
    error: AlipayStoreUnavailableError,
    statusCode: 503,
    // The driver's error (its `cause`) may quote SQL and parameters: for the operator's log, not for clients.
    fields: () => ({ message: 'The credential store is unavailable; try again later' }),
  },
  'alipay-error': {
    error: AlipayApiError,
    statusCode: 502,
    fields: (e: AlipayApiError) => ({ message: 'Alipay refused the request', alipayCode: e.code, traceId: e.traceId }),
  },
  'alipay-signature': {
    error: AlipaySignatureError,
    statusCode: 502,
    fields: (e: AlipaySignatureError) => ({ message: "Alipay's answer could not be verified", alipayCode: e.code, traceId: e.traceId }),
  },
  'alipay-timeout': {
    error: AlipayNetworkError,
    statusCode: 504,
    when: (e: AlipayNetworkError) => e.kind === 'timeout',
    fields: () => ({ message: 'Alipay did not answer in time' }),
  },
  'alipay-unreachable': { error: AlipayNetworkError, statusCode: 503, fields: () => ({ message: 'Alipay could not be reached' }) },
  configuration: { error: AlipayConfigError, statusCode: 500, fields: () => ({ message: 'Internal server error' }) },
};

/** Maps one library error to its status and body; exported for apps that render their own pages. */
export function alipayAuthErrorResponse(e: AlipayAuthError): AlipayAuthErrorBody {
  for (const [type, answer] of Object.entries(ALIPAY_AUTH_ERROR_ANSWERS) as Array<[AlipayAuthErrorType, AlipayAuthErrorAnswer]>) {
    if (e instanceof answer.error && (!answer.when || answer.when(e))) return { statusCode: answer.statusCode, error: { type, ...answer.fields(e) } };
  }
  return { statusCode: 500, error: { type: 'internal', message: 'Internal server error' } };
}

/**
 * Opt-in: answers library errors (`AlipayAuthError` and subclasses) with a status that says whose move it
 * is (400 bad client input, 409 re-authorize, 502 Alipay refused, 503/504 Alipay or the token store unreachable, 500 ours) and an
 * `AlipayAuthErrorBody`, instead of Nest's generic 500. Other errors pass to the next filter.
 * `@UseFilters(AlipayAuthExceptionFilter)` on a controller, or `{ provide: APP_FILTER, useClass: AlipayAuthExceptionFilter }`.
 * HTTP only (Express or Fastify); other contexts get the error back unchanged.
 */
@Catch(AlipayAuthError)
@Injectable()
export class AlipayAuthExceptionFilter implements ExceptionFilter<AlipayAuthError> {
  private readonly logger = new Logger(AlipayAuthExceptionFilter.name);

  constructor(@Optional() private readonly adapterHost?: HttpAdapterHost) {}

  catch(exception: AlipayAuthError, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const answer = alipayAuthErrorResponse(exception);
    // A 500 is our bug or our configuration: the client learns nothing, the log says what (library messages carry no secrets).
    if (answer.statusCode === 500) this.logger.error(`${exception.name}: ${exception.message}`);
    // Bad client input and an unavailable store are expected events, not our bugs: a warning at most.
    else if (exception instanceof AlipayStoreUnavailableError || exception instanceof AlipayInvalidInputError) this.logger.warn(exception.message);
    const response: unknown = host.switchToHttp().getResponse();
    const adapter = this.adapterHost?.httpAdapter;
    if (adapter) {
      adapter.setHeader(response, 'cache-control', 'no-store');
      adapter.reply(response, answer, answer.statusCode);
      return;
    }
    // Registered with `new AlipayAuthExceptionFilter()` outside Nest's injector: Express's response API.
    (response as { status(code: number): { set(h: string, v: string): { json(b: unknown): void } } })
      .status(answer.statusCode)
      .set('cache-control', 'no-store')
      .json(answer);
  }
}
