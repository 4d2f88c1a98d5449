import { BadRequestException, Controller, Get, Inject, Logger, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  ALIPAY_AUTH_CONFIG,
  AlipayApiError,
  AlipayAuthError,
  AlipayAuthorizationCallback,
  AlipayAuthorizationFlow,
  AlipayAuthorizationLinkService,
  AlipayAuthorizationStateError,
  AlipayCallbackInput,
  AlipayInvalidInputError,
  AlipayNetworkError,
  AlipaySignatureError,
  AlipayTokenService,
  ResolvedAlipayAuthConfig,
} from 'nestjs-alipay-auth';
import { ALIPAY_SETUP, AlipaySetup } from '../alipay/alipay-setup';
import { SAMPLE_CONFIG, SampleConfig } from '../config/sample-config';
import { sendHtml, single, wantsJson } from '../http/respond';
import { AUTHORIZE_PATH, CALLBACK_PATH } from '../routes';
import { merchantLocale } from '../views/merchant-text';
import { alreadyAuthorizedPage, authorizedPage, errorPage, ErrorPageInput } from '../views/pages';
import { stateProblemMessage } from './authorization-state';
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
    private readonly flow: AlipayAuthorizationCallback,
    @Inject(ALIPAY_AUTH_CONFIG) private readonly alipay: ResolvedAlipayAuthConfig,
    @Inject(SAMPLE_CONFIG) private readonly config: SampleConfig,
    @Inject(ALIPAY_SETUP) private readonly setup: AlipaySetup,
  ) {}

  @Get(AUTHORIZE_PATH)
  @ApiOperation({
    summary: "Start a merchant authorization: redirects to Alipay's authorization page",
    description:
      "Sets an HttpOnly, SameSite=Lax cookie holding a nonce and sends the browser to Alipay with a signed, 10-minute `state` bound to that nonce. Opened on another host than PUBLIC_BASE_URL, it first redirects there (the cookie must be set where the callback arrives). `flow=task`: Alipay's recommended link (指定应用授权: the merchant picks one of its apps; `device=phone` goes to the form a phone opens in the Alipay app, what the QR code encodes). `flow=single` (default): the classic page, the merchant's base app. `flow=batch` (or `batch=1`): the legacy batch page.",
  })
  @ApiQuery({ name: 'flow', required: false, enum: ['single', 'task', 'batch'], description: 'Which Alipay link (default single)' })
  @ApiQuery({ name: 'device', required: false, enum: ['phone'], description: 'Task link only: the phone form (the QR code target)' })
  @ApiQuery({ name: 'batch', required: false, enum: ['1'], description: 'Legacy alias of flow=batch' })
  @ApiResponse({ status: 302, description: "Redirect to Alipay's authorization page (or to the same route on PUBLIC_BASE_URL)" })
  @ApiResponse({ status: 400, description: 'Unknown flow or device' })
  authorize(@Query() query: Record<string, unknown>, @Req() req: Request, @Res() res: Response): void {
    const { flow, phone } = this.linkChoice(query);
    const publicUrl = new URL(this.config.publicBaseUrl);
    // The nonce cookie would be set on this host while Alipay returns the browser to PUBLIC_BASE_URL's:
    // move there first. `moved` stops a loop behind a proxy that rewrites Host.
    if (req.get('host') !== publicUrl.host && single(query.moved) !== '1') {
      const here = new URL(`${this.config.publicBaseUrl}${AUTHORIZE_PATH}`);
      // The same link, in the words it was asked for (`batch=1` stays `batch=1`).
      if (query.flow === undefined && flow === 'batch') here.searchParams.set('batch', '1');
      else if (flow !== 'single') here.searchParams.set('flow', flow);
      if (phone) here.searchParams.set('device', 'phone');
      here.searchParams.set('moved', '1');
      res.set('cache-control', 'no-store').redirect(302, here.toString());
      return;
    }
    // One nonce per browser (several tabs all verify), in an HttpOnly, SameSite=Lax cookie: the library's.
    // Task and batch: the library's default application types (TINYAPP, WEBAPP).
    const start = this.flow.start(req, { flow });
    res.append('set-cookie', start.setCookie);
    res.set('cache-control', 'no-store').redirect(302, phone && start.mobileUrl ? start.mobileUrl : start.url);
  }

  /** `flow` (single, task, batch; `batch=1` the legacy alias) and `device=phone` (task only); anything else is a 400. */
  private linkChoice(query: Record<string, unknown>): { flow: AlipayAuthorizationFlow; phone: boolean } {
    const flowParam = single(query.flow);
    const device = single(query.device);
    const batch = single(query.batch) === '1';
    if (flowParam === null || device === null) throw new BadRequestException('Each parameter must be given once');
    const flow = (flowParam ?? (batch ? 'batch' : 'single')) as AlipayAuthorizationFlow;
    if (!['single', 'task', 'batch'].includes(flow)) throw new BadRequestException('"flow" must be single, task or batch');
    if (batch && flow !== 'batch') throw new BadRequestException('"batch=1" contradicts "flow"');
    if (device !== undefined && (device !== 'phone' || flow !== 'task')) throw new BadRequestException('"device" must be phone, with flow=task');
    return { flow, phone: device === 'phone' };
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
  async callback(@Req() req: Request, @Res() res: Response): Promise<void> {
    const json = wantsJson(req);
    try {
      const input = this.readInput(req);
      const code = input.appAuthCode;
      const cookieNonce = input.nonce ?? undefined;

      // A reload of a callback some instance already answered: no second call to Alipay.
      const known = await this.replays.find(code, cookieNonce);
      if (known) return this.replayed(res, json, known.sameBrowser ? known.merchants : null);

      this.checkState(input);
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
      res.append('set-cookie', this.flow.nonceCookie(nonce, CallbackReplays.TTL_MS));
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

  /** The library's checks of the callback's parameters, shown on the sample's page. */
  private readInput(req: Request): AlipayCallbackInput {
    try {
      return this.flow.read(req);
    } catch (e) {
      if (!(e instanceof AlipayInvalidInputError)) throw e;
      throw new CallbackProblem({
        status: 400,
        problem: 'invalid-link',
        title: 'Invalid authorization callback',
        message: `${e.message}.`,
        retryUrl: AUTHORIZE_PATH,
      });
    }
  }

  private checkState(input: AlipayCallbackInput): void {
    try {
      // Authorizations started from Alipay's console arrive without state. The exchange itself proves
      // the code; state only defends against login CSRF, so the sample accepts them by default.
      this.flow.verify(input, { withoutState: this.config.callbackWithoutState });
    } catch (e) {
      const bad = (message: string) =>
        new CallbackProblem({ status: 400, problem: 'invalid-link', title: 'Invalid authorization callback', message, retryUrl: AUTHORIZE_PATH });
      if (e instanceof AlipayInvalidInputError) throw bad('This callback has no "state": start the authorization from our authorization link.');
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
