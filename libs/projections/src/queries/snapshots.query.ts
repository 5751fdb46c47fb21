import type Database from 'better-sqlite3';
import { n, parsed, s, type Row } from './row-values';

export interface SnapshotView {
  readonly id: string;
  readonly shortId: string | null;
  readonly time: string | null;
  readonly hostname: string | null;
  readonly paths: string[];
  readonly tags: string[];
  readonly parent: string | null;
  readonly sizeBytes: number | null;
  readonly fileCount: number | null;
  readonly reportedAt: string;
}

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

export const mapSnapshot = (row: Row): SnapshotView => ({
  id: s(row, 'snapshot_id') ?? '',
  shortId: s(row, 'short_id'),
  time: s(row, 'time'),
  hostname: s(row, 'hostname'),
  paths: strings(parsed(row, 'paths')),
  tags: strings(parsed(row, 'tags')),
  parent: s(row, 'parent'),
  sizeBytes: n(row, 'size_bytes'),
  fileCount: n(row, 'file_count'),
  reportedAt: s(row, 'reported_at') ?? '',
});

export class SnapshotsQuery {
  constructor(private readonly db: Database.Database) {}

  /**
   * A snapshot by full id or hex prefix, with the hosts that listed it (several
   * hosts on one repository each list it). Empty when no host reported it.
   */
  byId(idOrPrefix: string): Array<SnapshotView & { readonly hostId: string }> {
    if (!/^[0-9a-f]{4,64}$/.test(idOrPrefix)) return [];
    const rows = this.db
      .prepare('SELECT * FROM snapshots WHERE substr(snapshot_id, 1, ?) = ? ORDER BY host_id')
      .all(idOrPrefix.length, idOrPrefix) as Row[];
    return rows.map((row) => ({ ...mapSnapshot(row), hostId: s(row, 'host_id') ?? '' }));
  }

  /** The host's snapshots as last reported, newest first. */
  forHost(hostId: string): SnapshotView[] {
    const rows = this.db
      .prepare('SELECT * FROM snapshots WHERE host_id = ? ORDER BY time DESC, snapshot_id')
      .all(hostId) as Row[];
    return rows.map(mapSnapshot);
  }
}
