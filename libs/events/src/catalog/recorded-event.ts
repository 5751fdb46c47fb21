/**
 * The plain records of the log, shared by the catalog (which encodes and
 * decodes them) and by the event-store adapters (which persist them). Data
 * only: no store, no I/O.
 */

/** A global position in `$all`. Mirrors EventStoreDB's commit/prepare pair; the SQLite adapter sets both to its global sequence. */
export interface Position {
  readonly commit: bigint;
  readonly prepare: bigint;
}

/** What a caller appends. `id` is a UUID; re-appending the same ids at the same expected revision is an idempotent success. */
export interface EventData {
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata?: unknown;
}

/** What the store returns. `data` and `metadata` are parsed JSON. */
export interface RecordedEvent {
  readonly id: string;
  readonly type: string;
  readonly streamId: string;
  readonly revision: number;
  readonly position: Position;
  readonly data: unknown;
  readonly metadata: unknown;
  readonly created: Date;
}

export const START_POSITION: Position = { commit: 0n, prepare: 0n };

export function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}
