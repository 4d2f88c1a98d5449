import { Controller, Get, Inject, Logger, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  ALIPAY_AUTH_CONFIG,
  AlipayApiError,
  AlipayAuthError,
  AlipayAuthorizationInfo,
  AlipayNetworkError,
  AlipaySignatureError,
  AlipayTokenService,
  ResolvedAlipayAuthConfig,
} from 'nestjs-alipay-auth';
import { ALIPAY_SETUP, AlipaySetup } from '../alipay/alipay-setup';
import { SAMPLE_CLOCK } from '../config/sample-config.module';
import { SAMPLE_CONFIG, SampleConfig } from '../config/sample-config';
import { sendHtml, single, wantsJson } from '../http/respond';
import { AUTHORIZE_PATH, CALLBACK_PATH } from '../routes';
import { authorizedPage, errorPage, ErrorPageInput } from '../views/pages';
import { createState, isNonce, MAX_STATE_LENGTH, newNonce, NONCE_COOKIE, STATE_PROBLEMS, STATE_TTL_MS, verifyState } from './authorization-state';
import { RecentExchanges } from './recent-exchanges';

/** Same rule as the library's exchangeCode: refuse junk before calling Alipay. */
const CODE = /^[A-Za-z0-9_-]{8,128}$/;
const AUTHORIZE_PAGE_PATH = '/oauth2/appToAppAuth.htm';

/** Friendlier words for the exchange errors a merchant can meet. */
const ALIPAY_CODE_HINTS: Record<string, string> = {
  AUTH_CODE_NOT_VALID: 'This authorization code was already used or has expired. Please start the authorization again.',
  AUTH_CODE_NOT_EXIST: 'Alipay does not know this authorization code. Please start the authorization again.',
  APP_ID_NOT_CONSISTENT: 'This authorization code was issued to another application.',
};

class CallbackProblem extends Error {
  constructor(readonly page: ErrorPageInput) {
    super(page.message);
  }
}

@ApiTags('authorization')
@Controller()
export class AuthorizationController {
  private readonly logger = new Logger(AuthorizationController.name);

  constructor(
    private readonly tokens: AlipayTokenService,
    private readonly recent: RecentExchanges,
    @Inject(ALIPAY_AUTH_CONFIG) private readonly alipay: ResolvedAlipayAuthConfig,
    @Inject(SAMPLE_CONFIG) private readonly config: SampleConfig,
    @Inject(ALIPAY_SETUP) private readonly setup: AlipaySetup,
    @Inject(SAMPLE_CLOCK) private readonly clock: () => number,
  ) {}

  /** The redirect_uri registered with Alipay (must match the ISV app's callback URL exactly). */
  get redirectUri(): string {
    return `${this.config.publicBaseUrl}${CALLBACK_PATH}`;
  }

  @Get(AUTHORIZE_PATH)
  @ApiOperation({
    summary: "Start a merchant authorization: redirects to Alipay's app-to-app authorization page",
    description:
      'Sets an HttpOnly, SameSite=Lax cookie holding a nonce and sends the browser to Alipay with app_id, redirect_uri and a signed, 10-minute `state` bound to that nonce.',
  })
  @ApiResponse({ status: 302, description: "Redirect to Alipay's authorization page" })
  authorize(@Req() req: Request, @Res() res: Response): void {
    const existing: unknown = req.cookies?.[NONCE_COOKIE];
    // One nonce per browser: several tabs started from the same browser all verify.
    const nonce = isNonce(existing) ? existing : newNonce();
    const state = createState(this.setup.stateSecret, nonce, this.clock());
    res.cookie(NONCE_COOKIE, nonce, {
      httpOnly: true,
      sameSite: 'lax',
      secure: this.config.publicBaseUrl.startsWith('https:'),
      path: '/alipay/auth',
      maxAge: STATE_TTL_MS,
    });
    const url = new URL(`${this.alipay.authorizePageBaseUrl}${AUTHORIZE_PAGE_PATH}`);
    url.searchParams.set('app_id', this.alipay.appId);
    url.searchParams.set('redirect_uri', this.redirectUri);
    url.searchParams.set('state', state);
    res.set('cache-control', 'no-store').redirect(302, url.toString());
  }

  @Get(CALLBACK_PATH)
  @ApiOperation({
    summary: "Alipay's redirect after the merchant approved: exchanges app_auth_code and stores the tokens",
    description:
      'Answers an HTML page, or JSON with `Accept: application/json`. 400: bad input (nothing stored). 502: Alipay refused or could not be trusted (its code and trace id are shown, never tokens). A reloaded callback whose code was already exchanged shows the same success.',
  })
  @ApiProduces('text/html', 'application/json')
  @ApiQuery({ name: 'app_id', description: 'Our ISV app id' })
  @ApiQuery({ name: 'app_auth_code', description: 'Single-use authorization code' })
  @ApiQuery({ name: 'source', required: false, description: 'alipay_app_auth' })
  @ApiQuery({ name: 'state', required: false, description: 'Echo of the state we sent; absent for authorizations started from the Alipay console' })
  @ApiResponse({ status: 200, description: 'Authorized' })
  @ApiResponse({ status: 400, description: 'Bad or forged callback; nothing stored' })
  @ApiResponse({ status: 502, description: 'Alipay refused the exchange' })
  async callback(@Query() query: Record<string, unknown>, @Req() req: Request, @Res() res: Response): Promise<void> {
    const json = wantsJson(req);
    try {
      const { code, state } = this.checkInput(query);

      // A reload of the page we already answered: same success, without asking Alipay again.
      const known = this.recent.get(code);
      if (known && known.state === state) return this.success(res, json, known.authorizations, true);

      this.checkState(state, req);

      let authorizations: AlipayAuthorizationInfo[];
      try {
        authorizations = await this.recent.exchange(code, state, () => this.tokens.exchangeCode(code));
      } catch (e) {
        const exchanged = e instanceof AlipayApiError && e.code === 'AUTH_CODE_NOT_VALID' ? this.recent.get(code) : undefined;
        if (exchanged) return this.success(res, json, exchanged.authorizations, true);
        throw e;
      }
      return this.success(res, json, authorizations, false);
    } catch (e) {
      const page = this.problem(e);
      if (json) {
        res.status(page.status).json({
          error: { status: page.status, title: page.title, message: page.message, alipayCode: page.alipayCode, traceId: page.traceId },
        });
      } else {
        sendHtml(res, page.status, errorPage(page, this.setup.mode));
      }
    }
  }

