import {
  CancelledError,
  DeadlineExceededError,
  MaxAppendSizeExceededError,
  NotLeaderError,
  StreamDeletedError,
  StreamNotFoundError,
  TimeoutError,
  UnavailableError,
  UnknownError,
  WrongExpectedVersionError,
  convertToCommandError,
} from '@eventstore/db-client';
import { EventStoreError, type ExpectedRevision } from '../event-store.port';
import { fromClientRevision } from './esdb-event.mapper';

/** gRPC status 13; @grpc/grpc-js is only a dependency of the client, so its enum is not imported here. */
const GRPC_STATUS_INTERNAL = 13;

export interface EsdbErrorContext {
  readonly stream?: string;
  /** The expected revision the caller passed (preferred over the server's echo, which cannot say `stream_exists` on older servers). */
  readonly expected?: ExpectedRevision;
}

/**
 * Errors the connection layer raises while the server is unreachable, restarting
 * or electing a leader. Operations fail with `Unavailable`; subscriptions
 * resubscribe.
 */
export function isTransientEsdbError(raw: unknown): boolean {
  // Errors from the adapter's own reads (e.g. resolving `end` before subscribing) arrive already mapped.
  if (raw instanceof EventStoreError) return raw.code === 'Unavailable';
  const err = raw instanceof Error ? convertToCommandError(raw) : raw;
  if (
    err instanceof UnavailableError ||
    err instanceof DeadlineExceededError ||
    err instanceof TimeoutError ||
    err instanceof CancelledError ||
    err instanceof NotLeaderError
  ) {
    return true;
  }
  // A connection torn down mid-stream (server restart, proxy reset) surfaces as gRPC INTERNAL.
  if (err instanceof UnknownError && err.code === GRPC_STATUS_INTERNAL) return true;
  if (!(err instanceof Error)) return false;
  // Raised by the client's gossip discovery as a plain Error.
  if (/^Failed to discover after \d+ attempts/.test(err.message)) return true;
  const code = (err as { code?: unknown }).code;
  return (
    typeof code === 'string' &&
    ['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT', 'EPIPE'].includes(code)
  );
}

function actualOf(err: WrongExpectedVersionError): number | 'no_stream' | undefined {
  const actual: unknown = err.actualVersion;
  if (typeof actual === 'bigint') return actual < 0n ? 'no_stream' : fromClientRevision(actual);
  if (actual === 'no_stream') return 'no_stream';
  return undefined;
}

function expectedOf(err: WrongExpectedVersionError): ExpectedRevision | undefined {
  const expected: unknown = err.expectedVersion;
  if (typeof expected === 'bigint') {
    // The server encodes no_stream / any / stream_exists as -1 / -2 / -4 in error metadata.
    if (expected === -1n) return 'no_stream';
    if (expected === -2n) return 'any';
    if (expected === -4n) return 'stream_exists';
    return fromClientRevision(expected);
  }
  if (expected === 'any' || expected === 'no_stream' || expected === 'stream_exists') return expected;
  return undefined;
}

const describeRevision = (r: ExpectedRevision | number | 'no_stream' | undefined): string =>
  r === undefined ? 'unknown' : String(r);

/**
 * Maps an error thrown by `@eventstore/db-client` to the port's `EventStoreError`.
 * Errors that have no port code (access denied, invalid argument, unknown
 * server errors) are returned unchanged so their message is not lost.
 */
export function mapEsdbError(raw: unknown, ctx: EsdbErrorContext = {}): unknown {
  if (raw instanceof EventStoreError) return raw;
  // Some paths (the server-features probe, channel setup) reject with the raw gRPC error.
  const err = raw instanceof Error ? convertToCommandError(raw) : raw;
  if (err instanceof WrongExpectedVersionError) {
    const stream = err.streamName || ctx.stream;
    const expected = ctx.expected ?? expectedOf(err);
    const actual = actualOf(err);
    return new EventStoreError(
      'WrongExpectedVersion',
      `Wrong expected version on stream "${stream ?? '?'}": expected ${describeRevision(expected)}, actual ${describeRevision(actual)}`,
      { stream, expected, actual },
      { cause: err },
    );
  }
  if (err instanceof StreamDeletedError) {
    const stream = err.streamName || ctx.stream;
    return new EventStoreError(
      'StreamDeleted',
      `Stream "${stream ?? '?'}" is deleted`,
      { stream },
      { cause: err },
    );
  }
  if (err instanceof StreamNotFoundError) {
    const stream = err.streamName || ctx.stream;
    return new EventStoreError(
      'StreamNotFound',
      `Stream "${stream ?? '?'}" not found`,
      { stream },
      { cause: err },
    );
  }
  if (err instanceof MaxAppendSizeExceededError) {
    return new EventStoreError(
      'MaxAppendSizeExceeded',
      `Append to stream "${ctx.stream ?? '?'}" exceeds the server's maximum append size of ${err.maxAppendSize} bytes`,
      { stream: ctx.stream, limit: err.maxAppendSize },
      { cause: err },
    );
  }
  if (isTransientEsdbError(err)) {
    const why = err instanceof Error && err.message ? `: ${err.message}` : '';
    return new EventStoreError(
      'Unavailable',
      `EventStoreDB is unavailable${why}`,
      ctx.stream === undefined ? {} : { stream: ctx.stream },
      { cause: err },
    );
  }
  return raw;
}
