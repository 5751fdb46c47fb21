import type Database from 'better-sqlite3';
import type { RecordedEvent } from '@rf/events';

/** Maps a table's base name to its physical name (`jobs` or `jobs__rebuild`). */
export type TableNamer = (base: string) => string;

export interface TableDefinition {
  /** Base name, e.g. `jobs`. */
  readonly name: string;
  /** Column list and constraints, without `CREATE TABLE`, e.g. `id TEXT PRIMARY KEY, status TEXT NOT NULL`. */
  readonly columns: string;
  /** Table options after the column list, e.g. `WITHOUT ROWID`. */
  readonly options?: string;
}

export interface IndexDefinition {
  /** Index name; created only on live tables (after a rebuild swap too), never on `__rebuild` tables. */
  readonly name: string;
  readonly table: string;
  /** e.g. `host_id, requested_at DESC` */
  readonly columns: string;
  /** Table options after the column list, e.g. `WITHOUT ROWID`. */
  readonly options?: string;
}

/** The prepared statements of one projection, bound to one set of physical tables. */
export interface ProjectionHandler {
  /** Applies one event. Must be deterministic: only the event's own data, ids and timestamps. */
  apply(event: RecordedEvent): void;
  /**
   * Called once at the end of every batch, inside its transaction: for writes a
   * projection aggregates across a batch. The result must not depend on where
   * batch boundaries fall.
   */
  endBatch?(): void;
}

/**
 * A projection: a pure, deterministic function of the events it handles,
 * expressed as SQL statements over its own tables. `version` is bumped when
 * the tables or the apply logic change; the runner then rebuilds it at startup.
 */
export interface ProjectionDefinition {
  readonly name: string;
  readonly version: number;
  readonly tables: readonly TableDefinition[];
  readonly indexes: readonly IndexDefinition[];
  /** Event types this projection reacts to; every other event is skipped without touching SQLite. */
  readonly eventTypes: readonly string[];
  bind(db: Database.Database, table: TableNamer): ProjectionHandler;
}

export const liveTables: TableNamer = (base) => base;
export const rebuildTables: TableNamer = (base) => `${base}__rebuild`;
