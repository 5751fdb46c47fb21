import { BackupStatus } from './restic-backup.parser';

/** A progress sample ready for `job.progress`. */
export interface ResticProgress {
  /** 0..1, as restic reports it. */
  percentDone: number;
  filesDone: number;
  totalFiles: number;
  bytesDone: number;
  totalBytes: number;
  errorCount: number;
  /** restic's own estimate when it gives one, else ours from the byte rate; undefined when unknown. */
  etaSeconds: number | undefined;
  throughputBps: number;
  currentFiles: string[];
  /** When the sample was taken (ms since epoch). */
  at: number;
}

/**
 * Turns a status line into a progress sample. `startedAt` covers status lines
 * without `seconds_elapsed` (the first lines restic prints).
 */
export function progressFromStatus(
  status: BackupStatus,
  now: number | Date,
  startedAt?: number | Date,
): ResticProgress {
  const at = typeof now === 'number' ? now : now.getTime();
  const start =
    startedAt === undefined ? undefined : typeof startedAt === 'number' ? startedAt : startedAt.getTime();
  const elapsed =
    status.secondsElapsed > 0
      ? status.secondsElapsed
      : start !== undefined
        ? Math.max(0, (at - start) / 1000)
        : 0;
  const throughputBps = elapsed > 0 ? Math.round(status.bytesDone / elapsed) : 0;
  let etaSeconds = status.secondsRemaining;
  if (etaSeconds === undefined && throughputBps > 0 && status.totalBytes > status.bytesDone) {
    etaSeconds = Math.round((status.totalBytes - status.bytesDone) / throughputBps);
  }
  return {
    percentDone: status.percentDone,
    filesDone: status.filesDone,
    totalFiles: status.totalFiles,
    bytesDone: status.bytesDone,
    totalBytes: status.totalBytes,
    errorCount: status.errorCount,
    etaSeconds,
    throughputBps,
    currentFiles: status.currentFiles,
    at,
  };
}

/**
 * restic prints 10–60 status lines a second and never promises a final 100 %
 * line; this lets one sample through per interval and keeps the latest so the
 * caller can flush it when the run ends.
 */
export class ProgressThrottle {
  private lastEmit = Number.NEGATIVE_INFINITY;
  private pending: ResticProgress | undefined;

  constructor(private readonly intervalMs = 1000) {}

  /** Returns the sample when it may be sent now, else keeps it as pending. */
  offer(sample: ResticProgress): ResticProgress | undefined {
    if (sample.at - this.lastEmit >= this.intervalMs) {
      this.lastEmit = sample.at;
      this.pending = undefined;
      return sample;
    }
    this.pending = sample;
    return undefined;
  }

  /** The newest sample that was held back, if any. */
  flush(): ResticProgress | undefined {
    const p = this.pending;
    this.pending = undefined;
    if (p) this.lastEmit = p.at;
    return p;
  }
}
