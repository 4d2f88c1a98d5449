import { BadRequestException, Body, Controller, Get, Inject, Logger, NotFoundException, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBasicAuth, ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  ALIPAY_AUTH_CONFIG,
  AlipayApiError,
  AlipayAuthorizationRequiredError,
  AlipayAuthorizationStatus,
  AlipayNetworkError,
  AlipaySignatureError,
  AlipayTokenService,
  ResolvedAlipayAuthConfig,
} from 'nestjs-alipay-auth';
import QRCode from 'qrcode';
import { ALIPAY_SETUP, AlipaySetup } from '../alipay/alipay-setup';
import { SAMPLE_CONFIG, SampleConfig } from '../config/sample-config';
import { sendHtml, single, wantsJson } from '../http/respond';
import { AUTHORIZE_PATH, MERCHANTS_PATH } from '../routes';
import { operatorsPage } from '../views/pages';
import { AdminGuard, OperatorAuth } from './admin.guard';
import { MerchantCounts } from './merchant-counts';
import { MerchantDto, MerchantListDto, RefreshResultDto } from './merchant.dto';

const STATUSES: AlipayAuthorizationStatus[] = ['active', 'reauthorization_required', 'revoked', 'cancelled'];
const AUTH_APP_ID = /^[0-9A-Za-z]{1,32}$/;
const PAGE_SIZE = 50;

function paging(offsetText: unknown, limitText: unknown, maxLimit: number): { offset: number; limit: number } {
  const offset = single(offsetText) ?? '0';
  const limit = single(limitText) ?? String(PAGE_SIZE);
  if (!/^\d{1,9}$/.test(offset ?? '')) throw new BadRequestException('"offset" must be a non-negative integer');
  if (!/^\d{1,4}$/.test(limit ?? '') || Number(limit) < 1 || Number(limit) > maxLimit) throw new BadRequestException(`"limit" must be an integer from 1 to ${maxLimit}`);
  return { offset: Number(offset), limit: Number(limit) };
}

@ApiTags('operators')
@ApiBearerAuth()
@ApiBasicAuth()
@UseGuards(AdminGuard)
@Controller()
export class MerchantsController {
  private readonly logger = new Logger(MerchantsController.name);

  constructor(
    private readonly tokens: AlipayTokenService,
    private readonly counts: MerchantCounts,
    @Inject(ALIPAY_AUTH_CONFIG) private readonly alipay: ResolvedAlipayAuthConfig,
    @Inject(SAMPLE_CONFIG) private readonly config: SampleConfig,
    @Inject(ALIPAY_SETUP) private readonly setup: AlipaySetup,
  ) {}

  /** Protects "Refresh now" forms against cross-site posts (a browser would send Basic credentials along). */
  csrfToken(authAppId: string): string {
    return createHmac('sha256', this.setup.stateSecret).update(`refresh:${authAppId}`).digest('base64url');
  }

