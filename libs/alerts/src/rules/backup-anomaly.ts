/**
 * Backup anomalies (docs/alerts.md, backup_anomaly): a backup that changes far
 * more than the same backup usually does — the mark of mass encryption — or
 * that reads less than half of what it usually reads — a vanished mount.
 * Compared with the median of the last `HISTORY_SIZE` backups of the same host
 * and paths; judged only once `MIN_HISTORY` of them are known.
 */

export const HISTORY_SIZE = 10;
export const MIN_HISTORY = 3;
/** "Far more": this many times the median… */
export const ANOMALY_FACTOR = 10;
/** …and at least this many changed+new files, or this much data added. */
export const ANOMALY_MIN_FILES = 1000;
export const ANOMALY_MIN_BYTES = 100 * 1024 * 1024;

/** What one backup's restic summary says. */
export interface BackupSample {
  /** files_new + files_changed */
  readonly files: number;
  readonly dataAdded: number;
  readonly bytesProcessed: number;
}

export type AnomalyKind = 'files_changed' | 'data_added' | 'processed_shrank';

export interface BackupAnomaly {
  readonly kind: AnomalyKind;
  readonly value: number;
  readonly median: number;
  readonly samples: number;
}

const count = (stats: Readonly<Record<string, unknown>>, key: string): number | undefined => {
  const v = stats[key];
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
};

/** The sample in a JobFinished `stats` of a backup, or null when restic printed no summary. */
export function backupSample(stats: Readonly<Record<string, unknown>> | undefined): BackupSample | null {
  if (stats === undefined) return null;
  const filesNew = count(stats, 'files_new');
  const filesChanged = count(stats, 'files_changed');
  const dataAdded = count(stats, 'data_added');
  const processed = count(stats, 'total_bytes_processed');
  if (
    filesNew === undefined ||
    filesChanged === undefined ||
    dataAdded === undefined ||
    processed === undefined
  )
    return null;
  return { files: filesNew + filesChanged, dataAdded, bytesProcessed: processed };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The first anomaly `sample` shows against `history` (oldest first), or null. */
export function findAnomaly(history: readonly BackupSample[], sample: BackupSample): BackupAnomaly | null {
  if (history.length < MIN_HISTORY) return null;
  const samples = history.length;
  const files = median(history.map((h) => h.files));
  if (sample.files > ANOMALY_FACTOR * files && sample.files > ANOMALY_MIN_FILES)
    return { kind: 'files_changed', value: sample.files, median: files, samples };
  const added = median(history.map((h) => h.dataAdded));
  if (sample.dataAdded > ANOMALY_FACTOR * added && sample.dataAdded > ANOMALY_MIN_BYTES)
    return { kind: 'data_added', value: sample.dataAdded, median: added, samples };
  const processed = median(history.map((h) => h.bytesProcessed));
  if (processed > 0 && sample.bytesProcessed < processed / 2)
    return { kind: 'processed_shrank', value: sample.bytesProcessed, median: processed, samples };
  return null;
}

/** Appends a sample, keeping the last HISTORY_SIZE. */
export function remember(history: BackupSample[], sample: BackupSample): void {
  history.push(sample);
  if (history.length > HISTORY_SIZE) history.shift();
}
