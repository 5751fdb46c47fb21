import {
  handlesStream,
  projectionEvent,
  type ProjectionDefinition,
  type Row,
} from '../engine/projection.definition';
import { InMemoryView } from '../engine/projection.view';
import { recorded, type PlannedEvent } from './fleet-events.fixture';

/**
 * given/when for projection unit specs: events go through the catalog's
 * upcasters and the projection's `evolve` into an in-memory view; no database.
 * Event `n` (from 1) is recorded at `at(n * 1000)` with position n.
 */
export class ProjectionHarness {
  readonly view: InMemoryView;
  private seq = 0;

  constructor(readonly projection: ProjectionDefinition) {
    this.view = new InMemoryView(projection.tables);
  }

  given(...events: readonly PlannedEvent[]): this {
    for (const p of events) {
      const event = projectionEvent(recorded(++this.seq, p));
      // As the engine does: events of streams the projection does not declare never reach it.
      if (event !== null && handlesStream(this.projection, event.streamId))
        this.projection.evolve(this.view, event);
    }
    return this;
  }

  /** One row of a keyed table, typed by the caller (the projection's row type). */
  row<R extends Row>(table: string, key: Row): R | undefined {
    return this.view.get(table, key) as R | undefined;
  }

  rows<R extends Row>(table: string): R[] {
    return this.view.rows(table) as R[];
  }
}
