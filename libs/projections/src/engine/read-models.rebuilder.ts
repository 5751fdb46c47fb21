import type Database from 'better-sqlite3';
import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import { comparePositions, type Position, type RecordedEvent } from '@rf/events';
import { SqliteWalCheckpointer, type EventStore, type EventStoreConfig } from '@rf/event-store';
import { liveTables, rebuildTables, tableNames, type ProjectionDefinition } from './projection.definition';
import { ProjectionBatchApplier } from './projection-batch.applier';
import { ProjectionError } from './projection.errors';
import { ProjectionStateRepository } from './projection-state.repository';
import { ALL_PROJECTIONS } from '../read-models/all.projections';
import { createIndexes, createTables, dropTables } from './read-model.writer';
import { quoteIdent } from './sqlite-projection.view';
import { RebuildReplay, WriteTurn } from './rebuild-replay';
import type { RebuildWorkerInput, RebuildWorkerMessage } from './read-models-rebuild.worker';

/**
 * Events per replay batch. A batch is evolved without a transaction and its rows are
 * written in one; rows it touches repeatedly (a host's snapshots, a running job) are
 * written once per batch, so larger batches write less for the same log. The write
 * lock is held only while a batch's rows are written, well under the live runner's
 * busy_timeout; memory holds one batch's changed rows (docs/architecture.md, "Read models").
 */
const REPLAY_BATCH = 100_000;
/** WAL pages between checkpoints while replaying (SQLite's default is 1000): fewer, larger checkpoints. */
const REPLAY_AUTOCHECKPOINT_PAGES = 10_000;
/** How often the checkpoint thread copies the replay threads' WAL frames back. */
const CHECKPOINT_EVERY_MS = 100;

export interface RebuildProgress {
  readonly applied: number;
  /** Position reached (commit part) and the log head when the rebuild started. */
  readonly position: bigint;
  readonly head: bigint;
  readonly eventsPerSecond: number;
  /** Estimated seconds left, from commit positions (exact for SQLite; an estimate for EventStoreDB). */
  readonly etaSeconds: number | null;
  readonly phase: 'replaying' | 'swapping' | 'done';
}

export interface RebuildOptions {
  /** Projection names to rebuild; all when empty or absent. */
  readonly names?: readonly string[];
  readonly batchSize?: number;
  readonly onProgress?: (progress: RebuildProgress) => void;
  /** Minimum interval between progress reports. Default 200 ms. */
  readonly progressEveryMs?: number;
  readonly now?: () => number;
  /**
   * Replay on two threads, each reading the streams of its own projections from the log
   * and filling their rebuild tables (the jobs on one, everything else on the other). Only for the
   * control plane's own projections (ALL_PROJECTIONS) in a database file.
   */
  readonly parallel?: { readonly eventStore: EventStoreConfig };
}

export interface RebuildResult {
  readonly projections: readonly string[];
  readonly eventsRead: number;
  readonly checkpoint: Position | null;
  readonly generation: number;
  readonly elapsedMs: number;
}

/**
 * Replays the whole log into fresh `<table>__rebuild` tables and swaps them in
 * with one write transaction: old tables dropped, new ones renamed, indexes
 * created, checkpoints set, generation bumped. The last stretch of the log is
 * applied while holding the write lock, so the swapped tables are at least as
 * far as the live ones were. A running control plane sees the new generation
 * on its next batch and resubscribes from the swapped-in checkpoints.
 */
