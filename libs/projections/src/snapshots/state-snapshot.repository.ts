import type Database from 'better-sqlite3';
import type { Position } from '@rf/events';

/** One stored snapshot: an in-memory state as of `position`, in the shape its `version` names. */
export interface StoredSnapshot {
  readonly name: string;
  readonly version: number;
  /** The last log position the state reflects; null = none (an empty state). */
  readonly position: Position | null;
  readonly body: string;
  readonly writtenAt: string;
}

/**
 * Snapshots of in-memory states that follow the log (fleet state, identity),
 * kept in `readmodels.db` next to the projections' checkpoints. One row per
 * state; a save replaces the row in one statement, so the body and the
 * position it reflects are always written together.
 */
export class StateSnapshotRepository {
  private readonly select: Database.Statement<
    [string],
    {
      name: string;
      version: number;
      commit_pos: string | null;
      prepare_pos: string | null;
      body: string;
      written_at: string;
    }
  >;
  private readonly upsert: Database.Statement<[string, number, string | null, string | null, string, string]>;
  private readonly remove: Database.Statement<[string]>;

  constructor(readonly database: Database.Database) {
    const db = database;
    db.exec(`
      CREATE TABLE IF NOT EXISTS state_snapshots (
        name TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        commit_pos TEXT,
        prepare_pos TEXT,
        body TEXT NOT NULL,
        written_at TEXT NOT NULL
      )
    `);
    this.select = db.prepare(
      'SELECT name, version, commit_pos, prepare_pos, body, written_at FROM state_snapshots WHERE name = ?',
    );
    this.upsert = db.prepare(
      `INSERT INTO state_snapshots (name, version, commit_pos, prepare_pos, body, written_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET version = excluded.version, commit_pos = excluded.commit_pos,
         prepare_pos = excluded.prepare_pos, body = excluded.body, written_at = excluded.written_at`,
    );
    this.remove = db.prepare('DELETE FROM state_snapshots WHERE name = ?');
  }

  load(name: string): StoredSnapshot | undefined {
    const row = this.select.get(name);
    if (!row) return undefined;
    return {
      name: row.name,
      version: row.version,
      position:
        row.commit_pos === null || row.prepare_pos === null
          ? null
          : { commit: BigInt(row.commit_pos), prepare: BigInt(row.prepare_pos) },
      body: row.body,
      writtenAt: row.written_at,
    };
  }

  save(snapshot: StoredSnapshot): void {
    this.upsert.run(
      snapshot.name,
      snapshot.version,
      snapshot.position?.commit.toString() ?? null,
      snapshot.position?.prepare.toString() ?? null,
      snapshot.body,
      snapshot.writtenAt,
    );
  }

  delete(name: string): void {
    this.remove.run(name);
  }
}
