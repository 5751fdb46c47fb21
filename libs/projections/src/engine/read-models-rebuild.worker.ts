import { parentPort, workerData } from 'node:worker_threads';
import { createEventStore, type EventStore, type EventStoreConfig } from '@rf/event-store';
import type { Position } from '@rf/events';
import { ALL_PROJECTIONS } from '../read-models/all.projections';
import { openReadModelsDatabase } from './read-models.database';
import { RebuildReplay, WriteTurn } from './rebuild-replay';

/** What the rebuild hands one of its replay threads. */
export interface RebuildWorkerInput {
  readonly readModelsPath: string;
  readonly eventStore: EventStoreConfig;
  /** Projections (of ALL_PROJECTIONS) whose rebuild tables this thread fills. */
  readonly names: readonly string[];
  readonly batchSize: number;
  /** The threads' shared write turn (WriteTurn), and whether this thread goes first when both wait. */
  readonly writeTurn: SharedArrayBuffer;
  readonly firstTurn: boolean;
}

/** Messages from a replay thread: progress after each batch, then done or failed. */
export type RebuildWorkerMessage =
  | { readonly kind: 'progress'; readonly eventsRead: number; readonly last: Position | null }
  | { readonly kind: 'done'; readonly eventsRead: number; readonly last: Position | null }
  | { readonly kind: 'failed'; readonly message: string };

/**
 * One replay thread of a parallel rebuild (read-models.rebuilder.ts): its own
 * connections to the log and to readmodels.db, replaying its projections into
 * their rebuild tables (RebuildReplay.catchUp).
 */
async function main(input: RebuildWorkerInput, post: (m: RebuildWorkerMessage) => void): Promise<void> {
  const projections = ALL_PROJECTIONS.filter((p) => input.names.includes(p.name));
  const db = openReadModelsDatabase(input.readModelsPath);
  let store: EventStore | undefined;
  let replay: RebuildReplay;
  try {
    // Its commits never checkpoint: the rebuild's checkpoint thread copies the WAL back meanwhile.
    db.pragma('wal_autocheckpoint = 0');
    store = createEventStore(input.eventStore, { readonly: true });
    replay = new RebuildReplay(
      store,
      db,
      projections,
      input.batchSize,
      () => post({ kind: 'progress', eventsRead: replay.eventsRead, last: replay.last }),
      new WriteTurn(input.writeTurn, input.firstTurn),
    );
    await replay.catchUp();
  } finally {
    db.close();
    await store?.close();
  }
  // Only once its connections are closed: the rebuild then takes the write lock for the swap.
  post({ kind: 'done', eventsRead: replay.eventsRead, last: replay.last });
}

if (parentPort !== null) {
  const port = parentPort;
  const post = (m: RebuildWorkerMessage): void => port.postMessage(m);
  main(workerData as RebuildWorkerInput, post).catch((err: unknown) => {
    post({ kind: 'failed', message: err instanceof Error ? err.message : String(err) });
  });
}
