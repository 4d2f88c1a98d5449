import { Controller, Get, Inject, Logger, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  ALIPAY_AUTH_CODE_PATTERN,
  ALIPAY_AUTH_CONFIG,
  AlipayApiError,
  AlipayAuthError,
  AlipayAuthorizationLinkService,
  AlipayAuthorizationStateError,
  AlipayNetworkError,
  AlipaySignatureError,
  AlipayTokenService,
  ALIPAY_MAX_STATE_LENGTH,
  ResolvedAlipayAuthConfig,
} from 'nestjs-alipay-auth';
import { ALIPAY_SETUP, AlipaySetup } from '../alipay/alipay-setup';
import { SAMPLE_CONFIG, SampleConfig } from '../config/sample-config';
import { sendHtml, single, wantsJson } from '../http/respond';
import { AUTHORIZE_PATH, CALLBACK_PATH } from '../routes';
import { merchantLocale } from '../views/merchant-text';
import { alreadyAuthorizedPage, authorizedPage, errorPage, ErrorPageInput } from '../views/pages';
import { NONCE_COOKIE, stateProblemMessage } from './authorization-state';
import { AuthorizedMerchant, CallbackReplays } from './callback-replays';

/** Friendlier words for the exchange errors a merchant can meet. */
const ALIPAY_CODE_HINTS: Record<string, string> = {
  AUTH_CODE_NOT_VALID: 'This authorization code was already used or has expired. Please start the authorization again.',
  AUTH_CODE_NOT_EXIST: 'Alipay does not know this authorization code. Please start the authorization again.',
  APP_ID_NOT_CONSISTENT: 'This authorization code was issued to another application.',
};

