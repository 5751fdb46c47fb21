import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { DEFAULT_MAX_APPEND_SIZE, isEventStoreError } from '../event-store.port';
import { type EventData } from '@rf/events';
import {
  fromClientPosition,
  fromClientRecordedEvent,
  fromClientRevision,
  fromClientStreamMetadata,
  isSystemEvent,
  toClientDeleteExpectedRevision,
  toClientEvents,
  toClientExpectedRevision,
  toClientPosition,
  toClientReadPosition,
  toClientReadRevision,
  toClientStreamMetadata,
} from './esdb-event.mapper';

describe('expected revision mapping', () => {
  it('maps the symbolic values and exact revisions to the client’s forms', () => {
    assert.equal(toClientExpectedRevision(undefined), 'any');
    assert.equal(toClientExpectedRevision('any'), 'any');
    assert.equal(toClientExpectedRevision('no_stream'), 'no_stream');
    assert.equal(toClientExpectedRevision('stream_exists'), 'stream_exists');
    assert.equal(toClientExpectedRevision(0), 0n);
    assert.equal(toClientExpectedRevision(41), 41n);
    assert.equal(toClientDeleteExpectedRevision(7), 7n);
    assert.equal(toClientDeleteExpectedRevision('no_stream'), 'no_stream');
  });

  it('rejects negative, fractional and unknown values, naming the field', () => {
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 60]) {
      assert.throws(
        () => toClientExpectedRevision(bad),
        /expectedRevision must be a non-negative integer revision/,
      );
    }
    assert.throws(() => toClientExpectedRevision('latest' as never), /expectedRevision must be "any"/);
  });
});

describe('position and revision conversion', () => {
  it('round-trips positions and converts revisions between bigint and number', () => {
    const p = { commit: 12345678901234n, prepare: 12345678901200n };
    assert.deepEqual(fromClientPosition(toClientPosition(p, 'fromPosition')), p);
    assert.equal(fromClientRevision(0n), 0);
    assert.equal(fromClientRevision(9007199254740991n), Number.MAX_SAFE_INTEGER);
    assert.throws(() => fromClientRevision(9007199254740992n), RangeError);
    assert.equal(toClientReadRevision(undefined, 'fromRevision'), 'start');
    assert.equal(toClientReadRevision('end', 'fromRevision'), 'end');
    assert.equal(toClientReadRevision(3, 'fromRevision'), 3n);
    assert.equal(toClientReadPosition(undefined, 'fromPosition'), 'start');
    assert.deepEqual(toClientReadPosition(p, 'fromPosition'), p);
  });

  it('rejects malformed positions, naming the field', () => {
    assert.throws(
      () => toClientPosition({ commit: 1, prepare: 1 } as never, 'fromPosition'),
      /fromPosition must be/,
    );
    assert.throws(
      () => toClientPosition({ commit: -1n, prepare: 0n }, 'fromPosition'),
      /fromPosition must be/,
    );
  });
});

