import { legacyRepositoryId } from '@rf/events';
import {
  defineProjection,
  streamsExcept,
  type AppendTable,
  type KeyedTable,
  type ProjectionEvent,
  type ProjectionView,
} from '../engine/projection.definition';
import { fields, num, payload, str, streamEntityId, timeField } from './event-fields';

/** Which repository a job works on (and a copy's destination); the job itself stays in `jobs`. */
export type RepositoryJobRow = {
  readonly job_id: string;
  /** Null for a v2 JobRequested without one: the host's only repository (resolved when read). */
  readonly repository_id: string | null;
  readonly to_repository_id: string | null;
  readonly host_id: string | null;
  readonly kind: string | null;
  readonly requested_at: string | null;
};

/** The last finished forget, prune and check of each repository (when, outcome, which job). */
export type RepositoryMaintenanceRow = {
  readonly repository_id: string;
  readonly kind: string;
  readonly job_id: string;
  readonly status: string;
  readonly finished_at: string;
};

/** One size report of a repository (the repository's growth over time). */
export type RepositoryStatsRow = {
  readonly event_id: string;
  readonly repository_id: string;
  readonly host_id: string | null;
  readonly reported_at: string;
  readonly total_size: number | null;
  readonly snapshots_count: number | null;
  readonly last_check_at: string | null;
  readonly last_check_status: string | null;
};

type View = ProjectionView<RepositoryActivityTables>;
type RepositoryActivityTables = {
  readonly repository_jobs: KeyedTable<RepositoryJobRow, 'job_id'>;
  readonly repository_maintenance: KeyedTable<RepositoryMaintenanceRow, 'repository_id' | 'kind'>;
  readonly repository_stats: AppendTable<RepositoryStatsRow, 'event_id'>;
};

/**
 * The repository a host-side report speaks of: the one it names, the
 * repository stream it was written to, or else (an agent that knows only its
 * host's one repository) the host's legacy repository (docs/repositories.md,
 * "Logs written before").
 */
function reportedRepository(
  event: ProjectionEvent,
  named: string | null,
  hostId: string | null,
): string | null {
  return (
    named ??
    streamEntityId(event.streamId, 'repository') ??
    (hostId !== null ? legacyRepositoryId(hostId) : null)
  );
}

/** The maintenance kinds whose last run each repository keeps. */
export const REPOSITORY_MAINTENANCE_KINDS = ['forget', 'prune', 'check'] as const;

/**
 * A maintenance job ended: it becomes its repository's last of its kind
 * unless a later one is recorded already (a replayed or out-of-order event).
 * A job whose request is unknown, or names no repository, is left out.
 */
function maintained(view: View, event: ProjectionEvent, status: string | null, finishedAt: string): void {
  const jobId =
    streamEntityId(event.streamId, 'job') ?? str(fields<{ job_id: string }>(event.data), 'job_id');
  const job = jobId === null ? undefined : view.get('repository_jobs', { job_id: jobId });
  if (jobId === null || job === undefined || status === null) return;
  if (
    job.repository_id === null ||
    job.kind === null ||
    !(REPOSITORY_MAINTENANCE_KINDS as readonly string[]).includes(job.kind)
  )
    return;
  const key = { repository_id: job.repository_id, kind: job.kind };
  const last = view.get('repository_maintenance', key);
  if (last !== undefined && last.finished_at > finishedAt) return;
  view.put('repository_maintenance', { ...key, job_id: jobId, status, finished_at: finishedAt });
}

/**
 * What the Repositories page reads per repository (docs/repositories.md,
 * "Read models"): which jobs work on it, its last forget, prune and check,
 * and its size over time. Kept apart from `jobs` and `repo-stats` so those
 * keep their per-host shape.
 */
