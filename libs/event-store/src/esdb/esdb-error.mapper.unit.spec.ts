import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  AccessDeniedError,
  CancelledError,
  DeadlineExceededError,
  MaxAppendSizeExceededError,
  StreamDeletedError,
  StreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError,
  convertToCommandError,
} from '@eventstore/db-client';
import { EventStoreError, isEventStoreError } from '../event-store.port';
import { isTransientEsdbError, mapEsdbError } from './esdb-error.mapper';

/** A gRPC failure as grpc-js raises it, before the client converts it. */
function rawServiceError(
  code: status,
  meta: Record<string, string>,
  message = 'server said no',
): ServiceError {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(meta)) metadata.set(k, v);
  return Object.assign(new Error(message), { code, details: message, metadata }) as ServiceError;
}

/** The same failure after the client's own converter turned it into one of its error classes. */
function serverError(code: status, meta: Record<string, string>, message = 'server said no'): Error {
  return convertToCommandError(rawServiceError(code, meta, message));
}

const asStoreError = (err: unknown): EventStoreError => {
  assert.ok(err instanceof EventStoreError, `expected EventStoreError, got ${String(err)}`);
  return err;
};

describe('mapEsdbError', () => {
  it('maps WrongExpectedVersionError from an append response, with expected and actual revisions as numbers', () => {
    const err = new WrongExpectedVersionError(undefined, { streamName: 'job-1', expected: 3n, current: 5n });
    const mapped = asStoreError(mapEsdbError(err, { stream: 'job-1', expected: 3 }));
    assert.equal(mapped.code, 'WrongExpectedVersion');
    assert.deepEqual(mapped.details, { stream: 'job-1', expected: 3, actual: 5 });
    assert.match(mapped.message, /job-1.*expected 3, actual 5/);
    assert.equal(mapped.cause, err);
  });

  it('maps a missing stream to actual "no_stream" and keeps the caller’s expected value', () => {
    const err = new WrongExpectedVersionError(undefined, {
      streamName: 'host-a',
      expected: 'stream_exists',
      current: 'no_stream',
    });
    const mapped = asStoreError(mapEsdbError(err, { stream: 'host-a', expected: 'stream_exists' }));
    assert.deepEqual(mapped.details, { stream: 'host-a', expected: 'stream_exists', actual: 'no_stream' });
  });

  it('decodes the server-metadata form (expected-version -4 = stream_exists, no actual-version = no_stream)', () => {
    const err = serverError(status.UNKNOWN, {
      exception: 'wrong-expected-version',
      'stream-name': 'job-9',
      'expected-version': '-4',
    });
    assert.ok(err instanceof WrongExpectedVersionError);
    const mapped = asStoreError(mapEsdbError(err));
    assert.deepEqual(mapped.details, { stream: 'job-9', expected: 'stream_exists', actual: 'no_stream' });
    const withActual = serverError(status.UNKNOWN, {
      exception: 'wrong-expected-version',
      'stream-name': 'job-9',
      'expected-version': '-1',
      'actual-version': '7',
    });
    assert.deepEqual(asStoreError(mapEsdbError(withActual)).details, {
      stream: 'job-9',
      expected: 'no_stream',
      actual: 7,
    });
  });

  it('maps StreamDeletedError (from the server and from the client) to StreamDeleted', () => {
    const fromServer = serverError(status.FAILED_PRECONDITION, {
      exception: 'stream-deleted',
      'stream-name': 'job-2',
    });
    assert.ok(fromServer instanceof StreamDeletedError);
    const a = asStoreError(mapEsdbError(fromServer));
    assert.equal(a.code, 'StreamDeleted');
    assert.equal(a.details.stream, 'job-2');
    const b = asStoreError(mapEsdbError(StreamDeletedError.fromStreamName('job-3')));
    assert.equal(b.code, 'StreamDeleted');
    assert.equal(b.details.stream, 'job-3');
  });

  it('maps StreamNotFoundError to StreamNotFound', () => {
    const mapped = asStoreError(
      mapEsdbError(new StreamNotFoundError(undefined, 'joblog-1'), { stream: 'joblog-1' }),
    );
    assert.equal(mapped.code, 'StreamNotFound');
    assert.equal(mapped.details.stream, 'joblog-1');
    assert.ok(isEventStoreError(mapped, 'StreamNotFound'));
  });

  it('maps MaxAppendSizeExceededError to MaxAppendSizeExceeded with the server limit', () => {
    const fromServer = serverError(status.INVALID_ARGUMENT, {
      exception: 'maximum-append-size-exceeded',
      'maximum-append-size': '1048576',
    });
    assert.ok(fromServer instanceof MaxAppendSizeExceededError);
    const mapped = asStoreError(mapEsdbError(fromServer, { stream: 'joblog-2' }));
    assert.equal(mapped.code, 'MaxAppendSizeExceeded');
    assert.deepEqual(mapped.details, { stream: 'joblog-2', limit: 1048576 });
  });

  it('maps connection-level failures to Unavailable', () => {
    const unavailable = serverError(status.UNAVAILABLE, {}, 'No connection established');
    assert.ok(unavailable instanceof UnavailableError);
    const deadline = serverError(status.DEADLINE_EXCEEDED, {}, 'Deadline exceeded');
    assert.ok(deadline instanceof DeadlineExceededError);
    const discovery = new Error('Failed to discover after 10 attempts.');
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:2113'), { code: 'ECONNREFUSED' });
    for (const err of [
      unavailable,
      deadline,
      discovery,
      refused,
      new CancelledError(undefined, 'cancelled'),
    ]) {
      const mapped = asStoreError(mapEsdbError(err, { stream: 's-1' }));
      assert.equal(mapped.code, 'Unavailable', String(err));
      assert.ok(isTransientEsdbError(err));
    }
  });

  it('maps raw gRPC errors that reach the caller unconverted (e.g. from the server-features probe)', () => {
    const raw = rawServiceError(status.UNAVAILABLE, {}, '14 UNAVAILABLE: No connection established');
    const mapped = asStoreError(mapEsdbError(raw));
    assert.equal(mapped.code, 'Unavailable');
    assert.ok(isTransientEsdbError(raw));
    const deleted = rawServiceError(status.FAILED_PRECONDITION, {
      exception: 'stream-deleted',
      'stream-name': 'x-1',
    });
    assert.equal(asStoreError(mapEsdbError(deleted)).code, 'StreamDeleted');
  });

  it('treats a stream reset mid-flight (gRPC INTERNAL) as transient, other unknown errors not', () => {
    const reset = serverError(status.INTERNAL, {}, '13 INTERNAL: Received RST_STREAM with code 2');
    assert.ok(isTransientEsdbError(reset));
    assert.equal(asStoreError(mapEsdbError(reset)).code, 'Unavailable');
    const unknown = serverError(status.UNKNOWN, {}, '2 UNKNOWN: boom');
    assert.equal(isTransientEsdbError(unknown), false);
    assert.equal(mapEsdbError(unknown), unknown);
  });

  it('passes errors without a port code through unchanged', () => {
    const denied = serverError(status.PERMISSION_DENIED, { exception: 'access-denied' });
    assert.ok(denied instanceof AccessDeniedError);
    assert.equal(mapEsdbError(denied), denied);
    assert.equal(isTransientEsdbError(denied), false);
    const plain = new TypeError('bad');
    assert.equal(mapEsdbError(plain), plain);
    const already = new EventStoreError('Closed', 'closed');
    assert.equal(mapEsdbError(already), already);
    assert.equal(isTransientEsdbError(already), false);
    assert.equal(isTransientEsdbError(new EventStoreError('Unavailable', 'down')), true);
    assert.equal(isTransientEsdbError(new EventStoreError('StreamDeleted', 'gone')), false);
  });
});
