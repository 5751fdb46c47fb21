import type { ProjectionDefinition } from '../engine/projection.definition';
import { num, str, streamEntityId, timeField, dataOf } from './event-fields';

/** Every RepoStatsReported is a point of the host's history (charts); the latest is the newest `reported_at`. */
export const repoStatsProjection: ProjectionDefinition = {
  name: 'repo-stats',
  version: 1,
  tables: [
    {
      name: 'repo_stats',
      columns: `
        event_id TEXT PRIMARY KEY,
        host_id TEXT NOT NULL,
        reported_at TEXT NOT NULL,
        total_size INTEGER,
        raw_total_size INTEGER,
        snapshots_count INTEGER,
        total_file_count INTEGER,
        compression_ratio REAL,
        job_id TEXT,
        last_check_at TEXT,
        last_check_status TEXT`,
    },
  ],
  indexes: [{ name: 'repo_stats_by_host_time', table: 'repo_stats', columns: 'host_id, reported_at' }],
  eventTypes: ['RepoStatsReported'],
  bind(db, table) {
    const insert = db.prepare(
      `INSERT OR IGNORE INTO ${table('repo_stats')}
         (event_id, host_id, reported_at, total_size, raw_total_size, snapshots_count, total_file_count, compression_ratio,
          job_id, last_check_at, last_check_status)
       VALUES (@event_id, @host_id, @reported_at, @total_size, @raw_total_size, @snapshots_count, @total_file_count,
          @compression_ratio, @job_id, @last_check_at, @last_check_status)`,
    );
    return {
      apply(e) {
        const d = dataOf(e, 'RepoStatsReported');
        const hostId = streamEntityId(e.streamId, 'host') ?? str(d, 'host_id');
        if (hostId === null) return;
        insert.run({
          event_id: e.id,
          host_id: hostId,
          reported_at: timeField(d, 'reported_at', e),
          total_size: num(d, 'total_size_bytes'),
          raw_total_size: num(d, 'raw_size_bytes'),
          snapshots_count: num(d, 'snapshot_count'),
          total_file_count: num(d, 'file_count'),
          compression_ratio: num(d, 'compression_ratio'),
          job_id: str(d, 'job_id'),
          last_check_at: str(d, 'last_check_at'),
          last_check_status: str(d, 'last_check_status'),
        });
      },
    };
  },
};
