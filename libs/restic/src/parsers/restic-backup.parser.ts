import { bool, isObject, JsonObject, num, optNum, optStr, str, strList } from './json-fields';
import { exitErrorOf, ResticExitError, tryJsonObject } from './restic-line.parser';

/** A `status` line of `backup --json`: restic's running totals. */
export interface BackupStatus {
  secondsElapsed: number;
  /** Often absent; undefined then. */
  secondsRemaining: number | undefined;
  /** 0..1 */
  percentDone: number;
  totalFiles: number;
  filesDone: number;
  totalBytes: number;
  bytesDone: number;
  errorCount: number;
  currentFiles: string[];
}

/** The counters restic reports for one backup: in its `summary` line and, from 0.17, in the snapshot. */
export interface BackupCounters {
  filesNew: number;
  filesChanged: number;
  filesUnmodified: number;
  dirsNew: number;
  dirsChanged: number;
  dirsUnmodified: number;
  dataBlobs: number;
  treeBlobs: number;
  dataAdded: number;
  dataAddedPacked: number;
  totalFilesProcessed: number;
  totalBytesProcessed: number;
  /** 0.17+ */
  backupStart: string | undefined;
  backupEnd: string | undefined;
}

/** The final `summary` line of `backup --json`; absent after a signal or a fatal error. */
export interface BackupSummary extends BackupCounters {
  totalDuration: number;
  /** 8 hex chars in 0.14, 64 from 0.18; compare with sameSnapshotId(). */
  snapshotId: string;
  dryRun: boolean;
}

/** A `verbose_status` line (`-vv`), or a 0.14 status line carrying `action`. */
export interface BackupVerboseStatus {
  action: string;
  item: string;
  duration: number;
  dataSize: number;
  metadataSize: number;
  totalFiles: number;
}

/** A per-item error (`message_type: error`) from backup or restore. */
export interface ResticItemError {
  message: string;
  during: string;
  item: string;
}

export type BackupLine =
  | { type: 'status'; status: BackupStatus }
  | { type: 'verbose_status'; verbose: BackupVerboseStatus }
  | { type: 'summary'; summary: BackupSummary }
  | { type: 'error'; error: ResticItemError }
  | { type: 'exit_error'; exitError: ResticExitError }
  | { type: 'skipped_path'; path: string; text: string }
  | { type: 'text'; text: string }
  | { type: 'other'; messageType: string | undefined; value: JsonObject };

const SKIPPED_PATH = /^(.*) does not exist, skipping\s*$/;

export function parseBackupStatus(v: JsonObject): BackupStatus {
  return {
    secondsElapsed: num(v, 'seconds_elapsed'),
    secondsRemaining: optNum(v, 'seconds_remaining'),
    percentDone: Math.min(1, Math.max(0, num(v, 'percent_done'))),
    totalFiles: num(v, 'total_files'),
    filesDone: num(v, 'files_done'),
    totalBytes: num(v, 'total_bytes'),
    bytesDone: num(v, 'bytes_done'),
    errorCount: num(v, 'error_count'),
    currentFiles: strList(v, 'current_files'),
  };
}

export function parseBackupCounters(v: JsonObject): BackupCounters {
  return {
    filesNew: num(v, 'files_new'),
    filesChanged: num(v, 'files_changed'),
    filesUnmodified: num(v, 'files_unmodified'),
    dirsNew: num(v, 'dirs_new'),
    dirsChanged: num(v, 'dirs_changed'),
    dirsUnmodified: num(v, 'dirs_unmodified'),
    dataBlobs: num(v, 'data_blobs'),
    treeBlobs: num(v, 'tree_blobs'),
    dataAdded: num(v, 'data_added'),
    dataAddedPacked: num(v, 'data_added_packed'),
    totalFilesProcessed: num(v, 'total_files_processed'),
    totalBytesProcessed: num(v, 'total_bytes_processed'),
    backupStart: optStr(v, 'backup_start'),
    backupEnd: optStr(v, 'backup_end'),
  };
}

export function parseBackupSummary(v: JsonObject): BackupSummary {
  return {
    ...parseBackupCounters(v),
    totalDuration: num(v, 'total_duration'),
    snapshotId: str(v, 'snapshot_id'),
    dryRun: bool(v, 'dry_run'),
  };
}

