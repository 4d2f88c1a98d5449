import { BadRequestException, Controller, Get, NotFoundException, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ApiBasicAuth, ApiBearerAuth, ApiOperation, ApiParam, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ALIPAY_AUTH_APP_ID_PATTERN, AlipayAuthError, alipayAuthErrorResponse, alipayAuthorizationState, AlipayTokenService } from 'nestjs-alipay-auth';
import { csvField } from '../http/csv';
import { HealthBanner } from '../health/health-banner';
import { sendHtml, wantsJson } from '../http/respond';
import { MERCHANTS_PATH } from '../routes';
import { OperatorCsrf } from '../security/operator-csrf';
import { operatorLocale } from '../views/operator-text';
import { revokeConfirmPage } from '../views/revoke-page';
import { AdminGuard, OperatorAuth } from './admin.guard';
import { BULK_JOB_KINDS, BulkJobKind, BulkJobs } from './bulk-jobs';
import { backTo, listQuery, parseBack, parseListState, viewFilter } from './merchant-list-state';
import { OperatorNotice } from './operator-notice';

type OperatorRequest = Request & { operatorAuth?: OperatorAuth };
const CSV_PAGE = 500;
const CSV_COLUMNS = [
  'authAppId',
  'userId',
  'state',
  'status',
  'statusReason',
  'authorizedAt',
  'expiresAt',
  'refreshExpiresAt',
  'lastRefreshedAt',
  'lastCheckedAt',
  'failureCount',
  'lastErrorCode',
  'lastFailureAt',
  'nextAttemptAt',
  'verifyAt',
] as const;

function checkId(authAppId: string): void {
  if (!ALIPAY_AUTH_APP_ID_PATTERN.test(authAppId)) throw new BadRequestException('"authAppId" must be 1-32 letters or digits');
}

/** The operators' other actions: check with Alipay, stop serving (confirmed), bulk work, CSV export. */
@ApiTags('operators')
@ApiBearerAuth()
@ApiBasicAuth()
@UseGuards(AdminGuard)
@Controller()
export class MerchantActionsController {
  constructor(
    private readonly tokens: AlipayTokenService,
    private readonly csrf: OperatorCsrf,
    private readonly notice: OperatorNotice,
    private readonly bulk: BulkJobs,
    private readonly healthBanner: HealthBanner,
  ) {}

  @Post(`${MERCHANTS_PATH}/:authAppId/check`)
  @ApiOperation({
    summary: 'Check with Alipay (token query): a refused token is repaired with the refresh token, or the merchant marked cancelled',
    description:
      "JSON with `Authorization: Bearer` and `Accept: application/json`; from the operators' page a form with its csrf field, then back to the list.",
  })
  @ApiParam({ name: 'authAppId' })
  async check(@Param('authAppId') authAppId: string, @Req() req: OperatorRequest, @Res() res: Response): Promise<void> {
    checkId(authAppId);
    if (!this.csrf.allowPost(req, res)) return;
    const json = wantsJson(req);
    this.healthBanner.invalidate();
    try {
      const result = await this.tokens.checkStatus(authAppId);
      if (json) res.status(200).json({ alipayStatus: result.alipayStatus, outcome: result.outcome, authorization: result.authorization });
      else {
        this.notice.set(res, { kind: 'checked', authAppId, outcome: result.outcome });
        res.redirect(303, backTo(parseBack(req.body?.back), authAppId));
      }
    } catch (e) {
      if (json || !(e instanceof AlipayAuthError)) throw e;
      const { error } = alipayAuthErrorResponse(e);
      this.notice.set(res, { kind: 'check-failed', authAppId, code: error.alipayCode ?? error.type, traceId: error.traceId });
      res.redirect(303, backTo(parseBack(req.body?.back), authAppId));
    }
  }

  @Get(`${MERCHANTS_PATH}/:authAppId/revoke`)
  @ApiOperation({ summary: 'Stop serving a merchant: the confirmation page (HTML)' })
  @ApiProduces('text/html')
  @ApiParam({ name: 'authAppId' })
  async confirmRevoke(@Param('authAppId') authAppId: string, @Query('back') back: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    checkId(authAppId);
    const found = await this.tokens.get(authAppId);
    if (!found) throw new NotFoundException(`Merchant app ${authAppId} has no authorization`);
    const list = parseBack(back);
    sendHtml(
      res,
      200,
      revokeConfirmPage({
        merchant: found,
        csrf: this.csrf.issue(req, res),
        back: list ? listQuery(list) : '',
        cancelUrl: backTo(list ?? { ...parseListState({}) }, authAppId),
        locale: operatorLocale(list?.lang, req.headers['accept-language']),
      }),
    );
  }

