import { defineProjection, streamsExcept, type AppendTable } from '../engine/projection.definition';
import { num, payload, str, streamEntityId, timeField } from './event-fields';

export type RepoStatsRow = {
  readonly event_id: string;
  readonly host_id: string;
  readonly reported_at: string;
  readonly total_size: number | null;
  readonly raw_total_size: number | null;
  readonly snapshots_count: number | null;
  readonly total_file_count: number | null;
  readonly compression_ratio: number | null;
  readonly job_id: string | null;
  readonly last_check_at: string | null;
  readonly last_check_status: string | null;
};

type RepoStatsTables = { readonly repo_stats: AppendTable<RepoStatsRow, 'event_id'> };

/** Every RepoStatsReported is a point of the host's history (charts); the latest is the newest `reported_at`. */
export const repoStatsProjection = defineProjection<RepoStatsTables>({
  name: 'repo-stats',
  version: 1,
  streams: streamsExcept('joblog'),
  tables: {
    repo_stats: {
      kind: 'append',
      key: ['event_id'],
      columns: {
        event_id: 'TEXT PRIMARY KEY',
        host_id: 'TEXT NOT NULL',
        reported_at: 'TEXT NOT NULL',
        total_size: 'INTEGER',
        raw_total_size: 'INTEGER',
        snapshots_count: 'INTEGER',
        total_file_count: 'INTEGER',
        compression_ratio: 'REAL',
        job_id: 'TEXT',
        last_check_at: 'TEXT',
        last_check_status: 'TEXT',
      },
    },
  },
  indexes: [{ name: 'repo_stats_by_host_time', table: 'repo_stats', columns: 'host_id, reported_at' }],
  evolve(view, event) {
    switch (event.type) {
      case 'RepoStatsReported': {
        const d = payload(event);
        const hostId = streamEntityId(event.streamId, 'host') ?? str(d, 'host_id');
        if (hostId === null) return;
        return view.append('repo_stats', {
          event_id: event.id,
          host_id: hostId,
          reported_at: timeField(d, 'reported_at', event),
          total_size: num(d, 'total_size_bytes'),
          raw_total_size: num(d, 'raw_size_bytes'),
          snapshots_count: num(d, 'snapshot_count'),
          total_file_count: num(d, 'file_count'),
          compression_ratio: num(d, 'compression_ratio'),
          job_id: str(d, 'job_id'),
          last_check_at: str(d, 'last_check_at'),
          last_check_status: str(d, 'last_check_status'),
        });
      }
      case 'HostEnrolled':
      case 'AgentConnected':
      case 'AgentDisconnected':
      case 'RepositoryConfigured':
      case 'HostRevoked':
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
      case 'SnapshotsReported':
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