function parseVerbose(v: JsonObject): BackupVerboseStatus {
  return {
    action: str(v, 'action'),
    item: str(v, 'item'),
    duration: num(v, 'duration'),
    dataSize: num(v, 'data_size'),
    metadataSize: num(v, 'metadata_size'),
    totalFiles: num(v, 'total_files'),
  };
}

// errno values restic ≤0.16 leaks through its raw Go error struct (Linux numbering).
const ERRNO_TEXT: Record<number, string> = {
  1: 'operation not permitted',
  2: 'no such file or directory',
  5: 'input/output error',
  13: 'permission denied',
  20: 'not a directory',
  21: 'is a directory',
  40: 'too many levels of symbolic links',
};

/** Describes the `error` field in all its shapes: {message}, Go {Op,Path,Err}, {} or a string. */
export function describeResticError(error: unknown): string {
  if (typeof error === 'string') return error;
  if (!isObject(error)) return 'unknown error';
  const message = optStr(error, 'message');
  if (message) return message;
  const op = str(error, 'Op');
  const path = str(error, 'Path');
  const err = error['Err'];
  const cause =
    typeof err === 'number'
      ? (ERRNO_TEXT[err] ?? `errno ${err}`)
      : typeof err === 'string'
        ? err
        : isObject(err)
          ? describeResticError(err)
          : '';
  const head = [op, path].filter(Boolean).join(' ');
  if (head && cause) return `${head}: ${cause}`;
  return head || cause || 'unknown error';
}

export function parseItemError(v: JsonObject): ResticItemError {
  const top = optStr(v, 'message');
  return {
    message: v['error'] !== undefined ? describeResticError(v['error']) : (top ?? 'unknown error'),
    during: str(v, 'during'),
    item: str(v, 'item'),
  };
}

export function parseBackupLine(line: string): BackupLine {
  const v = tryJsonObject(line);
  if (!v) {
    const m = SKIPPED_PATH.exec(line);
    if (m) return { type: 'skipped_path', path: m[1], text: line };
    return { type: 'text', text: line };
  }
  const mt = optStr(v, 'message_type');
  // 0.14 types `scan_finished` as status; any line with `action` is verbose output.
  if (typeof v['action'] === 'string') return { type: 'verbose_status', verbose: parseVerbose(v) };
  switch (mt) {
    case 'status':
      return { type: 'status', status: parseBackupStatus(v) };
    case 'verbose_status':
      return { type: 'verbose_status', verbose: parseVerbose(v) };
    case 'summary':
      return { type: 'summary', summary: parseBackupSummary(v) };
    case 'error':
      return { type: 'error', error: parseItemError(v) };
    case 'exit_error':
      return { type: 'exit_error', exitError: exitErrorOf(v) };
    default:
      return { type: 'other', messageType: mt, value: v };
  }
}

/** Everything a finished backup told us, from both streams. */
export interface BackupReport {
  summary: BackupSummary | undefined;
  lastStatus: BackupStatus | undefined;
  errors: ResticItemError[];
  skippedPaths: string[];
  exitError: ResticExitError | undefined;
  /** Text lines (warnings, fatal messages), in order, stdout then stderr. */
  textLines: string[];
}

export function parseBackupOutput(stdout: readonly string[], stderr: readonly string[]): BackupReport {
  const report: BackupReport = {
    summary: undefined,
    lastStatus: undefined,
    errors: [],
    skippedPaths: [],
    exitError: undefined,
    textLines: [],
  };
  for (const line of [...stdout, ...stderr]) {
    const parsed = parseBackupLine(line);
    switch (parsed.type) {
      case 'status':
        report.lastStatus = parsed.status;
        break;
      case 'summary':
        report.summary = parsed.summary;
        break;
      case 'error':
        report.errors.push(parsed.error);
        break;
      case 'exit_error':
        report.exitError = parsed.exitError;
        break;
      case 'skipped_path':
        report.skippedPaths.push(parsed.path);
        report.textLines.push(parsed.text);
        break;
      case 'text':
        if (parsed.text.trim()) report.textLines.push(parsed.text);
        break;
      case 'verbose_status':
      case 'other':
        break;
    }
  }
  return report;
}
