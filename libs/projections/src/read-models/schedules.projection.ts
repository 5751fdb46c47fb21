import type { ProjectionDefinition } from '../engine/projection.definition';
import { eventTime, fields, json, list, num, str, streamEntityId, timeField, dataOf } from './event-fields';

/**
 * Desired schedule set (version + full list, from SchedulesChanged) against
 * what the agent confirmed (SchedulesApplied), plus the last fire of each
 * schedule. Versions only move forward, so a late or repeated event is a no-op.
 */
export const schedulesProjection: ProjectionDefinition = {
  name: 'schedules',
  version: 1,
  tables: [
    {
      name: 'schedule_sets',
      columns: `
        host_id TEXT PRIMARY KEY,
        desired_version INTEGER,
        desired_at TEXT,
        schedules TEXT NOT NULL DEFAULT '[]',
        applied_version INTEGER,
        applied_at TEXT`,
    },
    {
      name: 'schedule_fires',
      columns: `
        host_id TEXT NOT NULL,
        schedule_id TEXT NOT NULL,
        last_scheduled_at TEXT NOT NULL,
        last_fired_at TEXT NOT NULL,
        last_job_id TEXT,
        fire_count INTEGER NOT NULL,
        PRIMARY KEY (host_id, schedule_id)`,
    },
  ],
  indexes: [],
  eventTypes: ['SchedulesChanged', 'SchedulesApplied', 'ScheduleFired'],
  bind(db, table) {
    const sets = table('schedule_sets');
    const fires = table('schedule_fires');
    const changed = db.prepare(
      `INSERT INTO ${sets} (host_id, desired_version, desired_at, schedules) VALUES (@host_id, @version, @at, @schedules)
       ON CONFLICT(host_id) DO UPDATE SET desired_version = excluded.desired_version, desired_at = excluded.desired_at,
         schedules = excluded.schedules
       WHERE desired_version IS NULL OR excluded.desired_version > desired_version`,
    );
    const applied = db.prepare(
      `INSERT INTO ${sets} (host_id, applied_version, applied_at) VALUES (@host_id, @version, @at)
       ON CONFLICT(host_id) DO UPDATE SET applied_version = excluded.applied_version, applied_at = excluded.applied_at
       WHERE applied_version IS NULL OR excluded.applied_version >= applied_version`,
    );
    const fired = db.prepare(
      `INSERT INTO ${fires} (host_id, schedule_id, last_scheduled_at, last_fired_at, last_job_id, fire_count)
       VALUES (@host_id, @schedule_id, @scheduled_at, @at, @job_id, 1)
       ON CONFLICT(host_id, schedule_id) DO UPDATE SET
         fire_count = fire_count + 1,
         last_scheduled_at = MAX(last_scheduled_at, excluded.last_scheduled_at),
         last_fired_at = MAX(last_fired_at, excluded.last_fired_at),
         last_job_id = CASE WHEN excluded.last_scheduled_at >= last_scheduled_at THEN COALESCE(excluded.last_job_id, last_job_id) ELSE last_job_id END`,
    );
    return {
      apply(e) {
        const hostId =
          streamEntityId(e.streamId, 'schedules') ?? str(fields<{ host_id: string }>(e.data), 'host_id');
        if (hostId === null) return;
        switch (e.type) {
          case 'SchedulesChanged': {
            const d = dataOf(e, 'SchedulesChanged');
            const version = num(d, 'version');
            if (version === null) return;
            changed.run({
              host_id: hostId,
              version,
              at: eventTime(e),
              schedules: json(list(d, 'schedules')) ?? '[]',
            });
            return;
          }
          case 'SchedulesApplied': {
            const d = dataOf(e, 'SchedulesApplied');
            const version = num(d, 'version');
            if (version === null) return;
            applied.run({ host_id: hostId, version, at: timeField(d, 'applied_at', e) });
            return;
          }
          case 'ScheduleFired': {
            const d = dataOf(e, 'ScheduleFired');
            const scheduleId = str(d, 'schedule_id');
            if (scheduleId === null) return;
            fired.run({
              host_id: hostId,
              schedule_id: scheduleId,
              scheduled_at: timeField(d, 'scheduled_at', e),
              at: eventTime(e),
              job_id: str(d, 'job_id'),
            });
            return;
          }
        }
      },
    };
  },
};
