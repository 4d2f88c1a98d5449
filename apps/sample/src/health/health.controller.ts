import { Controller, Get, Inject, Req, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import type { Request } from 'express';
import { AlipayAuthHealthIndicator } from 'nestjs-alipay-auth';
import { SAMPLE_CONFIG, SampleConfig } from '../config/sample-config';
import { operatorAuth } from '../merchants/admin.guard';

const HEALTH_EXAMPLE = (status: 'ok' | 'error') => {
  const token = {
    status: status === 'ok' ? 'up' : 'down',
    active: 12,
    failing: status === 'ok' ? 0 : 9,
    verifying: 0,
    unreadable: 0,
    reauthorizationRequired: 1,
    revoked: 0,
    cancelled: 2,
    overdue: 0,
    failingRatio: status === 'ok' ? 0 : 0.75,
    configurationError: null,
    lastRunAgeSeconds: 312,
    problems: status === 'ok' ? [] : ['9 of 12 active row(s) failing to refresh'],
  };
  const details = { database: { status: 'up' }, token_refresh: token };
  return status === 'ok'
    ? { status, info: details, error: {}, details }
    : { status, info: { database: details.database }, error: { token_refresh: token }, details };
};

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly alipayHealth: AlipayAuthHealthIndicator,
    @Inject(SAMPLE_CONFIG) private readonly config: SampleConfig,
  ) {}

  @Get()
  // Terminus's own examples mention checks this app does not have (Redis); ours below are what it answers.
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOkResponse({ description: 'Everything up', schema: { example: HEALTH_EXAMPLE('ok') } })
  @ApiServiceUnavailableResponse({ description: 'The database or the token state needs attention', schema: { example: HEALTH_EXAMPLE('error') } })
  @ApiOperation({
    summary: "Database ping and the library's token health (the details to operators only)",
    description:
      'Anonymous callers get only `{ status }`; operators (ADMIN_TOKEN as Bearer or Basic password, or anyone when it is unset) get the details. Down (503) when the database does not answer, or when the token state needs attention: more than HEALTH_MAX_FAILING_RATIO of the active authorizations failing to refresh (or awaiting verification after an ambiguous refresh), rows that cannot be decrypted, rows overdue for refresh, Alipay reporting a configuration error, or no completed scheduled run for an hour.',
  })
  async check(@Req() req: Request) {
    const ratio = this.config.healthMaxFailingRatio;
    const run = () =>
      this.health.check([
        () => this.db.pingCheck('database').withTimeout(2000),
        () => this.alipayHealth.isHealthy('token_refresh', { maxFailingRatio: ratio, maxVerifyingRatio: ratio }),
      ]);
    if (operatorAuth(req, this.config.adminToken)) return run();
    // Anonymous callers (load balancers, probes) learn up or down, not the merchants' counts.
    try {
      return { status: (await run()).status };
    } catch (e) {
      if (e instanceof ServiceUnavailableException) throw new ServiceUnavailableException({ status: 'error' });
      throw e;
    }
  }

  @Get('live')
  @ApiOperation({
    summary: 'Liveness: the process answers (no dependency checked). The container HEALTHCHECK: Alipay or the database being down is no reason to restart',
  })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }
}
