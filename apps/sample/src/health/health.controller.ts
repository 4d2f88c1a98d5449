import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { SAMPLE_CONFIG, SampleConfig } from '../config/sample-config';
import { MerchantCounts } from '../merchants/merchant-counts';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly counts: MerchantCounts,
    @Inject(SAMPLE_CONFIG) private readonly config: SampleConfig,
  ) {}

  @Get()
  @HealthCheck()
  @ApiOperation({
    summary: 'Database ping and the share of active authorizations failing to refresh',
    description: 'Down (503) when the database does not answer, or when more than HEALTH_MAX_FAILING_RATIO of the active authorizations have failing refreshes.',
  })
  check() {
    return this.health.check([() => this.db.pingCheck('database').withTimeout(2000), () => this.tokenRefresh()]);
  }

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process answers (no dependency checked)' })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  private async tokenRefresh() {
    const check = this.indicators.check('token_refresh');
    let counts;
    try {
      counts = await this.counts.get();
    } catch (e) {
      return check.down({ message: `counts unavailable: ${e instanceof Error ? e.message : String(e)}` });
    }
    const ratio = counts.active > 0 ? counts.failing / counts.active : 0;
    const data = {
      active: counts.active,
      failing: counts.failing,
      reauthorizationRequired: counts.reauthorization_required,
      failingRatio: Math.round(ratio * 1000) / 1000,
      maxFailingRatio: this.config.healthMaxFailingRatio,
    };
    return ratio > this.config.healthMaxFailingRatio ? check.down(data) : check.up(data);
  }
}
