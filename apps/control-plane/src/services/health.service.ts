import { Inject, Injectable, Logger } from '@nestjs/common';
import { EVENT_STORE, type EventStore } from '@rf/event-store';
import { AppConfig } from '../core/app-config';
import { ReadinessProbes, type ReadinessResult } from '../core/readiness.probes';

export interface Readiness {
  readonly status: 'ready' | 'not_ready';
  /** Only for admins: what each check found (paths, hosts and driver errors are not for the public). */
  readonly checks?: ReadinessResult[];
}

/**
 * Whether the control plane can serve: the event store answers and every
 * registered probe passes. The failing checks' details are logged (once per
 * change, as probes poll every few seconds) and shown only to admins.
 */
@Injectable()
export class HealthService {
  private readonly logger = new Logger(HealthService.name);
  private lastFailing = '';

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly probes: ReadinessProbes,
    private readonly config: AppConfig,
  ) {}

  async readiness(withDetail: boolean): Promise<Readiness> {
    const checks: ReadinessResult[] = [
      await this.storeCheck(),
      ...(await this.probes.run(this.config.projectionLagBoundMs)),
    ];
    this.logChange(checks.filter((c) => !c.ok));
    const status = checks.every((c) => c.ok) ? 'ready' : 'not_ready';
    return withDetail ? { status, checks } : { status };
  }

  private logChange(failing: ReadinessResult[]): void {
    const key = JSON.stringify(failing);
    if (key === this.lastFailing) return;
    const wasFailing = this.lastFailing !== '' && this.lastFailing !== '[]';
    this.lastFailing = key;
    if (failing.length > 0) this.logger.warn({ checks: failing }, 'not ready');
    else if (wasFailing) this.logger.log('ready again');
  }

  private async storeCheck(): Promise<ReadinessResult> {
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
