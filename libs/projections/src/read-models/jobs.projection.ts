import type Database from 'better-sqlite3';
import {
  JOB_FINAL_STATUSES,
  type JobFinishedData,
  type JobLostData,
  type JobRejectedData,
  type JobStatus,
  type LogStreamLineData,
  type RecordedEvent,
} from '@rf/events';
import type { ProjectionDefinition } from '../engine/projection.definition';
import {
  actorOf,
  fields,
  json,
  dataOf,
  num,
  str,
  streamEntityId,
  timeField,
  type Fields,
} from './event-fields';

const FINISHED_STATUSES: ReadonlySet<string> = new Set(JOB_FINAL_STATUSES);
const TERMINAL: ReadonlySet<string> = new Set([...JOB_FINAL_STATUSES, 'lost']);

/** Maps restic's exit code to a status when JobFinished carries no valid status (3 = snapshot with warnings). */
const statusFromExit = (exitCode: number | null): JobStatus =>
  exitCode === 0 ? 'succeeded' : exitCode === 3 ? 'warning' : 'failed';

/** Rows per multi-row INSERT of log lines (5 parameters each, well under SQLite's limit). */
const LINES_PER_INSERT = 100;

/** Where each terminal event keeps its own time. */
const TERMINAL_TIME_FIELD: Readonly<Record<string, 'finished_at' | 'rejected_at' | 'lost_at'>> = {
  JobFinished: 'finished_at',
  JobRejected: 'rejected_at',
  JobLost: 'lost_at',
};

/**
 * Jobs and their persisted log. A job's lifecycle comes from `job-{id}`, its
 * progress and log lines from `joblog-{id}` (docs/architecture.md, "Event catalog"). Statuses only move
 * forward (queued → dispatched → running → terminal); a late or repeated
 * lifecycle event never reopens a finished job. Log lines are keyed by
 * (job, seq), so a line delivered twice is stored and counted once.
 */
