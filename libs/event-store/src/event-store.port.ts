import type { EventData, Position, RecordedEvent } from '@rf/events';
import type { Observable } from 'rxjs';

/**
 * The event store port. Semantics follow EventStoreDB exactly so the embedded
 * SQLite adapter and the EventStoreDB adapter are interchangeable
 * (docs/architecture.md, "Event store"). One contract suite runs against both.
 */

/** `any` | `no_stream` | `stream_exists` | an exact revision (revisions count from 0). */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | number;

export interface AppendOptions {
  /** Default `any`. */
  readonly expectedRevision?: ExpectedRevision;
}

export interface AppendResult {
  /** The revision of the last event now in the stream. */
  readonly nextExpectedRevision: number;
  /** The position of the last event appended (or of the last matching event on an idempotent retry). */
  readonly position: Position;
}

export interface ReadStreamOptions {
  /** Inclusive start. `start` (default) or `end` or a revision. */
  readonly fromRevision?: number | 'start' | 'end';
  readonly direction?: 'forwards' | 'backwards';
  readonly maxCount?: number;
}

export interface ReadAllOptions {
  /** Inclusive start. `start` (default) or `end` or a position. */
  readonly fromPosition?: Position | 'start' | 'end';
  readonly direction?: 'forwards' | 'backwards';
  readonly maxCount?: number;
  /**
   * Only events of streams whose name starts with one of these prefixes (a non-empty list).
   * Positions are those of the whole log; `maxCount` counts the events returned. A read can
   * resume from any position, of a returned event or not (docs/architecture.md, "Event store").
   */
  readonly streamNamePrefixes?: readonly string[];
}

export interface SubscribeToAllOptions {
  /** Exclusive: delivery starts *after* this position. `start` (default) delivers from the first event. */
  readonly fromPosition?: Position | 'start' | 'end';
  /** Only streams whose name starts with one of these prefixes. */
  readonly streamNamePrefixes?: readonly string[];
}

export interface SubscribeToStreamOptions {
  /** Exclusive: delivery starts *after* this revision. `start` (default) delivers from revision 0. */
  readonly fromRevision?: number | 'start' | 'end';
}

/** Catch-up first, then live; `caughtUp` is emitted once when the catch-up phase reaches the live head. */
export type SubscriptionItem =
  { readonly kind: 'event'; readonly event: RecordedEvent } | { readonly kind: 'caughtUp' };

/** Retention and truncation, as in EventStoreDB stream metadata (`$maxAge` is in seconds). */
export interface StreamMetadata {
  readonly maxAge?: number;
  readonly maxCount?: number;
  readonly truncateBefore?: number;
  readonly custom?: Record<string, unknown>;
}

export interface DeleteStreamOptions {
  readonly expectedRevision?: ExpectedRevision;
  /** `true` tombstones the stream: it can never be written again (later appends fail with StreamDeleted). */
  readonly hard?: boolean;
}

export interface EventStore {
  append(stream: string, events: readonly EventData[], options?: AppendOptions): Promise<AppendResult>;
  /** Throws `StreamNotFound` (when iterated) for a stream that does not exist, `StreamDeleted` for a tombstoned one. Honours maxAge/maxCount/truncateBefore. */
  readStream(stream: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent>;
  /** Every non-system event in global order. */
  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent>;
  /**
   * What `readAll` returns, in pages: arrays of consecutive events, never empty, in the same
   * order. For a long scan that handles events one by one without awaiting each (a rebuild).
   */
  readAllPages(options?: ReadAllOptions): AsyncIterable<readonly RecordedEvent[]>;
  subscribeToAll(options?: SubscribeToAllOptions): Observable<SubscriptionItem>;
  subscribeToStream(stream: string, options?: SubscribeToStreamOptions): Observable<SubscriptionItem>;
  setStreamMetadata(stream: string, metadata: StreamMetadata, options?: AppendOptions): Promise<AppendResult>;
  /** `{}` when the stream has no metadata. */
  getStreamMetadata(stream: string): Promise<StreamMetadata>;
  deleteStream(stream: string, options?: DeleteStreamOptions): Promise<void>;
  /** The position of the last event in `$all`, or null when the log is empty. */
  headPosition(): Promise<Position | null>;
  close(): Promise<void>;
}

export type EventStoreErrorCode =
  | 'WrongExpectedVersion'
  | 'StreamDeleted'
  | 'StreamNotFound'
  | 'MaxAppendSizeExceeded'
  | 'Unavailable'
  | 'Closed';

export class EventStoreError extends Error {
  constructor(
    readonly code: EventStoreErrorCode,
    message: string,
    readonly details: {
      stream?: string;
      expected?: ExpectedRevision;
      actual?: number | 'no_stream';
      size?: number;
      limit?: number;
    } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EventStoreError';
  }
}

export const isEventStoreError = (err: unknown, code?: EventStoreErrorCode): err is EventStoreError =>
  err instanceof EventStoreError && (code === undefined || err.code === code);

/** Default cap for one append, as in EventStoreDB (`MaxAppendSize`, 1 MiB). */
export const DEFAULT_MAX_APPEND_SIZE = 1024 * 1024;

/** Nest injection token for the configured EventStore (provided by EventStoreModule.forRoot()). */
export const EVENT_STORE = Symbol.for('restic-fleet.EventStore');
