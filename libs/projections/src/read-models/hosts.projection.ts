import type { JobFinishedData, JobLostData, RecordedEvent } from '@rf/events';
import type { ProjectionDefinition } from '../engine/projection.definition';
import {
  eventTime,
  fields,
  list,
  num,
  str,
  streamEntityId,
  timeField,
  redactUrl,
  type Fields,
  dataOf,
} from './event-fields';

export const HOST_STATUSES = ['online', 'offline', 'revoked'] as const;
export type HostStatus = (typeof HOST_STATUSES)[number];

const FINISHED: ReadonlySet<string> = new Set(['succeeded', 'warning', 'failed', 'cancelled']);

/**
 * One row per enrolled host. Presence here is event-derived (connected /
 * disconnected); the gateway keeps live `last_seen` from heartbeats in memory.
 * `host_jobs` remembers each job's host and kind so a JobFinished in `job-{id}`
 * can update the host's last backup without reading another projection.
 * The repository URL is stored without user:password; only `password_set` says
 * whether a password was configured.
 */
export const hostsProjection: ProjectionDefinition = {
  name: 'hosts',
  version: 2,
  tables: [
    {
      name: 'hosts',
      columns: `
        id TEXT PRIMARY KEY,
        hostname TEXT,
        status TEXT NOT NULL,
        os TEXT,
        arch TEXT,
        agent_version TEXT,
        restic_version TEXT,
        protocol_version INTEGER,
        allow_hooks INTEGER,
        enrolled_at TEXT,
        connected_at TEXT,
        disconnected_at TEXT,
        last_seen TEXT,
        revoked_at TEXT,
        repository_url TEXT,
        password_set INTEGER NOT NULL DEFAULT 0,
        repository_configured_at TEXT,
        last_backup_at TEXT,
        last_backup_status TEXT,
        last_backup_job_id TEXT,
        snapshot_count INTEGER,
        snapshots_reported_at TEXT,
        repo_size_bytes INTEGER,
        repo_stats_at TEXT`,
    },
    { name: 'host_jobs', columns: 'job_id TEXT PRIMARY KEY, host_id TEXT NOT NULL, kind TEXT' },
  ],
  indexes: [{ name: 'hosts_by_hostname', table: 'hosts', columns: 'hostname' }],
  eventTypes: [
    'HostEnrolled',
    'AgentConnected',
    'AgentDisconnected',
    'RepositoryConfigured',
    'HostRevoked',
    'RepoStatsReported',
    'SnapshotsReported',
    'JobRequested',
    'JobFinished',
    'JobLost',
  ],
  bind(db, table) {
    const hosts = table('hosts');
    const hostJobs = table('host_jobs');
    const enrolled = db.prepare(
      `INSERT INTO ${hosts} (id, hostname, status, os, arch, enrolled_at) VALUES (@id, @hostname, 'offline', @os, @arch, @at)
       ON CONFLICT(id) DO UPDATE SET hostname = COALESCE(excluded.hostname, hostname), os = COALESCE(excluded.os, os),
         arch = COALESCE(excluded.arch, arch), enrolled_at = COALESCE(enrolled_at, excluded.enrolled_at)`,
    );
    const ensure = db.prepare(`INSERT OR IGNORE INTO ${hosts} (id, status) VALUES (?, 'offline')`);
    const connected = db.prepare(
      `UPDATE ${hosts} SET status = CASE WHEN status = 'revoked' THEN status ELSE 'online' END,
         connected_at = @at, last_seen = @at,
         hostname = COALESCE(@hostname, hostname), os = COALESCE(@os, os), arch = COALESCE(@arch, arch),
         agent_version = COALESCE(@agent_version, agent_version), restic_version = COALESCE(@restic_version, restic_version),
         protocol_version = COALESCE(@protocol_version, protocol_version),
         allow_hooks = @allow_hooks
       WHERE id = @id`,
    );
    const disconnected = db.prepare(
      `UPDATE ${hosts} SET status = CASE WHEN status = 'revoked' THEN status ELSE 'offline' END,
         disconnected_at = @at, last_seen = @at WHERE id = @id`,
    );
    const revoked = db.prepare(
      `UPDATE ${hosts} SET status = 'revoked', revoked_at = COALESCE(revoked_at, @at) WHERE id = @id`,
    );
    const repository = db.prepare(
      `UPDATE ${hosts} SET repository_url = @url, password_set = @password_set, repository_configured_at = @at WHERE id = @id`,
    );
    const stats = db.prepare(
      `UPDATE ${hosts} SET repo_size_bytes = @size, repo_stats_at = @at WHERE id = @id`,
    );
    const snapshots = db.prepare(
      `UPDATE ${hosts} SET snapshot_count = @count, snapshots_reported_at = @at WHERE id = @id`,
    );
    const rememberJob = db.prepare(
      `INSERT OR IGNORE INTO ${hostJobs} (job_id, host_id, kind) VALUES (?, ?, ?)`,
    );
    const jobOf = db.prepare<[string], { host_id: string; kind: string | null }>(
      `SELECT host_id, kind FROM ${hostJobs} WHERE job_id = ?`,
    );
    const lastBackup = db.prepare(
      `UPDATE ${hosts} SET last_backup_at = @at, last_backup_status = @status, last_backup_job_id = @job_id
       WHERE id = @id AND (last_backup_at IS NULL OR last_backup_at <= @at)`,
    );

    const hostId = (e: RecordedEvent, d: Fields<{ host_id?: string }>): string | null =>
      streamEntityId(e.streamId, 'host') ?? str(d, 'host_id');

    return {
      apply(e) {
        switch (e.type) {
          case 'HostEnrolled': {
            const d = dataOf(e, 'HostEnrolled');
            const id = hostId(e, d);
            if (id === null) return;
            enrolled.run({
              id,
              hostname: str(d, 'hostname'),
              os: str(d, 'os'),
              arch: str(d, 'arch'),
              at: timeField(d, 'enrolled_at', e),
            });
            return;
          }
          case 'AgentConnected': {
            const d = dataOf(e, 'AgentConnected');
            const id = hostId(e, d);
            if (id === null) return;
            ensure.run(id);
            connected.run({
              id,
              at: timeField(d, 'connected_at', e),
              hostname: str(d, 'hostname'),
              os: str(d, 'os'),
              arch: str(d, 'arch'),
              agent_version: str(d, 'agent_version'),
              restic_version: str(d, 'restic_version'),
              protocol_version: num(d, 'protocol_version'),
              // Each connection states it afresh; an agent that does not say leaves it unknown (NULL).
              allow_hooks: typeof d['allow_hooks'] === 'boolean' ? (d['allow_hooks'] ? 1 : 0) : null,
            });
            return;
          }
          case 'AgentDisconnected': {
            const d = dataOf(e, 'AgentDisconnected');
            const id = hostId(e, d);
            if (id === null) return;
            ensure.run(id);
            disconnected.run({ id, at: timeField(d, 'disconnected_at', e) });
            return;
          }
          case 'HostRevoked': {
            const d = dataOf(e, 'HostRevoked');
            const id = hostId(e, d);
            if (id === null) return;
            ensure.run(id);
            revoked.run({ id, at: timeField(d, 'revoked_at', e) });
            return;
          }
          case 'RepositoryConfigured': {
            const d = dataOf(e, 'RepositoryConfigured');
            const id = hostId(e, d);
            if (id === null) return;
            ensure.run(id);
            const url = str(d, 'url');
            // The password is an encrypted blob in the event; the read model only records that it exists.
            const passwordSet = d['password'] !== undefined && d['password'] !== null;
            repository.run({
              id,
              url: url === null ? null : redactUrl(url),
              password_set: passwordSet ? 1 : 0,
              at: eventTime(e),
            });
            return;
          }
          case 'RepoStatsReported': {
            const d = dataOf(e, 'RepoStatsReported');
            const id = hostId(e, d);
            if (id === null) return;
            ensure.run(id);
            stats.run({ id, size: num(d, 'total_size_bytes'), at: timeField(d, 'reported_at', e) });
            return;
          }
          case 'SnapshotsReported': {
            const d = dataOf(e, 'SnapshotsReported');
            const id = streamEntityId(e.streamId, 'snapshots') ?? str(d, 'host_id');
            if (id === null) return;
            ensure.run(id);
            snapshots.run({ id, count: list(d, 'snapshots').length, at: timeField(d, 'reported_at', e) });
            return;
          }
          case 'JobRequested': {
            const d = dataOf(e, 'JobRequested');
            const jobId = streamEntityId(e.streamId, 'job') ?? str(d, 'job_id');
            const host = str(d, 'host_id');
            if (jobId === null || host === null) return;
            rememberJob.run(jobId, host, str(d, 'kind'));
            return;
          }
          case 'JobFinished':
          case 'JobLost': {
            const d = fields<Partial<JobFinishedData & JobLostData>>(e.data);
            const jobId = streamEntityId(e.streamId, 'job') ?? str(d, 'job_id');
            if (jobId === null) return;
            const job = jobOf.get(jobId);
            if (!job || job.kind !== 'backup') return;
            const raw = e.type === 'JobLost' ? 'lost' : str(d, 'status');
            const exit = num(d, 'exit_code');
            const status =
              raw !== null && (FINISHED.has(raw) || raw === 'lost')
                ? raw
                : exit === 0
                  ? 'succeeded'
                  : exit === 3
                    ? 'warning'
                    : 'failed';
            lastBackup.run({
              id: job.host_id,
              at: timeField(d, e.type === 'JobLost' ? 'lost_at' : 'finished_at', e),
              status,
              job_id: jobId,
            });
            return;
          }
        }
      },
    };
  },
};
