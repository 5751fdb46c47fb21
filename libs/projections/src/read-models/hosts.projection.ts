import { evolveJobStatus, type FleetEventOf, type JobLifecycleEvent, type JobStatus } from '@rf/events';
import {
  defineProjection,
  streamsExcept,
  type KeyedTable,
  type ProjectionEvent,
  type ProjectionView,
} from '../engine/projection.definition';
import {
  eventTime,
  fields,
  list,
  num,
  payload,
  redactUrl,
  str,
  streamEntityId,
  timeField,
} from './event-fields';

export const HOST_STATUSES = ['online', 'offline', 'revoked'] as const;
export type HostStatus = (typeof HOST_STATUSES)[number];

export type HostRow = {
  readonly id: string;
  readonly hostname: string | null;
  readonly status: HostStatus;
  readonly os: string | null;
  readonly arch: string | null;
  readonly agent_version: string | null;
  readonly restic_version: string | null;
  readonly protocol_version: number | null;
  /** The host's `allow_hooks` as its agent last said (1/0); NULL when the agent does not report it. */
  readonly allow_hooks: number | null;
  readonly enrolled_at: string | null;
  readonly connected_at: string | null;
  readonly disconnected_at: string | null;
  readonly last_seen: string | null;
  readonly revoked_at: string | null;
  readonly repository_url: string | null;
  readonly password_set: number;
  readonly repository_configured_at: string | null;
  readonly last_backup_at: string | null;
  readonly last_backup_status: string | null;
  readonly last_backup_job_id: string | null;
  readonly snapshot_count: number | null;
  readonly snapshots_reported_at: string | null;
  readonly repo_size_bytes: number | null;
  readonly repo_stats_at: string | null;
};

/** Each job's host, kind and lifecycle status, so a job's outcome can update its host's last backup. */
export type HostJobRow = {
  readonly job_id: string;
  readonly host_id: string;
  readonly kind: string | null;
  readonly status: JobStatus;
};

type HostsTables = {
  readonly hosts: KeyedTable<HostRow, 'id'>;
  readonly host_jobs: KeyedTable<HostJobRow, 'job_id'>;
};
type View = ProjectionView<HostsTables>;

const newHost = (id: string): HostRow => ({
  id,
  hostname: null,
  status: 'offline',
  os: null,
  arch: null,
  agent_version: null,
  restic_version: null,
  protocol_version: null,
  allow_hooks: null,
  enrolled_at: null,
  connected_at: null,
  disconnected_at: null,
  last_seen: null,
  revoked_at: null,
  repository_url: null,
  password_set: 0,
  repository_configured_at: null,
  last_backup_at: null,
  last_backup_status: null,
  last_backup_job_id: null,
  snapshot_count: null,
  snapshots_reported_at: null,
  repo_size_bytes: null,
  repo_stats_at: null,
});

const hostId = (e: ProjectionEvent): string | null =>
  streamEntityId(e.streamId, 'host') ?? str(fields<{ host_id: string }>(e.data), 'host_id');
const jobId = (e: ProjectionEvent): string | null =>
  streamEntityId(e.streamId, 'job') ?? str(fields<{ job_id: string }>(e.data), 'job_id');

/** Changes a host's row, creating it (offline) when an event names a host not enrolled in this log. */
function host(view: View, id: string | null, change: (h: HostRow) => HostRow): void {
  if (id === null) return;
  view.put('hosts', change(view.get('hosts', { id }) ?? newHost(id)));
}

/**
 * Follows a job's status through the job lifecycle; when the agent's report
 * (JobFinished) or the control plane's JobLost decides a backup's outcome, it
 * becomes the host's last backup unless a later one is already recorded.
 * A rejected backup never ran, so it is not a backup outcome.
 */
function job(view: View, event: ProjectionEvent & JobLifecycleEvent): void {
  const id = jobId(event);
  if (id === null) return;
  const known = view.get('host_jobs', { job_id: id });
  if (known === undefined) return;
  const step = evolveJobStatus(known.status, event);
  if (step.status !== known.status) view.put('host_jobs', { ...known, status: step.status });
  if (!step.outcome || known.kind !== 'backup' || event.type === 'JobRejected') return;
  const d = fields<{ finished_at: string; lost_at: string }>(event.data);
  const at = timeField(d, event.type === 'JobLost' ? 'lost_at' : 'finished_at', event);
  const h = view.get('hosts', { id: known.host_id });
  if (h === undefined || (h.last_backup_at !== null && h.last_backup_at > at)) return;
  view.put('hosts', { ...h, last_backup_at: at, last_backup_status: step.status, last_backup_job_id: id });
}

function requested(view: View, event: ProjectionEvent & FleetEventOf<'JobRequested'>): void {
  const id = jobId(event);
  const d = payload(event);
  const hostOfJob = str(d, 'host_id');
  if (id === null || hostOfJob === null) return;
  if (view.get('host_jobs', { job_id: id }) !== undefined) return;
  view.put('host_jobs', {
    job_id: id,
    host_id: hostOfJob,
    kind: str(d, 'kind'),
    status: evolveJobStatus(undefined, event).status,
  });
}

/**
 * One row per enrolled host. Presence here is event-derived (connected /
 * disconnected); the gateway keeps live `last_seen` from heartbeats in memory.
 * `host_jobs` remembers each job's host, kind and status so a JobFinished in
 * `job-{id}` can update the host's last backup without reading another
 * projection. The repository URL is stored without user:password; only
 * `password_set` says whether a password was configured.
 */
