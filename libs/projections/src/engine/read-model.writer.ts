import type Database from 'better-sqlite3';
import { comparePositions, type Position, type RecordedEvent } from '@rf/events';
import {
  liveTables,
  tableNames,
  type IndexDefinition,
  type ProjectionDefinition,
  type TableNamer,
} from './projection.definition';
import { ProjectionBatchApplier } from './projection-batch.applier';
import { ProjectionError } from './projection.errors';
import { ProjectionStateRepository, type ProjectionState } from './projection-state.repository';
import { quoteIdent } from './sqlite-projection.view';

export function createTables(
  db: Database.Database,
  projection: ProjectionDefinition,
  table: TableNamer,
): void {
  for (const [name, t] of Object.entries(projection.tables)) {
    const columns = Object.entries(t.columns).map(([c, decl]) => `${quoteIdent(c)} ${decl}`);
    if (t.constraints !== undefined) columns.push(t.constraints);
    db.exec(`DROP TABLE IF EXISTS ${quoteIdent(table(name))}`);
    db.exec(`CREATE TABLE ${quoteIdent(table(name))} (${columns.join(', ')}) ${t.options ?? ''}`);
  }
}

/**
 * The names an index of a projection's definition may have in the file: its own, or its
 * second name. A rebuild creates its tables' indexes before the swap, while the live tables
 * still hold theirs, so it gives each index whichever name is free; the swap then keeps them
 * as they are (docs/architecture.md, "Read models").
 */
export const indexNames = (ix: IndexDefinition): readonly [string, string] => [ix.name, `${ix.name}__2`];

/**
 * Makes the indexes on a projection's tables (live ones, or `table` names) those of its
 * definition: missing ones are created (all, or those of `only`), ones the definition no longer
 * names are dropped. Indexes change without a version bump, so an upgrade gets them without
 * replaying the log.
 */
export function createIndexes(
  db: Database.Database,
  projection: ProjectionDefinition,
  table: TableNamer = liveTables,
  only: readonly IndexDefinition[] = projection.indexes,
): void {
  const wanted = new Set(projection.indexes.flatMap(indexNames));
  const tables = tableNames(projection).map(table);
  const existing = new Set(
    db
      .prepare(
        `SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (${tables.map(() => '?').join(', ')})`,
      )
      .pluck()
      .all(...tables) as string[],
  );
  for (const name of existing) if (!wanted.has(name)) db.exec(`DROP INDEX ${quoteIdent(name)}`);
  const taken = db.prepare('SELECT 1 FROM sqlite_master WHERE name = ?').pluck();
  for (const ix of only) {
    const names = indexNames(ix);
    if (names.some((n) => existing.has(n))) continue;
    const name = names.find((n) => taken.get(n) === undefined);
    if (name === undefined)
      throw new ProjectionError('InvalidArgument', `both names of index "${ix.name}" are taken`, {
        index: ix.name,
      });
    db.exec(`CREATE INDEX ${quoteIdent(name)} ON ${quoteIdent(table(ix.table))} (${ix.columns})`);
  }
}

export function dropTables(db: Database.Database, projection: ProjectionDefinition, table: TableNamer): void {
  for (const name of tableNames(projection)) db.exec(`DROP TABLE IF EXISTS ${quoteIdent(table(name))}`);
}

export interface BatchResult {
  /** False when a rebuild swapped tables in since the last load: nothing was written; reload and resubscribe. */
  readonly committed: boolean;
  readonly last: Position | null;
}

/**
 * Applies batches of events to a set of projections and advances their
 * checkpoints in the same SQLite transaction, so a crash never applies an
 * event twice or skips one. Each projection keeps its own checkpoint, which is
 * what lets one projection be rebuilt while the others carry on.
 */
