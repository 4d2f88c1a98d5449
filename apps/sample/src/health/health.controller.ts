import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { AlipayAuthHealthService } from 'nestjs-alipay-auth';
import { SAMPLE_CONFIG, SampleConfig } from '../config/sample-config';

const HEALTH_EXAMPLE = (status: 'ok' | 'error') => {
  const token = {
    status: status === 'ok' ? 'up' : 'down',
    active: 12,
    failing: status === 'ok' ? 0 : 9,
    verifying: 0,
    unreadable: 0,
    overdue: 0,
    reauthorizationRequired: 1,
    failingRatio: status === 'ok' ? 0 : 0.75,
    maxFailingRatio: 0.5,
    configurationError: null,
    lastRunAgeSeconds: 312,
  };
  const details = { database: { status: 'up' }, token_refresh: token };
  return status === 'ok' ? { status, info: details, error: {}, details } : { status, info: { database: details.database }, error: { token_refresh: token }, details };
};

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly alipayHealth: AlipayAuthHealthService,
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
    return this.health.check([() => this.db.pingCheck('database').withTimeout(2000), () => this.tokenRefresh()]);
  }

  @Get('live')
  @ApiOperation({ summary: "Liveness: the process answers (no dependency checked). The container HEALTHCHECK: Alipay or the database being down is no reason to restart" })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  private async tokenRefresh() {
    const check = this.indicators.check('token_refresh');
    let h;
    try {
      h = await this.alipayHealth.summary({ maxFailingRatio: this.config.healthMaxFailingRatio, maxVerifyingRatio: this.config.healthMaxFailingRatio });
    } catch (e) {
      return check.down({ message: `token health unavailable: ${e instanceof Error ? e.message : String(e)}` });
    }
    const { counts } = h;
    const data = {
      active: counts.active,
      failing: counts.failing,
      verifying: counts.verifying,
      unreadable: counts.unreadable,
      overdue: h.overdue,
      reauthorizationRequired: counts.reauthorization_required,
      failingRatio: counts.active > 0 ? Math.round((counts.failing / counts.active) * 1000) / 1000 : 0,
      maxFailingRatio: this.config.healthMaxFailingRatio,
      configurationError: h.configurationCircuit.open ? (h.configurationCircuit.errorCode ?? 'unknown') : null,
      lastRunAgeSeconds: h.lastRunAgeMs === null ? null : Math.round(h.lastRunAgeMs / 1000),
      ...(h.problems.length ? { problems: h.problems } : {}),
    };
    return h.status === 'down' ? check.down(data) : check.up(data);
  }
}