describe('event mapping', () => {
  it('builds JSON events that keep the caller’s id, type, data and metadata', () => {
    const id = randomUUID();
    const events = toClientEvents(
      'job-1',
      [
        { id, type: 'JobRequested', data: { kind: 'backup' }, metadata: { actor: 'u' } },
        { id, type: 'LogStreamLine', data: 'a bare JSON string' },
      ],
      DEFAULT_MAX_APPEND_SIZE,
    );
    assert.deepEqual(events, [
      {
        id,
        contentType: 'application/json',
        type: 'JobRequested',
        data: { kind: 'backup' },
        metadata: { actor: 'u' },
      },
      {
        id,
        contentType: 'application/json',
        type: 'LogStreamLine',
        data: 'a bare JSON string',
        metadata: undefined,
      },
    ]);
  });

  it('validates events as the SQLite adapter does, naming the offending index and field', () => {
    const ok = { id: randomUUID(), type: 'T', data: {} };
    const bad = (e: object, re: RegExp) =>
      assert.throws(() => toClientEvents('job-1', [ok, ok, e as EventData], DEFAULT_MAX_APPEND_SIZE), re);
    bad({ id: 'nope', type: 'T', data: {} }, /events\[2\]\.id must be a UUID/);
    bad({ id: randomUUID(), type: '', data: {} }, /events\[2\]\.type/);
    bad({ id: randomUUID(), type: 'T', data: { n: 1n } }, /events\[2\]\.data.*JSON-serialisable/);
    assert.throws(() => toClientEvents('job-1', 'nope' as never, 10), /events must be an array/);
  });

  it('rejects an append over maxAppendSize with MaxAppendSizeExceeded, size and limit', () => {
    const events = [{ id: randomUUID(), type: 'LogStreamLine', data: { payload: 'x'.repeat(200) } }];
    assert.equal(toClientEvents('joblog-1', events, DEFAULT_MAX_APPEND_SIZE).length, 1);
    assert.throws(
      () => toClientEvents('joblog-1', events, 100),
      (err: unknown) =>
        isEventStoreError(err, 'MaxAppendSizeExceeded') &&
        (err.details.size ?? 0) > 200 &&
        err.details.limit === 100 &&
        err.details.stream === 'joblog-1',
    );
  });

  it('converts recorded events, parsing JSON found in binary payloads', () => {
    const created = new Date('2026-01-02T03:04:05Z');
    const json = fromClientRecordedEvent({
      streamId: 'job-1',
      id: 'a0000000-0000-4000-8000-000000000001',
      revision: 4n,
      type: 'JobStarted',
      created,
      isJson: true,
      data: { n: 1 },
      metadata: { actor: { kind: 'agent', id: 'h1' } },
      position: { commit: 100n, prepare: 90n },
    });
    assert.deepEqual(json, {
      id: 'a0000000-0000-4000-8000-000000000001',
      type: 'JobStarted',
      streamId: 'job-1',
      revision: 4,
      position: { commit: 100n, prepare: 90n },
      data: { n: 1 },
      metadata: { actor: { kind: 'agent', id: 'h1' } },
      created,
    });
    const binary = fromClientRecordedEvent(
      {
        streamId: 's-1',
        id: 'a0000000-0000-4000-8000-000000000002',
        revision: 0n,
        type: 'T',
        created,
        isJson: false,
        data: new TextEncoder().encode('{"x":2}'),
        metadata: undefined,
      },
      55n,
    );
    assert.deepEqual(binary.data, { x: 2 });
    assert.equal(binary.metadata, undefined, 'absent metadata stays absent, as in the SQLite adapter');
    assert.deepEqual(binary.position, { commit: 55n, prepare: 55n });
  });

  it('refuses a recorded event without any position (server too old)', () => {
    assert.throws(
      () =>
        fromClientRecordedEvent({
          streamId: 's-1',
          id: 'a0000000-0000-4000-8000-000000000003',
          revision: 0n,
          type: 'T',
          created: new Date(0),
          isJson: true,
          data: {},
          metadata: undefined,
        }),
      /22\.10 or later/,
    );
  });

  it('recognises system streams and system event types', () => {
    assert.equal(isSystemEvent({ streamId: '$$job-1', type: '$metadata' }), true);
    assert.equal(isSystemEvent({ streamId: '$stats-127.0.0.1:2113', type: '$statsCollected' }), true);
    assert.equal(isSystemEvent({ streamId: 'job-1', type: '$streamDeleted' }), true);
    assert.equal(isSystemEvent({ streamId: 'job-1', type: 'JobStarted' }), false);
  });
});

describe('stream metadata mapping', () => {
  it('maps retention fields and puts custom keys beside them, as EventStoreDB does', () => {
    const client = toClientStreamMetadata({
      maxAge: 7776000,
      maxCount: 10,
      truncateBefore: 3,
      custom: { owner: 'x' },
    });
    assert.deepEqual(client, { owner: 'x', maxAge: 7776000, maxCount: 10, truncateBefore: 3 });
    assert.deepEqual(fromClientStreamMetadata(client), {
      maxAge: 7776000,
      maxCount: 10,
      truncateBefore: 3,
      custom: { owner: 'x' },
    });
    assert.deepEqual(fromClientStreamMetadata(undefined), {});
    assert.deepEqual(fromClientStreamMetadata({ acl: { readRoles: ['$admins'] }, cacheControl: 5 }), {});
  });

  it('rejects invalid retention values and reserved custom keys, naming the field', () => {
    assert.throws(() => toClientStreamMetadata({ maxAge: 0 }), /metadata\.maxAge must be a positive integer/);
    assert.throws(() => toClientStreamMetadata({ maxCount: 1.5 }), /metadata\.maxCount/);
    assert.throws(() => toClientStreamMetadata({ truncateBefore: -1 }), /metadata\.truncateBefore/);
    assert.throws(
      () => toClientStreamMetadata({ custom: { maxAge: 1 } }),
      /metadata\.custom\.maxAge is reserved/,
    );
    assert.throws(
      () => toClientStreamMetadata({ custom: { $acl: {} } }),
      /metadata\.custom\.\$acl is reserved/,
    );
  });
});
