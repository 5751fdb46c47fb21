import { Module, type Provider } from '@nestjs/common';
import type Database from 'better-sqlite3';
import { EVENT_STORE, type EventStore } from '@rf/event-store';
import {
  AlertsQuery,
  AuditQuery,
  AuditTrailIndex,
  DashboardQuery,
  HostsQuery,
  JobLogQuery,
  JobsQuery,
  NotificationsQuery,
  RepoStatsQuery,
  RepositoriesQuery,
  RepositoryActivityQuery,
  SchedulesQuery,
  SnapshotsQuery,
} from '@rf/projections';
import { JobLogRetention } from './job-log-retention.service';
import { ProjectionStatus } from './projection-status.service';

type QueryClass = new (db: Database.Database) => object;

/** Each query class of the library, bound to the app's read-model connection. */
const queryProvider = (cls: QueryClass): Provider => ({
  provide: cls,
  useFactory: (status: ProjectionStatus) => new cls(status.database),
  inject: [ProjectionStatus],
});

const QUERIES: QueryClass[] = [
  HostsQuery,
  JobsQuery,
  JobLogQuery,
  SnapshotsQuery,
  SchedulesQuery,
  RepoStatsQuery,
  RepositoriesQuery,
  RepositoryActivityQuery,
  AlertsQuery,
  NotificationsQuery,
  DashboardQuery,
];

/**
 * The read side of the control plane: runs the projection runner against
 * `$RF_DATA_DIR/readmodels.db` (needs `EventStoreModule.forRoot()` and the
 * global `ConfigModule`) and provides the query classes of `@rf/projections`
 * plus `ProjectionStatus` (checkpoint, lag, waitForPosition).
 */
@Module({
  providers: [
    ProjectionStatus,
    ...QUERIES.map(queryProvider),
    {
      provide: AuditQuery,
      useFactory: (store: EventStore, hosts: HostsQuery, status: ProjectionStatus) =>
        new AuditQuery(
          store,
          { hostName: (id) => hosts.get(id)?.hostname ?? undefined },
          new AuditTrailIndex(status.database),
        ),
      inject: [EVENT_STORE, HostsQuery, ProjectionStatus],
    },
    JobLogRetention,
  ],
  exports: [ProjectionStatus, ...QUERIES, AuditQuery, JobLogRetention],
})
export class ProjectionsModule {}
