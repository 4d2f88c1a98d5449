import { BadRequestException, Controller, Get, Inject, NotFoundException, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import {
  ApiBasicAuth,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiQuery,
  ApiResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  ALIPAY_AUTH_APP_ID_PATTERN,
  ALIPAY_AUTH_CONFIG,
  ALIPAY_AUTHORIZATION_STATUSES,
  AlipayAuthError,
  alipayAuthErrorResponse,
  AlipayAuthorizationStatus,
  AlipayTokenService,
  ResolvedAlipayAuthConfig,
} from 'nestjs-alipay-auth';
import QRCode from 'qrcode';
import { ALIPAY_SETUP, AlipaySetup } from '../alipay/alipay-setup';
import { SAMPLE_CONFIG, SampleConfig } from '../config/sample-config';
import { sendHtml, single, wantsJson } from '../http/respond';
import { AUTHORIZE_PATH, MERCHANTS_PATH } from '../routes';
import { OperatorCsrf } from '../security/operator-csrf';
import { merchantState } from '../views/merchant-state';
import { operatorsPage, ShownList } from '../views/operators-page';
import { operatorLocale, operatorWords, OperatorLocale } from '../views/operator-text';
import { AdminGuard, OperatorAuth } from './admin.guard';
import { HealthBanner } from '../health/health-banner';
import { BulkJobs } from './bulk-jobs';
import { MerchantCounts } from './merchant-counts';
import { OperatorNotice } from './operator-notice';
import { scheduledRun } from './refresh-schedule';
import { backTo, MERCHANT_SORTS, MERCHANT_VIEWS, PAGE_SIZES, parseBack, parseListState, viewFilter } from './merchant-list-state';
import { AlipayErrorDto, MerchantDto, MerchantListDto, RefreshResultDto } from './merchant.dto';

const PAGE_SIZE = 50;

function paging(offsetText: unknown, limitText: unknown, maxLimit: number): { offset: number; limit: number } {
  const offset = single(offsetText) ?? '0';
  const limit = single(limitText) ?? String(PAGE_SIZE);
  if (!/^\d{1,9}$/.test(offset ?? '')) throw new BadRequestException('"offset" must be a non-negative integer');
  if (!/^\d{1,4}$/.test(limit ?? '') || Number(limit) < 1 || Number(limit) > maxLimit)
    throw new BadRequestException(`"limit" must be an integer from 1 to ${maxLimit}`);
  return { offset: Number(offset), limit: Number(limit) };
}

@ApiTags('operators')
@ApiBearerAuth()
@ApiBasicAuth()
@ApiUnauthorizedResponse({ description: 'ADMIN_TOKEN is set and was not presented (Authorization: Bearer <token>, or Basic with the token as password)' })
@UseGuards(AdminGuard)
@Controller()
export class MerchantsController {
  constructor(
    private readonly tokens: AlipayTokenService,
    private readonly counts: MerchantCounts,
    @Inject(ALIPAY_AUTH_CONFIG) private readonly alipay: ResolvedAlipayAuthConfig,
    @Inject(SAMPLE_CONFIG) private readonly config: SampleConfig,
    @Inject(ALIPAY_SETUP) private readonly setup: AlipaySetup,
    private readonly csrf: OperatorCsrf,
    private readonly notice: OperatorNotice,
    private readonly bulk: BulkJobs,
    private readonly healthBanner: HealthBanner,
  ) {}

  /** Why the QR code cannot work from a phone, if it cannot. */
  private qrWarning(locale: OperatorLocale): string | undefined {
    const host = new URL(this.config.publicBaseUrl).hostname;
    const loopback = host === 'localhost' || host === '::1' || host === '[::1]' || host.startsWith('127.');
    const w = operatorWords(locale);
    if (this.setup.mode === 'simulation') return w.qrSimulation(this.config.publicBaseUrl, loopback);
    return loopback ? w.qrLoopback(this.config.publicBaseUrl) : undefined;
  }

  /** When the scheduled refresh runs next after an instant (the cron of the module). */
  private schedule?: ReturnType<typeof scheduledRun>;
  /** The QR code of the authorization link: the link never changes while the app runs. */
  private qrSvg?: Promise<string>;

  @Get('/')
  @ApiOperation({ summary: "Operators' page: the merchants needing attention (or all), search, the authorization link and QR code" })
  @ApiProduces('text/html')
  @ApiQuery({ name: 'view', required: false, enum: [...MERCHANT_VIEWS], description: 'Default: attention when any row needs it, else all' })
  @ApiQuery({ name: 'q', required: false, description: 'A merchant app id or an Alipay user id (exact)' })
  @ApiQuery({ name: 'sort', required: false, enum: [...MERCHANT_SORTS] })
  @ApiQuery({ name: 'page', required: false, type: Number, description: 'From 1' })
  @ApiQuery({ name: 'size', required: false, enum: [...PAGE_SIZES] })
  @ApiQuery({ name: 'at', required: false, description: 'The merchant app to highlight (where an action came back to)' })
  @ApiQuery({
    name: 'lang',
    required: false,
    enum: ['zh-CN', 'en'],
    description: "The page's language, carried by its links and forms (default: Accept-Language)",
  })
  async home(@Query() query: Record<string, unknown>, @Req() req: Request, @Res() res: Response): Promise<void> {
    const parsed = parseListState(query);
    const locale = operatorLocale(parsed.lang, req.headers['accept-language']);
    const at = single(query.at);
    const authorizeUrl = `${this.config.publicBaseUrl}${AUTHORIZE_PATH}`;
    // The task link goes through our route too (it sets the browser's nonce cookie first); the QR code
    // opens the phone form of it. Not offered where Alipay publishes no task page (the sandbox).
    const taskOffered = this.alipay.taskPageBaseUrl !== null && this.alipay.taskAppLaunchUrl !== null;
    const task = { pcUrl: `${authorizeUrl}?flow=task`, phoneUrl: `${authorizeUrl}?flow=task&device=phone` };
    // The link never changes while the app runs: one QR code.
    this.qrSvg ??= QRCode.toString(taskOffered ? task.phoneUrl : authorizeUrl, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
    const now = Date.now();
    const [counts, health] = await Promise.all([this.counts.byView(now), this.healthBanner.get(now)]);
    const list: ShownList = { ...parsed, view: parsed.view ?? (counts.attention > 0 ? 'attention' : 'all') };
    const filter = viewFilter(list.view, list.q, now);
    const fetchPage = () => this.tokens.list(filter, { offset: (list.page - 1) * list.size, limit: list.size, order: list.sort });
    let page = list.searchError ? { items: [], total: 0 } : await fetchPage();
    if (!page.items.length && page.total > 0) {
      // Past the end (rows moved on since the link was made): the last page.
      list.page = Math.ceil(page.total / list.size);
      page = await fetchPage();
    }
    const refresh = this.alipay.refresh;
    this.schedule ??= scheduledRun(refresh.cron, refresh.enabled);
    const schedule = this.schedule;
    sendHtml(
      res,
      200,
      operatorsPage({
        mode: this.setup.mode,
        link: {
          appId: this.alipay.appId,
          task: taskOffered ? { ...task, qrSvg: await this.qrSvg } : null,
          authorizeUrl,
          // Simulation only: through our route, so the batch page gets a state like the single one.
          batchAuthorizeUrl: this.setup.mode === 'simulation' ? `${authorizeUrl}?batch=1` : undefined,
          qrWarning: this.qrWarning(locale),
        },
        alipayPageBase: this.alipay.authorizePageBaseUrl,
        merchants: page.items,
        state: (m) => merchantState(m, refresh, schedule, now, locale),
        total: page.total,
        list,
        counts,
        highlight: typeof at === 'string' && ALIPAY_AUTH_APP_ID_PATTERN.test(at) ? at : undefined,
        notice: this.notice.take(req, res, locale),
        locale,
        bulk: this.bulk.current(),
        health,
        csrf: this.csrf.issue(req, res),
        adminProtected: !!this.config.adminToken,
        timeZone: this.config.timeZone,
      }),
    );
  }

  @Get(MERCHANTS_PATH)
  @ApiOperation({ summary: "Authorized merchants (JSON, no tokens); the operators' page's views, search and orders too" })
  @ApiQuery({ name: 'status', required: false, enum: [...ALIPAY_AUTHORIZATION_STATUSES] })
  @ApiQuery({ name: 'view', required: false, enum: [...MERCHANT_VIEWS], description: "A view of the operators' page (attention, all, or one state)" })
  @ApiQuery({ name: 'q', required: false, description: 'A merchant app id or an Alipay user id (exact)' })
  @ApiQuery({ name: 'sort', required: false, enum: [...MERCHANT_SORTS] })
  @ApiQuery({ name: 'offset', required: false, type: Number })
  @ApiQuery({ name: 'limit', required: false, type: Number, description: '1-1000, default 50' })
  @ApiOkResponse({ type: MerchantListDto })
  async list(@Query() query: Record<string, unknown>): Promise<MerchantListDto> {
    const { offset, limit } = paging(query.offset, query.limit, 1000);
    const status = single(query.status);
    if (status === null || (status !== undefined && !ALIPAY_AUTHORIZATION_STATUSES.includes(status as AlipayAuthorizationStatus))) {
      throw new BadRequestException(`"status" must be one of ${ALIPAY_AUTHORIZATION_STATUSES.join(', ')}`);
    }
    const { view, q, sort, searchError } = parseListState({ view: query.view, q: query.q, sort: query.sort });
    if (searchError) throw new BadRequestException(`"q" must be a merchant app id or an Alipay user id (letters and digits, at most 32)`);
    const filter = { ...viewFilter(view ?? 'all', q, Date.now()), ...(status ? { status: status as AlipayAuthorizationStatus } : {}) };
    const page = await this.tokens.list(filter, { offset, limit, order: sort });
    return { items: page.items, total: page.total, offset, limit };
  }

  @Get(`${MERCHANTS_PATH}/:authAppId`)
  @ApiOperation({ summary: 'One authorized merchant (JSON, token masked)' })
  @ApiParam({ name: 'authAppId' })
  @ApiOkResponse({ type: MerchantDto })
  @ApiResponse({ status: 404, description: 'Not authorized' })
  async get(@Param('authAppId') authAppId: string): Promise<MerchantDto> {
    if (!ALIPAY_AUTH_APP_ID_PATTERN.test(authAppId)) throw new BadRequestException('"authAppId" must be 1-32 letters or digits');
    const found = await this.tokens.get(authAppId);
    if (!found) throw new NotFoundException(`Merchant app ${authAppId} has no authorization`);
    return found;
  }

  @Post(`${MERCHANTS_PATH}/:authAppId/refresh`)
  @ApiOperation({
    summary: "Refresh a merchant's token now",
    description:
      "API clients: `Authorization: Bearer <ADMIN_TOKEN>` (any value when ADMIN_TOKEN is unset, as in simulation mode) and `Accept: application/json`: JSON. From the operators' page: a form with its csrf field (bound to the operator's session, valid 2 hours), then back to `/`.",
  })
  @ApiParam({ name: 'authAppId' })
  @ApiOkResponse({ type: RefreshResultDto, description: 'Refreshed' })
  @ApiResponse({ status: 303, description: "Back to the operators' page (form)" })
  @ApiForbiddenResponse({ description: "No Bearer header and no valid csrf field: use the button on the operators' page, or send Authorization: Bearer" })
  @ApiResponse({ status: 409, type: AlipayErrorDto, description: 'The merchant must authorize again (JSON)' })
  @ApiResponse({ status: 502, type: AlipayErrorDto, description: "Alipay refused, or its answer did not verify (Alipay's code and trace id)" })
  @ApiResponse({ status: 503, type: AlipayErrorDto, description: "Alipay could not be reached, or the merchant's stored credential cannot be read" })
  @ApiResponse({ status: 504, type: AlipayErrorDto, description: 'Alipay did not answer in time' })
  async refresh(@Param('authAppId') authAppId: string, @Req() req: Request & { operatorAuth?: OperatorAuth }, @Res() res: Response): Promise<void> {
    if (!ALIPAY_AUTH_APP_ID_PATTERN.test(authAppId)) throw new BadRequestException('"authAppId" must be 1-32 letters or digits');
    // Browsers send cookies and Basic credentials on cross-site posts; a Bearer header they never add.
    if (!this.csrf.allowPost(req, res)) return;
    const json = wantsJson(req);
    this.healthBanner.invalidate();
    try {
      const authorization = await this.tokens.refresh(authAppId);
      // The library logs the outcome (one line); nothing to add here.
      if (json) res.status(200).json({ result: 'refreshed', authorization });
      else {
        this.notice.set(res, { kind: 'refreshed', authAppId });
        res.redirect(303, backTo(parseBack(req.body?.back), authAppId));
      }
    } catch (e) {
      // JSON: the library's exception filter answers (registered in SampleAppModule).
      if (json || !(e instanceof AlipayAuthError)) throw e;
      const { error } = alipayAuthErrorResponse(e);
      this.notice.set(res, { kind: 'refresh-failed', authAppId, code: error.alipayCode ?? error.type, traceId: error.traceId });
      res.redirect(303, backTo(parseBack(req.body?.back), authAppId));
    }
  }
}
