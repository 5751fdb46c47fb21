import type Database from 'better-sqlite3';
import { isEventStoreError, type EventStore } from '@rf/event-store';
import type { Position } from '@rf/events';
import { ProjectionError } from './projection.errors';

/*
 * `readmodels.db` records the id of the log it was built from
 * (docs/architecture.md, "Log identity"), because everything in it that says
 * "applied up to position P" (projection checkpoints, state snapshots) is only
 * true of that log. A node pointed at another log must refuse to start rather
 * than skip or misread events.
 */

export type ReadModelsLogVerdict =
  /** Stamped with this log already. */
  | 'matched'
  /** Nothing applied yet: stamped now. */
  | 'stamped'
  /** Built before read models recorded their log; the log holds an event exactly at their checkpoint: stamped now. */
  | 'adopted';

function ensureTable(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS read_models_log (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    log_id TEXT NOT NULL,
    stamped_at TEXT NOT NULL
  )`);
}

const hasTable = (db: Database.Database, name: string): boolean =>
  db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;

/** The log id `readmodels.db` was built from, or null when it was never stamped. */
export function readModelsLogId(db: Database.Database): string | null {
  if (!hasTable(db, 'read_models_log')) return null;
  const row = db.prepare('SELECT log_id FROM read_models_log WHERE id = 1').get() as
    { log_id: string } | undefined;
  return row?.log_id ?? null;
}

/**
 * Records `logId` as the log these read models come from (a full rebuild does
 * this after replaying that log). When they came from another log, the state
 * snapshots (positions of that log) are dropped: the states replay once.
 */
export function stampReadModelsLog(db: Database.Database, logId: string): void {
  ensureTable(db);
  const previous = readModelsLogId(db);
  if (previous !== null && previous !== logId && hasTable(db, 'state_snapshots'))
    db.exec('DELETE FROM state_snapshots');
  db.prepare(
    `INSERT INTO read_models_log (id, log_id, stamped_at) VALUES (1, ?, ?)
     ON CONFLICT(id) DO UPDATE SET log_id = excluded.log_id, stamped_at = excluded.stamped_at`,
  ).run(logId, new Date().toISOString());
}

/** The furthest position anything in `readmodels.db` claims to have applied, or null for none. */
function furthestRecordedPosition(db: Database.Database): Position | null {
  let best: Position | null = null;
  for (const table of ['projection_state', 'state_snapshots']) {
    if (!hasTable(db, table)) continue;
    const rows = db
      .prepare(
        `SELECT commit_pos, prepare_pos FROM ${table} WHERE commit_pos IS NOT NULL AND prepare_pos IS NOT NULL`,
      )
      .all() as { commit_pos: string; prepare_pos: string }[];
    for (const r of rows) {
      const p = { commit: BigInt(r.commit_pos), prepare: BigInt(r.prepare_pos) };
      if (!best || p.commit > best.commit || (p.commit === best.commit && p.prepare > best.prepare)) best = p;
    }
  }
  return best;
}

/** Whether the log holds an event exactly at `position` (a read from there returns that event first). */
async function logHasEventAt(store: EventStore, position: Position): Promise<boolean> {
  try {
    for await (const e of store.readAll({ fromPosition: position, maxCount: 1 })) {
      return e.position.commit === position.commit && e.position.prepare === position.prepare;
    }
    return false;
  } catch (err) {
    // An EventStoreDB server refuses a position that is not an event boundary of its log.
    if (isEventStoreError(err, 'Unavailable') || isEventStoreError(err, 'Closed')) throw err;
    return false;
  }
}

const fmt = (p: Position): string => `${p.commit}/${p.prepare}`;

/**
 * Checks that `readmodels.db` belongs to the log `logId` identifies, and
 * stamps it when it is new (or older than stamping and consistent with this
 * log). Throws ProjectionError `WrongLog` with what to do otherwise.
 */
export async function verifyReadModelsLog(
  db: Database.Database,
  store: EventStore,
  logId: string,
  where: string,
): Promise<ReadModelsLogVerdict> {
  const recorded = readModelsLogId(db);
  if (recorded === logId) return 'matched';
  const remedy = `Point RF_EVENTSTORE back at the log they came from, or move ${where} away (it is rebuilt from the log on the next start).`;
  if (recorded !== null) {
    throw new ProjectionError(
      'WrongLog',
      `the read models in ${where} were built from log ${recorded}, but RF_EVENTSTORE names log ${logId}. ${remedy}`,
    );
  }
  const furthest = furthestRecordedPosition(db);
  if (furthest === null) {
    stampReadModelsLog(db, logId);
    return 'stamped';
  }
  if (!(await logHasEventAt(store, furthest))) {
    throw new ProjectionError(
      'WrongLog',
      `the read models in ${where} record position ${fmt(furthest)}, which is not an event of log ${logId} (they predate log identities and come from another log). ${remedy}`,
    );
  }
  stampReadModelsLog(db, logId);
  return 'adopted';
}
