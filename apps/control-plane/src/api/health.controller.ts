import { Controller, Get, Header, HttpStatus, Inject, Res } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { EVENT_STORE, type EventStore } from '@rf/event-store';
import { Public } from '../auth/auth.decorators';
import { AppConfig } from '../config/app-config';
import { MetricsRegistry } from './metrics.registry';
import { ReadinessProbes } from './readiness.probes';

interface ReadyCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail?: string;
}

/** Liveness, readiness and Prometheus metrics. No secrets here, so no auth (scrapers and probes have none). */
@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly metrics: MetricsRegistry,
    private readonly probes: ReadinessProbes,
    private readonly config: AppConfig,
  ) {}

  /** The process is up and serving HTTP. */
  @Public()
  @Get('healthz')
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Ready to serve: the event store answers and the read models are within the lag bound. */
  @Public()
  @Get('readyz')
  async readyz(
    @Res({ passthrough: true }) res: Response,
  ): Promise<{ status: 'ready' | 'not_ready'; checks: ReadyCheck[] }> {
    const checks: ReadyCheck[] = [
      await this.storeCheck(),
      ...(await this.probes.run(this.config.projectionLagBoundMs)),
    ];
    const ok = checks.every((c) => c.ok);
    res.status(ok ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return { status: ok ? 'ready' : 'not_ready', checks };
  }

  @Public()
  @Get('metrics')
  @ApiExcludeEndpoint()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  metricsText(): string {
    return this.metrics.render();
  }

  private async storeCheck(): Promise<ReadyCheck> {
    try {
      await withTimeout(this.store.headPosition(), 2000);
      return { name: 'event_store', ok: true };
    } catch (err) {
      return { name: 'event_store', ok: false, detail: err instanceof Error ? err.message : 'unreachable' };
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
