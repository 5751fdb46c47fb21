import { Inject, Injectable } from '@nestjs/common';
import { EVENT_STORE, type EventStore } from '@rf/event-store';
import { AppConfig } from '../core/app-config';
import { ReadinessProbes, type ReadinessResult } from '../core/readiness.probes';

/** Whether the control plane can serve: the event store answers and every registered probe passes. */
@Injectable()
export class HealthService {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly probes: ReadinessProbes,
    private readonly config: AppConfig,
  ) {}

  async readiness(): Promise<{ status: 'ready' | 'not_ready'; checks: ReadinessResult[] }> {
    const checks: ReadinessResult[] = [
      await this.storeCheck(),
      ...(await this.probes.run(this.config.projectionLagBoundMs)),
    ];
    return { status: checks.every((c) => c.ok) ? 'ready' : 'not_ready', checks };
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
