import { EventStoreError, type ExpectedRevision, type StreamMetadata } from '../event-store.port';
import { type EventData } from '@rf/events';
import { bodyHead } from './sqlite-event.schema';

/** An event ready to insert: its stored body serialised once, at the caller's tick. */
export interface SerializedEvent {
  readonly id: string;
  /** The body up to what the write adds (see bodyHead in sqlite-event.schema.ts). */
  readonly head: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_STREAM_NAME = 1000;

export function assertStreamName(stream: unknown, field = 'stream'): asserts stream is string {
  if (typeof stream !== 'string' || stream.length === 0 || stream.length > MAX_STREAM_NAME) {
    throw new TypeError(`${field} must be a non-empty string of at most ${MAX_STREAM_NAME} characters`);
  }
}

export function assertExpectedRevision(
  value: unknown,
  field = 'expectedRevision',
): asserts value is ExpectedRevision {
  if (value === 'any' || value === 'no_stream' || value === 'stream_exists') return;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return;
  throw new TypeError(`${field} must be 'any', 'no_stream', 'stream_exists' or a revision >= 0`);
}

function assertJsonValue(value: unknown, field: string, optional: boolean): void {
  if (value === undefined ? !optional : typeof value === 'function' || typeof value === 'symbol') {
    throw new TypeError(`${field} must be JSON-serialisable`);
  }
}

/** Validates an append and serialises each event's body; enforces the size cap on the JSON actually stored. */
export function serializeEvents(
  stream: string,
  events: readonly EventData[],
  maxAppendSize: number,
): SerializedEvent[] {
  if (!Array.isArray(events)) throw new TypeError('events must be an array');
  const out: SerializedEvent[] = new Array<SerializedEvent>(events.length);
  let chars = 0;
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as EventData | undefined;
    if (typeof event !== 'object' || event === null) throw new TypeError(`events[${i}] must be an object`);
    if (typeof event.id !== 'string' || !UUID.test(event.id))
      throw new TypeError(`events[${i}].id must be a UUID`);
    if (typeof event.type !== 'string' || event.type.length === 0) {
      throw new TypeError(`events[${i}].type must be a non-empty string`);
    }
    assertJsonValue(event.data, `events[${i}].data`, false);
    assertJsonValue(event.metadata, `events[${i}].metadata`, true);
    const id = event.id.toLowerCase();
    let head: string;
    try {
      head = bodyHead(id, event.type, event.data, event.metadata);
    } catch (err) {
      throw new TypeError(`events[${i}].data/metadata must be JSON-serialisable: ${(err as Error).message}`);
    }
    chars += head.length;
    out[i] = { id, head };
  }
  // A UTF-16 unit is at most 3 UTF-8 bytes: count bytes exactly only when the cap could be near.
  const size = chars * 3 <= maxAppendSize ? chars : out.reduce((n, e) => n + Buffer.byteLength(e.head), 0);
  if (size > maxAppendSize) {
    throw new EventStoreError(
      'MaxAppendSizeExceeded',
      `append to ${stream} is ${size} bytes, over the limit of ${maxAppendSize}`,
      { stream, size, limit: maxAppendSize },
    );
  }
  return out;
}

export function assertStreamMetadata(metadata: unknown): asserts metadata is StreamMetadata {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new TypeError('metadata must be an object');
  }
  const m = metadata as Record<string, unknown>;
  for (const field of ['maxAge', 'maxCount'] as const) {
    const v = m[field];
    if (v !== undefined && !(typeof v === 'number' && Number.isSafeInteger(v) && v > 0)) {
      throw new TypeError(`metadata.${field} must be a positive integer`);
    }
  }
  const tb = m['truncateBefore'];
  if (tb !== undefined && !(typeof tb === 'number' && Number.isSafeInteger(tb) && tb >= 0)) {
    throw new TypeError('metadata.truncateBefore must be an integer >= 0');
  }
  const custom = m['custom'];
  if (custom !== undefined && (typeof custom !== 'object' || custom === null || Array.isArray(custom))) {
    throw new TypeError('metadata.custom must be an object');
  }
}

/** A read's stream-name filter: undefined for none, else a non-empty list of non-empty strings. */
export function checkStreamNamePrefixes(prefixes: unknown): readonly string[] | undefined {
  if (prefixes === undefined) return undefined;
  if (
    !Array.isArray(prefixes) ||
    prefixes.length === 0 ||
    prefixes.some((p) => typeof p !== 'string' || p === '')
  ) {
    throw new TypeError('streamNamePrefixes must be a non-empty array of non-empty strings');
  }
  return prefixes as readonly string[];
}
