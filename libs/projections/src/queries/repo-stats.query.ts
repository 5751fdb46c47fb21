import type Database from 'better-sqlite3';
import { clampLimit, n, s, type Row } from './row-values';

export interface RepoStatsView {
  readonly reportedAt: string;
  readonly totalSize: number | null;
  readonly totalFileCount: number | null;
  readonly snapshotsCount: number | null;
  readonly rawTotalSize: number | null;
  readonly compressionRatio: number | null;
  readonly jobId: string | null;
  readonly lastCheckAt: string | null;
  readonly lastCheckStatus: string | null;
}

export const mapRepoStats = (row: Row): RepoStatsView => ({
  reportedAt: s(row, 'reported_at') ?? '',
  totalSize: n(row, 'total_size'),
  totalFileCount: n(row, 'total_file_count'),
  snapshotsCount: n(row, 'snapshots_count'),
  rawTotalSize: n(row, 'raw_total_size'),
  compressionRatio: n(row, 'compression_ratio'),
  jobId: s(row, 'job_id'),
  lastCheckAt: s(row, 'last_check_at'),
  lastCheckStatus: s(row, 'last_check_status'),
});

export class RepoStatsQuery {
  constructor(private readonly db: Database.Database) {}

  latest(hostId: string): RepoStatsView | null {
    const row = this.db
      .prepare('SELECT * FROM repo_stats WHERE host_id = ? ORDER BY reported_at DESC, event_id DESC LIMIT 1')
      .get(hostId) as Row | undefined;
    return row ? mapRepoStats(row) : null;
  }

  /** Oldest first, for charts; `since` is an ISO time; at most `limit` (default 500) most recent points. */
  history(hostId: string, options: { since?: string; limit?: number } = {}): RepoStatsView[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM (SELECT * FROM repo_stats WHERE host_id = ? AND reported_at >= ? ORDER BY reported_at DESC, event_id DESC LIMIT ?)
         ORDER BY reported_at, event_id`,
      )
      .all(hostId, options.since ?? '', clampLimit(options.limit, 500, 10000)) as Row[];
    return rows.map(mapRepoStats);
  }
}
