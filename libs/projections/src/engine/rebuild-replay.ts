import type Database from 'better-sqlite3';
import { comparePositions, type Position } from '@rf/events';
import { type EventStore } from '@rf/event-store';
import { rebuildTables, streamPrefixesOf, type ProjectionDefinition } from './projection.definition';
import { ProjectionBatchApplier } from './projection-batch.applier';
import { createIndexes } from './read-model.writer';
import { ProjectionError } from './projection.errors';

/**
 * Replays the log into the rebuild tables of some projections, event by event as it
 * reads, writing their rows every `batchSize` events. Evolving reads only rebuild
 * tables, which nothing else writes, so it needs no transaction; each batch's rows
 * are written in one IMMEDIATE transaction, so the write lock is held only while rows
 * are written (docs/architecture.md, "Read models"). One runs on each rebuild thread.
 * It reads only the streams its projections declare (`streams`), so rows of other
 * streams are neither fetched nor parsed.
 *
 * Evolving runs outside any transaction. (Inside a read transaction of its own each lookup was
 * cheaper, but two threads nearly always reading kept the WAL from ever starting over: it grew
 * by every page the rebuild wrote. Lookups of rows not written yet cost none anyway: see
 * SqliteProjectionView's `startsEmpty`.)
 */
export class RebuildReplay {
  /**
   * How far the log has been replayed and committed (null: not at all): every event at or
   * before it that these projections handle is in their rebuild tables. With a filtered read
   * this is the log position scanned to, which may lie past the last event applied.
   */
  last: Position | null = null;
  eventsRead = 0;
  private readonly applier: ProjectionBatchApplier;
  private readonly prefixes: readonly string[] | undefined;

  constructor(
    private readonly store: EventStore,
    private readonly db: Database.Database,
    private readonly projections: readonly ProjectionDefinition[],
    private readonly batchSize: number,
    private readonly onBatch: () => void = () => undefined,
    private readonly turn: WriteTurn | null = null,
  ) {
    // Its tables were made empty for it (createTables) and only it writes them until the swap.
    this.applier = new ProjectionBatchApplier(db, projections, rebuildTables, true);
    this.prefixes = streamPrefixesOf(projections);
  }

  /**
   * Replays the log to its end, then once more: the second pass, still without the
   * rebuild's lock, picks up what was appended meanwhile, keeping the locked stretch short.
   * In between, the rebuild tables get their indexes, here rather than in the swap: each
   * thread builds its own while the other may still be replaying, and the swap, which
   * holds the write lock, only renames tables.
   */
  async catchUp(): Promise<void> {
    await this.run();
    // One index at a time, so the other thread's batches can come in between: building one
    // over a large table holds the write lock for a while.
    for (const p of this.projections)
      for (const ix of p.indexes)
        this.inWriteTransaction(() => createIndexes(this.db, p, rebuildTables, [ix]));
    await this.run();
  }

  /** Applies everything after `last` up to the log's end as read now. */
  async run(): Promise<void> {
    const from = this.last;
    let inBatch = 0;
    let reached = this.last;
    const write = (): void => {
      this.inWriteTransaction(() => this.applier.flush());
      this.eventsRead += inBatch;
      inBatch = 0;
      this.last = reached;
    };
    // A filtered read ends at the last event it returns, though it scanned the log to its end:
    // every event up to the head as it is now is scanned, matching or not, so the pass has
    // reached at least the head. Taken before the read, it can only be behind what was scanned.
    const head = this.prefixes === undefined ? null : await this.store.headPosition();
    try {
      // Page by page: one await per page of events rather than per event.
      const pages = this.store.readAllPages({
        fromPosition: from ?? 'start',
        ...(this.prefixes === undefined ? {} : { streamNamePrefixes: this.prefixes }),
      });
      for await (const page of pages) {
        for (const e of page) {
          // readAll is inclusive of its start position; the event at `from` is already applied.
          if (from !== null && comparePositions(e.position, from) <= 0) continue;
          this.applier.evolve(e);
          reached = e.position;
          // A full batch is written at once unless the other thread is writing (a batch, or an
          // index over a large table): then this one goes on evolving, and writes when its turn
          // is free or the batch has grown to WAIT_BATCHES times its size, rather than wait idle.
          if (
            ++inBatch >= this.batchSize &&
            (this.turn === null || this.turn.tryTake() || inBatch >= WAIT_BATCHES * this.batchSize)
          ) {
            write();
            this.onBatch();
          }
        }
      }
      if (head !== null && (reached === null || comparePositions(head, reached) > 0)) reached = head;
      write();
    } catch (err) {
      this.applier.discard();
      throw err;
    }
  }

