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

/** What one bounded retention step did. */
export interface LogPruneStep {
  /** Lines deleted by this step. */
  readonly removed: number;
  /** True when no expired job with lines is left before the cutoff. */
  readonly done: boolean;
}

/** What one bounded reclaim step did. */
export interface ReclaimStep {
  /** Free pages returned to the file system by this step. */
  readonly pagesFreed: number;
  /** Free pages still inside the file afterwards. */
  readonly freePages: number;
  /** False when the file was created without incremental auto_vacuum: its free pages are only reused. */
  readonly incremental: boolean;
}

/**
 * The persisted job log behind `/api/jobs/{id}/logs` and the live page's
 * catch-up.
 *
 * Retention (decided here, docs/architecture.md "Read-model retention"): lines
 * are removed, not marked, once their job finished before `now -
 * logRetentionDays`, the `joblog-*` streams' `maxAge`. The control plane calls
 * `pruneStep` repeatedly, each call a short transaction of at most `maxLines`
 * deletes, so the projection writer and readers on the same connection get
 * their turn in between; `reclaimStep` then hands the freed pages back to the
 * file system a bounded number at a time. A watermark (finished_at, id) of the
 * last job cleared keeps each pass to the jobs that expired since the last
 * one, so a pass costs what expired, not the whole history; a rebuild (new
 * generation) starts it over. The job row keeps its counters and outcome
 * forever, so a job whose log expired shows `logLineCount > 0` and no lines.
 */
export class JobLogQuery {
  constructor(private readonly db: Database.Database) {}

  lines(jobId: string, options: { afterSeq?: number; limit?: number } = {}): JobLogLineView[] {
    const rows = this.db
      .prepare(
        `SELECT l.seq, l.ts, l.stream, l.payload FROM jobs j JOIN job_log_lines l ON l.log_key = j.log_key
         WHERE j.id = ? AND l.seq > ? ORDER BY l.seq LIMIT ?`,
      )
      .all(jobId, options.afterSeq ?? -1, clampLimit(options.limit, 1000, 10000)) as Row[];
    return rows.map(mapJobLogLine);
  }

  /**
   * Deletes up to `maxLines` lines of jobs that finished before `cutoffIso`,
   * oldest job first, in one transaction.
   */
  pruneStep(cutoffIso: string, maxLines = 5000): LogPruneStep {
    return this.db.transaction((): LogPruneStep => {
      const mark = this.watermark();
      const jobs = this.db
        .prepare(
          `SELECT id, finished_at, log_key FROM jobs
           WHERE finished_at < @cutoff AND (finished_at, id) > (@at, @id)
           ORDER BY finished_at, id LIMIT 100`,
        )
        .all({ cutoff: cutoffIso, at: mark.at, id: mark.id }) as Array<{
        id: string;
        finished_at: string;
        log_key: number;
      }>;
      const remove = this.db.prepare(
        `DELETE FROM job_log_lines WHERE log_key = @key AND seq IN
           (SELECT seq FROM job_log_lines WHERE log_key = @key ORDER BY seq LIMIT @limit)`,
      );
      let removed = 0;
      let cleared: { id: string; finished_at: string } | undefined;
      for (const job of jobs) {
        const budget = maxLines - removed;
        if (budget <= 0) break;
        const n = remove.run({ key: job.log_key, limit: budget }).changes;
        removed += n;
        if (n === budget) break; // this job may have lines left: the next step resumes it
        cleared = job;
      }
      if (cleared) this.saveWatermark(cleared.finished_at, cleared.id);
      return { removed, done: jobs.length === 0 || (cleared === jobs.at(-1) && jobs.length < 100) };
    })();
  }

  /** Returns up to `maxPages` free pages to the file system (incremental auto_vacuum). */
  reclaimStep(maxPages = 2000): ReclaimStep {
    const incremental = this.db.pragma('auto_vacuum', { simple: true }) === 2;
    const before = Number(this.db.pragma('freelist_count', { simple: true }));
    if (incremental && before > 0) this.db.pragma(`incremental_vacuum(${Math.max(1, Math.floor(maxPages))})`);
    const after = Number(this.db.pragma('freelist_count', { simple: true }));
    return { pagesFreed: before - after, freePages: after, incremental };
  }

  private watermark(): { at: string; id: string } {
    this.db.exec(
      `CREATE TABLE IF NOT EXISTS job_log_retention (
         one INTEGER PRIMARY KEY CHECK (one = 1), generation INTEGER NOT NULL, at TEXT NOT NULL, id TEXT NOT NULL)`,
    );
    const row = this.db.prepare('SELECT generation, at, id FROM job_log_retention').get() as
      { generation: number; at: string; id: string } | undefined;
    if (!row || row.generation !== this.generation()) return { at: '', id: '' };
    return { at: row.at, id: row.id };
  }

  private saveWatermark(at: string, id: string): void {
    this.db
      .prepare(
        `INSERT INTO job_log_retention (one, generation, at, id) VALUES (1, @g, @at, @id)
         ON CONFLICT (one) DO UPDATE SET generation = excluded.generation, at = excluded.at, id = excluded.id`,
      )
      .run({ g: this.generation(), at, id });
  }

  /** Bumped by every rebuild that swaps tables in (ProjectionStateRepository). */
  private generation(): number {
    const row = this.db.prepare("SELECT value FROM read_models_meta WHERE key = 'generation'").get() as
      { value: number } | undefined;
    return row?.value ?? 0;
  }
}
