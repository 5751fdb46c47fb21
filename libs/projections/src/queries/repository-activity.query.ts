import type Database from 'better-sqlite3';
import { isTerminal, JOB_STATUSES } from '@rf/events';
import { mapJob, type JobView } from './jobs.query';
import { clampLimit, n, s, type Row } from './row-values';

/** A job together with the repository it works on (and a copy's destination). */
export interface RepositoryJobView extends JobView {
  /** Null when the job names none and its host has several repositories (it cannot be placed). */
  readonly repositoryId: string | null;
  readonly toRepositoryId: string | null;
}

export interface RepositorySizePoint {
  readonly reportedAt: string;
  readonly totalSize: number | null;
  readonly snapshotsCount: number | null;
  readonly hostId: string | null;
  readonly lastCheckAt: string | null;
  readonly lastCheckStatus: string | null;
}

const mapSizePoint = (row: Row): RepositorySizePoint => ({
  reportedAt: s(row, 'reported_at') ?? '',
  totalSize: n(row, 'total_size'),
  snapshotsCount: n(row, 'snapshots_count'),
  hostId: s(row, 'host_id'),
  lastCheckAt: s(row, 'last_check_at'),
  lastCheckStatus: s(row, 'last_check_status'),
});

const UNFINISHED_SQL = JOB_STATUSES.filter((st) => !isTerminal(st))
  .map((st) => `'${st}'`)
  .join(', ');
const JOINED =
  'j.*, rj.repository_id AS rj_repository_id, rj.to_repository_id AS rj_to_repository_id, rj.host_id AS rj_host_id';

/**
 * Per repository: its jobs, its last maintenance, its size over time (the `repository-activity` read model, docs/repositories.md). A job
 * that names no repository counts for its host's repository when the host has
 * exactly one (what such a job means, see "Logs written before").
 */
export class RepositoryActivityQuery {
  constructor(private readonly db: Database.Database) {}

  /**
   * Jobs on the repository (as source or copy destination), newest first.
   * Each way a job can belong to it is read newest first through its own
   * index and cut at `limit` before they are merged, so a busy repository's
   * long history is never scanned.
   */
  jobs(repositoryId: string, options: { limit?: number } = {}): RepositoryJobView[] {
    const rows = this.db
      .prepare(
        `WITH ids AS (
           SELECT job_id FROM (SELECT job_id FROM repository_jobs WHERE repository_id = @repo
                                ORDER BY requested_at DESC LIMIT @limit)
           UNION
           SELECT job_id FROM (SELECT job_id FROM repository_jobs WHERE to_repository_id = @repo
                                ORDER BY requested_at DESC LIMIT @limit)
           UNION
           SELECT job_id FROM (SELECT job_id FROM repository_jobs
                                WHERE repository_id IS NULL
                                  AND host_id IN (SELECT host_id FROM repository_hosts WHERE repository_ids = @solo)
                                ORDER BY requested_at DESC LIMIT @limit))
         SELECT ${JOINED} FROM ids JOIN repository_jobs rj ON rj.job_id = ids.job_id JOIN jobs j ON j.id = rj.job_id
          ORDER BY j.requested_at DESC, j.id DESC LIMIT @limit`,
      )
      .all({
        repo: repositoryId,
        solo: JSON.stringify([repositoryId]),
        limit: clampLimit(options.limit, 25, 1000),
      }) as Row[];
    return rows.map((row) => this.mapJob(row));
  }

  /** Unfinished jobs on any repository (lock state across the fleet), oldest request first. */
  activeJobs(): RepositoryJobView[] {
    const rows = this.db
      .prepare(
        `SELECT ${JOINED} FROM jobs j JOIN repository_jobs rj ON rj.job_id = j.id
          WHERE j.status IN (${UNFINISHED_SQL})
          ORDER BY j.requested_at, j.id LIMIT 10000`,
      )
      .all() as Row[];
    return rows.map((row) => this.mapJob(row));
  }

  /** The last finished forget, prune and check of the repository, by kind. */
  lastMaintenance(repositoryId: string): Map<string, RepositoryJobView> {
    const rows = this.db
      .prepare(
        `SELECT ${JOINED} FROM repository_maintenance m
           JOIN repository_jobs rj ON rj.job_id = m.job_id JOIN jobs j ON j.id = m.job_id
          WHERE m.repository_id = ?`,
      )
      .all(repositoryId) as Row[];
    return new Map(rows.map((row) => [s(row, 'kind') ?? '', this.mapJob(row)]));
  }

  /** Size reports, oldest first; at most `limit` (default 500) most recent. */
  sizeHistory(repositoryId: string, options: { limit?: number } = {}): RepositorySizePoint[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM (SELECT * FROM repository_stats WHERE repository_id = ? ORDER BY reported_at DESC, event_id DESC LIMIT ?)
          ORDER BY reported_at, event_id`,
      )
      .all(repositoryId, clampLimit(options.limit, 500, 10000)) as Row[];
    return rows.map(mapSizePoint);
  }

  /**
   * The newest size report of each repository that has one (of `repositoryIds`, or of
   * every registered repository): one indexed lookup per repository, so the cost follows
   * the repositories shown, not the years of reports kept.
   */
  latestSizes(repositoryIds?: readonly string[]): Map<string, RepositorySizePoint> {
    const ids = repositoryIds ?? (this.db.prepare('SELECT id FROM repositories').pluck().all() as string[]);
    const newest = this.db.prepare(
      'SELECT * FROM repository_stats WHERE repository_id = ? ORDER BY reported_at DESC, event_id DESC LIMIT 1',
    );
    const out = new Map<string, RepositorySizePoint>();
    for (const id of ids) {
      const row = newest.get(id) as Row | undefined;
      if (row) out.set(id, mapSizePoint(row));
    }
    return out;
  }

  private mapJob(row: Row): RepositoryJobView {
    return {
      ...mapJob(row),
      repositoryId: s(row, 'rj_repository_id') ?? this.soloRepositoryOf(s(row, 'rj_host_id')),
      toRepositoryId: s(row, 'rj_to_repository_id'),
    };
  }

  private soloRepositoryOf(hostId: string | null): string | null {
    if (hostId === null) return null;
    const raw: unknown = this.db
      .prepare('SELECT repository_ids FROM repository_hosts WHERE host_id = ?')
      .pluck()
      .get(hostId);
    if (typeof raw !== 'string') return null;
    const ids: unknown = JSON.parse(raw);
    return Array.isArray(ids) && ids.length === 1 && typeof ids[0] === 'string' ? ids[0] : null;
  }
}
