import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  encodeEnvelope,
  eventForMessage,
  eventIdFromEnvelope,
  FLEET_EVENT_TYPES,
  fromRecorded,
  jobLogStream,
  jobStream,
  makeEnvelope,
  metadataForMessage,
  parseEnvelope,
  toEventData,
  type FleetEvent,
  type RecordedEvent,
} from '@rf/events';
import { clone, HOST, JOB, SAMPLE_EVENTS, SAMPLE_METADATA, T0 } from '@rf/events/testing';
import type { EventStore } from './event-store.port';
import { createSqliteEventStore } from './sqlite/sqlite-event-store';

/** The catalog against the real embedded store: what is written is what projections read back. */

async function collect(it: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

describe('event catalog on a real SQLite event store', () => {
  let dir: string;
  let store: EventStore;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-catalog-'));
    store = createSqliteEventStore({ path: path.join(dir, 'events.db') });
  });
  after(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads v1 events written by an older version back as v2 (upcasters)', async () => {
    const stream = jobLogStream('upcast-job');
    const v1Meta = { ...SAMPLE_METADATA, schema_version: 1 };
    await store.append(stream, [
      {
        id: '11111111-1111-4111-8111-111111111111',
        type: 'LogStreamLine',
        data: { job_id: 'upcast-job', seq: 0, ts: T0, stream: 'stdout', line: 'old shape' },
        metadata: v1Meta,
      },
    ]);
    await store.append(jobStream('upcast-job'), [
      {
        id: '22222222-2222-4222-8222-222222222222',
        type: 'JobFinished',
        data: {
          job_id: 'upcast-job',
          status: 'failed',
          exit_code: 11,
          finished_at: T0,
          error: 'repository is already locked',
        },
        metadata: v1Meta,
      },
    ]);
    const [line] = (await collect(store.readStream(stream))).map(fromRecorded);
    assert.equal(line.type, 'LogStreamLine');
    assert.deepEqual(line.data, {
      job_id: 'upcast-job',
      seq: 0,
      ts: T0,
      stream: 'stdout',
      payload: 'old shape',
    });
    const [finished] = (await collect(store.readStream(jobStream('upcast-job')))).map(fromRecorded);
    assert.equal(finished.type, 'JobFinished');
    if (finished.type === 'JobFinished') {
      assert.equal(finished.data.error_code, 'repo_locked');
      assert.equal(finished.data.error, 'repository is already locked');
    }
  });

  it('round-trips a sample of every event type through append and readAll', async () => {
    const prefix = 'roundtrip';
    for (const type of FLEET_EVENT_TYPES) {
      const ed = toEventData({ type, data: clone(SAMPLE_EVENTS[type]) } as FleetEvent, SAMPLE_METADATA);
      await store.append(`job-${prefix}-${type}`, [ed]);
    }
    const read = (await collect(store.readAll()))
      .filter((e) => e.streamId.startsWith(`job-${prefix}-`))
      .map(fromRecorded);
    assert.equal(read.length, FLEET_EVENT_TYPES.length);
    for (const e of read) {
      assert.notEqual(e.type, 'unknown');
      assert.deepEqual(e.data, SAMPLE_EVENTS[e.type as keyof typeof SAMPLE_EVENTS], e.type);
      assert.equal(e.metadata.actor.id, SAMPLE_METADATA.actor.id);
    }
  });

  it('reads an event type this build does not know as the unknown variant', async () => {
    await store.append('host-future', [
      {
        id: '33333333-3333-4333-8333-333333333333',
        type: 'HostTeleported',
        data: { to: 'mars' },
        metadata: SAMPLE_METADATA,
      },
    ]);
    const [e] = (await collect(store.readStream('host-future'))).map(fromRecorded);
    assert.equal(e.type, 'unknown');
  });

  it('a resent envelope maps to the same event id and is appended once', async () => {
    const envelope = makeEnvelope('log.stream', {
      job_id: JOB,
      seq: 1,
      ts: T0,
      stream: 'stdout',
      payload: 'resent',
    });
    const appendOnce = async () => {
      const r = parseEnvelope(encodeEnvelope(envelope));
      assert.ok(r.ok);
      const mapped = eventForMessage(HOST, r.message);
      assert.ok(mapped);
      await store.append(mapped.stream, [
        toEventData(
          mapped.event,
          metadataForMessage(HOST, r.message, T0),
          eventIdFromEnvelope(r.message.id, 0),
        ),
      ]);
    };
    await appendOnce();
    await appendOnce();
    const lines = await collect(store.readStream(jobLogStream(JOB)));
    assert.equal(lines.length, 1);
    assert.equal(lines[0].id, eventIdFromEnvelope(envelope.id, 0));
  });
});
