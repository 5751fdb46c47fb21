/**
 * Turns restic's single-document JSON (`snapshots --json`, `stats --json`)
 * into wire payloads, defensively: missing numbers are 0, lists default to
 * empty, unknown fields are ignored (RESTIC.md §7).
 */

export interface WireSnapshot {
  id: string;
  short_id: string;
  time: string;
  hostname: string;
  username?: string;
  paths: string[];
  tags: string[];
  parent?: string;
  tree?: string;
  program_version?: string;
  size_bytes?: number;
  file_count?: number;
}

/** `repo.stats` as @rf/events defines it. */
export interface RepoStatsPayload {
  total_size_bytes: number;
  raw_size_bytes?: number;
  snapshot_count: number;
  file_count?: number;
  compression_ratio?: number;
  last_check_at?: string;
  last_check_status?: string;
}

const obj = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
const s = (v: unknown): string => (typeof v === 'string' ? v : '');
const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const strs = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

/** The JSON document among restic's stdout lines (it may follow text lines). */
export function jsonDocument(lines: readonly string[]): unknown {
  for (const line of lines) {
    const t = line.trim();
    if (!t.startsWith('[') && !t.startsWith('{')) continue;
    try {
      return JSON.parse(t) as unknown;
    } catch {
      continue;
    }
  }
  return undefined;
}

export function mapSnapshots(doc: unknown): WireSnapshot[] {
  if (!Array.isArray(doc)) throw new Error('restic snapshots --json did not print a JSON array');
  const out: WireSnapshot[] = [];
  for (const item of doc) {
    const o = obj(item);
    // Ids are hex, 8 chars (0.14) or 64; anything else is not a snapshot we can report.
    if (!o || !/^[0-9a-f]{8,64}$/.test(s(o.id))) continue;
    const snap: WireSnapshot = {
      id: s(o.id),
      short_id: s(o.short_id) || s(o.id).slice(0, 8),
      time: s(o.time),
      hostname: s(o.hostname),
      paths: strs(o.paths),
      tags: strs(o.tags),
    };
    if (s(o.username)) snap.username = s(o.username);
    if (/^[0-9a-f]{8,64}$/.test(s(o.parent))) snap.parent = s(o.parent);
    if (s(o.tree)) snap.tree = s(o.tree);
    if (s(o.program_version)) snap.program_version = s(o.program_version);
    const summary = obj(o.summary);
    if (summary) {
      snap.size_bytes = n(summary.total_bytes_processed);
      snap.file_count = n(summary.total_files_processed);
    }
    out.push(snap);
  }
  return out;
}

/** The `stats --json` object as restic printed it (any mode). */
export function statsDocument(doc: unknown): Record<string, unknown> {
  const o = obj(doc);
  if (!o) throw new Error('restic stats --json did not print a JSON object');
  return o;
}

/**
 * Repository stats from `stats --mode raw-data` (what the repository stores)
 * and, when the job ran one, `--mode restore-size` (for the file count).
 */
export function repoStatsFrom(
  rawData: Record<string, unknown>,
  restoreSize?: Record<string, unknown>,
): RepoStatsPayload {
  const out: RepoStatsPayload = {
    total_size_bytes: n(rawData.total_size),
    snapshot_count: n(rawData.snapshots_count),
  };
  if (typeof rawData.total_uncompressed_size === 'number')
    out.raw_size_bytes = rawData.total_uncompressed_size;
  if (typeof rawData.compression_ratio === 'number' && rawData.compression_ratio >= 0) {
    out.compression_ratio = rawData.compression_ratio;
  }
  if (restoreSize && typeof restoreSize.total_file_count === 'number')
    out.file_count = restoreSize.total_file_count;
  return out;
}
