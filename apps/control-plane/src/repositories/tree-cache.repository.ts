import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';

/** One entry of a folder in a snapshot. */
export interface TreeEntry {
  readonly name: string;
  /** `file`, `dir`, `symlink`, … as restic names them. */
  readonly type: string;
  readonly size: number;
  readonly mtime: string;
  /** Permission bits (`0o755` style), without restic's type bits. */
  readonly mode: number;
}

export interface TreePage {
  readonly entries: TreeEntry[];
  /** Index to continue after; null on the last page. */
  readonly next: number | null;
}

/** Collects one folder's entries as they stream in; nothing is visible until `commit`. */
export interface ListingWriter {
  add(entry: TreeEntry): void;
  commit(): void;
  abort(): void;
}

const BATCH = 1000;
/** Rough bytes an entry costs on disk besides its name (row, index, numbers). */
const ENTRY_OVERHEAD = 64;

/**
 * Folder listings of snapshots in `$RF_DATA_DIR/browse-cache.db`
 * (docs/browse.md, "Cache"). A snapshot never changes, so a listing is valid
 * forever and keyed by (repository, full snapshot id, folder). The file is
 * bounded: past `maxBytes` the least recently used listings go first. A
 * listing is written in batches as restic's answer streams in and becomes
 * visible only when complete; a crash leaves an incomplete one that the next
 * start removes.
 */
export class TreeCacheRepository {
  private readonly db: Database.Database;
  private total: number;

  constructor(
    file: string,
    private readonly maxBytes: number,
    private readonly now: () => number = Date.now,
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS listings (
        id INTEGER PRIMARY KEY,
        repository_id TEXT NOT NULL,
        snapshot_id TEXT NOT NULL,
        path TEXT NOT NULL,
        complete INTEGER NOT NULL DEFAULT 0,
        entries INTEGER NOT NULL DEFAULT 0,
        bytes INTEGER NOT NULL DEFAULT 0,
        last_used INTEGER NOT NULL
      );
      CREATE UNIQUE INDEX IF NOT EXISTS listings_key ON listings (repository_id, snapshot_id, path) WHERE complete = 1;
      CREATE INDEX IF NOT EXISTS listings_lru ON listings (last_used);
      CREATE TABLE IF NOT EXISTS entries (
        listing_id INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime TEXT NOT NULL,
        mode INTEGER NOT NULL,
        PRIMARY KEY (listing_id, idx)
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS entries_by_name ON entries (listing_id, name);
    `);
    const leftovers = this.db.prepare('SELECT id FROM listings WHERE complete = 0').pluck().all() as number[];
    for (const id of leftovers) this.drop(id);
    this.total = Number(this.db.prepare('SELECT COALESCE(SUM(bytes), 0) FROM listings').pluck().get());
  }

  /** Bytes the cached listings take (an estimate). */
  get sizeBytes(): number {
    return this.total;
  }

  /** A page of a cached folder (entries after index `after`), or null when the folder is not cached. */
  page(repositoryId: string, snapshotId: string, dir: string, after: number, limit: number): TreePage | null {
    const id = this.find(repositoryId, snapshotId, dir);
    if (id === undefined) return null;
    const rows = this.db
      .prepare(
        'SELECT idx, name, type, size, mtime, mode FROM entries WHERE listing_id = ? AND idx > ? ORDER BY idx LIMIT ?',
      )
      .all(id, after, limit + 1) as Array<TreeEntry & { idx: number }>;
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    return {
      entries: page.map(({ name, type, size, mtime, mode }) => ({ name, type, size, mtime, mode })),
      next: more ? page[page.length - 1]!.idx : null,
    };
  }

  /** One entry of a cached folder: the entry, null when the folder has no such name, undefined when not cached. */
  entry(repositoryId: string, snapshotId: string, dir: string, name: string): TreeEntry | null | undefined {
    const id = this.find(repositoryId, snapshotId, dir);
    if (id === undefined) return undefined;
    const row = this.db
      .prepare('SELECT name, type, size, mtime, mode FROM entries WHERE listing_id = ? AND name = ? LIMIT 1')
      .get(id, name) as TreeEntry | undefined;
    return row ?? null;
  }

  writer(repositoryId: string, snapshotId: string, dir: string): ListingWriter {
    const listingId = Number(
      this.db
        .prepare(
          'INSERT INTO listings (repository_id, snapshot_id, path, complete, last_used) VALUES (?, ?, ?, 0, ?)',
        )
        .run(repositoryId, snapshotId, dir, this.now()).lastInsertRowid,
    );
    const insert = this.db.prepare(
      'INSERT INTO entries (listing_id, idx, name, type, size, mtime, mode) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const flushBatch = this.db.transaction((batch: TreeEntry[], first: number) => {
      batch.forEach((e, i) => insert.run(listingId, first + i, e.name, e.type, e.size, e.mtime, e.mode));
    });
    let batch: TreeEntry[] = [];
    let count = 0;
    let bytes = 0;
    let done = false;
    const flush = (): void => {
      if (batch.length === 0) return;
      flushBatch(batch, count - batch.length + 1);
      batch = [];
    };
    return {
      add: (entry) => {
        if (done) return;
        batch.push(entry);
        count++;
        bytes += Buffer.byteLength(entry.name) + entry.mtime.length + ENTRY_OVERHEAD;
        if (batch.length >= BATCH) flush();
      },
      commit: () => {
        if (done) return;
        done = true;
        flush();
        const finish = this.db.transaction(() => {
          if (this.find(repositoryId, snapshotId, dir) !== undefined) return false;
          this.db
            .prepare('UPDATE listings SET complete = 1, entries = ?, bytes = ? WHERE id = ?')
            .run(count, bytes, listingId);
          return true;
        });
        // Another request cached the same folder meanwhile: keep that one.
        if (!finish()) this.drop(listingId);
        else {
          this.total += bytes;
          this.evict(listingId);
        }
      },
      abort: () => {
        if (done) return;
        done = true;
        this.drop(listingId);
      },
    };
  }

  close(): void {
    this.db.close();
  }

  private find(repositoryId: string, snapshotId: string, dir: string): number | undefined {
    const id = this.db
      .prepare(
        'SELECT id FROM listings WHERE repository_id = ? AND snapshot_id = ? AND path = ? AND complete = 1',
      )
      .pluck()
      .get(repositoryId, snapshotId, dir) as number | undefined;
    if (id !== undefined) this.db.prepare('UPDATE listings SET last_used = ? WHERE id = ?').run(this.now(), id);
    return id;
  }

  /** Least recently used listings go until the cache fits (never the one just written). */
  private evict(keep: number): void {
    while (this.total > this.maxBytes) {
      const victim = this.db
        .prepare('SELECT id, bytes FROM listings WHERE complete = 1 AND id != ? ORDER BY last_used, id LIMIT 1')
        .get(keep) as { id: number; bytes: number } | undefined;
      if (!victim) return;
      this.drop(victim.id);
      this.total -= victim.bytes;
    }
  }

  private drop(listingId: number): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM entries WHERE listing_id = ?').run(listingId);
      this.db.prepare('DELETE FROM listings WHERE id = ?').run(listingId);
    })();
  }
}
