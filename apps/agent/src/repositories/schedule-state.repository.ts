import * as path from 'node:path';
import { JsonStateFile } from './state-file.repository';

/** One schedule as the agent keeps it: what it needs to tick and to run hooks. */
export interface StoredSchedule {
  id: string;
  cron_expr: string;
  enabled: boolean;
  timezone?: string;
  pre_hook?: string;
  post_hook?: string;
  hook_timeout_s?: number;
  /** The server's full entry, kept verbatim for diagnostics. */
  raw: Record<string, unknown>;
}

export interface StoredScheduleSet {
  version: number;
  applied_at: string;
  schedules: StoredSchedule[];
}

/** Per schedule: when it last fired, and since when it has been armed (baseline for missed ticks). */
export interface FireRecord {
  since: string;
  last_fire?: string;
}

export type FireRecords = Record<string, FireRecord>;

function parseSet(o: Record<string, unknown>): StoredScheduleSet {
  if (typeof o.version !== 'number' || typeof o.applied_at !== 'string' || !Array.isArray(o.schedules)) {
    throw new Error('expected version, applied_at and schedules');
  }
  return { version: o.version, applied_at: o.applied_at, schedules: o.schedules as StoredSchedule[] };
}

function parseFires(o: Record<string, unknown>): FireRecords {
  const fires = o.fires;
  if (typeof fires !== 'object' || fires === null || Array.isArray(fires)) throw new Error('expected fires');
  return fires as FireRecords;
}

/** `schedules.json` (the applied set) and `schedule-fires.json` (last fire per schedule), both atomic. */
export class ScheduleStateRepository {
  private readonly setFile: JsonStateFile<StoredScheduleSet>;
  private readonly firesFile: JsonStateFile<{ fires: FireRecords }>;

  constructor(stateDir: string) {
    this.setFile = new JsonStateFile(path.join(stateDir, 'schedules.json'), 1, parseSet);
    this.firesFile = new JsonStateFile(path.join(stateDir, 'schedule-fires.json'), 1, (o) => ({
      fires: parseFires(o),
    }));
  }

  readSet(): StoredScheduleSet | undefined {
    return this.setFile.read();
  }

  writeSet(set: StoredScheduleSet): void {
    this.setFile.write(set);
  }

  readFires(): FireRecords | undefined {
    return this.firesFile.read()?.fires;
  }

  writeFires(fires: FireRecords): void {
    this.firesFile.write({ fires });
  }
}
