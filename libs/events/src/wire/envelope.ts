import { randomUUID } from 'node:crypto';
import {
  checkClass,
  type ClassOf,
  isId,
  isText,
  isPlainObject,
  isTimestamp,
  isUuid,
  scanStructure,
} from '../catalog/validation';
import { isWireType, WIRE_PAYLOAD_CLASSES, type WirePayloadMap, type WireType } from './wire-messages';

export const PROTOCOL_VERSION = 1;
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [1];
/** Cap on one WebSocket message, both directions. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

/** `{v:1, id, type, ts, job_id?, payload}` with the payload typed by `type`. */
export interface Envelope<K extends WireType> {
  readonly v: 1;
  readonly id: string;
  readonly type: K;
  readonly ts: string;
  readonly job_id?: string;
  readonly payload: WirePayloadMap[K];
}
/** Any valid message: `switch (msg.type)` narrows `msg.payload`. */
export type WireMessage = { [K in WireType]: Envelope<K> }[WireType];
export type WireMessageOf<K extends WireType> = Envelope<K>;

export type WireErrorCode =
  | 'too_large'
  | 'invalid_json'
  | 'invalid_envelope'
  | 'unsupported_version'
  | 'unknown_type'
  | 'invalid_payload';

export interface WireError {
  readonly code: WireErrorCode;
  readonly message: string;
  /** Path of the bad field (`payload.seq`, `id`). */
  readonly field?: string;
  /** The envelope id, when the message had a string id. */
  readonly ref_id?: string;
}

export type ParseResult =
  { readonly ok: true; readonly message: WireMessage } | { readonly ok: false; readonly error: WireError };

export interface ParseOptions {
  /** Default DEFAULT_MAX_MESSAGE_BYTES. Not applied to already-parsed objects. */
  readonly maxBytes?: number;
  /** Only these types are accepted (e.g. AGENT_TO_SERVER on the control plane); others fail with `unknown_type`. */
  readonly accept?: ReadonlySet<WireType>;
}

const err = (code: WireErrorCode, message: string, field?: string, ref_id?: string): ParseResult => ({
  ok: false,
  error: {
    code,
    message,
    ...(field !== undefined ? { field } : {}),
    ...(ref_id !== undefined ? { ref_id } : {}),
  },
});

function tooLarge(bytes: number, max: number): ParseResult {
  return err('too_large', `message of ${bytes} bytes exceeds the limit of ${max} bytes`);
}

/** Turns the raw input into text, enforcing the byte cap; returns a ParseResult on failure. */
function toText(
  raw: string | Uint8Array | ArrayBuffer | readonly Uint8Array[],
  max: number,
): string | ParseResult {
  if (typeof raw === 'string') {
    // A UTF-16 unit never encodes to fewer than 1 or more than 3 UTF-8 bytes.
    if (raw.length > max) return tooLarge(raw.length, max);
    if (raw.length * 3 > max) {
      const bytes = Buffer.byteLength(raw, 'utf8');
      if (bytes > max) return tooLarge(bytes, max);
    }
    return raw;
  }
  let buf: Buffer;
  if (raw instanceof ArrayBuffer) {
    if (raw.byteLength > max) return tooLarge(raw.byteLength, max);
    buf = Buffer.from(raw);
  } else if (raw instanceof Uint8Array) {
    if (raw.byteLength > max) return tooLarge(raw.byteLength, max);
    buf = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  } else {
    let total = 0;
    for (const part of raw) total += part.byteLength;
    if (total > max) return tooLarge(total, max);
    buf = Buffer.concat(raw as Uint8Array[], total);
  }
  return buf.toString('utf8');
}

const isFragmentList = (raw: unknown[]): raw is Uint8Array[] =>
  raw.length > 0 && raw.every((p) => p instanceof Uint8Array);

/**
 * Parses and validates one wire message. Accepts what `ws` hands over (string,
 * Buffer, ArrayBuffer, Buffer[] fragments) or an already-parsed object. Never
 * throws.
 *
 * Policy: unknown fields in the envelope or a payload are ignored and dropped
 * from the result (a newer peer may add optional fields without a protocol bump),
 * except in job args, where an unknown arg is an error. Keys `__proto__`,
 * `constructor` and `prototype` anywhere, and nesting deeper than 32 levels, are
 * rejected. When envelope `job_id` and `payload.job_id` are both present they
 * must agree.
 */
export function parseEnvelope(raw: unknown, opts: ParseOptions = {}): ParseResult {
  try {
    return parseUnsafe(raw, opts);
  } catch (e) {
    // Only reachable with hostile objects (throwing getters, proxies); strings and buffers cannot get here.
    return err('invalid_envelope', `message could not be read: ${e instanceof Error ? e.name : 'error'}`);
  }
}

function parseUnsafe(raw: unknown, opts: ParseOptions): ParseResult {
  const max = opts.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  let obj: unknown;
  if (
    typeof raw === 'string' ||
    raw instanceof Uint8Array ||
    raw instanceof ArrayBuffer ||
    (Array.isArray(raw) && isFragmentList(raw))
  ) {
    const text = toText(raw as string | Uint8Array | ArrayBuffer | Uint8Array[], max);
    if (typeof text !== 'string') return text;
    try {
      obj = JSON.parse(text);
    } catch {
      // V8's message quotes the input; it is not echoed, since the input may hold a secret.
      return err('invalid_json', 'message is not valid JSON');
    }
  } else {
    obj = raw;
  }
  return validateEnvelope(obj, opts);
}