  /** Runs `work` in an IMMEDIATE transaction, in this thread's write turn when the replay threads share one. */
  private inWriteTransaction(work: () => void): void {
    if (this.turn !== null && !this.turn.held) this.turn.take();
    try {
      beginImmediate(this.db);
      try {
        work();
        this.db.exec('COMMIT');
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    } finally {
      this.turn?.give();
    }
  }
}

/** How many batches' worth a thread goes on evolving while the other holds the write turn. */
const WAIT_BATCHES = 3;

/** How long a batch waits for the write lock in all, like the connection's busy_timeout. */
const LOCK_WAIT_MS = 10_000;

/**
 * The replay threads' turns at writing readmodels.db, over two shared words: the turn (0 free,
 * 1 taken) and whether the first thread (the one that bounds the rebuild) waits for it. SQLite's
 * own wait for the write lock sleeps in steps of up to 100 ms, so a thread often slept on long
 * after the other's batch had committed; a thread waiting here wakes as soon as the other gives
 * the turn back, and while the first thread waits the other leaves the turn to it. The threads
 * still take SQLite's lock inside their turn, which is what keeps out a running `serve`.
 */
export class WriteTurn {
  private readonly word: Int32Array;
  /** Whether this thread holds the turn (taken and not yet given back). */
  held = false;

  constructor(
    shared: SharedArrayBuffer,
    private readonly first: boolean,
  ) {
    this.word = new Int32Array(shared, 0, 2);
  }

  /** The words for `new WriteTurn(...)` in each thread. */
  static shared(): SharedArrayBuffer {
    return new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
  }

  /** Takes the turn if it is free (and, for the other thread, the first one is not waiting for it). */
  tryTake(): boolean {
    if (!this.first && Atomics.load(this.word, FIRST_WAITS) !== 0) return (this.held = false);
    this.held = Atomics.compareExchange(this.word, TURN, 0, 1) === 0;
    return this.held;
  }

  take(): void {
    const started = Date.now();
    if (this.first) Atomics.store(this.word, FIRST_WAITS, 1);
    try {
      while (!this.tryTake()) {
        const left = LOCK_WAIT_MS - (Date.now() - started);
        if (left <= 0)
          throw new ProjectionError(
            'RebuildConflict',
            `a rebuild thread waited ${LOCK_WAIT_MS} ms for its turn to write`,
          );
        if (!this.first && Atomics.load(this.word, FIRST_WAITS) !== 0)
          Atomics.wait(this.word, FIRST_WAITS, 1, left);
        else Atomics.wait(this.word, TURN, 1, left);
      }
    } finally {
      if (this.first) {
        Atomics.store(this.word, FIRST_WAITS, 0);
        Atomics.notify(this.word, FIRST_WAITS);
      }
    }
  }

  give(): void {
    this.held = false;
    Atomics.store(this.word, TURN, 0);
    Atomics.notify(this.word, TURN);
  }
}

/** WriteTurn's words. */
const TURN = 0;
const FIRST_WAITS = 1;

/**
 * BEGIN IMMEDIATE, waiting for the write lock. Two replay threads and a running
 * `serve` take turns on one file; SQLite's busy handler covers most waits, but with
 * two replay threads under load a BEGIN was seen to come back SQLITE_BUSY after about
 * 120 ms, well before busy_timeout, so it is tried again until LOCK_WAIT_MS have passed.
 * Nothing is written before the BEGIN succeeds, so trying again is safe.
 */
function beginImmediate(db: Database.Database): void {
  const started = Date.now();
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    try {
      db.exec('BEGIN IMMEDIATE');
      return;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const busy = typeof code === 'string' && code.startsWith('SQLITE_BUSY');
      if (!busy || Date.now() - started >= LOCK_WAIT_MS) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
    }
  }
}