export async function rebuildReadModels(
  store: EventStore,
  db: Database.Database,
  all: readonly ProjectionDefinition[],
  options: RebuildOptions = {},
): Promise<RebuildResult> {
  const now = options.now ?? Date.now;
  const started = now();
  const names = options.names ?? [];
  for (const n of names) {
    if (!all.some((p) => p.name === n)) {
      throw new ProjectionError(
        'UnknownProjection',
        `unknown projection "${n}"; known: ${all.map((p) => p.name).join(', ')}`,
        {
          name: n,
        },
      );
    }
  }
  const selected = names.length === 0 ? all : all.filter((p) => names.includes(p.name));
  const batchSize = options.batchSize ?? REPLAY_BATCH;
  const progressEvery = options.progressEveryMs ?? 200;
  const state = new ProjectionStateRepository(db);

  // Every write transaction here is IMMEDIATE: the live runner writes the same file, and a deferred
  // transaction that read before it wrote fails at once with SQLITE_BUSY when the runner committed in
  // between, instead of waiting its turn (busy_timeout only covers taking the write lock).
  db.transaction(() => {
    for (const p of selected) createTables(db, p, rebuildTables);
  }).immediate();
  const headAtStart = (await store.headPosition())?.commit ?? 0n;
  let last = null as Position | null;
  let eventsRead = 0;
  let lastReport = 0;
  const report = (phase: RebuildProgress['phase']): void => {
    const t = now();
    if (phase === 'replaying' && t - lastReport < progressEvery) return;
    lastReport = t;
    const seconds = Math.max((t - started) / 1000, 0.001);
    const rate = eventsRead / seconds;
    const pos = last?.commit ?? 0n;
    const remaining = headAtStart > pos ? Number(headAtStart - pos) : 0;
    const perCommit = pos > 0n ? Number(pos) / seconds : 0;
    options.onProgress?.({
      applied: eventsRead,
      position: pos,
      head: headAtStart,
      eventsPerSecond: rate,
      etaSeconds: phase === 'done' ? 0 : perCommit > 0 ? remaining / perCommit : null,
      phase,
    });
  };

  /** Where each selected projection's rebuild tables stand once the unlocked replay is over. */
  let reachedBy: (Position | null)[];
  const autoCheckpoint = db.pragma('wal_autocheckpoint', { simple: true }) as number;
  let checkpointerStopped: Promise<void> = Promise.resolve();
  try {
    const groups = options.parallel ? parallelGroups(db, all, selected) : null;
    if (groups !== null) {
      // The threads never checkpoint in their commits: a thread of its own copies their WAL
      // frames back meanwhile (PASSIVE, it waits for neither), so neither waits on the copy and
      // its sync of the file. Should it fail, the WAL grows until the swap's commit checkpoints it.
      const checkpointer = new SqliteWalCheckpointer(db, db.name, { intervalMs: CHECKPOINT_EVERY_MS });
      let done: Awaited<ReturnType<typeof replayInThreads>>;
      try {
        done = await replayInThreads(groups, {
          readModelsPath: db.name,
          eventStore: options.parallel!.eventStore,
          batchSize,
          onProgress: (read, at) => {
            eventsRead = read;
            last = at;
            report('replaying');
          },
        });
      } finally {
        // Not awaited here: the swap need not wait for the thread to wind down.
        checkpointerStopped = checkpointer.stop();
        db.pragma(`wal_autocheckpoint = ${autoCheckpoint}`);
      }
      reachedBy = selected.map((p) => done[groups.findIndex((g) => g.includes(p.name))]!.last);
      eventsRead = Math.max(...done.map((d) => d.eventsRead));
    } else {
      db.pragma(`wal_autocheckpoint = ${REPLAY_AUTOCHECKPOINT_PAGES}`);
      try {
        const replay: RebuildReplay = new RebuildReplay(store, db, selected, batchSize, () => {
          eventsRead = replay.eventsRead;
          last = replay.last;
          report('replaying');
        });
        await replay.catchUp();
        reachedBy = selected.map(() => replay.last);
        eventsRead = replay.eventsRead;
      } finally {
        db.pragma(`wal_autocheckpoint = ${autoCheckpoint}`);
      }
    }
    last = lowest(reachedBy);
    report('swapping');

    db.exec('BEGIN IMMEDIATE');
    let generation: number;
    try {
      // Each projection resumes after its own position: the threads may have stopped at different events.
      const applier = new ProjectionBatchApplier(db, selected, rebuildTables);
      const highest = highestOf(reachedBy);
      let batch: RecordedEvent[] = [];
      const applyBatch = (): void => {
        applier.apply(batch, reachedBy);
        for (const e of batch)
          if (highest === null || comparePositions(e.position, highest) > 0) eventsRead++;
        last = batch[batch.length - 1]!.position;
        batch = [];
      };
      const from = last;
      for await (const e of store.readAll({ fromPosition: from ?? 'start' })) {
        if (from !== null && comparePositions(e.position, from) <= 0) continue;
        batch.push(e);
        if (batch.length >= batchSize) applyBatch();
      }
      if (batch.length > 0) applyBatch();
      if (highest !== null && (last === null || comparePositions(highest, last) > 0)) last = highest;
      const states = state.all();
      let target: Position | null = last;
      for (const p of selected) {
        const cp = states.get(p.name)?.checkpoint ?? null;
        if (cp !== null && (target === null || comparePositions(cp, target) > 0)) target = cp;
      }
      if (target !== null && (last === null || comparePositions(target, last) > 0)) {
        // The live tables are ahead of the log as we read it; this cannot happen with a single log.
        throw new ProjectionError(
          'RebuildConflict',
          'live read models are ahead of the event log being rebuilt from',
          {
            live: target.commit.toString(),
            rebuilt: last?.commit.toString() ?? null,
          },
        );
      }
      for (const p of selected) {
        dropTables(db, p, liveTables);
        for (const t of tableNames(p))
          db.exec(`ALTER TABLE ${quoteIdent(rebuildTables(t))} RENAME TO ${quoteIdent(t)}`);
        createIndexes(db, p);
        state.save({ name: p.name, version: p.version, checkpoint: last });
      }
      generation = state.nextGeneration();
      db.exec('COMMIT');
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw err;
    }
    await checkpointerStopped;
    report('done');
    return {
      projections: selected.map((p) => p.name),
      eventsRead,
      checkpoint: last,
      generation,
      elapsedMs: now() - started,
    };
  } catch (err) {
    await checkpointerStopped;
    db.transaction(() => {
      for (const p of selected) dropTables(db, p, rebuildTables);
    }).immediate();
    throw err;
  }
}