/** The merchant's language, from the request the page answers. */
const localeOf = (res: Response) => merchantLocale(res.req.headers['accept-language']);

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
    private readonly replays: CallbackReplays,
    private readonly links: AlipayAuthorizationLinkService,
    @Inject(ALIPAY_AUTH_CONFIG) private readonly alipay: ResolvedAlipayAuthConfig,
    @Inject(SAMPLE_CONFIG) private readonly config: SampleConfig,
    @Inject(ALIPAY_SETUP) private readonly setup: AlipaySetup,
  ) {}

  @Get(AUTHORIZE_PATH)
  @ApiOperation({
    summary: "Start a merchant authorization: redirects to Alipay's app-to-app authorization page",
    description:
      'Sets an HttpOnly, SameSite=Lax cookie holding a nonce and sends the browser to Alipay with app_id, redirect_uri and a signed, 10-minute `state` bound to that nonce. Opened on another host than PUBLIC_BASE_URL, it first redirects there (the cookie must be set where the callback arrives). `batch=1`: the batch page (several merchant apps; application_type TINYAPP,WEBAPP).',
  })
  @ApiQuery({ name: 'batch', required: false, enum: ['1'], description: "Alipay's batch authorization page" })
  @ApiResponse({ status: 302, description: "Redirect to Alipay's authorization page (or to the same route on PUBLIC_BASE_URL)" })
  authorize(@Query('batch') batchParam: unknown, @Query('moved') moved: unknown, @Req() req: Request, @Res() res: Response): void {
    const batch = batchParam === '1';
    const publicUrl = new URL(this.config.publicBaseUrl);
    // The nonce cookie would be set on this host while Alipay returns the browser to PUBLIC_BASE_URL's:
    // move there first. `moved` stops a loop behind a proxy that rewrites Host.
    if (req.get('host') !== publicUrl.host && moved !== '1') {
      const here = new URL(`${this.config.publicBaseUrl}${AUTHORIZE_PATH}`);
      if (batch) here.searchParams.set('batch', '1');
      here.searchParams.set('moved', '1');
      res.set('cache-control', 'no-store').redirect(302, here.toString());
      return;
    }
    const existing: unknown = req.cookies?.[NONCE_COOKIE];
    // One nonce per browser: several tabs started from the same browser all verify.
    const nonce = this.links.isNonce(existing) ? existing : this.links.newNonce();
    // Batch: several merchant apps at once (application_type TINYAPP,WEBAPP, the library's default).
    const link = this.links.createLink({ nonce, batch });
    this.setNonceCookie(res, nonce, this.links.stateTtlMs);
    res.set('cache-control', 'no-store').redirect(302, link.url);
  }

  private setNonceCookie(res: Response, nonce: string, maxAge: number): void {
    res.cookie(NONCE_COOKIE, nonce, {
      httpOnly: true,
      sameSite: 'lax',
      secure: this.config.publicBaseUrl.startsWith('https:'),
      path: '/alipay/auth',
      maxAge,
    });
  }

  @Get(CALLBACK_PATH)
  @ApiOperation({
    summary: "Alipay's redirect after the merchant approved: exchanges app_auth_code and stores the tokens",
    description:
      'Answers an HTML page, or JSON with `Accept: application/json`. 400: bad input (nothing stored). 429: too many callbacks from this client (THROTTLE_CALLBACK_PER_MINUTE), checked before any call to Alipay. 502: Alipay refused or could not be trusted (its code and trace id are shown, never tokens). 500: our side failed (the code may be spent: authorize again). A reloaded callback whose code was already exchanged (by any instance) answers 200 without calling Alipay; the merchant details only to the browser that completed it.',
  })
  @ApiProduces('text/html', 'application/json')
  @ApiQuery({ name: 'app_id', description: 'Our ISV app id' })
  @ApiQuery({ name: 'app_auth_code', description: 'Single-use authorization code' })
  @ApiQuery({ name: 'source', required: false, description: 'alipay_app_auth' })
  @ApiQuery({ name: 'state', required: false, description: 'Echo of the state we sent; absent for authorizations started from the Alipay console' })
  @ApiQuery({
    name: 'application_type',
    required: false,
    description: 'Batch authorization only: the application types the merchant chose (e.g. TINYAPP,WEBAPP); informational',
  })
  @ApiResponse({ status: 200, description: 'Authorized (`replayed: true` for a reload; `authorizations` only for the same browser)' })
  @ApiResponse({ status: 400, description: 'Bad or forged callback; nothing stored' })
  @ApiResponse({ status: 429, description: 'Too many callbacks from this client; Alipay was not called' })
  @ApiResponse({ status: 500, description: 'Our side failed; the merchant must authorize again' })
  @ApiResponse({ status: 502, description: 'Alipay refused the exchange' })
  async callback(@Query() query: Record<string, unknown>, @Req() req: Request, @Res() res: Response): Promise<void> {
    const json = wantsJson(req);
    try {
      const { code, state } = this.checkInput(query);
      const cookie: unknown = req.cookies?.[NONCE_COOKIE];
      const cookieNonce = this.links.isNonce(cookie) ? cookie : undefined;

      // A reload of a callback some instance already answered: no second call to Alipay.
      const known = await this.replays.find(code, cookieNonce);
      if (known) return this.replayed(res, json, known.sameBrowser ? known.merchants : null);

      this.checkState(state, cookieNonce);
      // Console-started callbacks (no state) bind the result to this browser with a fresh nonce.
      const nonce = cookieNonce ?? this.links.newNonce();

      let merchants: AuthorizedMerchant[];
      try {
        merchants = await this.replays.exchange(code, nonce, async () =>
          (await this.tokens.exchangeCode(code)).map((a) => ({ authAppId: a.authAppId, userId: a.userId })),
        );
      } catch (e) {
        // Another instance may have exchanged it a moment ago (two tabs, a double click behind a load balancer).
        const exchanged = e instanceof AlipayApiError && e.code === 'AUTH_CODE_NOT_VALID' ? await this.replays.find(code, cookieNonce) : undefined;
        if (exchanged) return this.replayed(res, json, exchanged.sameBrowser ? exchanged.merchants : null);
        throw e;
      }
      // Long enough for a reload in this browser to show the details again.
      this.setNonceCookie(res, nonce, CallbackReplays.TTL_MS);
      this.logger.log(`Authorized: merchant app(s) ${merchants.map((m) => m.authAppId).join(', ')}`);
      return this.success(res, json, merchants, false);
    } catch (e) {
      const page = this.problem(e);
      if (json) {
        res.status(page.status).json({
          error: { status: page.status, title: page.title, message: page.message, alipayCode: page.alipayCode, traceId: page.traceId },
        });
      } else {
        sendHtml(res, page.status, errorPage(page, this.setup.mode, localeOf(res)));
      }
    }
  }

  private checkInput(query: Record<string, unknown>): { code: string; state: string | null } {
    const bad = (message: string) =>
      new CallbackProblem({ status: 400, problem: 'invalid-link', title: 'Invalid authorization callback', message, retryUrl: AUTHORIZE_PATH });
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
    // The library's own rule (exchangeCode's): refuse junk before calling Alipay.
    if (!ALIPAY_AUTH_CODE_PATTERN.test(code)) throw bad('The "app_auth_code" parameter is malformed (8-128 letters, digits, "_" or "-").');
    if (state !== undefined && state.length > ALIPAY_MAX_STATE_LENGTH) throw bad('The "state" parameter is malformed.');
    return { code, state: state ?? null };
  }

  private checkState(state: string | null, cookieNonce: string | undefined): void {
    if (state === null) {
      // Authorizations started from Alipay's console arrive without state. The exchange itself proves
      // the code; state only defends against login CSRF, so accepting is the default.
      if (this.config.callbackWithoutState === 'reject') {
        throw new CallbackProblem({
          status: 400,
          problem: 'invalid-link',
          title: 'Invalid authorization callback',
          message: 'This callback has no "state": start the authorization from our authorization link.',
          retryUrl: AUTHORIZE_PATH,
        });
      }
      return;
    }
    try {
      this.links.verifyState(state, cookieNonce);
    } catch (e) {
      if (!(e instanceof AlipayAuthorizationStateError)) throw e;
      this.logger.warn(`Callback refused: state ${e.problem}`);
      throw new CallbackProblem({
        status: 400,
        problem: e.problem === 'expired' ? 'expired-link' : e.problem === 'no-cookie' || e.problem === 'other-browser' ? 'other-browser' : 'invalid-link',
        minutes: Math.round(this.links.stateTtlMs / 60_000),
        title: 'Invalid authorization callback',
        message: stateProblemMessage(e.problem, this.links.stateTtlMs),
        retryUrl: AUTHORIZE_PATH,
      });
    }
  }

  private success(res: Response, json: boolean, merchants: AuthorizedMerchant[], replayed: boolean): void {
    if (json) {
      res.status(200).set('cache-control', 'no-store').json({ status: 'authorized', replayed, authorizations: merchants });
    } else {
      sendHtml(res, 200, authorizedPage(merchants, this.alipay.appId, this.setup.mode, localeOf(res)));
    }
  }

  /** `merchants` null: another browser reloads a used link; it learns that it worked, not for whom. */
  private replayed(res: Response, json: boolean, merchants: AuthorizedMerchant[] | null): void {
    if (merchants) return this.success(res, json, merchants, true);
    if (json) res.status(200).set('cache-control', 'no-store').json({ status: 'authorized', replayed: true });
    else sendHtml(res, 200, alreadyAuthorizedPage(this.alipay.appId, this.setup.mode, localeOf(res)));
  }

  private problem(e: unknown): ErrorPageInput {
    if (e instanceof CallbackProblem) return e.page;
    if (e instanceof AlipayApiError) {
      this.logger.warn(`Code exchange refused by Alipay: ${e.status} ${e.code} (traceId ${e.traceId ?? '-'})`);
      return {
        status: 502,
        problem: e.code === 'AUTH_CODE_NOT_VALID' || e.code === 'AUTH_CODE_NOT_EXIST' ? 'code-used' : 'alipay-refused',
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
        problem: 'alipay-unverified',
        title: 'Alipay answer could not be verified',
        message: "Alipay's answer did not carry a valid signature, so it was not used. The code may have been spent: please authorize again.",
        alipayCode: e.code,
        traceId: e.traceId,
        retryUrl: AUTHORIZE_PATH,
      };
    }
    if (e instanceof AlipayNetworkError) {
      this.logger.error(`Code exchange did not reach Alipay: ${e.kind}`);
      return {
        status: 502,
        problem: e.sent ? 'alipay-timeout' : 'alipay-unreachable',
        title: 'Alipay could not be reached',
        message: e.sent
          ? 'Alipay did not answer in time. The code may have been used; please start the authorization again.'
          : 'Alipay could not be reached. Please try again in a moment.',
        retryUrl: AUTHORIZE_PATH,
      };
    }
    if (e instanceof AlipayAuthError) {
      return { status: 400, problem: 'invalid-link', title: 'Invalid authorization callback', message: e.message, retryUrl: AUTHORIZE_PATH };
    }
    this.logger.error(`Callback failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    // Alipay may already have consumed the single-use code (e.g. our database failed after the exchange):
    // waiting cannot help, a new authorization can.
    return {
      status: 500,
      problem: 'not-saved',
      title: 'The authorization could not be saved',
      message:
        'Something failed on our side, and an authorization code works only once. Please authorize again; if it keeps failing, contact the app provider.',
      retryUrl: AUTHORIZE_PATH,
    };
  }
}
