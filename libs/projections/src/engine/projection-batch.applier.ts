import type Database from 'better-sqlite3';
import { comparePositions, type Position, type RecordedEvent } from '@rf/events';
import {
  handlesCategory,
  streamCategoryOf,
  projectionEvent,
  type ProjectionDefinition,
  type TableNamer,
} from './projection.definition';
import { SqliteProjectionView } from './sqlite-projection.view';

/**
 * The one generic writer of read models: runs each projection's `evolve` over a
 * batch of events against its SQLite view, then writes every changed row.
 * It opens no transaction itself: callers run `apply` inside theirs, together
 * with the checkpoints (ReadModelWriter) or the table swap (rebuild).
 */
export class ProjectionBatchApplier {
  private readonly views: SqliteProjectionView[];

  /** `startsEmpty`: the tables are empty and only this applier writes them (SqliteProjectionView). */
  constructor(
    db: Database.Database,
    readonly projections: readonly ProjectionDefinition[],
    table: TableNamer,
    startsEmpty = false,
  ) {
    this.views = projections.map((p) => new SqliteProjectionView(db, p.tables, table, startsEmpty));
  }

  /**
   * Applies `events` (in log order) to every projection, skipping for each the
   * events at or before its checkpoint (`after[i]`, null = none), and writes
   * the resulting rows. On a throw the caller rolls back and calls `discard()`.
   */
  apply(events: readonly RecordedEvent[], after: readonly (Position | null)[] = []): void {
    const first = this.projections.map((_, i) => firstAfter(events, after[i] ?? null));
    const from = Math.min(...first);
    for (let e = from; e < events.length; e++) {
      const event = projectionEvent(events[e]!);
      if (event === null) continue;
      const category = streamCategoryOf(event.streamId);
      for (let i = 0; i < this.projections.length; i++) {
        const p = this.projections[i]!;
        if (e >= first[i]! && handlesCategory(p, category)) p.evolve(this.views[i]!, event);
      }
    }
    for (const v of this.views) v.flush();
  }

  /**
   * Runs every projection's `evolve` over one event (in log order) without writing:
   * its rows wait in the views until `flush()`. The rebuild feeds events one by one
   * as it reads them, so no batch of events is held (docs/architecture.md, "Read models").
   */
  evolve(recorded: RecordedEvent): void {
    const event = projectionEvent(recorded);
    if (event === null) return;
    const category = streamCategoryOf(event.streamId);
    for (let i = 0; i < this.projections.length; i++) {
      const p = this.projections[i]!;
      if (handlesCategory(p, category)) p.evolve(this.views[i]!, event);
    }
  }

  /** Writes every row changed since the last flush; call inside the caller's transaction. */
  flush(): void {
    for (const v of this.views) v.flush();
  }

  /** Forgets what a failed batch had cached or changed. */
  discard(): void {
    for (const v of this.views) v.discard();
  }
}

/** Index of the first event after `checkpoint`; events are in log order. */
function firstAfter(events: readonly RecordedEvent[], checkpoint: Position | null): number {
  if (checkpoint === null) return 0;
  let i = 0;
  while (i < events.length && comparePositions(events[i]!.position, checkpoint) <= 0) i++;
  return i;
}