function validateEnvelope(obj: unknown, opts: ParseOptions): ParseResult {
  if (!isPlainObject(obj)) return err('invalid_envelope', 'message must be a JSON object');
  const rawId = obj.id;
  const ref = isText(rawId, 128) ? rawId : undefined;
  const bad = scanStructure(obj);
  if (bad) {
    const code = bad.field.startsWith('payload.') ? 'invalid_payload' : 'invalid_envelope';
    return err(code, bad.message, bad.field || undefined, ref);
  }
  const v = obj.v;
  if (typeof v !== 'number')
    return err('invalid_envelope', 'v must be the protocol version number', 'v', ref);
  if (!SUPPORTED_PROTOCOL_VERSIONS.includes(v)) {
    return err(
      'unsupported_version',
      `protocol version ${v} is not supported (supported: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`,
      'v',
      ref,
    );
  }
  if (!isUuid(rawId)) return err('invalid_envelope', 'id must be a UUID', 'id', ref);
  const type = obj.type;
  if (typeof type !== 'string') return err('invalid_envelope', 'type must be a string', 'type', ref);
  if (!isWireType(type))
    return err(
      'unknown_type',
      `type ${JSON.stringify(type.slice(0, 64))} is not a known message type`,
      'type',
      ref,
    );
  if (opts.accept && !opts.accept.has(type))
    return err('unknown_type', `type ${type} is not accepted in this direction`, 'type', ref);
  const ts = obj.ts;
  if (!isTimestamp(ts))
    return err('invalid_envelope', 'ts must be an ISO-8601 timestamp with a time zone', 'ts', ref);
  const jobId = obj.job_id;
  if (jobId !== undefined && jobId !== null && !isId(jobId)) {
    return err('invalid_envelope', 'job_id must be an id of 1-128 characters [A-Za-z0-9._:-]', 'job_id', ref);
  }
  const checked = checkClass(WIRE_PAYLOAD_CLASSES[type] as ClassOf<object>, obj.payload, 'payload', {
    unknown: 'strip',
    scanned: true,
  });
  if (!checked.ok) {
    const first = checked.issues[0];
    return err('invalid_payload', first.message, first.field, ref);
  }
  const payload = checked.value as { job_id?: unknown };
  if (typeof jobId === 'string' && typeof payload.job_id === 'string' && payload.job_id !== jobId) {
    return err('invalid_envelope', 'job_id does not match payload.job_id', 'job_id', ref);
  }
  const message =
    typeof jobId === 'string'
      ? { v: 1, id: rawId, type, ts, job_id: jobId, payload }
      : { v: 1, id: rawId, type, ts, payload };
  return { ok: true, message: message as WireMessage };
}

/** Thrown by `makeEnvelope` for a payload that would not pass `parseEnvelope`. */
export class WireProtocolError extends Error {
  constructor(
    readonly code: WireErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'WireProtocolError';
  }
}

export interface MakeEnvelopeOptions {
  readonly id?: string;
  readonly ts?: string | Date;
  readonly job_id?: string;
}

/**
 * Builds a message, validated exactly as the receiving side will validate it
 * (throws `WireProtocolError` naming the field otherwise). `job_id` defaults to
 * `payload.job_id` when the payload has one.
 */
export function makeEnvelope<K extends WireType>(
  type: K,
  payload: WirePayloadMap[K],
  opts: MakeEnvelopeOptions = {},
): Envelope<K> {
  const ts = opts.ts instanceof Date ? opts.ts.toISOString() : (opts.ts ?? new Date().toISOString());
  const payloadJobId = (payload as { job_id?: unknown }).job_id;
  const jobId = opts.job_id ?? (typeof payloadJobId === 'string' ? payloadJobId : undefined);
  const candidate = {
    v: 1,
    id: opts.id ?? randomUUID(),
    type,
    ts,
    ...(jobId !== undefined ? { job_id: jobId } : {}),
    payload,
  };
  const r = validateEnvelope(candidate, {});
  if (!r.ok) throw new WireProtocolError(r.error.code, r.error.message, r.error.field);
  return r.message as Envelope<K>;
}

/** The text to send. */
export function encodeEnvelope(msg: WireMessage | Envelope<WireType>): string {
  return JSON.stringify(msg);
}

/** The `error` message answering a rejected one (docs/architecture.md, "Wire protocol"). */
export function makeErrorEnvelope(error: WireError, opts: MakeEnvelopeOptions = {}): Envelope<'error'> {
  return makeEnvelope(
    'error',
    {
      code: error.code,
      message: error.message.replace(/\p{Cc}/gu, ' ').slice(0, 4096) || error.code,
      ...(error.ref_id !== undefined ? { ref_id: error.ref_id } : {}),
      ...(error.field ? { field: error.field.replace(/\p{Cc}/gu, ' ').slice(0, 256) } : {}),
    },
    opts,
  );
}
