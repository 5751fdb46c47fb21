import { Injectable, Module } from '@nestjs/common';
import {
  AuditQuery,
  HostsQuery,
  JobLogQuery,
  JobsQuery,
  SchedulesQuery,
  SnapshotsQuery,
} from '@rf/projections';
import { JOB_STATUSES } from '@rf/events';
import { CommandsModule } from '../commands/commands.module';
import { FleetStateService } from '../commands/fleet-state.service';
import { ProjectionsModule } from '../projections/projections.module';
import { ProjectionStatus } from '../projections/projection-status.service';
import { MetricsRegistry } from './metrics.registry';
import { READ_MODELS, type ReadModels } from './read-models.port';
import { ReadModelsReader } from './read-models.reader';
import { ReadinessProbes } from './readiness.probes';

const LAG_SAMPLE_MS = 1000;

/** Registers the projections' lag with `/readyz` and `/metrics`, and jobs by status from the fleet state. */
@Injectable()
export class ReadModelsProbes {
  constructor(
    status: ProjectionStatus,
    probes: ReadinessProbes,
    metrics: MetricsRegistry,
    fleet: FleetStateService,
  ) {
    probes.register(async (boundMs) => {
      const lag = await status.lag();
      return {
        name: 'projections',
        ok: lag.running && lag.msBehind <= boundMs,
        detail: `${lag.eventsBehind} events / ${lag.msBehind} ms behind (bound ${boundMs} ms)${lag.lastError ? `; last error: ${lag.lastError}` : ''}`,
      };
    });
    let sampled = { eventsBehind: 0, msBehind: 0 };
    const timer = setInterval(() => {
      status.lag().then(
        (l) => (sampled = l),
        () => undefined,
      );
    }, LAG_SAMPLE_MS);
    timer.unref();
    metrics.gauge(
      'rf_projection_lag_events',
      'Events the read models are behind the log (sampled each second)',
      () => sampled.eventsBehind,
    );
    metrics.gauge(
      'rf_projection_lag_ms',
      'Age of the oldest event not yet projected (sampled each second)',
      () => sampled.msBehind,
    );
    metrics.gauge('rf_jobs', 'Jobs by status', () => {
      const counts = fleet.state.jobCounts();
      return JOB_STATUSES.map((status) => ({ labels: { status }, value: counts.get(status) ?? 0 }));
    });
  }
}

/** `READ_MODELS` over the projections area's module: the query objects plus read-your-writes and lag. */
@Module({
  imports: [CommandsModule, ProjectionsModule],
  providers: [
    {
      provide: READ_MODELS,
      inject: [
        ProjectionStatus,
        HostsQuery,
        JobsQuery,
        JobLogQuery,
        SnapshotsQuery,
        SchedulesQuery,
        AuditQuery,
      ],
      useFactory: (
        status: ProjectionStatus,
        hosts: HostsQuery,
        jobs: JobsQuery,
        jobLog: JobLogQuery,
        snapshots: SnapshotsQuery,
        schedules: SchedulesQuery,
        audit: AuditQuery,
      ): ReadModels => ({
        hosts,
        jobs,
        jobLog,
        snapshots,
        schedules,
        audit,
        waitForPosition: (position, timeoutMs) => status.waitForPosition(position, timeoutMs),
        lag: () => status.lag(),
      }),
    },
    ReadModelsReader,
    ReadModelsProbes,
  ],
  exports: [READ_MODELS, ReadModelsReader],
})
export class ReadModelsModule {}
