import type { Position, RecordedEvent } from '@rf/events';

/**
 * One table holds every record in commit order. Every event has its own
 * global position, and positions are never reused: AUTOINCREMENT keeps the
 * highest key ever written in `sqlite_sequence`, and the writer allocates the
 * next positions from there. Metadata writes live in the same log as
 * `$$<stream>` records flagged `system = 1`, so they get positions and
 * revisions like in EventStoreDB, while `$all` reads skip them.
 *
 * A row holds ONE event, or the consecutive events of one multi-event append
 * (at most `MAX_ROW_EVENTS`). A row is keyed by its LAST event: `position` is
 * the last event's position and `revision` its revision; `count` events sit
 * right before it, so the row covers positions `position - count + 1 ..
 * position`. Storing an append as one row writes one table entry and one
 * index entry for all its events, which is what makes group commits of
 * telemetry cheap; reads expand rows into events and drop the ones outside
 * the requested range.
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
 * `body` is the record as JSON, so a scan fetches two columns and parses once
 * per row (a column costs about as much to fetch as a parse):
 * - one event: `["<id>", "<type>", <data>, <metadata or null>, "<stream>", <revision>, <created>]`;
 * - several:   `[["<id>", "<type>", <data>, <metadata>], …, "<stream>", <last revision>, <created>]`.
 * The first event's id is a validated lower-case UUID at a fixed offset, so
 * SQL can still see it (`FIRST_ID_SQL`). `stream`, `revision` and `created`
 * are also columns for the indexes and filters.
 *
 * Versions: 1 had an unused `streams.last_revision`; 2 had one event per row
 * and no `count` column. Both open unchanged: opening adds `count` (default 1)
 * and stamps version 3, which older builds then refuse instead of misreading
 * multi-event rows.
 */
/** Kept in `PRAGMA user_version`; a file with another version is refused rather than misread. */
export const SQLITE_EVENTS_SCHEMA_VERSION = 3;
/** Versions this build opens (and upgrades in place when opened for writing). */
export const SQLITE_EVENTS_READABLE_VERSIONS: readonly number[] = [1, 2, 3];

/** The most events one row holds; a larger append spans several rows. Bounds the range reads that look back. */
export const MAX_ROW_EVENTS = 1024;

export const SQLITE_EVENTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  stream   TEXT    NOT NULL,
  revision INTEGER NOT NULL,
  created  INTEGER NOT NULL,
  system   INTEGER NOT NULL DEFAULT 0,
  body     TEXT    NOT NULL,
  count    INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX IF NOT EXISTS events_stream_revision ON events (stream, revision);
CREATE TABLE IF NOT EXISTS streams (
  name          TEXT    PRIMARY KEY,
  state         INTEGER NOT NULL DEFAULT 0,
  meta_revision INTEGER NOT NULL DEFAULT -1,
  meta          TEXT
) WITHOUT ROWID;
`;

/** Adds what version 3 has and versions 1–2 lack (run inside the upgrade). */
export const SQLITE_EVENTS_ADD_COUNT = 'ALTER TABLE events ADD COLUMN count INTEGER NOT NULL DEFAULT 1';

/** `streams.state` */
export const STREAM_LIVE = 0;
export const STREAM_SOFT_DELETED = 1;
export const STREAM_TOMBSTONED = 2;

/** What reads select, as raw arrays (cheaper than row objects). */
export const EVENT_COLUMNS = 'position, body';

export type EventRow = [position: number, body: string];

/**
 * The part of a body known before the write: `["<id>","<type>",<data>,<metadata>`
 * (no closing bracket). Serialised once, on the caller's tick.
 */
export function bodyHead(id: string, type: string, data: unknown, metadata: unknown): string {
  const json = JSON.stringify([id, type, data, metadata ?? null]);
  return json.slice(0, -1);
}

/** Completes a one-event body inside the write transaction, where revision and time are known. */
export function completeBody(head: string, streamJson: string, revision: number, created: number): string {
  return `${head},${streamJson},${revision},${created}]`;
}

/** Completes the body of a row holding `heads.length` (> 1) consecutive events of one stream. */
export function completeMultiBody(
  heads: readonly string[],
  streamJson: string,
  lastRevision: number,
  created: number,
): string {
  return `[${heads.join('],')}],${streamJson},${lastRevision},${created}]`;
}

/** SQL for the first event's id inside `body` (a 36-character UUID right after `["` or `[["`). */
export const FIRST_ID_SQL =
  "CASE WHEN substr(body, 2, 1) = '[' THEN substr(body, 4, 36) ELSE substr(body, 3, 36) END";

export function positionOf(sequence: number): Position {
  const value = BigInt(sequence);
  return { commit: value, prepare: value };
}

/** Which of a row's events a read wants: positions or revisions within [min, max]. */
export interface RowFilter {
  readonly by: 'position' | 'revision';
  readonly min: number;
  readonly max: number;
}

const EVERYTHING: RowFilter = { by: 'position', min: -Infinity, max: Infinity };

type Stored = [id: string, type: string, data: unknown, metadata: unknown];

function recorded(
  e: Stored,
  stream: string,
  revision: number,
  position: number,
  created: number,
): RecordedEvent {
  const sequence = BigInt(position);
  return {
    id: e[0],
    type: e[1],
    streamId: stream,
    revision,
    position: { commit: sequence, prepare: sequence },
    data: e[2],
    metadata: e[3] === null ? undefined : e[3],
    created: new Date(created),
  };
}

/**
 * Appends the events of one row to `out` in log order (or reversed), keeping
 * only those the filter admits. Returns the row's first position and revision,
 * which backward reads continue from.
 */
export function expandRow(
  position: number,
  body: string,
  out: RecordedEvent[],
  filter: RowFilter = EVERYTHING,
  reverse = false,
): { firstPosition: number; firstRevision: number } {
  const parsed = JSON.parse(body) as unknown[];
  if (typeof parsed[0] === 'string') {
    const revision = parsed[5] as number;
    const key = filter.by === 'position' ? position : revision;
    if (key >= filter.min && key <= filter.max) {
      out.push(recorded(parsed as Stored, parsed[4] as string, revision, position, parsed[6] as number));
    }
    return { firstPosition: position, firstRevision: revision };
  }
  const n = parsed.length - 3;
  const stream = parsed[n] as string;
  const lastRevision = parsed[n + 1] as number;
  const created = parsed[n + 2] as number;
  const firstPosition = position - n + 1;
  const firstRevision = lastRevision - n + 1;
  const base = filter.by === 'position' ? firstPosition : firstRevision;
  const from = Math.max(0, filter.min - base);
  const to = Math.min(n - 1, filter.max - base);
  if (reverse) {
    for (let i = to; i >= from; i--)
      out.push(recorded(parsed[i] as Stored, stream, firstRevision + i, firstPosition + i, created));
  } else {
    for (let i = from; i <= to; i++)
      out.push(recorded(parsed[i] as Stored, stream, firstRevision + i, firstPosition + i, created));
  }
  return { firstPosition, firstRevision };
}

/** The metastream of a stream, as EventStoreDB names it. */
export const metastreamOf = (stream: string): string => `$$${stream}`;
