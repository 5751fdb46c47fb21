import type Database from 'better-sqlite3';
import type { Position } from '@rf/events';

export interface ProjectionState {
  readonly name: string;
  readonly version: number;
  /** Last event position applied; null = nothing applied yet (start of the log). */
  readonly checkpoint: Position | null;
}

/**
 * Per-projection checkpoints and versions, plus a `generation` counter that a
 * rebuild bumps when it swaps tables in, so a running runner notices and
 * re-reads its checkpoints instead of writing over the fresh tables.
 */
export class ProjectionStateRepository {
  private readonly selectAll: Database.Statement<
    [],
    { name: string; version: number; commit_pos: string | null; prepare_pos: string | null }
  >;
  private readonly upsert: Database.Statement<[string, number, string | null, string | null]>;
  private readonly setCheckpoint: Database.Statement<[string | null, string | null, string]>;
  private readonly selectGeneration: Database.Statement<[], { value: number }>;
  private readonly bumpGeneration: Database.Statement<[]>;

  constructor(private readonly db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS projection_state (
        name TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        commit_pos TEXT,
        prepare_pos TEXT
      );
      CREATE TABLE IF NOT EXISTS read_models_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
      INSERT OR IGNORE INTO read_models_meta (key, value) VALUES ('generation', 0);
    `);
    this.selectAll = db.prepare('SELECT name, version, commit_pos, prepare_pos FROM projection_state');
    this.upsert = db.prepare(
      `INSERT INTO projection_state (name, version, commit_pos, prepare_pos) VALUES (?, ?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET version = excluded.version, commit_pos = excluded.commit_pos, prepare_pos = excluded.prepare_pos`,
    );
    this.setCheckpoint = db.prepare(
      'UPDATE projection_state SET commit_pos = ?, prepare_pos = ? WHERE name = ?',
    );
    this.selectGeneration = db.prepare("SELECT value FROM read_models_meta WHERE key = 'generation'");
    this.bumpGeneration = db.prepare(
      "UPDATE read_models_meta SET value = value + 1 WHERE key = 'generation'",
    );
  }

  all(): Map<string, ProjectionState> {
    const out = new Map<string, ProjectionState>();
    for (const row of this.selectAll.all()) {
      out.set(row.name, {
        name: row.name,
        version: row.version,
        checkpoint:
          row.commit_pos === null || row.prepare_pos === null
            ? null
            : { commit: BigInt(row.commit_pos), prepare: BigInt(row.prepare_pos) },
      });
    }
    return out;
  }

  save(state: ProjectionState): void {
    this.upsert.run(
      state.name,
      state.version,
      state.checkpoint ? state.checkpoint.commit.toString() : null,
      state.checkpoint ? state.checkpoint.prepare.toString() : null,
    );
  }

  advance(name: string, position: Position): void {
    this.setCheckpoint.run(position.commit.toString(), position.prepare.toString(), name);
  }

  generation(): number {
    return this.selectGeneration.get()?.value ?? 0;
  }

  nextGeneration(): number {
    this.bumpGeneration.run();
    return this.generation();
  }

  get database(): Database.Database {
    return this.db;
  }
}