  @Post(`${MERCHANTS_PATH}/:authAppId/revoke`)
  @ApiOperation({ summary: 'Stop serving a merchant (kept, marked revoked); the merchant must authorize again to be served' })
  @ApiParam({ name: 'authAppId' })
  @ApiResponse({ status: 404, description: 'Not authorized' })
  async revoke(@Param('authAppId') authAppId: string, @Req() req: OperatorRequest, @Res() res: Response): Promise<void> {
    checkId(authAppId);
    if (!this.csrf.allowPost(req, res)) return;
    const revoked = await this.tokens.revoke(authAppId, 'revoked by an operator');
    this.healthBanner.invalidate();
    if (!revoked) throw new NotFoundException(`Merchant app ${authAppId} has no authorization`);
    if (wantsJson(req)) res.status(200).json({ result: 'revoked', authorization: revoked });
    else {
      this.notice.set(res, { kind: 'revoked', authAppId });
      res.redirect(303, backTo(parseBack(req.body?.back), authAppId));
    }
  }

  @Post('/alipay/bulk/:kind')
  @ApiOperation({
    summary: 'Start a bulk action in the background: retry-failing (refresh every failing merchant) or check-verifying (check every verifying one)',
  })
  @ApiParam({ name: 'kind', enum: [...BULK_JOB_KINDS] })
  @ApiResponse({ status: 202, description: 'Started (JSON)' })
  @ApiResponse({ status: 409, description: 'Another bulk action is running (JSON)' })
  async startBulk(@Param('kind') kind: string, @Req() req: OperatorRequest, @Res() res: Response): Promise<void> {
    if (!BULK_JOB_KINDS.includes(kind as BulkJobKind)) throw new BadRequestException(`"kind" must be one of ${BULK_JOB_KINDS.join(', ')}`);
    if (!this.csrf.allowPost(req, res)) return;
    const started = await this.bulk.start(kind as BulkJobKind);
    this.healthBanner.invalidate();
    if (wantsJson(req)) {
      res.status(started ? 202 : 409).json({ started, progress: this.bulk.current() });
      return;
    }
    this.notice.set(res, started ? { kind: 'bulk-started', job: kind } : { kind: 'bulk-busy' });
    const back = parseBack(req.body?.back);
    res.redirect(303, back ? `/?${listQuery(back)}#bulk` : '/#bulk');
  }

  @Get('/alipay/bulk')
  @ApiOperation({ summary: "The last bulk action's progress in this instance (JSON), or null" })
  bulkProgress(): { progress: ReturnType<BulkJobs['current']> | null } {
    return { progress: this.bulk.current() ?? null };
  }

  @Get(`${MERCHANTS_PATH}.csv`)
  @ApiOperation({ summary: "The merchants of a view of the operators' page as CSV (view, q, sort as on the page), streamed" })
  @ApiProduces('text/csv')
  async exportCsv(@Query() query: Record<string, unknown>, @Res() res: Response): Promise<void> {
    const list = parseListState(query);
    const filter = list.searchError ? undefined : viewFilter(list.view ?? 'all', list.q, Date.now());
    res.status(200).set({
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="merchants-${list.view ?? 'all'}.csv"`,
      'cache-control': 'no-store',
    });
    res.write(`${CSV_COLUMNS.join(',')}\r\n`);
    // Page by page: memory stays one page whatever the number of merchants.
    for (let offset = 0; filter; offset += CSV_PAGE) {
      const page = await this.tokens.list(filter, { offset, limit: CSV_PAGE, order: list.sort });
      const lines = page.items.map((m) =>
        CSV_COLUMNS.map((c) =>
          csvField(c === 'state' ? (m.unreadable ? 'unreadable' : alipayAuthorizationState({ ...m, verifyAt: m.verifyAt ?? null })) : m[c]),
        ).join(','),
      );
      if (lines.length && !res.write(`${lines.join('\r\n')}\r\n`)) await new Promise((r) => res.once('drain', r));
      if (offset + CSV_PAGE >= page.total || !page.items.length) break;
    }
    res.end();
  }
}
