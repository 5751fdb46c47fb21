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
 * A stream's last revision is not stored twice: it is the top of the
 * (stream, revision) index, and the writer keeps recently written streams in
 * memory, so an append costs no extra statement for it. `streams` holds only
 * what events cannot say: deletion state and metadata.
 *
 * `body` is the whole record as one JSON array
 * `["<id>", "<type>", <data>, <metadata or null>, "<stream>", <revision>, <created>]`:
 * a scan fetches two columns and parses once per event, which is what makes
 * reading the log fast (a column costs about as much to fetch as a parse).
 * `stream`, `revision` and `created` are also columns for the indexes and
 * filters. The id is a validated lower-case UUID at a fixed offset, so SQL can
 * still see it (`substr(body, 3, 36)`).
 */
/** Kept in `PRAGMA user_version`; a file with another version is refused rather than misread. */
export const SQLITE_EVENTS_SCHEMA_VERSION = 2;

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
  state         INTEGER NOT NULL DEFAULT 0,
  meta_revision INTEGER NOT NULL DEFAULT -1,
  meta          TEXT
) WITHOUT ROWID;
`;

/** `streams.state` */
export const STREAM_LIVE = 0;
export const STREAM_SOFT_DELETED = 1;
export const STREAM_TOMBSTONED = 2;

/** What reads select, as raw arrays (cheaper than row objects): the record, plus a cursor column for some reads. */
export const EVENT_COLUMNS = 'position, body';
export const EVENT_COLUMNS_WITH_STREAM = 'position, body, stream';
export const EVENT_COLUMNS_WITH_REVISION = 'position, body, revision';

export type EventRow = [position: number, body: string];
export type EventRowWithStream = [position: number, body: string, stream: string];
export type EventRowWithRevision = [position: number, body: string, revision: number];

/**
 * The part of a body known before the write: `["<id>","<type>",<data>,<metadata>`
 * (no closing bracket). Serialised once, on the caller's tick.
 */
export function bodyHead(id: string, type: string, data: unknown, metadata: unknown): string {
  const json = JSON.stringify([id, type, data, metadata ?? null]);
  return json.slice(0, -1);
}

/** Completes a body inside the write transaction, where revision and time are known. */
export function completeBody(head: string, streamJson: string, revision: number, created: number): string {
  return `${head},${streamJson},${revision},${created}]`;
}

/** SQL for the id inside `body` (ids are stored as 36-character UUIDs right after `["`). */
export const BODY_ID_SQL = 'substr(body, 3, 36)';

export function positionOf(sequence: number): Position {
  const value = BigInt(sequence);
  return { commit: value, prepare: value };
}

export function toRecordedEvent(row: EventRow | EventRowWithStream | EventRowWithRevision): RecordedEvent {
  const body = JSON.parse(row[1]) as [string, string, unknown, unknown, string, number, number];
  const sequence = BigInt(row[0]);
  return {
    id: body[0],
    type: body[1],
    streamId: body[4],
    revision: body[5],
    position: { commit: sequence, prepare: sequence },
    data: body[2],
    metadata: body[3] === null ? undefined : body[3],
    created: new Date(body[6]),
  };
}

/** The metastream of a stream, as EventStoreDB names it. */
export const metastreamOf = (stream: string): string => `$$${stream}`;
