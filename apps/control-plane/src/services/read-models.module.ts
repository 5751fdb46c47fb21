import { Injectable, Module } from '@nestjs/common';
import {
  AlertsQuery,
  AuditQuery,
  HostsQuery,
  JobLogQuery,
  JobsQuery,
  NotificationsQuery,
  RepositoriesQuery,
  SchedulesQuery,
  SnapshotsQuery,
} from '@rf/projections';
import { JOB_STATUSES } from '@rf/events';
import { AlertQueriesService } from './alert-queries.service';
import { AuditTrailService } from './audit-trail.service';
import { FleetModule } from './fleet.module';
import { HealthService } from './health.service';
import { HostQueriesService } from './host-queries.service';
import { JobQueriesService } from './job-queries.service';
import { RepositoryQueriesService } from './repository-queries.service';
import { FleetStateService } from './fleet-state.service';
import { ProjectionsModule } from './projections.module';
import { ProjectionStatus } from './projection-status.service';
import { MetricsRegistry } from '../core/metrics.registry';
import { READ_MODELS, type ReadModels } from '../repositories/read-models.port';
import { ReadModelsReader } from '../repositories/read-models.reader';
import { ReadinessProbes } from '../core/readiness.probes';

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
      'rf_projection_lag_seconds',
      'Age of the oldest event not yet projected (sampled each second)',
      () => sampled.msBehind / 1000,
    );
    metrics.gauge(
      'rf_jobs',
      'Jobs by status',
      () => {
        const counts = fleet.state.jobCounts();
        return JOB_STATUSES.map((status) => ({ labels: { status }, value: counts.get(status) ?? 0 }));
      },
      ['status'],
    );
  }
}

/** What the REST read endpoints call. */
const queryServices = [
  HostQueriesService,
  JobQueriesService,
  RepositoryQueriesService,
  AlertQueriesService,
  AuditTrailService,
  HealthService,
];

/**
 * The read side: `READ_MODELS` over the ProjectionsModule (the query objects
 * plus read-your-writes and lag), the `/readyz` and `/metrics` probes, and the
 * read services the REST controllers call.
 */
@Module({
  imports: [FleetModule, ProjectionsModule],
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
        RepositoriesQuery,
        AlertsQuery,
        NotificationsQuery,
        AuditQuery,
      ],
      useFactory: (
        status: ProjectionStatus,
        hosts: HostsQuery,
        jobs: JobsQuery,
        jobLog: JobLogQuery,
        snapshots: SnapshotsQuery,
        schedules: SchedulesQuery,
        repositories: RepositoriesQuery,
        alerts: AlertsQuery,
        notifications: NotificationsQuery,
        audit: AuditQuery,
      ): ReadModels => ({
        hosts,
        jobs,
        jobLog,
        snapshots,
        schedules,
        repositories,
        alerts,
        notifications,
        audit,
        waitForPosition: (position, timeoutMs) => status.waitForPosition(position, timeoutMs),
        lag: () => status.lag(),
      }),
    },
    ReadModelsReader,
    ReadModelsProbes,
    ...queryServices,
  ],
  exports: [READ_MODELS, ReadModelsReader, ...queryServices],
})
export class ReadModelsModule {}
