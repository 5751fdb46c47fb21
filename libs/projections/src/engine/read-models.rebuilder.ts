import type Database from 'better-sqlite3';
import { comparePositions, type Position, type RecordedEvent } from '@rf/events';
import { type EventStore } from '@rf/event-store';
import { liveTables, rebuildTables, tableNames, type ProjectionDefinition } from './projection.definition';
import { ProjectionBatchApplier } from './projection-batch.applier';
import { ProjectionError } from './projection.errors';
import { ProjectionStateRepository } from './projection-state.repository';
import { createIndexes, createTables, dropTables } from './read-model.writer';
import { quoteIdent } from './sqlite-projection.view';

/**
 * Events per replay transaction. Each commit writes the pages the batch dirtied and,
 * past the WAL's auto-checkpoint size, checkpoints; rows a batch touches repeatedly (a
 * host, a running job) are written once per batch. Larger batches commit and checkpoint
 * less for the same log; one batch still holds the write lock well under the live
 * runner's busy_timeout (docs/architecture.md, "Read models").
 */
const REPLAY_BATCH = 20_000;
/** WAL pages between checkpoints while replaying (SQLite's default is 1000): fewer, larger checkpoints. */
const REPLAY_AUTOCHECKPOINT_PAGES = 10_000;

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
  const applier = new ProjectionBatchApplier(db, selected, rebuildTables);
  const applyEvents = (events: readonly RecordedEvent[]): void => applier.apply(events);
  const applyTx = db.transaction(applyEvents);
  const applyBatch = (events: readonly RecordedEvent[]): void => applyTx.immediate(events);

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

  /** Reads everything after `last`, applying it in batches; returns the number of events read. */
  const replay = async (apply: (events: readonly RecordedEvent[]) => void): Promise<number> => {
    let n = 0;
    let batch: RecordedEvent[] = [];
    for await (const e of store.readAll({ fromPosition: last ?? 'start' })) {
      // readAll is inclusive of its start position; the event at `last` is already applied.
      if (last !== null && comparePositions(e.position, last) <= 0) continue;
      batch.push(e);
      if (batch.length >= batchSize) {
        apply(batch);
        n += batch.length;
        eventsRead += batch.length;
        last = batch[batch.length - 1]!.position;
        batch = [];
        report('replaying');
      }
    }
    if (batch.length > 0) {
      apply(batch);
      n += batch.length;
      eventsRead += batch.length;
      last = batch[batch.length - 1]!.position;
    }
    return n;
  };

  const autoCheckpoint = db.pragma('wal_autocheckpoint', { simple: true }) as number;
  try {
    db.pragma(`wal_autocheckpoint = ${REPLAY_AUTOCHECKPOINT_PAGES}`);
    try {
      await replay(applyBatch);
      // A second pass without the lock picks up what was appended meanwhile, keeping the locked stretch short.
      await replay(applyBatch);
    } finally {
      db.pragma(`wal_autocheckpoint = ${autoCheckpoint}`);
    }
    report('swapping');

    db.exec('BEGIN IMMEDIATE');
    let generation: number;
    try {
      await replay(applyEvents);
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
    report('done');
    return {
      projections: selected.map((p) => p.name),
      eventsRead,
      checkpoint: last,
      generation,
      elapsedMs: now() - started,
    };
  } catch (err) {
    db.transaction(() => {
      for (const p of selected) dropTables(db, p, rebuildTables);
    }).immediate();
    throw err;
  }
}
