import type Database from 'better-sqlite3';
import type { HostStatus } from '../read-models/hosts.projection';
import { n, s, type Row } from './row-values';

export interface HostView {
  readonly id: string;
  readonly hostname: string | null;
  readonly status: HostStatus;
  readonly os: string | null;
  readonly arch: string | null;
  readonly agentVersion: string | null;
  readonly resticVersion: string | null;
  readonly protocolVersion: number | null;
  /** The host's `allow_hooks`; null when its agent does not report it (agents before it run every hook). */
  readonly hooksAllowed: boolean | null;
  readonly enrolledAt: string | null;
  readonly connectedAt: string | null;
  readonly disconnectedAt: string | null;
  /** Event-derived (latest connect/disconnect); the gateway's in-memory heartbeat time is fresher. */
  readonly lastSeen: string | null;
  readonly revokedAt: string | null;
  /** URL without credentials; the password itself is never in the read model. */
  readonly repository: {
    readonly url: string;
    readonly passwordSet: boolean;
    readonly configuredAt: string | null;
  } | null;
  readonly lastBackup: { readonly at: string; readonly status: string; readonly jobId: string | null } | null;
  readonly snapshotCount: number | null;
  readonly snapshotsReportedAt: string | null;
  readonly repoSizeBytes: number | null;
  readonly repoStatsAt: string | null;
}

export function mapHost(row: Row): HostView {
  const url = s(row, 'repository_url');
  const lastBackupAt = s(row, 'last_backup_at');
  return {
    id: s(row, 'id') ?? '',
    hostname: s(row, 'hostname'),
    status: (s(row, 'status') ?? 'offline') as HostStatus,
    os: s(row, 'os'),
    arch: s(row, 'arch'),
    agentVersion: s(row, 'agent_version'),
    resticVersion: s(row, 'restic_version'),
    protocolVersion: n(row, 'protocol_version'),
    hooksAllowed: n(row, 'allow_hooks') === null ? null : n(row, 'allow_hooks') === 1,
    enrolledAt: s(row, 'enrolled_at'),
    connectedAt: s(row, 'connected_at'),
    disconnectedAt: s(row, 'disconnected_at'),
    lastSeen: s(row, 'last_seen'),
    revokedAt: s(row, 'revoked_at'),
    repository:
      url === null
        ? null
        : {
            url,
            passwordSet: n(row, 'password_set') === 1,
            configuredAt: s(row, 'repository_configured_at'),
          },
    lastBackup:
      lastBackupAt === null
        ? null
        : {
            at: lastBackupAt,
            status: s(row, 'last_backup_status') ?? 'failed',
            jobId: s(row, 'last_backup_job_id'),
          },
    snapshotCount: n(row, 'snapshot_count'),
    snapshotsReportedAt: s(row, 'snapshots_reported_at'),
    repoSizeBytes: n(row, 'repo_size_bytes'),
    repoStatsAt: s(row, 'repo_stats_at'),
  };
}

export class HostsQuery {
  constructor(private readonly db: Database.Database) {}

  /** All hosts, revoked ones included (filter on `status`), ordered by hostname. */
  list(options: { includeRevoked?: boolean } = {}): HostView[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM hosts ${options.includeRevoked === false ? "WHERE status <> 'revoked'" : ''} ORDER BY hostname, id`,
      )
      .all() as Row[];
    return rows.map(mapHost);
  }

  /**
   * One page of `list` (same order): what a page of a large fleet shows, without
   * reading and mapping every host.
   */
  page(options: { includeRevoked?: boolean; offset: number; limit: number }): HostView[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM hosts ${options.includeRevoked === false ? "WHERE status <> 'revoked'" : ''} ORDER BY hostname, id LIMIT ? OFFSET ?`,
      )
      .all(options.limit, options.offset) as Row[];
    return rows.map(mapHost);
  }

  /** How many hosts `list` would return. */
  count(options: { includeRevoked?: boolean } = {}): number {
    const row = this.db
      .prepare(
        `SELECT COUNT(*) AS c FROM hosts ${options.includeRevoked === false ? "WHERE status <> 'revoked'" : ''}`,
      )
      .get() as Row;
    return n(row, 'c') ?? 0;
  }

  /** Every host's id and agent version only: fleet totals at the cost of two columns. */
  versions(options: { includeRevoked?: boolean } = {}): Array<{ id: string; agentVersion: string | null }> {
    const rows = this.db
      .prepare(
        `SELECT id, agent_version FROM hosts ${options.includeRevoked === false ? "WHERE status <> 'revoked'" : ''}`,
      )
      .all() as Row[];
    return rows.map((row) => ({ id: s(row, 'id') ?? '', agentVersion: s(row, 'agent_version') }));
  }

  get(id: string): HostView | null {
    const row = this.db.prepare('SELECT * FROM hosts WHERE id = ?').get(id) as Row | undefined;
    return row ? mapHost(row) : null;
  }
}
