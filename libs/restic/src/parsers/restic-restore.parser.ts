import { num, optStr } from './json-fields';
import { parseItemError, ResticItemError } from './restic-backup.parser';
import { exitErrorOf, ResticExitError, tryJsonObject } from './restic-line.parser';

export interface RestoreCounters {
  secondsElapsed: number;
  percentDone: number;
  totalFiles: number;
  /** Can exceed totalFiles (restic counts directories and links as restored too). */
  filesRestored: number;
  filesSkipped: number;
  totalBytes: number;
  bytesRestored: number;
  bytesSkipped: number;
}

export interface RestoreReport {
  summary: RestoreCounters | undefined;
  lastStatus: RestoreCounters | undefined;
  errors: ResticItemError[];
  /** 0.14: from `restoring <Snapshot 1a2b3c4d of [...] ...> to /target`. */
  snapshotShortId: string | undefined;
  target: string | undefined;
  /** 0.14 text `Fatal: There were N errors`. */
  reportedErrorCount: number;
  exitError: ResticExitError | undefined;
}

const RESTORING = /^restoring <Snapshot ([0-9a-f]+) .*> to (.+)$/;
const THERE_WERE = /There were (\d+) errors/;
const IGNORING = /^ignoring error for (.+?): (.+)$/;

function counters(v: Record<string, unknown>): RestoreCounters {
  return {
    secondsElapsed: num(v, 'seconds_elapsed'),
    percentDone: num(v, 'percent_done'),
    totalFiles: num(v, 'total_files'),
    filesRestored: num(v, 'files_restored'),
    filesSkipped: num(v, 'files_skipped'),
    totalBytes: num(v, 'total_bytes'),
    bytesRestored: num(v, 'bytes_restored'),
    bytesSkipped: num(v, 'bytes_skipped'),
  };
}

/** `restore --json`: status/summary/error JSON (0.18+) or text (0.14 ignores --json). */
export function parseRestoreOutput(stdout: readonly string[], stderr: readonly string[]): RestoreReport {
  const report: RestoreReport = {
    summary: undefined,
    lastStatus: undefined,
    errors: [],
    snapshotShortId: undefined,
    target: undefined,
    reportedErrorCount: 0,
    exitError: undefined,
  };
  for (const line of [...stdout, ...stderr]) {
    const v = tryJsonObject(line);
    if (!v) {
      const t = line.trim();
      const r = RESTORING.exec(t);
      if (r) {
        report.snapshotShortId = r[1];
        report.target = r[2];
      }
      const n = THERE_WERE.exec(t);
      if (n) report.reportedErrorCount = Number(n[1]);
      const ig = IGNORING.exec(t);
      if (ig) report.errors.push({ message: ig[2], during: 'restore', item: ig[1] });
      continue;
    }
    switch (optStr(v, 'message_type')) {
      case 'status':
        report.lastStatus = counters(v);
        break;
      case 'summary':
        report.summary = counters(v);
        break;
      case 'error':
        report.errors.push(parseItemError(v));
        break;
      case 'exit_error':
        report.exitError = exitErrorOf(v);
        break;
      default:
        break;
    }
  }
  return report;
}

/** One item of a restore's `-vv --json` listing (0.17+; a dry run's preview). */
export interface RestoreItem {
  /** restic's word: `restored`, `updated`, `unchanged` or `deleted`. */
  readonly action: string;
  readonly item: string;
  readonly size: number;
}

/** A `verbose_status` line of `restore -vv --json`, or undefined for any other line. */
export function parseRestoreItemLine(line: string): RestoreItem | undefined {
  const v = tryJsonObject(line);
  if (!v || optStr(v, 'message_type') !== 'verbose_status') return undefined;
  const action = optStr(v, 'action');
  const item = optStr(v, 'item');
  if (action === undefined || item === undefined) return undefined;
  return { action, item, size: num(v, 'size') };
}
