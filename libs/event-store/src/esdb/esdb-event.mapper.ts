import type {
  AppendExpectedRevision,
  EventData as ClientEventData,
  ExpectedRevision as ClientDeleteExpectedRevision,
  Position as ClientPosition,
  ReadPosition,
  ReadRevision,
  StreamMetadata as ClientStreamMetadata,
} from '@eventstore/db-client';
import type { EventData, Position, RecordedEvent } from '@rf/events';
import type { ExpectedRevision, StreamMetadata } from '../event-store.port';
// Shared input rules, so both adapters accept and reject the same appends and metadata.
import { assertStreamMetadata, serializeEvents } from '../sqlite/event-input.validation';

/**
 * Pure conversions between the port's types and `@eventstore/db-client`'s.
 * Revisions are `number` in the port and `bigint` in the client; positions
 * are `bigint` pairs in both.
 */

export function toClientRevision(revision: number, field: string): bigint {
  if (!Number.isSafeInteger(revision) || revision < 0) {
    throw new TypeError(`${field} must be a non-negative integer revision, got ${String(revision)}`);
  }
  return BigInt(revision);
}

export function fromClientRevision(revision: bigint): number {
  if (revision > BigInt(Number.MAX_SAFE_INTEGER) || revision < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`Stream revision ${revision} does not fit in a JavaScript number`);
  }
  return Number(revision);
}

export function toClientExpectedRevision(
  expected: ExpectedRevision | undefined,
  field = 'expectedRevision',
): AppendExpectedRevision {
  if (expected === undefined || expected === 'any') return 'any';
  if (expected === 'no_stream' || expected === 'stream_exists') return expected;
  if (typeof expected === 'number') return toClientRevision(expected, field);
  throw new TypeError(
    `${field} must be "any", "no_stream", "stream_exists" or a revision, got ${String(expected)}`,
  );
}

/** Delete/tombstone accept no `stream_exists` in the client; the adapter resolves that case before calling. */
export function toClientDeleteExpectedRevision(
  expected: Exclude<ExpectedRevision, 'stream_exists'> | undefined,
  field = 'expectedRevision',
): ClientDeleteExpectedRevision {
  const mapped = toClientExpectedRevision(expected, field);
  if (mapped === 'stream_exists')
    throw new TypeError(`${field}: stream_exists must be resolved before deleting`);
  return mapped;
}

export function isValidPosition(p: unknown): p is Position {
  if (typeof p !== 'object' || p === null) return false;
  const { commit, prepare } = p as { commit?: unknown; prepare?: unknown };
  return typeof commit === 'bigint' && typeof prepare === 'bigint' && commit >= 0n && prepare >= 0n;
}

export function toClientPosition(p: Position, field: string): ClientPosition {
  if (!isValidPosition(p))
    throw new TypeError(`${field} must be {commit: bigint, prepare: bigint} with non-negative values`);
  return { commit: p.commit, prepare: p.prepare };
}

export function fromClientPosition(p: ClientPosition): Position {
  return { commit: p.commit, prepare: p.prepare };
}

export function toClientReadPosition(
  from: Position | 'start' | 'end' | undefined,
  field: string,
): ReadPosition {
  if (from === undefined || from === 'start') return 'start';
  if (from === 'end') return 'end';
  return toClientPosition(from, field);
}

export function toClientReadRevision(
  from: number | 'start' | 'end' | undefined,
  field: string,
): ReadRevision {
  if (from === undefined || from === 'start') return 'start';
  if (from === 'end') return 'end';
  return toClientRevision(from, field);
}

/**
 * Validates an append exactly as the SQLite adapter does (same checks, same
 * size measure, same `MaxAppendSizeExceeded`) and builds the client's JSON
 * events: content type `application/json`, the caller's event ids.
 */
export function toClientEvents(
  stream: string,
  events: readonly EventData[],
  maxAppendSize: number,
): ClientEventData[] {
  const rows = serializeEvents(stream, events, maxAppendSize);
  return rows.map((row, i) => {
    const source = events[i] as EventData;
    // The client's JSON event type is narrower than "any JSON value"; it JSON.stringify()s `data` as-is.
    return {
      id: row.id,
      contentType: 'application/json',
      type: source.type,
      data: source.data as Record<string, unknown>,
      metadata: source.metadata as Record<string, unknown> | undefined,
    };
  });
}