export const jobsProjection: ProjectionDefinition = {
  name: 'jobs',
  // 3: dropped lines no longer depend on whether the last drop marker came before or after JobFinished.
  version: 3,
  tables: [
    {
      name: 'jobs',
      columns: `
        id TEXT PRIMARY KEY,
        host_id TEXT,
        kind TEXT,
        args TEXT,
        status TEXT NOT NULL,
        actor_kind TEXT,
        actor_id TEXT,
        actor_name TEXT,
        schedule_id TEXT,
        requested_at TEXT,
        dispatched_at TEXT,
        accepted_at TEXT,
        started_at TEXT,
        finished_at TEXT,
        cancel_requested_at TEXT,
        exit_code INTEGER,
        stats TEXT,
        error TEXT,
        error_code TEXT,
        percent_done REAL,
        files_done INTEGER,
        total_files INTEGER,
        bytes_done INTEGER,
        total_bytes INTEGER,
        eta_seconds REAL,
        bytes_per_second REAL,
        progress_at TEXT,
        log_line_count INTEGER NOT NULL DEFAULT 0,
        last_seq INTEGER,
        dropped_lines INTEGER NOT NULL DEFAULT 0,
        dropped_markers INTEGER NOT NULL DEFAULT 0,
        dropped_reported INTEGER NOT NULL DEFAULT 0`,
    },
    {
      name: 'job_log_lines',
      columns: `
        job_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        ts TEXT NOT NULL,
        stream TEXT NOT NULL,
        payload TEXT NOT NULL,
        PRIMARY KEY (job_id, seq)`,
      options: 'WITHOUT ROWID',
    },
  ],
  indexes: [
    { name: 'jobs_by_host', table: 'jobs', columns: 'host_id, requested_at' },
    { name: 'jobs_by_status', table: 'jobs', columns: 'status' },
    { name: 'jobs_by_requested', table: 'jobs', columns: 'requested_at' },
    { name: 'jobs_by_finished', table: 'jobs', columns: 'finished_at' },
  ],
  eventTypes: [
    'JobRequested',
    'JobDispatched',
    'JobAccepted',
    'JobRejected',
    'JobStarted',
    'JobCancelRequested',
    'JobFinished',
    'JobLost',
    'JobProgress',
    'LogStreamLine',
    'LogLinesDropped',
  ],
  bind(db, table) {
    const jobs = table('jobs');
    const lines = table('job_log_lines');
    const open = `status NOT IN ('succeeded', 'warning', 'failed', 'cancelled', 'lost')`;
    const insertJob = db.prepare(
      `INSERT INTO ${jobs} (id, host_id, kind, args, status, actor_kind, actor_id, actor_name, schedule_id, requested_at)
       VALUES (@id, @host_id, @kind, @args, 'queued', @actor_kind, @actor_id, @actor_name, @schedule_id, @requested_at)
       ON CONFLICT(id) DO UPDATE SET host_id = excluded.host_id, kind = excluded.kind, args = excluded.args,
         actor_kind = excluded.actor_kind, actor_id = excluded.actor_id, actor_name = excluded.actor_name,
         schedule_id = excluded.schedule_id, requested_at = excluded.requested_at
       WHERE requested_at IS NULL`,
    );
    // A lifecycle event seen before JobRequested (a damaged or truncated log) still gets a visible row.
    const ensureJob = db.prepare(`INSERT OR IGNORE INTO ${jobs} (id, status) VALUES (?, 'queued')`);
    const dispatched = db.prepare(
      `UPDATE ${jobs} SET status = CASE WHEN status = 'queued' THEN 'dispatched' ELSE status END,
         dispatched_at = COALESCE(dispatched_at, @at) WHERE id = @id`,
    );
    const accepted = db.prepare(`UPDATE ${jobs} SET accepted_at = COALESCE(accepted_at, @at) WHERE id = @id`);
    const started = db.prepare(
      `UPDATE ${jobs} SET status = CASE WHEN status IN ('queued', 'dispatched') THEN 'running' ELSE status END,
         started_at = COALESCE(started_at, @at), kind = COALESCE(kind, @kind) WHERE id = @id`,
    );
    const cancelRequested = db.prepare(
      `UPDATE ${jobs} SET cancel_requested_at = COALESCE(cancel_requested_at, @at) WHERE id = @id`,
    );
    const finished = db.prepare(
      `UPDATE ${jobs} SET status = @status, finished_at = @at, exit_code = @exit_code, stats = @stats, error = @error,
         error_code = @error_code,
         dropped_reported = MAX(dropped_reported, COALESCE(@dropped, 0)),
         dropped_lines = MAX(dropped_markers, dropped_reported, COALESCE(@dropped, 0)),
         percent_done = CASE WHEN @status IN ('succeeded', 'warning') THEN 1 ELSE percent_done END
       WHERE id = @id AND (${open} OR (@late_report = 1 AND status = 'lost'))`,
    );
    const progress = db.prepare(
      `UPDATE ${jobs} SET percent_done = @percent_done, files_done = @files_done, total_files = @total_files,
         bytes_done = @bytes_done, total_bytes = @total_bytes, eta_seconds = @eta_seconds,
         bytes_per_second = @bytes_per_second, progress_at = @at,
         status = CASE WHEN status IN ('queued', 'dispatched') THEN 'running' ELSE status END
       WHERE id = @id AND ${open} AND (progress_at IS NULL OR progress_at <= @at)`,
    );
    // Log lines are the bulk of the log: they are buffered per batch and written with multi-row
    // inserts, then each job's counters are updated once. The outcome does not depend on where batch
    // boundaries fall: lines are inserted in log order (INSERT OR IGNORE keeps the first of a repeated
    // seq) and the counter update is an upsert.
    const insertLinesStatements = new Map<number, Database.Statement>();
    const insertLines = (rows: number): Database.Statement => {
      let st = insertLinesStatements.get(rows);
      if (st === undefined) {
        st = db.prepare(
          `INSERT OR IGNORE INTO ${lines} (job_id, seq, ts, stream, payload) VALUES ${Array(rows).fill('(?, ?, ?, ?, ?)').join(', ')}`,
        );
        insertLinesStatements.set(rows, st);
      }
      return st;
    };
    const countLines = db.prepare(
      `INSERT INTO ${jobs} (id, status, log_line_count, last_seq) VALUES (@id, 'queued', @count, @max_seq)
       ON CONFLICT(id) DO UPDATE SET log_line_count = log_line_count + @count,
         last_seq = CASE WHEN last_seq IS NULL OR @max_seq > last_seq THEN @max_seq ELSE last_seq END`,
    );
    const pendingLines = new Map<string, { params: Array<string | number>; maxSeq: number }>();
    // The agent's JobFinished total already includes drop markers it sends after it (the outbox
    // drains in order, the marker may trail the outcome): the larger of the two is the count.
    const linesDropped = db.prepare(
      `UPDATE ${jobs} SET dropped_markers = dropped_markers + @count,
         dropped_lines = MAX(dropped_markers + @count, dropped_reported) WHERE id = @id`,
    );

    const lifecycleId = (e: RecordedEvent, d: Fields<{ job_id?: string }>): string | null =>
      streamEntityId(e.streamId, 'job') ?? str(d, 'job_id');
    const logId = (e: RecordedEvent, d: Fields<{ job_id?: string }>): string | null =>
      streamEntityId(e.streamId, 'joblog') ?? str(d, 'job_id');

    const applyLine = (jobId: string, line: Fields<LogStreamLineData>, e: RecordedEvent): void => {
      const seq = num(line, 'seq');
      if (seq === null || !Number.isInteger(seq)) return;
      // Schema v1 called it `line`; the writer has already upcast it to `payload`.
      const payload = str(line, 'payload') ?? '';
      const stream = str(line, 'stream') ?? 'stdout';
      let pending = pendingLines.get(jobId);
      if (pending === undefined) {
        pending = { params: [], maxSeq: seq };
        pendingLines.set(jobId, pending);
      }
      pending.params.push(jobId, seq, timeField(line, 'ts', e), stream, payload);
      if (seq > pending.maxSeq) pending.maxSeq = seq;
    };

    return {
      endBatch() {
        for (const [id, pending] of pendingLines) {
          let inserted = 0;
          const rows = pending.params.length / 5;
          for (let r = 0; r < rows; r += LINES_PER_INSERT) {
            const n = Math.min(LINES_PER_INSERT, rows - r);
            inserted += insertLines(n).run(pending.params.slice(r * 5, (r + n) * 5)).changes;
          }
          // A repeated line (already stored) is not counted; its seq is already within last_seq.
          if (inserted > 0) countLines.run({ id, count: inserted, max_seq: pending.maxSeq });
        }
        pendingLines.clear();
      },
      apply(e) {
        switch (e.type) {
          case 'LogStreamLine': {
            const d = dataOf(e, 'LogStreamLine');
            const id = logId(e, d);
            if (id !== null) applyLine(id, d, e);
            return;
          }
          case 'JobProgress': {
            const d = dataOf(e, 'JobProgress');
            const id = logId(e, d);
            if (id === null) return;
            progress.run({
              id,
              percent_done: num(d, 'percent_done'),
              files_done: num(d, 'files_done'),
              total_files: num(d, 'total_files'),
              bytes_done: num(d, 'bytes_done'),
              total_bytes: num(d, 'total_bytes'),
              eta_seconds: num(d, 'eta_seconds'),
              bytes_per_second: num(d, 'throughput_bps'),
              at: timeField(d, 'ts', e),
            });
            return;
          }
          case 'LogLinesDropped': {
            const d = dataOf(e, 'LogLinesDropped');
            const id = logId(e, d);
            const count = num(d, 'count');
            if (id === null || count === null) return;
            linesDropped.run({ id, count });
            return;
          }
          case 'JobRequested': {
            const d = dataOf(e, 'JobRequested');
            const id = lifecycleId(e, d);
            if (id === null) return;
            const actor = actorOf(e);
            insertJob.run({
              id,
              host_id: str(d, 'host_id'),
              kind: str(d, 'kind'),
              args: json(d['args'] ?? null),
              actor_kind: actor?.kind ?? null,
              actor_id: actor?.id ?? null,
              actor_name: actor?.name ?? null,
              schedule_id: str(d, 'schedule_id'),
              requested_at: timeField(d, 'requested_at', e),
            });
            return;
          }
          case 'JobDispatched': {
            const d = dataOf(e, 'JobDispatched');
            const id = lifecycleId(e, d);
            if (id === null) return;
            ensureJob.run(id);
            dispatched.run({ id, at: timeField(d, 'dispatched_at', e) });
            return;
          }
          case 'JobAccepted': {
            const d = dataOf(e, 'JobAccepted');
            const id = lifecycleId(e, d);
            if (id === null) return;
            ensureJob.run(id);
            accepted.run({ id, at: timeField(d, 'accepted_at', e) });
            return;
          }
          case 'JobStarted': {
            const d = dataOf(e, 'JobStarted');
            const id = lifecycleId(e, d);
            if (id === null) return;
            ensureJob.run(id);
            started.run({ id, at: timeField(d, 'started_at', e), kind: str(d, 'kind') });
            return;
          }
          case 'JobCancelRequested': {
            const d = dataOf(e, 'JobCancelRequested');
            const id = lifecycleId(e, d);
            if (id === null) return;
            ensureJob.run(id);
            cancelRequested.run({ id, at: timeField(d, 'requested_at', e) });
            return;
          }
          case 'JobRejected':
          case 'JobFinished':
          case 'JobLost': {
            // One reader over the three terminal payloads; each field is read only where it exists.
            const d = fields<Partial<JobFinishedData & JobRejectedData & JobLostData>>(e.data);
            const id = lifecycleId(e, d);
            if (id === null) return;
            ensureJob.run(id);
            const exitCode = num(d, 'exit_code');
            const raw = str(d, 'status');
            const status: JobStatus =
              e.type === 'JobLost'
                ? 'lost'
                : e.type === 'JobRejected'
                  ? 'failed'
                  : raw !== null && FINISHED_STATUSES.has(raw)
                    ? (raw as JobStatus)
                    : statusFromExit(exitCode);
            finished.run({
              id,
              status,
              at: timeField(d, TERMINAL_TIME_FIELD[e.type] ?? 'finished_at', e),
              exit_code: exitCode,
              stats: json(d['stats'] ?? null),
              error: str(d, 'error') ?? str(d, 'reason'),
              error_code:
                str(d, 'error_code') ??
                (e.type === 'JobLost' ? 'lost' : e.type === 'JobRejected' ? 'rejected' : null),
              dropped: num(d, 'dropped_log_lines'),
              // The agent's own report outranks JobLost (the server's guess); JobLost stays in the audit trail.
              late_report: e.type === 'JobFinished' ? 1 : 0,
            });
            return;
          }
        }
      },
    };
  },
};

export const isTerminalStatus = (status: string): boolean => TERMINAL.has(status);
