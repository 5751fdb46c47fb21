import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { MetricsRegistry } from '../core/metrics.registry';
import type { ReadinessResult } from '../core/readiness.probes';
import { Public } from '../middleware/auth.decorators';
import { HealthService } from '../services/health.service';

/** Liveness, readiness and Prometheus metrics. No secrets here, so no auth (scrapers and probes have none). */
@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthService,
    private readonly metrics: MetricsRegistry,
  ) {}

  /** The process is up and serving HTTP. */
  @Public()
  @Get('healthz')
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Ready to serve: the event store answers and the read models are within the lag bound (503 otherwise). */
  @Public()
  @Get('readyz')
  async readyz(
    @Res({ passthrough: true }) res: Response,
  ): Promise<{ status: 'ready' | 'not_ready'; checks: ReadinessResult[] }> {
    const readiness = await this.health.readiness();
    res.status(readiness.status === 'ready' ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return readiness;
  }

  @Public()
  @Get('metrics')
  @ApiExcludeEndpoint()
  async metricsText(@Res({ passthrough: true }) res: Response): Promise<string> {
    res.setHeader('Content-Type', this.metrics.contentType);
    return this.metrics.render();
  }
}