/** The shape of a recorded event as the client delivers it (JSON or binary). */
export interface ClientRecordedEventLike {
  readonly streamId: string;
  readonly id: string;
  readonly revision: bigint;
  readonly type: string;
  readonly created: Date;
  readonly isJson: boolean;
  readonly data: unknown;
  readonly metadata: unknown;
  readonly position?: ClientPosition;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Events written by other tools may be binary; JSON inside them is parsed, anything else stays bytes. */
function decodePayload(value: unknown): unknown {
  if (!(value instanceof Uint8Array)) return value;
  if (value.length === 0) return undefined;
  try {
    return JSON.parse(utf8.decode(value)) as unknown;
  } catch {
    return value;
  }
}

/**
 * Converts a client record. `commitPosition` (from the resolved event) is the
 * fallback for servers older than 22.6, which send no position on stream reads.
 */
export function fromClientRecordedEvent(e: ClientRecordedEventLike, commitPosition?: bigint): RecordedEvent {
  const position: Position | undefined = e.position
    ? fromClientPosition(e.position)
    : commitPosition !== undefined
      ? { commit: commitPosition, prepare: commitPosition }
      : undefined;
  if (!position) {
    throw new Error(
      `EventStoreDB returned event ${e.id} of "${e.streamId}" without a log position; EventStoreDB 22.10 or later is required`,
    );
  }
  const data = e.isJson ? e.data : decodePayload(e.data);
  const metadata = decodePayload(e.metadata);
  return {
    id: e.id,
    type: e.type,
    streamId: e.streamId,
    revision: fromClientRevision(e.revision),
    position,
    data,
    metadata,
    created: e.created,
  };
}

/** System streams (`$…`, including metastreams `$$…`) and system event types (`$…`) are not part of the application log. */
export function isSystemEvent(e: { readonly streamId: string; readonly type: string }): boolean {
  return e.streamId.startsWith('$') || e.type.startsWith('$');
}

const RESERVED_METADATA_KEYS = ['maxAge', 'maxCount', 'truncateBefore', 'cacheControl', 'acl'];

/** Port metadata → client metadata (`$maxAge`, `$maxCount`, `$tb`; custom keys sit beside them, as in EventStoreDB). */
export function toClientStreamMetadata(m: StreamMetadata): ClientStreamMetadata {
  assertStreamMetadata(m);
  const out: Record<string, unknown> = {};
  if (m.custom !== undefined) {
    for (const [key, value] of Object.entries(m.custom)) {
      if (key.startsWith('$') || RESERVED_METADATA_KEYS.includes(key)) {
        throw new TypeError(`metadata.custom.${key} is reserved by EventStoreDB stream metadata`);
      }
      out[key] = value;
    }
  }
  if (m.maxAge !== undefined) out['maxAge'] = m.maxAge;
  if (m.maxCount !== undefined) out['maxCount'] = m.maxCount;
  if (m.truncateBefore !== undefined) out['truncateBefore'] = m.truncateBefore;
  return out as ClientStreamMetadata;
}

/** Client metadata → port metadata. ACL and cache control have no place in the port and are dropped. */
export function fromClientStreamMetadata(m: ClientStreamMetadata | undefined): StreamMetadata {
  if (!m) return {};
  const custom: Record<string, unknown> = {};
  let maxAge: number | undefined;
  let maxCount: number | undefined;
  let truncateBefore: number | undefined;
  for (const [key, value] of Object.entries(m)) {
    if (key === 'maxAge' && typeof value === 'number') maxAge = value;
    else if (key === 'maxCount' && typeof value === 'number') maxCount = value;
    else if (key === 'truncateBefore' && typeof value === 'number') truncateBefore = value;
    else if (!RESERVED_METADATA_KEYS.includes(key) && !key.startsWith('$')) custom[key] = value;
  }
  return {
    ...(maxAge !== undefined ? { maxAge } : {}),
    ...(maxCount !== undefined ? { maxCount } : {}),
    ...(truncateBefore !== undefined ? { truncateBefore } : {}),
    ...(Object.keys(custom).length > 0 ? { custom } : {}),
  };
}
