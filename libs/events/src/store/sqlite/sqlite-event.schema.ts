import type { Position, RecordedEvent } from '../event-store.port';

/**
 * One table holds every record in commit order. `position` is the global
 * sequence; AUTOINCREMENT keeps it from ever being reused, even after the
 * newest rows are gone. Metadata writes live in the same log as `$$<stream>`
 * records flagged `system = 1`, so they get positions and revisions like in
 * EventStoreDB, while `$all` reads skip them.
 *
 * There is deliberately no index on the event id: random UUID keys dirty a
 * different index page per insert, which multiplies what every group commit
 * writes to the WAL. Idempotency for `any` uses a bounded in-memory map of
 * recent ids instead (EventStoreDB also keeps `any` idempotency best-effort,
 * for recent writes), warmed from the tail of the log on open.
 */
export const SQLITE_EVENTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  stream   TEXT    NOT NULL,
  revision INTEGER NOT NULL,
  id       TEXT    NOT NULL,
  type     TEXT    NOT NULL,
  data     TEXT    NOT NULL,
  metadata TEXT,
  created  INTEGER NOT NULL,
  system   INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS events_stream_revision ON events (stream, revision);
CREATE TABLE IF NOT EXISTS streams (
  name          TEXT    PRIMARY KEY,
  last_revision INTEGER NOT NULL DEFAULT -1,
  state         INTEGER NOT NULL DEFAULT 0,
  meta_revision INTEGER NOT NULL DEFAULT -1,
  meta          TEXT
) WITHOUT ROWID;
`;

/** `streams.state` */
export const STREAM_LIVE = 0;
export const STREAM_SOFT_DELETED = 1;
export const STREAM_TOMBSTONED = 2;

/** The columns every read selects, in this order, as raw arrays (cheaper than row objects). */
export const EVENT_COLUMNS = 'position, stream, revision, id, type, data, metadata, created';

export type EventRow = [
  position: number,
  stream: string,
  revision: number,
  id: string,
  type: string,
  data: string,
  metadata: string | null,
  created: number,
];

export function positionOf(sequence: number): Position {
  const value = BigInt(sequence);
  return { commit: value, prepare: value };
}

export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    id: row[3],
    type: row[4],
    streamId: row[1],
    revision: row[2],
    position: positionOf(row[0]),
    data: JSON.parse(row[5]) as unknown,
    metadata: row[6] === null ? undefined : (JSON.parse(row[6]) as unknown),
    created: new Date(row[7]),
  };
}

/** The metastream of a stream, as EventStoreDB names it. */
export const metastreamOf = (stream: string): string => `$$${stream}`;