export class ReadModelWriter {
  private readonly state: ProjectionStateRepository;
  /** Each projection's checkpoint, in `projections` order; filled by load(). */
  private checkpointOf: (Position | null)[] = [];
  private applier: ProjectionBatchApplier | null = null;
  private generation = 0;
  private readonly applyTx: Database.Transaction<(events: readonly RecordedEvent[]) => BatchResult>;

  constructor(
    readonly db: Database.Database,
    readonly projections: readonly ProjectionDefinition[],
    private readonly table: TableNamer = liveTables,
  ) {
    const names = new Set<string>();
    for (const p of projections) {
      if (names.has(p.name))
        throw new ProjectionError('InvalidArgument', `projection "${p.name}" is registered twice`);
      names.add(p.name);
    }
    this.state = new ProjectionStateRepository(db);
    this.applyTx = db.transaction((events: readonly RecordedEvent[]) => this.applyInTransaction(events));
  }

  /**
   * Creates missing tables; a projection whose stored version differs from its
   * definition gets fresh tables and a checkpoint at the start of the log, so
   * the runner replays it. Returns the names of projections that were reset.
   * Only for live tables: a rebuild manages its own state rows.
   */
  install(): string[] {
    const reset: string[] = [];
    // IMMEDIATE: it reads the state rows before writing, and a rebuild may commit in between.
    this.db
      .transaction(() => {
        const states = this.state.all();
        for (const p of this.projections) {
          const s = states.get(p.name);
          const missing = tableNames(p).some((t) => !this.tableExists(this.table(t)));
          if (!s || s.version !== p.version || missing) {
            createTables(this.db, p, this.table);
            this.state.save({ name: p.name, version: p.version, checkpoint: null });
            reset.push(p.name);
          }
          if (this.table === liveTables) createIndexes(this.db, p);
        }
      })
      .immediate();
    this.load();
    return reset;
  }

  /** (Re)reads checkpoints and the generation, and starts from empty row caches. */
  load(): void {
    const states = this.state.all();
    this.generation = this.state.generation();
    this.checkpointOf = this.projections.map((p) => {
      const s = states.get(p.name);
      if (!s)
        throw new ProjectionError(
          'UnknownProjection',
          `projection "${p.name}" has no state row; call install() first`,
        );
      return s.checkpoint;
    });
    this.applier = new ProjectionBatchApplier(this.db, this.projections, this.table);
  }

  /** Where a subscription must start: the lowest checkpoint (null = start of the log). */
  lowestCheckpoint(): Position | null {
    let low: Position | null | undefined;
    for (const cp of this.checkpointOf) {
      if (cp === null) return null;
      if (low === undefined || comparePositions(cp, low!) < 0) low = cp;
    }
    return low ?? null;
  }

  checkpoints(): ProjectionState[] {
    return this.projections.map((p, i) => ({
      name: p.name,
      version: p.version,
      checkpoint: this.checkpointOf[i] ?? null,
    }));
  }

  applyBatch(events: readonly RecordedEvent[]): BatchResult {
    if (events.length === 0) return { committed: true, last: null };
    try {
      return this.applyTx.immediate(events);
    } catch (err) {
      // The transaction rolled back: re-read checkpoints and drop the batch's cached rows.
      this.load();
      throw err;
    }
  }

  private applyInTransaction(events: readonly RecordedEvent[]): BatchResult {
    if (this.state.generation() !== this.generation) return { committed: false, last: null };
    if (this.applier === null)
      throw new ProjectionError('UnknownProjection', 'the read models are not loaded; call install() first');
    this.applier.apply(events, this.checkpointOf);
    const last = events[events.length - 1]!.position;
    this.projections.forEach((p, i) => {
      const cp = this.checkpointOf[i] ?? null;
      if (cp === null || comparePositions(last, cp) > 0) {
        this.state.advance(p.name, last);
        this.checkpointOf[i] = last;
      }
    });
    return { committed: true, last };
  }

  private tableExists(name: string): boolean {
    return (
      this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined
    );
  }
}
