import type { Snapshot } from '@rf/events';
import type { ProjectionDefinition } from '../engine/projection.definition';
import { fields, json, list, num, str, streamEntityId, timeField, dataOf } from './event-fields';

/** Each SnapshotsReported carries the host's full list, so it replaces the host's rows. */
export const snapshotsProjection: ProjectionDefinition = {
  name: 'snapshots',
  version: 1,
  tables: [
    {
      name: 'snapshots',
      columns: `
        host_id TEXT NOT NULL,
        snapshot_id TEXT NOT NULL,
        short_id TEXT,
        time TEXT,
        hostname TEXT,
        paths TEXT,
        tags TEXT,
        parent TEXT,
        size_bytes INTEGER,
        file_count INTEGER,
        reported_at TEXT NOT NULL,
        PRIMARY KEY (host_id, snapshot_id)`,
    },
  ],
  indexes: [{ name: 'snapshots_by_host_time', table: 'snapshots', columns: 'host_id, time' }],
  eventTypes: ['SnapshotsReported'],
  bind(db, table) {
    const snapshots = table('snapshots');
    const clear = db.prepare(`DELETE FROM ${snapshots} WHERE host_id = ?`);
    const insert = db.prepare(
      `INSERT OR REPLACE INTO ${snapshots}
         (host_id, snapshot_id, short_id, time, hostname, paths, tags, parent, size_bytes, file_count, reported_at)
       VALUES (@host_id, @snapshot_id, @short_id, @time, @hostname, @paths, @tags, @parent, @size_bytes, @file_count, @reported_at)`,
    );
    return {
      apply(e) {
        const d = dataOf(e, 'SnapshotsReported');
        const hostId = streamEntityId(e.streamId, 'snapshots') ?? str(d, 'host_id');
        if (hostId === null) return;
        const reportedAt = timeField(d, 'reported_at', e);
        clear.run(hostId);
        for (const raw of list(d, 'snapshots')) {
          const s = fields<Snapshot>(raw);
          const id = str(s, 'id');
          if (id === null) continue;
          insert.run({
            host_id: hostId,
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
      },
    };
  },
};
