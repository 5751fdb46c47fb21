import type Database from 'better-sqlite3';
import { n, parsed, s, type Row } from './row-values';

export interface SnapshotView {
  readonly id: string;
  readonly repositoryId: string | null;
  /** The host whose report listed it (not necessarily the host that took it). */
  readonly reportedBy: string | null;
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
  repositoryId: s(row, 'repository_id'),
  reportedBy: s(row, 'host_id'),
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

  /**
   * The repository's snapshots as last listed (each report is the whole
   * repository as one host read it: the newest report wins), newest first;
   * `hostname` keeps those taken on that host.
   */
  forRepository(repositoryId: string, hostname?: string): SnapshotView[] {
    const latest = this.db
      .prepare(
        'SELECT host_id FROM snapshots WHERE repository_id = ? ORDER BY reported_at DESC, host_id LIMIT 1',
      )
      .get(repositoryId) as Row | undefined;
    const reporter = latest ? s(latest, 'host_id') : null;
    if (reporter === null) return [];
    const rows = this.db
      .prepare(
        `SELECT * FROM snapshots WHERE repository_id = ? AND host_id = ?${hostname !== undefined ? ' AND hostname = ?' : ''}
         ORDER BY time DESC, snapshot_id`,
      )
      .all(repositoryId, reporter, ...(hostname !== undefined ? [hostname] : [])) as Row[];
    return rows.map(mapSnapshot);
  }
}
