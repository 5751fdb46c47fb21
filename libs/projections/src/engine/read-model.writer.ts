import type Database from 'better-sqlite3';
import {
  comparePositions,
  currentSchemaVersion,
  isFleetEventType,
  upcast,
  type Position,
  type RecordedEvent,
} from '@rf/events';
import {
  liveTables,
  type ProjectionDefinition,
  type ProjectionHandler,
  type TableNamer,
} from './projection.definition';
import { ProjectionError } from './projection.errors';
import { ProjectionStateRepository, type ProjectionState } from './projection-state.repository';

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export function createTables(
  db: Database.Database,
  projection: ProjectionDefinition,
  table: TableNamer,
): void {
  for (const t of projection.tables) {
    db.exec(`DROP TABLE IF EXISTS ${quoteIdent(table(t.name))}`);
    db.exec(`CREATE TABLE ${quoteIdent(table(t.name))} (${t.columns}) ${t.options ?? ''}`);
  }
}

export function createIndexes(db: Database.Database, projection: ProjectionDefinition): void {
  for (const ix of projection.indexes) {
    db.exec(`CREATE INDEX IF NOT EXISTS ${quoteIdent(ix.name)} ON ${quoteIdent(ix.table)} (${ix.columns})`);
  }
}

export function dropTables(db: Database.Database, projection: ProjectionDefinition, table: TableNamer): void {
  for (const t of projection.tables) db.exec(`DROP TABLE IF EXISTS ${quoteIdent(table(t.name))}`);
}

/** Runs the catalog's upcasters (old schema versions) while keeping the stored event's shape. */
export function upcastRecorded(recorded: RecordedEvent): RecordedEvent {
  // Same rule as the catalog's fromRecorded, without building a new object for the (usual) current-version event.
  const type = recorded.type;
  if (!isFleetEventType(type)) return recorded;
  const meta = recorded.metadata as { schema_version?: unknown } | null;
  const version = typeof meta?.schema_version === 'number' ? meta.schema_version : 1;
  if (version >= currentSchemaVersion(type)) return recorded;
  return { ...recorded, data: upcast(type, version, recorded.data) };
}

interface Bound {
  readonly projection: ProjectionDefinition;
  readonly handler: ProjectionHandler;
  checkpoint: Position | null;
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
  private readonly bound: Bound[];
  private readonly byType = new Map<string, Bound[]>();
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
    this.bound = [];
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
          const missing = p.tables.some((t) => !this.tableExists(this.table(t.name)));
          if (!s || s.version !== p.version || missing) {
            createTables(this.db, p, this.table);
            if (this.table === liveTables) createIndexes(this.db, p);
            this.state.save({ name: p.name, version: p.version, checkpoint: null });
            reset.push(p.name);
          }
        }
      })
      .immediate();
    this.load();
    return reset;
  }

  /** (Re)reads checkpoints and the generation, and (re)prepares statements. */
  load(): void {
    const states = this.state.all();
    this.generation = this.state.generation();
    this.bound.length = 0;
    this.byType.clear();
    for (const p of this.projections) {
      const s = states.get(p.name);
      if (!s)
        throw new ProjectionError(
          'UnknownProjection',
          `projection "${p.name}" has no state row; call install() first`,
        );
      const b: Bound = { projection: p, handler: p.bind(this.db, this.table), checkpoint: s.checkpoint };
      this.bound.push(b);
      for (const type of p.eventTypes) {
        const list = this.byType.get(type) ?? [];
        list.push(b);
        this.byType.set(type, list);
      }
    }
  }

  /** Where a subscription must start: the lowest checkpoint (null = start of the log). */
  lowestCheckpoint(): Position | null {
    let low: Position | null | undefined;
    for (const b of this.bound) {
      if (b.checkpoint === null) return null;
      if (low === undefined || comparePositions(b.checkpoint, low!) < 0) low = b.checkpoint;
    }
    return low ?? null;
  }

  checkpoints(): ProjectionState[] {
    return this.bound.map((b) => ({
      name: b.projection.name,
      version: b.projection.version,
      checkpoint: b.checkpoint,
    }));
  }

  applyBatch(events: readonly RecordedEvent[]): BatchResult {
    if (events.length === 0) return { committed: true, last: null };
    try {
      return this.applyTx.immediate(events);
    } catch (err) {
      // The transaction rolled back: re-read checkpoints and re-bind handlers (dropping any per-batch state).
      this.load();
      throw err;
    }
  }

  private applyInTransaction(events: readonly RecordedEvent[]): BatchResult {
    if (this.state.generation() !== this.generation) return { committed: false, last: null };
    for (const recorded of events) {
      const targets = this.byType.get(recorded.type);
      if (targets === undefined) continue;
      const event = upcastRecorded(recorded);
      for (const b of targets) {
        if (b.checkpoint === null || comparePositions(event.position, b.checkpoint) > 0)
          b.handler.apply(event);
      }
    }
    for (const b of this.bound) b.handler.endBatch?.();
    const last = events[events.length - 1]!.position;
    for (const b of this.bound) {
      if (b.checkpoint === null || comparePositions(last, b.checkpoint) > 0) {
        this.state.advance(b.projection.name, last);
        b.checkpoint = last;
      }
    }
    return { committed: true, last };
  }

  private tableExists(name: string): boolean {
    return (
      this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined
    );
  }
}
