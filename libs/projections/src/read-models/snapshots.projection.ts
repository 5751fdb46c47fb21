import { legacyRepositoryId, type FleetEventOf, type Snapshot } from '@rf/events';
import { defineProjection, streamsExcept, type GroupTable } from '../engine/projection.definition';
import {
  fields,
  json,
  list,
  num,
  payload,
  str,
  streamEntityId,
  timeField,
  type Fields,
} from './event-fields';

export type SnapshotRow = {
  readonly host_id: string;
  /** The repository listed; an older agent's report is about its host's own repository. */
  readonly repository_id: string;
  readonly snapshot_id: string;
  readonly short_id: string | null;
  readonly time: string | null;
  readonly hostname: string | null;
  readonly paths: string | null;
  readonly tags: string | null;
  readonly parent: string | null;
  readonly size_bytes: number | null;
  readonly file_count: number | null;
  readonly reported_at: string;
};

type SnapshotsTables = { readonly snapshots: GroupTable<SnapshotRow, 'host_id' | 'repository_id'> };

/** A report's rows; a snapshot listed twice keeps its last entry. */
function snapshotRows(
  d: Fields<FleetEventOf<'SnapshotsReported'>['data']>,
  hostId: string,
  repositoryId: string,
  reportedAt: string,
): SnapshotRow[] {
  const rows = new Map<string, SnapshotRow>();
  for (const raw of list(d, 'snapshots')) {
    const s = fields<Snapshot>(raw);
    const id = str(s, 'id');
    if (id === null) continue;
    rows.delete(id);
    rows.set(id, {
      host_id: hostId,
      repository_id: repositoryId,
      snapshot_id: id,
      short_id: str(s, 'short_id') ?? id.slice(0, 8),
      time: str(s, 'time'),
      hostname: str(s, 'hostname'),
      paths: json(list(s, 'paths')),
      tags: json(list(s, 'tags')),
      parent: str(s, 'parent'),
      size_bytes: num(s, 'size_bytes'),
      file_count: num(s, 'file_count'),
      reported_at: reportedAt,
    });
  }
  return [...rows.values()];
}

/**
 * Each SnapshotsReported carries a repository's full list as one host read
 * it, so it replaces that host's rows for that repository.
 */
export const snapshotsProjection = defineProjection<SnapshotsTables>({
  name: 'snapshots',
  version: 2,
  streams: streamsExcept('joblog'),
  tables: {
    snapshots: {
      kind: 'group',
      key: ['host_id', 'repository_id'],
      columns: {
        host_id: 'TEXT NOT NULL',
        repository_id: 'TEXT NOT NULL',
        snapshot_id: 'TEXT NOT NULL',
        short_id: 'TEXT',
        time: 'TEXT',
        hostname: 'TEXT',
        paths: 'TEXT',
        tags: 'TEXT',
        parent: 'TEXT',
        size_bytes: 'INTEGER',
        file_count: 'INTEGER',
        reported_at: 'TEXT NOT NULL',
      },
      constraints: 'PRIMARY KEY (host_id, repository_id, snapshot_id)',
    },
  },
  indexes: [
    { name: 'snapshots_by_host_time', table: 'snapshots', columns: 'host_id, time' },
    { name: 'snapshots_by_repository', table: 'snapshots', columns: 'repository_id, reported_at' },
  ],
  evolve(view, event) {
    switch (event.type) {
      case 'SnapshotsReported': {
        const d = payload(event);
        const hostId = streamEntityId(event.streamId, 'snapshots') ?? str(d, 'host_id');
        if (hostId === null) return;
        const repositoryId = str(d, 'repository_id') ?? legacyRepositoryId(hostId);
        const reportedAt = timeField(d, 'reported_at', event);
        // Rows only for the report the batch keeps: a later report of the group replaces this one.
        return view.replaceGroup('snapshots', { host_id: hostId, repository_id: repositoryId }, () =>
          snapshotRows(d, hostId, repositoryId, reportedAt),
        );
      }
      case 'HostEnrolled':
      case 'AgentConnected':
      case 'AgentDisconnected':
      case 'RepositoryConfigured':
      case 'HostRevoked':
      case 'RepoStatsReported':
      case 'JobRequested':
      case 'JobDispatched':
      case 'JobAccepted':
      case 'JobRejected':
      case 'JobStarted':
      case 'JobCancelRequested':
      case 'JobFinished':
      case 'JobLost':
      case 'JobProgress':
      case 'LogStreamLine':
      case 'LogLinesDropped':
      case 'SchedulesChanged':
      case 'SchedulesApplied':
      case 'ScheduleFired':
      case 'AgentUpdateRequested':
      case 'RepositoryRegistered':
      case 'RepositoryChanged':
      case 'RepositorySecretsSet':
      case 'RepositoryAttached':
      case 'RepositoryDetached':
      case 'RepositoryRemoved':
      case 'RepositorySchedulesChanged':
      case 'SnapshotDownloaded':
      case 'UserCreated':
      case 'UserPasswordChanged':
      case 'UserRoleChanged':
      case 'UserDisabled':
      case 'UserEnabled':
      case 'UserLoggedIn':
      case 'UserLoggedOut':
      case 'UserLoginFailed':
      case 'ApiTokenCreated':
      case 'ApiTokenRevoked':
      case 'EnrolmentTokenCreated':
      case 'EnrolmentTokenUsed':
      case 'EnrolmentTokenRevoked':
      case 'AlertRaised':
      case 'AlertAcknowledged':
      case 'AlertResolved':
      case 'AlertRulesChanged':
      case 'ChannelConfigured':
      case 'ChannelRemoved':
      case 'NotificationSent':
      case 'NotificationFailed':
        return;
      default: {
        const _never: never = event;
        return _never;
      }
    }
  },
});
