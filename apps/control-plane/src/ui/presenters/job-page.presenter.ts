import { Injectable } from '@nestjs/common';
import { isTerminal, JOB_TERMINAL_STATUSES } from '@rf/events';
import type { JobLogLineView, JobView } from '@rf/projections';
import { AppError } from '../../core/app-error';
import { ReadModelsReader } from '../../repositories/read-models.reader';
import { AppConfig } from '../../core/app-config';
import { JobDispatchService } from '../../services/job-dispatch.service';
import * as format from '../ui-format';

/** Lines rendered into the page itself; the script fetches any beyond this from `/api/jobs/{id}/logs`. */
export const SERVER_RENDERED_LINES = 5000;

/** What an operator should do next, by the agent's error code (KNOWN_JOB_ERROR_CODES). */
const ADVICE: Readonly<Record<string, string>> = {
  repo_not_found:
    'The repository does not exist at this URL. Check the URL on the host page, or run an init job to create it.',
  repo_locked:
    'Another restic process holds a lock. Wait for it to finish; if none is running, run an unlock job.',
  wrong_password:
    'restic could not open the repository with the stored password. Set the right password on the host page.',
  repo_not_configured:
    'This host has no repository yet. Configure one on the host page, then run the job again.',
  source_missing: 'A backup path does not exist on the host. Fix the paths in the schedule or the run form.',
  partial_read:
    'Some files could not be read (permissions or files changing). The snapshot was saved; check the errors in the log.',
  cancelled: 'The job was cancelled on request; no further action is needed.',
  timeout: 'The job ran longer than its timeout. Raise the timeout or split the backup paths.',
  restic_not_found:
    'The agent could not find restic. Install restic on the host or set RF_RESTIC_BIN for the agent.',
  restic_failed: 'restic failed; the last lines of the log say why.',
  hook_failed: 'A pre- or post-job hook failed. Check the hook output in the log (lines marked "hook").',
  invalid_args: 'The agent refused the job arguments. Check the paths, tags and policy of the job.',
  agent_restarted: 'The agent restarted while the job was running. Run the job again.',
  rejected: 'The agent refused the job (see the error). Check the agent version and the job arguments.',
};

const LOST_ADVICE =
  'The control plane lost contact with the agent while the job ran. Check that the host is online, then run the job again.';

export interface StatRow {
  readonly label: string;
  readonly value: string;
}

export interface JobPageModel {
  readonly job: JobView;
  readonly hostName: string;
  readonly active: boolean;
  /** Why a queued job is not dispatched yet (repository locks, host offline); null otherwise. */
  readonly waitReason: string | null;
  readonly canCancel: boolean;
  readonly percent: number | null;
  readonly progressText: ProgressText;
  readonly failure: {
    readonly error: string;
    readonly advice: string | null;
    readonly code: string | null;
  } | null;
  readonly stats: readonly StatRow[];
  readonly lines: readonly JobLogLineView[];
  readonly moreLinesAfter: number | null;
  readonly logExpired: boolean;
  readonly retentionDays: number;
  readonly boot: Record<string, unknown>;
}

export interface ProgressText {
  readonly files: string;
  readonly bytes: string;
  readonly eta: string;
  readonly throughput: string;
}

const STAT_LABELS: ReadonlyArray<[string, string, 'bytes' | 'count' | 'seconds' | 'text']> = [
  ['snapshot_id', 'Snapshot', 'text'],
  ['files_new', 'New files', 'count'],
  ['files_changed', 'Changed files', 'count'],
  ['files_unmodified', 'Unmodified files', 'count'],
  ['dirs_new', 'New directories', 'count'],
  ['dirs_changed', 'Changed directories', 'count'],
  ['total_files_processed', 'Files processed', 'count'],
  ['total_bytes_processed', 'Bytes processed', 'bytes'],
  ['data_added', 'Data added', 'bytes'],
  ['data_added_packed', 'Data added (packed)', 'bytes'],
  ['total_duration', 'restic duration', 'seconds'],
];

export function progressTextOf(p: JobView['progress']): ProgressText {
  if (!p) return { files: '—', bytes: '—', eta: '—', throughput: '—' };
  const count = (v: number | null) => (v === null ? '—' : v.toLocaleString('en-US'));
  return {
    files: `${count(p.filesDone)} / ${count(p.totalFiles)}`,
    bytes: `${format.bytes(p.bytesDone)} / ${format.bytes(p.totalBytes)}`,
    eta: p.etaSeconds === null ? '—' : etaText(p.etaSeconds),
    throughput: p.bytesPerSecond === null ? '—' : `${format.bytes(p.bytesPerSecond)}/s`,
  };
}

/**
 * The progress card of a job. While it runs: the last (throttled) progress
 * report. Once it has succeeded: 100 %, and the totals of restic's summary
 * when the job has one (the last report is up to a second old and often stops
 * short, e.g. at 84 % and "0 / 1 files" for a backup of 200 files). A job that
 * failed or was cancelled keeps the last report: that is where it stopped.
 */