export const hostsProjection = defineProjection<HostsTables>({
  name: 'hosts',
  // 2: host_jobs follows each job's status through the job lifecycle; a late JobLost no longer
  // overrides a reported backup outcome. 3: allow_hooks.
  version: 3,
  streams: streamsExcept('joblog'),
  tables: {
    hosts: {
      kind: 'keyed',
      key: ['id'],
      columns: {
        id: 'TEXT PRIMARY KEY',
        hostname: 'TEXT',
        status: 'TEXT NOT NULL',
        os: 'TEXT',
        arch: 'TEXT',
        agent_version: 'TEXT',
        restic_version: 'TEXT',
        protocol_version: 'INTEGER',
        allow_hooks: 'INTEGER',
        enrolled_at: 'TEXT',
        connected_at: 'TEXT',
        disconnected_at: 'TEXT',
        last_seen: 'TEXT',
        revoked_at: 'TEXT',
        repository_url: 'TEXT',
        password_set: 'INTEGER NOT NULL DEFAULT 0',
        repository_configured_at: 'TEXT',
        last_backup_at: 'TEXT',
        last_backup_status: 'TEXT',
        last_backup_job_id: 'TEXT',
        snapshot_count: 'INTEGER',
        snapshots_reported_at: 'TEXT',
        repo_size_bytes: 'INTEGER',
        repo_stats_at: 'TEXT',
      },
    },
    host_jobs: {
      kind: 'keyed',
      key: ['job_id'],
      columns: {
        job_id: 'TEXT PRIMARY KEY',
        host_id: 'TEXT NOT NULL',
        kind: 'TEXT',
        status: 'TEXT NOT NULL',
      },
    },
  },
  indexes: [{ name: 'hosts_by_hostname_id', table: 'hosts', columns: 'hostname, id' }],
  evolve(view, event) {
    switch (event.type) {
      case 'HostEnrolled': {
        const d = payload(event);
        const at = timeField(d, 'enrolled_at', event);
        return host(view, hostId(event), (h) => ({
          ...h,
          hostname: str(d, 'hostname') ?? h.hostname,
          os: str(d, 'os') ?? h.os,
          arch: str(d, 'arch') ?? h.arch,
          enrolled_at: h.enrolled_at ?? at,
        }));
      }
      case 'AgentConnected': {
        const d = payload(event);
        const at = timeField(d, 'connected_at', event);
        return host(view, hostId(event), (h) => ({
          ...h,
          status: h.status === 'revoked' ? h.status : 'online',
          connected_at: at,
          last_seen: at,
          hostname: str(d, 'hostname') ?? h.hostname,
          os: str(d, 'os') ?? h.os,
          arch: str(d, 'arch') ?? h.arch,
          agent_version: str(d, 'agent_version') ?? h.agent_version,
          restic_version: str(d, 'restic_version') ?? h.restic_version,
          protocol_version: num(d, 'protocol_version') ?? h.protocol_version,
          // Each connection states it afresh; an agent that does not say leaves it unknown (NULL).
          allow_hooks: typeof d['allow_hooks'] === 'boolean' ? (d['allow_hooks'] ? 1 : 0) : null,
        }));
      }
      case 'AgentDisconnected': {
        const at = timeField(payload(event), 'disconnected_at', event);
        return host(view, hostId(event), (h) => ({
          ...h,
          status: h.status === 'revoked' ? h.status : 'offline',
          disconnected_at: at,
          last_seen: at,
        }));
      }
      case 'HostRevoked': {
        const at = timeField(payload(event), 'revoked_at', event);
        return host(view, hostId(event), (h) => ({
          ...h,
          status: 'revoked',
          revoked_at: h.revoked_at ?? at,
        }));
      }
      case 'RepositoryConfigured': {
        const d = payload(event);
        const url = str(d, 'url');
        // The password is an encrypted blob in the event; the read model only records that it exists.
        const passwordSet = d['password'] !== undefined && d['password'] !== null;
        return host(view, hostId(event), (h) => ({
          ...h,
          repository_url: url === null ? null : redactUrl(url),
          password_set: passwordSet ? 1 : 0,
          repository_configured_at: eventTime(event),
        }));
      }
      case 'RepoStatsReported': {
        const d = payload(event);
        const at = timeField(d, 'reported_at', event);
        return host(view, hostId(event), (h) => ({
          ...h,
          repo_size_bytes: num(d, 'total_size_bytes'),
          repo_stats_at: at,
        }));
      }
      case 'SnapshotsReported': {
        const d = payload(event);
        const at = timeField(d, 'reported_at', event);
        const id = streamEntityId(event.streamId, 'snapshots') ?? str(d, 'host_id');
        return host(view, id, (h) => ({
          ...h,
          snapshot_count: list(d, 'snapshots').length,
          snapshots_reported_at: at,
        }));
      }
      case 'JobRequested':
        return requested(view, event);
      case 'JobDispatched':
      case 'JobAccepted':
      case 'JobRejected':
      case 'JobStarted':
      case 'JobCancelRequested':
      case 'JobFinished':
      case 'JobLost':
        return job(view, event);
      // Telemetry: progress only moves open statuses, which decide nothing here.
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
