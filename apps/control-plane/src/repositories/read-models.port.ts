import type {
  AlertsQuery,
  AuditQuery,
  HostsQuery,
  JobLogQuery,
  JobsQuery,
  NotificationsQuery,
  ProjectionLag,
  RepositoriesQuery,
  SchedulesQuery,
  SnapshotsQuery,
} from '@rf/projections';
import type { Position } from '@rf/events';

/**
 * What the REST read endpoints need from the projections: the libs' query
 * objects plus read-your-writes and lag. Provided under `READ_MODELS` by an
 * adapter over the ProjectionsModule (services/read-models.module.ts).
 */
export interface ReadModels {
  readonly hosts: HostsQuery;
  readonly jobs: JobsQuery;
  readonly jobLog: JobLogQuery;
  readonly snapshots: SnapshotsQuery;
  readonly schedules: SchedulesQuery;
  readonly repositories: RepositoriesQuery;
  readonly alerts: AlertsQuery;
  readonly notifications: NotificationsQuery;
  readonly audit: AuditQuery;
  waitForPosition(position: Position, timeoutMs: number): Promise<void>;
  lag(): Promise<ProjectionLag>;
}

export const READ_MODELS = Symbol.for('restic-fleet.control-plane.ReadModels');
