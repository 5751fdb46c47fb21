import type Database from 'better-sqlite3';
import { clampLimit, n, s, type Row } from './row-values';

export interface JobLogLineView {
  readonly seq: number;
  readonly ts: string;
  readonly stream: string;
  readonly payload: string;
}

export const mapJobLogLine = (row: Row): JobLogLineView => ({
  seq: n(row, 'seq') ?? 0,
  ts: s(row, 'ts') ?? '',
  stream: s(row, 'stream') ?? 'stdout',
  payload: s(row, 'payload') ?? '',
});

/**
 * The persisted job log behind `/api/jobs/{id}/logs` and the live page's
 * catch-up.
 *
 * Retention (decided here): lines are removed, not marked. The control plane
 * calls `pruneFinishedBefore(now - logRetentionDays)` periodically, the same
 * age as the `joblog-*` streams' `maxAge`; a job's lines go once the job
 * finished before the cutoff (per job, along the primary key, so the hot insert
 * path needs no timestamp index). The job row keeps its counters and outcome
 * forever, so a job whose log expired shows `logLineCount > 0` and no lines.
 * A rebuild after the store has expired the telemetry produces the same result.
 */
export class JobLogQuery {
  constructor(private readonly db: Database.Database) {}

  lines(jobId: string, options: { afterSeq?: number; limit?: number } = {}): JobLogLineView[] {
    const rows = this.db
      .prepare(
        'SELECT seq, ts, stream, payload FROM job_log_lines WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?',
      )
      .all(jobId, options.afterSeq ?? -1, clampLimit(options.limit, 1000, 10000)) as Row[];
    return rows.map(mapJobLogLine);
  }

  /** Deletes the lines of jobs that finished before `cutoffIso`; returns how many lines went. */
  pruneFinishedBefore(cutoffIso: string): number {
    return this.db
      .prepare('DELETE FROM job_log_lines WHERE job_id IN (SELECT id FROM jobs WHERE finished_at < ?)')
      .run(cutoffIso).changes;
  }
}
