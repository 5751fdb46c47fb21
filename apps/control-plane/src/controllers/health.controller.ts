import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { MetricsRegistry } from '../core/metrics.registry';
import type { Actor } from '../core/actor';
import { CurrentActor, Public } from '../middleware/auth.decorators';
import { HealthService, type Readiness } from '../services/health.service';

/**
 * Liveness, readiness and Prometheus metrics, without auth (scrapers and
 * probes have none). `/readyz` tells the public only ready or not; what a
 * failing check says goes to admins and the log.
 */
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
    @CurrentActor() actor: Actor | undefined,
  ): Promise<Readiness> {
    const readiness = await this.health.readiness(actor?.role === 'admin');
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
