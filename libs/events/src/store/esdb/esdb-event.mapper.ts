import type {
  AppendExpectedRevision,
  EventData as ClientEventData,
  ExpectedRevision as ClientDeleteExpectedRevision,
  Position as ClientPosition,
  ReadPosition,
  ReadRevision,
  StreamMetadata as ClientStreamMetadata,
} from '@eventstore/db-client';
import type {
  EventData,
  ExpectedRevision,
  Position,
  RecordedEvent,
  StreamMetadata,
} from '../event-store.port';

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

function toJson(value: unknown, field: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    throw new TypeError(`${field} must be JSON-serialisable: ${(err as Error).message}`);
  }
  if (json === undefined) throw new TypeError(`${field} must be JSON-serialisable`);
  return json;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Validates an append and builds the client's JSON events (content type
 * `application/json`, ids preserved). `size` is what `maxAppendSize` limits:
 * UTF-8 bytes of the JSON data and metadata plus the type, as the SQLite
 * adapter measures it.
 */
export function toClientEvents(events: readonly EventData[]): { events: ClientEventData[]; size: number } {
  if (!Array.isArray(events)) throw new TypeError('events must be an array');
  let size = 0;
  const out = events.map((e: EventData, index): ClientEventData => {
    const at = `events[${index}]`;
    if (typeof e !== 'object' || e === null) throw new TypeError(`${at} must be an object`);
    if (typeof e.id !== 'string' || !UUID.test(e.id)) throw new TypeError(`${at}.id must be a UUID`);
    if (typeof e.type !== 'string' || e.type.length === 0)
      throw new TypeError(`${at}.type must be a non-empty string`);
    if (e.data === undefined) throw new TypeError(`${at}.data is required (any JSON value)`);
    if (e.metadata !== undefined && (typeof e.metadata !== 'object' || e.metadata === null)) {
      throw new TypeError(`${at}.metadata must be a JSON object when given`);
    }
    size += Buffer.byteLength(toJson(e.data, `${at}.data`), 'utf8') + e.type.length;
    if (e.metadata !== undefined) size += Buffer.byteLength(toJson(e.metadata, `${at}.metadata`), 'utf8');
    // The client's JSON event type is narrower than "any JSON value"; it JSON.stringify()s `data` as-is.
    return {
      id: e.id,
      contentType: 'application/json',
      type: e.type,
      data: e.data as Record<string, unknown>,
      metadata: e.metadata as Record<string, unknown> | undefined,
    };
  });
  return { events: out, size };
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

function checkMetadataInteger(value: number | undefined, field: string, min: number): void {
  if (value === undefined) return;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new TypeError(`${field} must be an integer >= ${min}, got ${String(value)}`);
  }
}

/** Port metadata → client metadata (`$maxAge`, `$maxCount`, `$tb`; custom keys sit beside them, as in EventStoreDB). */
export function toClientStreamMetadata(m: StreamMetadata): ClientStreamMetadata {
  if (typeof m !== 'object' || m === null) throw new TypeError('metadata must be an object');
  checkMetadataInteger(m.maxAge, 'metadata.maxAge', 1);
  checkMetadataInteger(m.maxCount, 'metadata.maxCount', 1);
  checkMetadataInteger(m.truncateBefore, 'metadata.truncateBefore', 0);
  const out: Record<string, unknown> = {};
  if (m.custom !== undefined) {
    if (typeof m.custom !== 'object' || m.custom === null || Array.isArray(m.custom)) {
      throw new TypeError('metadata.custom must be an object');
    }
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
