import type Database from 'better-sqlite3';
import { n, parsed, s, type Row } from './row-values';

export interface RepositoryHostView {
  readonly id: string;
  readonly hostname: string | null;
}

/** A repository with its attached hosts; never a secret, only whether a password is set. */
export interface RepositoryView {
  readonly id: string;
  readonly name: string;
  readonly url: string;
  readonly passwordSet: boolean;
  /** Set when the repository stands for a host's RepositoryConfigured history (docs/repositories.md). */
  readonly legacyHostId: string | null;
  readonly hosts: readonly RepositoryHostView[];
  readonly registeredAt: string;
  readonly updatedAt: string;
}

const stringList = (row: Row, key: string): string[] => {
  const v = parsed(row, key);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
};

export class RepositoriesQuery {
  constructor(private readonly db: Database.Database) {}

  /** Every repository, by name. */
  list(): RepositoryView[] {
    const rows = this.db.prepare('SELECT * FROM repositories ORDER BY name, id').all() as Row[];
    return this.map(rows);
  }

  get(id: string): RepositoryView | null {
    const row = this.db.prepare('SELECT * FROM repositories WHERE id = ?').get(id) as Row | undefined;
    return row ? (this.map([row])[0] ?? null) : null;
  }

  /** The repositories a host is attached to, by name. */
  ofHost(hostId: string): RepositoryView[] {
    const row = this.db
      .prepare('SELECT repository_ids FROM repository_hosts WHERE host_id = ?')
      .get(hostId) as Row | undefined;
    const ids = row ? stringList(row, 'repository_ids') : [];
    return this.list().filter((r) => ids.includes(r.id));
  }

  /** The repositories any of `hostIds` is attached to, by name (one page of hosts, not the fleet). */
  ofHosts(hostIds: readonly string[]): RepositoryView[] {
    const attached = this.db.prepare('SELECT repository_ids FROM repository_hosts WHERE host_id = ?');
    const ids = new Set<string>();
    for (const hostId of hostIds) {
      const row = attached.get(hostId) as Row | undefined;
      if (row) for (const id of stringList(row, 'repository_ids')) ids.add(id);
    }
    const one = this.db.prepare('SELECT * FROM repositories WHERE id = ?');
    const rows = [...ids].flatMap((id) => {
      const row = one.get(id) as Row | undefined;
      return row ? [row] : [];
    });
    const order = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
    // The order of `list` (SQLite's binary collation: code-unit order).
    return this.map(rows).sort((a, b) => order(a.name, b.name) || order(a.id, b.id));
  }

  private map(rows: readonly Row[]): RepositoryView[] {
    const names = new Map<string, string | null>();
    const hostname = this.db.prepare('SELECT hostname FROM repository_hosts WHERE host_id = ?').pluck();
    const nameOf = (hostId: string): string | null => {
      if (!names.has(hostId)) {
        const v: unknown = hostname.get(hostId);
        names.set(hostId, typeof v === 'string' ? v : null);
      }
      return names.get(hostId) ?? null;
    };
    return rows.map((row) => ({
      id: s(row, 'id') ?? '',
      name: s(row, 'name') ?? '',
      url: s(row, 'url') ?? '',
      passwordSet: n(row, 'password_set') === 1,
      legacyHostId: s(row, 'legacy_host_id'),
      hosts: stringList(row, 'host_ids').map((id) => ({ id, hostname: nameOf(id) })),
      registeredAt: s(row, 'registered_at') ?? '',
      updatedAt: s(row, 'updated_at') ?? '',
    }));
  }
}
