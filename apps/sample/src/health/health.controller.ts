import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { AlipayAuthHealthIndicator } from 'nestjs-alipay-auth';
import { SAMPLE_CONFIG, SampleConfig } from '../config/sample-config';

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
    summary: "Database ping and the library's token health",
    description:
      'Down (503) when the database does not answer, or when the token state needs attention: more than HEALTH_MAX_FAILING_RATIO of the active authorizations failing to refresh (or awaiting verification after an ambiguous refresh), rows that cannot be decrypted, rows overdue for refresh, Alipay reporting a configuration error, or no completed scheduled run for an hour.',
  })
  check() {
    const ratio = this.config.healthMaxFailingRatio;
    return this.health.check([
      () => this.db.pingCheck('database').withTimeout(2000),
      () => this.alipayHealth.isHealthy('token_refresh', { maxFailingRatio: ratio, maxVerifyingRatio: ratio }),
    ]);
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
