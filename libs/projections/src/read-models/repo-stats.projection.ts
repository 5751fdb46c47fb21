import type { ProjectionDefinition } from '../engine/projection.definition';
import { fields, json, num, str, streamEntityId, timeField } from './event-fields';

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
        total_file_count INTEGER,
        snapshots_count INTEGER,
        raw_total_size INTEGER,
        compression_ratio REAL,
        details TEXT`,
    },
  ],
  indexes: [{ name: 'repo_stats_by_host_time', table: 'repo_stats', columns: 'host_id, reported_at' }],
  eventTypes: ['RepoStatsReported'],
  bind(db, table) {
    const insert = db.prepare(
      `INSERT OR IGNORE INTO ${table('repo_stats')}
         (event_id, host_id, reported_at, total_size, total_file_count, snapshots_count, raw_total_size, compression_ratio, details)
       VALUES (@event_id, @host_id, @reported_at, @total_size, @total_file_count, @snapshots_count, @raw_total_size, @compression_ratio, @details)`,
    );
    return {
      apply(e) {
        const d = fields(e.data);
        const hostId = streamEntityId(e.streamId, 'host') ?? str(d, 'host_id');
        if (hostId === null) return;
        insert.run({
          event_id: e.id,
          host_id: hostId,
          reported_at: timeField(d, 'reported_at', e),
          total_size: num(d, 'total_size'),
          total_file_count: num(d, 'total_file_count'),
          snapshots_count: num(d, 'snapshots_count'),
          raw_total_size: num(d, 'total_uncompressed_size') ?? num(d, 'raw_total_size'),
          compression_ratio: num(d, 'compression_ratio'),
          details: json(d),
        });
      },
    };
  },
};
