// The public surface of @rf/projections: the runner, rebuild, read-model queries
// and the audit trail. Exported by name; fixtures live behind @rf/projections/testing.
export { isProjectionError } from './engine/projection.errors';
export { type ProjectionState } from './engine/projection-state.repository';
export { openReadModelsDatabase } from './engine/read-models.database';
export {
  readModelsLogId,
  stampReadModelsLog,
  verifyReadModelsLog,
  type ReadModelsLogVerdict,
} from './engine/read-models-log';
export { type ProjectionLag, ProjectionRunner } from './engine/projection.runner';
export { type RebuildProgress, rebuildReadModels } from './engine/read-models.rebuilder';
export { dumpReadModels } from './engine/dump-read-models';
export { ALL_PROJECTIONS } from './read-models/all.projections';
export { REPOSITORY_MAINTENANCE_KINDS } from './read-models/repository-activity.projection';
export { HostsQuery, type HostView } from './queries/hosts.query';
export { JobsQuery, type JobView } from './queries/jobs.query';
export { type JobLogLineView, JobLogQuery } from './queries/job-log.query';
export { SnapshotsQuery, type SnapshotView } from './queries/snapshots.query';
export { type HostSchedulesView, SchedulesQuery } from './queries/schedules.query';
export { RepoStatsQuery, type RepoStatsView } from './queries/repo-stats.query';
export {
  RepositoriesQuery,
  type RepositoryHostView,
  type RepositoryView,
} from './queries/repositories.query';
export {
  RepositoryActivityQuery,
  type RepositoryJobView,
  type RepositorySizePoint,
} from './queries/repository-activity.query';
export { type AlertFilter, type AlertRecord, type AlertState, AlertsQuery } from './queries/alerts.query';
export {
  type NotificationChannelRecord,
  type NotificationDeliveryRecord,
  NotificationsQuery,
} from './queries/notifications.query';
export { type DailyOutcomes, DashboardQuery } from './queries/dashboard.query';
export { type AuditLine } from './audit/describe-event';
export { AuditQuery, AuditTrailIndex, parseSince } from './audit/audit.query';
export { SnapshottedState, type FoldedState } from './snapshots/snapshotted-state';
export { type StateSnapshotCodec } from './snapshots/state-snapshots';
export { encodePosition, snapshotField } from './snapshots/snapshot-fields';