  private checkInput(query: Record<string, unknown>): { code: string; state: string | null } {
    const bad = (message: string) => new CallbackProblem({ status: 400, title: 'Invalid authorization callback', message });
    const appId = single(query.app_id);
    const source = single(query.source);
    const code = single(query.app_auth_code);
    const stateParam = single(query.state);
    // An empty state is no state (the policy for console-started authorizations applies).
    const state = stateParam === '' ? undefined : stateParam;
    if (appId === null || source === null || code === null || state === null) throw bad('Each callback parameter must be given once.');
    if (!appId) throw bad('The "app_id" parameter is missing.');
    if (appId !== this.alipay.appId) throw bad(`The "app_id" parameter does not name this application (${this.alipay.appId}).`);
    if (source !== undefined && source !== 'alipay_app_auth') throw bad('The "source" parameter must be "alipay_app_auth".');
    if (!code) throw bad('The "app_auth_code" parameter is missing.');
    if (!CODE.test(code)) throw bad('The "app_auth_code" parameter is malformed (8-128 letters, digits, "_" or "-").');
    if (state !== undefined && state.length > MAX_STATE_LENGTH) throw bad('The "state" parameter is malformed.');
    return { code, state: state ?? null };
  }

  private checkState(state: string | null, req: Request): void {
    if (state === null) {
      // Authorizations started from Alipay's console arrive without state. The exchange itself proves
      // the code; state only defends against login CSRF, so accepting is the default.
      if (this.config.callbackWithoutState === 'reject') {
        throw new CallbackProblem({
          status: 400,
          title: 'Invalid authorization callback',
          message: 'This callback has no "state": start the authorization from our authorization link.',
          retryUrl: AUTHORIZE_PATH,
        });
      }
      return;
    }
    const cookie: unknown = req.cookies?.[NONCE_COOKIE];
    const check = verifyState(this.setup.stateSecret, state, typeof cookie === 'string' ? cookie : undefined, this.clock());
    if (!check.ok) {
      this.logger.warn(`Callback refused: state ${check.reason}`);
      throw new CallbackProblem({ status: 400, title: 'Invalid authorization callback', message: STATE_PROBLEMS[check.reason], retryUrl: AUTHORIZE_PATH });
    }
  }

  private success(res: Response, json: boolean, authorizations: AlipayAuthorizationInfo[], replayed: boolean): void {
    if (json) {
      res.status(200).set('cache-control', 'no-store').json({ status: 'authorized', replayed, authorizations });
    } else {
      sendHtml(res, 200, authorizedPage(authorizations, this.setup.mode));
    }
  }

  private problem(e: unknown): ErrorPageInput {
    if (e instanceof CallbackProblem) return e.page;
    if (e instanceof AlipayApiError) {
      this.logger.warn(`Code exchange refused by Alipay: ${e.status} ${e.code} (traceId ${e.traceId ?? '-'})`);
      return {
        status: 502,
        title: 'Alipay refused the authorization',
        message: ALIPAY_CODE_HINTS[e.code] ?? `Alipay answered: ${e.alipayMessage}`,
        alipayCode: e.code,
        traceId: e.traceId,
        retryUrl: AUTHORIZE_PATH,
      };
    }
    if (e instanceof AlipaySignatureError) {
      this.logger.error(`Code exchange answer could not be trusted: ${e.code} (traceId ${e.traceId ?? '-'})`);
      return {
        status: 502,
        title: 'Alipay answer could not be verified',
        message: "Alipay's answer did not carry a valid signature, so it was not used.",
        alipayCode: e.code,
        traceId: e.traceId,
      };
    }
    if (e instanceof AlipayNetworkError) {
      this.logger.error(`Code exchange did not reach Alipay: ${e.kind}`);
      return {
        status: 502,
        title: 'Alipay could not be reached',
        message: e.sent
          ? 'Alipay did not answer in time. The code may have been used; please start the authorization again.'
          : 'Alipay could not be reached. Please try again in a moment.',
        retryUrl: AUTHORIZE_PATH,
      };
    }
    if (e instanceof AlipayAuthError) {
      return { status: 400, title: 'Invalid authorization callback', message: e.message };
    }
    this.logger.error(`Callback failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return { status: 500, title: 'Something went wrong', message: 'The authorization could not be completed. Please try again later.' };
  }
}