/**
 * The read models replayed on the first thread; the rest go to the second. Each thread reads
 * only the streams its read models declare: the jobs read their lifecycle and the job log
 * (most of the log), every other read model reads everything but the job log.
 */
const OWN_THREAD: readonly string[] = ['jobs'];
/** A replay thread's young generation: room for a batch's rows, so they die young instead of being promoted. */
const WORKER_YOUNG_GENERATION_MB = 64;

/** The two groups of projection names for the replay threads, or null when the rebuild runs on this thread. */
function parallelGroups(
  db: Database.Database,
  all: readonly ProjectionDefinition[],
  selected: readonly ProjectionDefinition[],
): string[][] | null {
  if (db.memory || all !== ALL_PROJECTIONS) return null;
  const own = selected.filter((p) => OWN_THREAD.includes(p.name)).map((p) => p.name);
  const rest = selected.filter((p) => !OWN_THREAD.includes(p.name)).map((p) => p.name);
  // Two threads each read the log: worth it only when both have real work.
  return own.length > 0 && rest.length > 0 ? [own, rest] : null;
}

interface ThreadsOptions {
  readonly readModelsPath: string;
  readonly eventStore: EventStoreConfig;
  readonly batchSize: number;
  /** Events every thread has applied, and the lowest position they all reached. */
  readonly onProgress: (eventsRead: number, last: Position | null) => void;
}

/** Runs one replay thread per group; resolves with where each stopped, in group order. */
async function replayInThreads(
  groups: readonly (readonly string[])[],
  options: ThreadsOptions,
): Promise<{ eventsRead: number; last: Position | null }[]> {
  const progress = groups.map(() => ({ eventsRead: 0, last: null as Position | null }));
  const writeTurn = WriteTurn.shared();
  const workers: Worker[] = [];
  try {
    return await Promise.all(
      groups.map(
        (names, i) =>
          new Promise<{ eventsRead: number; last: Position | null }>((resolve, reject) => {
            const input: RebuildWorkerInput = {
              readModelsPath: options.readModelsPath,
              eventStore: options.eventStore,
              names,
              batchSize: options.batchSize,
              writeTurn,
              // The first group (the jobs) bounds the rebuild: it writes first when both wait.
              firstTurn: i === 0,
            };
            const worker = new Worker(path.join(__dirname, 'read-models-rebuild.worker.js'), {
              workerData: input,
              resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
            });
            workers.push(worker);
            let settled = false;
            worker.on('message', (m: RebuildWorkerMessage) => {
              if (m.kind === 'failed') {
                settled = true;
                reject(new Error(m.message));
                return;
              }
              progress[i] = { eventsRead: m.eventsRead, last: m.last };
              if (m.kind === 'done') {
                settled = true;
                resolve(progress[i]!);
              } else {
                options.onProgress(
                  Math.min(...progress.map((p) => p.eventsRead)),
                  lowest(progress.map((p) => p.last)),
                );
              }
            });
            worker.on('error', (err) => {
              settled = true;
              reject(err);
            });
            worker.on('exit', (code) => {
              if (!settled) reject(new Error(`a rebuild thread stopped (exit code ${code})`));
            });
          }),
      ),
    );
  } finally {
    // Not awaited: a thread that reported done has closed its connections and only winds down
    // its heap, which need not hold up the swap; one that failed is stopped all the same.
    for (const w of workers) void w.terminate();
  }
}

/** The lowest of some positions (null, the start of the log, is lowest). */
function lowest(positions: readonly (Position | null)[]): Position | null {
  if (positions.some((p) => p === null)) return null;
  return highestOf(positions, -1);
}

/** The highest of some positions, ignoring nulls (null when there is none); `sign` -1 gives the lowest. */
function highestOf(positions: readonly (Position | null)[], sign: 1 | -1 = 1): Position | null {
  let best: Position | null = null;
  for (const p of positions)
    if (p !== null && (best === null || sign * comparePositions(p, best) > 0)) best = p;
  return best;
}
