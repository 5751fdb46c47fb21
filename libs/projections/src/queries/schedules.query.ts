import type Database from 'better-sqlite3';
import { n, parsed, s, type Row } from './row-values';

export interface ScheduleFireView {
  readonly scheduleId: string;
  readonly lastScheduledAt: string;
  readonly lastFiredAt: string;
  readonly lastJobId: string | null;
  readonly fireCount: number;
}

export interface HostSchedulesView {
  readonly hostId: string;
  readonly desiredVersion: number | null;
  readonly desiredAt: string | null;
  /** The full desired list as recorded in SchedulesChanged. */
  readonly schedules: unknown[];
  readonly appliedVersion: number | null;
  readonly appliedAt: string | null;
  /** True when the agent confirmed the desired version. */
  readonly inSync: boolean;
  readonly fires: ScheduleFireView[];
}

export const mapScheduleFire = (row: Row): ScheduleFireView => ({
  scheduleId: s(row, 'schedule_id') ?? '',
  lastScheduledAt: s(row, 'last_scheduled_at') ?? '',
  lastFiredAt: s(row, 'last_fired_at') ?? '',
  lastJobId: s(row, 'last_job_id'),
  fireCount: n(row, 'fire_count') ?? 0,
});

export class SchedulesQuery {
  constructor(private readonly db: Database.Database) {}

  /** Always answers for a host id: a host without schedules has version null and an empty list. */
  forHost(hostId: string): HostSchedulesView {
    const row = this.db.prepare('SELECT * FROM schedule_sets WHERE host_id = ?').get(hostId) as
      Row | undefined;
    const fires = (
      this.db
        .prepare('SELECT * FROM schedule_fires WHERE host_id = ? ORDER BY schedule_id')
        .all(hostId) as Row[]
    ).map(mapScheduleFire);
    const desiredVersion = row ? n(row, 'desired_version') : null;
    const appliedVersion = row ? n(row, 'applied_version') : null;
    const list = row ? parsed(row, 'schedules') : null;
    return {
      hostId,
      desiredVersion,
      desiredAt: row ? s(row, 'desired_at') : null,
      schedules: Array.isArray(list) ? list : [],
      appliedVersion,
      appliedAt: row ? s(row, 'applied_at') : null,
      inSync: desiredVersion === null ? appliedVersion === null : appliedVersion === desiredVersion,
      fires,
    };
  }

  /** Hosts whose agent has not yet applied the desired version (to re-push on reconnect). */
  outOfSync(): Array<{ hostId: string; desiredVersion: number; appliedVersion: number | null }> {
    const rows = this.db
      .prepare(
        'SELECT host_id, desired_version, applied_version FROM schedule_sets WHERE desired_version IS NOT NULL AND (applied_version IS NULL OR applied_version <> desired_version) ORDER BY host_id',
      )
      .all() as Row[];
    return rows.map((r) => ({
      hostId: s(r, 'host_id') ?? '',
      desiredVersion: n(r, 'desired_version') ?? 0,
      appliedVersion: n(r, 'applied_version'),
    }));
  }
}
