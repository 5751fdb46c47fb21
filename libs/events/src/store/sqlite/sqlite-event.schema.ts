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
 *
 * `body` is one JSON array `["<id>", "<type>", <data>, <metadata or null>]`:
 * reads fetch five columns and parse once per event, which is what makes a
 * scan of the log fast. The id is a validated lower-case UUID at a fixed
 * offset, so SQL can still see it (`substr(body, 3, 36)`).
 */
export const SQLITE_EVENTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  stream   TEXT    NOT NULL,
  revision INTEGER NOT NULL,
  created  INTEGER NOT NULL,
  system   INTEGER NOT NULL DEFAULT 0,
  body     TEXT    NOT NULL
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
export const EVENT_COLUMNS = 'position, stream, revision, created, body';

export type EventRow = [position: number, stream: string, revision: number, created: number, body: string];

/** The stored body of one event; `data` and `metadata` are JSON text already. */
export function eventBody(id: string, type: string, data: string, metadata: string | null): string {
  return `["${id}",${JSON.stringify(type)},${data},${metadata ?? 'null'}]`;
}

/** SQL for the id inside `body` (ids are stored as 36-character UUIDs right after `["`). */
export const BODY_ID_SQL = 'substr(body, 3, 36)';

export function positionOf(sequence: number): Position {
  const value = BigInt(sequence);
  return { commit: value, prepare: value };
}

export function toRecordedEvent(row: EventRow): RecordedEvent {
  const body = JSON.parse(row[4]) as [string, string, unknown, unknown];
  const sequence = BigInt(row[0]);
  return {
    id: body[0],
    type: body[1],
    streamId: row[1],
    revision: row[2],
    position: { commit: sequence, prepare: sequence },
    data: body[2],
    metadata: body[3] === null ? undefined : body[3],
    created: new Date(row[3]),
  };
}

/** The metastream of a stream, as EventStoreDB names it. */
export const metastreamOf = (stream: string): string => `$$${stream}`;
