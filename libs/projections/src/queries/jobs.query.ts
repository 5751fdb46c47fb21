import type Database from 'better-sqlite3';
import { JOB_STATUSES, type JobStatus } from '@rf/events';
import { ProjectionError } from '../engine/projection.errors';
import { clampLimit, n, parsed, s, type Row } from './row-values';

export interface JobProgressView {
  readonly percentDone: number | null;
  readonly filesDone: number | null;
  readonly totalFiles: number | null;
  readonly bytesDone: number | null;
  readonly totalBytes: number | null;
  readonly etaSeconds: number | null;
  readonly bytesPerSecond: number | null;
  readonly at: string;
}

export interface JobView {
  readonly id: string;
  readonly hostId: string | null;
  readonly kind: string | null;
  readonly args: unknown;
  readonly status: JobStatus;
  readonly actor: { readonly kind: string; readonly id: string; readonly name: string | null } | null;
  readonly scheduleId: string | null;
  readonly repositoryId: string | null;
  readonly requestedAt: string | null;
  readonly dispatchedAt: string | null;
  readonly acceptedAt: string | null;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly cancelRequestedAt: string | null;
  readonly exitCode: number | null;
  readonly stats: unknown;
  readonly error: string | null;
  /** Machine-readable cause (`repo_locked`, `wrong_password`, `lost`, `rejected`, …). */
  readonly errorCode: string | null;
  readonly progress: JobProgressView | null;
  readonly logLineCount: number;
  readonly lastSeq: number | null;
  /** Lines the agent reported dropping (LogLinesDropped, or JobFinished's count if larger). */
  readonly droppedLines: number;
}

export function mapJob(row: Row): JobView {
  const actorKind = s(row, 'actor_kind');
  const actorId = s(row, 'actor_id');
  const progressAt = s(row, 'progress_at');
  return {
    id: s(row, 'id') ?? '',
    hostId: s(row, 'host_id'),
    kind: s(row, 'kind'),
    args: parsed(row, 'args'),
    status: (s(row, 'status') ?? 'queued') as JobStatus,
    actor:
      actorKind !== null && actorId !== null
        ? { kind: actorKind, id: actorId, name: s(row, 'actor_name') }
        : null,
    scheduleId: s(row, 'schedule_id'),
    repositoryId: s(row, 'repository_id'),
    requestedAt: s(row, 'requested_at'),
    dispatchedAt: s(row, 'dispatched_at'),
    acceptedAt: s(row, 'accepted_at'),
    startedAt: s(row, 'started_at'),
    finishedAt: s(row, 'finished_at'),
    cancelRequestedAt: s(row, 'cancel_requested_at'),
    exitCode: n(row, 'exit_code'),
    stats: parsed(row, 'stats'),
    error: s(row, 'error'),
    errorCode: s(row, 'error_code'),
    progress:
      progressAt === null
        ? null
        : {
            percentDone: n(row, 'percent_done'),
            filesDone: n(row, 'files_done'),
            totalFiles: n(row, 'total_files'),
            bytesDone: n(row, 'bytes_done'),
            totalBytes: n(row, 'total_bytes'),
            etaSeconds: n(row, 'eta_seconds'),
            bytesPerSecond: n(row, 'bytes_per_second'),
            at: progressAt,
          },
    logLineCount: n(row, 'log_line_count') ?? 0,
    lastSeq: n(row, 'last_seq'),
    droppedLines: n(row, 'dropped_lines') ?? 0,
  };
}

export interface JobFilter {
  readonly hostId?: string;
  /** Jobs on this repository as their source (a copy's destination is in its args). */
  readonly repositoryId?: string;
  readonly status?: string;
  readonly kind?: string;
  /** Newest first; default 100, at most 1000. */
  readonly limit?: number;
  /** Only jobs requested strictly before this ISO time (paging). */
  readonly before?: string;
}

export class JobsQuery {
  constructor(private readonly db: Database.Database) {}

  list(filter: JobFilter = {}): JobView[] {
    if (filter.status !== undefined && !(JOB_STATUSES as readonly string[]).includes(filter.status)) {
      throw new ProjectionError('InvalidArgument', `status must be one of ${JOB_STATUSES.join(', ')}`, {
        field: 'status',
      });
    }
    const where: string[] = [];
    const params: Record<string, string | number> = { limit: clampLimit(filter.limit, 100, 1000) };
    if (filter.hostId !== undefined) {
      where.push('host_id = @host');
      params['host'] = filter.hostId;
    }
    if (filter.repositoryId !== undefined) {
      where.push('repository_id = @repository');
      params['repository'] = filter.repositoryId;
    }
    if (filter.status !== undefined) {
      where.push('status = @status');
      params['status'] = filter.status;
    }
    if (filter.kind !== undefined) {
      where.push('kind = @kind');
      params['kind'] = filter.kind;
    }
    if (filter.before !== undefined) {
      where.push('requested_at < @before');
      params['before'] = filter.before;
    }
    const rows = this.db
      .prepare(
        `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY requested_at DESC, id DESC LIMIT @limit`,
      )
      .all(params) as Row[];
    return rows.map(mapJob);
  }

  get(id: string): JobView | null {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as Row | undefined;
    return row ? mapJob(row) : null;
  }
}