export function progressCardOf(job: Pick<JobView, 'status' | 'progress' | 'stats'>): {
  percent: number | null;
  text: ProgressText;
} {
  const fromReport = (p: JobView['progress']) =>
    p?.percentDone !== null && p?.percentDone !== undefined ? Math.round(p.percentDone * 1000) / 10 : null;
  if (job.status !== 'succeeded' && job.status !== 'warning')
    return { percent: fromReport(job.progress), text: progressTextOf(job.progress) };
  const s = (typeof job.stats === 'object' && job.stats !== null ? job.stats : {}) as Record<string, unknown>;
  const num = (k: string): number | null => (typeof s[k] === 'number' ? (s[k] as number) : null);
  const files = num('total_files_processed') ?? job.progress?.totalFiles ?? null;
  const bytes = num('total_bytes_processed') ?? job.progress?.totalBytes ?? null;
  const seconds = num('total_duration');
  const rate =
    bytes !== null && seconds !== null && seconds > 0
      ? Math.round(bytes / seconds)
      : (job.progress?.bytesPerSecond ?? null);
  return {
    percent: 100,
    text: progressTextOf({
      percentDone: 1,
      filesDone: files,
      totalFiles: files,
      bytesDone: bytes,
      totalBytes: bytes,
      etaSeconds: null,
      bytesPerSecond: rate,
      at: job.progress?.at ?? '',
    }),
  };
}

/**
 * restic's backup summary as a raw JSON line: the Result card already says it
 * in words. Current agents do not send it; logs of older ones still hold it.
 */
export function isBackupSummaryLine(kind: string | null, line: Pick<JobLogLineView, 'payload'>): boolean {
  if (kind !== 'backup' || !line.payload.startsWith('{')) return false;
  try {
    const v: unknown = JSON.parse(line.payload);
    return (
      typeof v === 'object' && v !== null && (v as Record<string, unknown>)['message_type'] === 'summary'
    );
  } catch {
    return false;
  }
}

export function etaText(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** Stats as label/value rows; known restic summary fields first, in a readable order. */
export function statRowsOf(stats: unknown): StatRow[] {
  if (typeof stats !== 'object' || stats === null || Array.isArray(stats)) return [];
  const s = stats as Record<string, unknown>;
  const rows: StatRow[] = [];
  const seen = new Set<string>();
  for (const [key, label, kind] of STAT_LABELS) {
    const v = s[key];
    if (v === undefined || v === null) continue;
    seen.add(key);
    if (kind === 'bytes' && typeof v === 'number') rows.push({ label, value: format.bytes(v) });
    else if (kind === 'count' && typeof v === 'number')
      rows.push({ label, value: v.toLocaleString('en-US') });
    else if (kind === 'seconds' && typeof v === 'number') rows.push({ label, value: `${v.toFixed(1)} s` });
    else rows.push({ label, value: String(v) });
  }
  for (const [key, v] of Object.entries(s)) {
    if (seen.has(key) || v === null || typeof v === 'object') continue;
    rows.push({ label: key.replace(/_/g, ' '), value: String(v) });
  }
  return rows;
}

/** Builds the job page's model from the read models (the log too, so a finished job needs no socket). */
@Injectable()
export class JobPagePresenter {
  constructor(
    private readonly reader: ReadModelsReader,
    private readonly config: AppConfig,
    private readonly dispatcher: JobDispatchService,
  ) {}

  async model(jobId: string, canOperate: boolean): Promise<JobPageModel> {
    const models = await this.reader.fresh();
    const job = models.jobs.get(jobId);
    if (!job) throw new AppError('not_found', `job ${jobId} does not exist`, { field: 'id' });
    const host = job.hostId ? models.hosts.get(job.hostId) : null;
    const lines = models.jobLog.lines(jobId, { afterSeq: -1, limit: SERVER_RENDERED_LINES });
    const active = !isTerminal(job.status);
    const logExpired = !active && lines.length === 0 && job.logLineCount > 0;
    const lastRendered = lines.length > 0 ? lines[lines.length - 1]!.seq : -1;
    const moreLinesAfter =
      lines.length === SERVER_RENDERED_LINES && (job.lastSeq ?? -1) > lastRendered ? lastRendered : null;
    const card = progressCardOf(job);
    return {
      job,
      hostName: host?.hostname ?? job.hostId ?? 'unknown host',
      active,
      waitReason: job.status === 'queued' ? this.dispatcher.waitReason(job.id) : null,
      canCancel: canOperate && active && job.cancelRequestedAt === null,
      percent: card.percent,
      progressText: card.text,
      failure: failureOf(job),
      stats: statRowsOf(job.stats),
      lines: lines.filter((l) => !isBackupSummaryLine(job.kind, l)),
      moreLinesAfter,
      logExpired,
      retentionDays: this.config.logRetentionDays,
      boot: {
        job_id: job.id,
        status: job.status,
        active,
        last_seq: lastRendered,
        more_after: moreLinesAfter,
        advice: ADVICE,
        lost_advice: LOST_ADVICE,
        terminal_statuses: JOB_TERMINAL_STATUSES,
      },
    };
  }
}

export function failureOf(job: Pick<JobView, 'status' | 'error' | 'errorCode'>): JobPageModel['failure'] {
  if (job.status === 'lost')
    return { error: job.error ?? 'The agent stopped reporting this job.', advice: LOST_ADVICE, code: 'lost' };
  if (job.status !== 'failed' && job.status !== 'warning' && job.status !== 'cancelled') return null;
  if (job.status === 'cancelled' && !job.error) return null;
  const code = job.errorCode;
  return {
    error:
      job.error ??
      `The job ${job.status === 'warning' ? 'finished with warnings' : 'failed'} without an error message.`,
    advice: code ? (ADVICE[code] ?? null) : null,
    code,
  };
}