  @Get('/')
  @ApiOperation({ summary: "Operators' page: the authorization link and QR code, the authorized merchants" })
  @ApiProduces('text/html')
  @ApiQuery({ name: 'offset', required: false })
  async home(@Query('offset') offsetText: unknown, @Query() query: Record<string, unknown>, @Res() res: Response): Promise<void> {
    const { offset, limit } = paging(offsetText, undefined, PAGE_SIZE);
    const authorizeUrl = `${this.config.publicBaseUrl}${AUTHORIZE_PATH}`;
    const [page, counts, qrSvg] = await Promise.all([
      this.tokens.list(undefined, { offset, limit }),
      this.counts.get(),
      QRCode.toString(authorizeUrl, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' }),
    ]);
    const refreshed = single(query.refreshed);
    const failed = single(query.refresh_failed);
    // Only codes and ids, never free text: a crafted link cannot put words on this page.
    const token = (v: unknown) => {
      const t = single(v);
      return t && /^[A-Za-z0-9_.-]{1,64}$/.test(t) ? t : undefined;
    };
    const [code, trace] = [token(query.code), token(query.trace)];
    const reason = code ? `${code}${trace ? ` (trace id ${trace})` : ''}` : undefined;
    const notice =
      refreshed && AUTH_APP_ID.test(refreshed)
        ? { kind: 'ok' as const, text: `Refreshed the token of merchant app ${refreshed}.` }
        : failed && AUTH_APP_ID.test(failed)
          ? { kind: 'err' as const, text: `Refresh of merchant app ${failed} failed${reason ? `: ${reason}` : ''}.` }
          : undefined;
    sendHtml(
      res,
      200,
      operatorsPage({
        mode: this.setup.mode,
        appId: this.alipay.appId,
        authorizeUrl,
        alipayPageBase: this.alipay.authorizePageBaseUrl,
        qrSvg,
        merchants: page.items,
        total: page.total,
        offset,
        limit,
        counts,
        notice,
        csrf: (id) => this.csrfToken(id),
        adminProtected: !!this.config.adminToken,
      }),
    );
  }

  @Get(MERCHANTS_PATH)
  @ApiOperation({ summary: 'Authorized merchants (JSON, tokens masked)' })
  @ApiQuery({ name: 'status', required: false, enum: STATUSES })
  @ApiQuery({ name: 'offset', required: false, type: Number })
  @ApiQuery({ name: 'limit', required: false, type: Number, description: '1-1000, default 50' })
  @ApiOkResponse({ type: MerchantListDto })
  async list(@Query() query: Record<string, unknown>): Promise<MerchantListDto> {
    const { offset, limit } = paging(query.offset, query.limit, 1000);
    const status = single(query.status);
    if (status === null || (status !== undefined && !STATUSES.includes(status as AlipayAuthorizationStatus))) {
      throw new BadRequestException(`"status" must be one of ${STATUSES.join(', ')}`);
    }
    const page = await this.tokens.list(status ? { status: status as AlipayAuthorizationStatus } : undefined, { offset, limit });
    return { items: page.items, total: page.total, offset, limit };
  }

  @Get(`${MERCHANTS_PATH}/:authAppId`)
  @ApiOperation({ summary: 'One authorized merchant (JSON, token masked)' })
  @ApiParam({ name: 'authAppId' })
  @ApiOkResponse({ type: MerchantDto })
  @ApiResponse({ status: 404, description: 'Not authorized' })
  async get(@Param('authAppId') authAppId: string): Promise<MerchantDto> {
    if (!AUTH_APP_ID.test(authAppId)) throw new BadRequestException('"authAppId" must be 1-32 letters or digits');
    const found = await this.tokens.get(authAppId);
    if (!found) throw new NotFoundException(`Merchant app ${authAppId} has no authorization`);
    return found;
  }

  @Post(`${MERCHANTS_PATH}/:authAppId/refresh`)
  @ApiOperation({
    summary: "Refresh a merchant's token now",
    description: 'From the operators\' page (form with its csrf field): redirects back to `/`. With `Accept: application/json` and a Bearer token: JSON.',
  })
  @ApiParam({ name: 'authAppId' })
  @ApiOkResponse({ type: RefreshResultDto })
  @ApiResponse({ status: 303, description: "Back to the operators' page" })
  async refresh(
    @Param('authAppId') authAppId: string,
    @Body() body: Record<string, unknown> | undefined,
    @Req() req: Request & { operatorAuth?: OperatorAuth },
    @Res() res: Response,
  ): Promise<void> {
    if (!AUTH_APP_ID.test(authAppId)) throw new BadRequestException('"authAppId" must be 1-32 letters or digits');
    // Browsers send cookies and Basic credentials on cross-site posts; a Bearer header they never add.
    if (req.operatorAuth !== 'bearer') {
      const given = typeof body?.csrf === 'string' ? Buffer.from(body.csrf) : Buffer.alloc(0);
      const expected = Buffer.from(this.csrfToken(authAppId));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        res.status(403).json({ statusCode: 403, message: 'Missing or wrong csrf field: use the button on the operators\' page' });
        return;
      }
    }
    const json = wantsJson(req);
    try {
      const authorization = await this.tokens.refresh(authAppId);
      if (json) res.status(200).json({ result: 'refreshed', authorization });
      else res.redirect(303, `/?refreshed=${encodeURIComponent(authAppId)}`);
    } catch (e) {
      const error = this.describe(e);
      if (!error) throw e;
      this.logger.warn(`Refresh now of ${authAppId} failed: ${error.code}${error.traceId ? ` (traceId ${error.traceId})` : ''}`);
      if (json) res.status(error.status).json({ result: 'failed', error: { message: error.message, alipayCode: error.alipayCode, traceId: error.traceId } });
      else {
        const q = new URLSearchParams({ refresh_failed: authAppId, code: error.code });
        if (error.traceId) q.set('trace', error.traceId);
        res.redirect(303, `/?${q.toString()}`);
      }
    }
  }

  private describe(e: unknown): { status: number; code: string; message: string; alipayCode?: string; traceId?: string } | undefined {
    if (e instanceof AlipayAuthorizationRequiredError) return { status: 409, code: 'authorization-required', message: e.reason };
    if (e instanceof AlipayApiError) return { status: 502, code: e.code, message: e.alipayMessage, alipayCode: e.code, traceId: e.traceId };
    if (e instanceof AlipaySignatureError) return { status: 502, code: e.code, message: 'Alipay answer could not be verified', alipayCode: e.code, traceId: e.traceId };
    if (e instanceof AlipayNetworkError) return { status: 502, code: `network-${e.kind}`, message: `Alipay could not be reached (${e.kind})` };
    return undefined;
  }
}
