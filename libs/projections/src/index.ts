export * from './engine/projection.definition';
export * from './engine/projection.errors';
export * from './engine/projection-state.repository';
export * from './engine/read-models.database';
export * from './engine/read-model.writer';
export * from './engine/projection.runner';
export * from './engine/read-models.rebuilder';
export * from './engine/dump-read-models';
export * from './read-models/all.projections';
export { hostsProjection, HOST_STATUSES, type HostStatus } from './read-models/hosts.projection';
export { jobsProjection, isTerminalStatus } from './read-models/jobs.projection';
export { snapshotsProjection } from './read-models/snapshots.projection';
export { schedulesProjection } from './read-models/schedules.projection';
export { repoStatsProjection } from './read-models/repo-stats.projection';
export { redactUrl } from './read-models/event-fields';
export * from './queries/hosts.query';
export * from './queries/jobs.query';
export * from './queries/job-log.query';
export * from './queries/snapshots.query';
export * from './queries/schedules.query';
export * from './queries/repo-stats.query';
export * from './queries/dashboard.query';
export * from './audit/describe-event';
export * from './audit/audit.query';
export { StateSnapshotRepository, type StoredSnapshot } from './snapshots/state-snapshot.repository';
export {
  StateSnapshots,
  type SnapshotRestoreOutcome,
  type StateSnapshotCodec,
  type StateSnapshotsOptions,
} from './snapshots/state-snapshots';
export { snapshotField, encodePosition } from './snapshots/snapshot-fields';
export {
  SnapshottedState,
  type FoldedState,
  type SnapshottedStateOptions,
} from './snapshots/snapshotted-state';
