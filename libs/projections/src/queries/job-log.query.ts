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
 * catch-up. Retention: lines are removed (not marked) by `pruneOlderThan`, which
 * the control plane runs periodically with the same age as the `joblog-*`
 * streams' `maxAge`; the job row keeps its counters, so a job whose log
 * expired shows `logLineCount > 0` with no lines.
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

  /** Deletes lines whose own timestamp is before `cutoffIso`; returns how many. */
  pruneOlderThan(cutoffIso: string): number {
    return this.db.prepare('DELETE FROM job_log_lines WHERE ts < ?').run(cutoffIso).changes;
  }
}