export const repositoryActivityProjection = defineProjection<RepositoryActivityTables>({
  name: 'repository-activity',
  version: 1,
  streams: streamsExcept('joblog'),
  tables: {
    repository_jobs: {
      kind: 'keyed',
      key: ['job_id'],
      columns: {
        job_id: 'TEXT PRIMARY KEY',
        repository_id: 'TEXT',
        to_repository_id: 'TEXT',
        host_id: 'TEXT',
        kind: 'TEXT',
        requested_at: 'TEXT',
      },
    },
    repository_maintenance: {
      kind: 'keyed',
      key: ['repository_id', 'kind'],
      columns: {
        repository_id: 'TEXT NOT NULL',
        kind: 'TEXT NOT NULL',
        job_id: 'TEXT NOT NULL',
        status: 'TEXT NOT NULL',
        finished_at: 'TEXT NOT NULL',
      },
      constraints: 'PRIMARY KEY (repository_id, kind)',
    },
    repository_stats: {
      kind: 'append',
      key: ['event_id'],
      columns: {
        event_id: 'TEXT PRIMARY KEY',
        repository_id: 'TEXT NOT NULL',
        host_id: 'TEXT',
        reported_at: 'TEXT NOT NULL',
        total_size: 'INTEGER',
        snapshots_count: 'INTEGER',
        last_check_at: 'TEXT',
        last_check_status: 'TEXT',
      },
    },
  },
  indexes: [
    {
      name: 'repository_jobs_by_repository',
      table: 'repository_jobs',
      columns: 'repository_id, requested_at',
    },
    {
      name: 'repository_jobs_by_destination',
      table: 'repository_jobs',
      columns: 'to_repository_id, requested_at',
    },
    { name: 'repository_jobs_by_host', table: 'repository_jobs', columns: 'host_id, requested_at' },
    { name: 'repository_stats_by_time', table: 'repository_stats', columns: 'repository_id, reported_at' },
  ],
  evolve(view, event) {
    switch (event.type) {
      case 'JobRequested': {
        const jobId = streamEntityId(event.streamId, 'job') ?? str(payload(event), 'job_id');
        if (jobId === null || view.get('repository_jobs', { job_id: jobId }) !== undefined) return;
        const d = payload(event);
        const to = str(fields<{ to_repository_id: string }>(d['args']), 'to_repository_id');
        return view.put('repository_jobs', {
          job_id: jobId,
          repository_id: str(d, 'repository_id'),
          to_repository_id: event.data.kind === 'copy' ? to : null,
          host_id: str(d, 'host_id'),
          kind: str(d, 'kind'),
          requested_at: timeField(d, 'requested_at', event),
        });
      }
      case 'JobFinished':
        return maintained(
          view,
          event,
          str(payload(event), 'status'),
          timeField(payload(event), 'finished_at', event),
        );
      case 'JobLost':
        return maintained(view, event, 'lost', timeField(payload(event), 'lost_at', event));
      case 'RepoStatsReported': {
        const d = payload(event);
        const hostId = streamEntityId(event.streamId, 'host') ?? str(d, 'host_id');
        const repositoryId = reportedRepository(event, str(d, 'repository_id'), hostId);
        if (repositoryId === null) return;
        return view.append('repository_stats', {
          event_id: event.id,
          repository_id: repositoryId,
          host_id: hostId,
          reported_at: timeField(d, 'reported_at', event),
          total_size: num(d, 'total_size_bytes'),
          snapshots_count: num(d, 'snapshot_count'),
          last_check_at: str(d, 'last_check_at'),
          last_check_status: str(d, 'last_check_status'),
        });
      }
      case 'HostEnrolled':
      case 'AgentConnected':
      case 'AgentDisconnected':
      case 'RepositoryConfigured':
      case 'HostRevoked':
      case 'JobDispatched':
      case 'JobAccepted':
      case 'JobRejected':
      case 'JobStarted':
      case 'JobCancelRequested':
      case 'JobProgress':
      case 'LogStreamLine':
      case 'LogLinesDropped':
      case 'SchedulesChanged':
      case 'SchedulesApplied':
      case 'ScheduleFired':
      case 'SnapshotsReported':
      case 'SnapshotDownloaded':
      case 'AgentUpdateRequested':
      case 'RepositoryRegistered':
      case 'RepositoryChanged':
      case 'RepositorySecretsSet':
      case 'RepositoryAttached':
      case 'RepositoryDetached':
      case 'RepositoryRemoved':
      case 'RepositorySchedulesChanged':
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
