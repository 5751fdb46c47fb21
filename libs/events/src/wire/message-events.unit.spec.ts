import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clone, HOST, JOB, T0 } from '../catalog/catalog-samples.testing';
import { toEventData } from '../catalog/event-codec';
import { eventIdFromEnvelope, jobIdForScheduleFire } from '../catalog/event-ids';
import { hostStream, jobLogStream, jobStream, schedulesStream, snapshotsStream } from '../catalog/streams';
import { makeEnvelope, parseEnvelope, encodeEnvelope } from './envelope';
import { eventDataForMessage, eventForMessage, metadataForMessage } from './message-events';
import { DURABLE_AGENT_MESSAGES, WIRE_TYPES, type WireType } from './wire-messages';
import { SAMPLE_PAYLOADS } from './wire-samples.testing';

const TS = '2024-05-01T12:00:09Z';
const message = (type: WireType, payload?: unknown) => {
  const r = parseEnvelope(
    encodeEnvelope(makeEnvelope(type, clone(payload ?? SAMPLE_PAYLOADS[type]) as never, { ts: TS })),
  );
  assert.ok(r.ok);
  return r.message;
};

describe('eventForMessage', () => {
  const expected: Partial<Record<WireType, [string, string]>> = {
    hello: ['AgentConnected', hostStream(HOST)],
    'schedule.ack': ['SchedulesApplied', schedulesStream(HOST)],
    'schedule.fire': ['ScheduleFired', schedulesStream(HOST)],
    'command.result': ['JobRejected', jobStream(JOB)],
    'job.started': ['JobStarted', jobStream(JOB)],
    'job.progress': ['JobProgress', jobLogStream(JOB)],
    'job.finished': ['JobFinished', jobStream(JOB)],
    'log.stream': ['LogStreamLine', jobLogStream(JOB)],
    'log.dropped': ['LogLinesDropped', jobLogStream(JOB)],
    'snapshots.report': ['SnapshotsReported', snapshotsStream(HOST)],
    'repo.stats': ['RepoStatsReported', hostStream(HOST)],
  };

  it('maps every durable agent message to a valid event on the right stream', () => {
    for (const type of DURABLE_AGENT_MESSAGES) {
      const msg = message(type);
      const mapped = eventForMessage(HOST, msg);
      assert.ok(mapped, type);
      assert.deepEqual([mapped.event.type, mapped.stream], expected[type], type);
      const ed = toEventData(mapped.event, metadataForMessage(HOST, msg, T0), eventIdFromEnvelope(msg.id, 0));
      assert.equal(ed.id, eventIdFromEnvelope(msg.id, 0));
    }
  });

  it('returns null for heartbeat and server→agent messages', () => {
    for (const type of WIRE_TYPES.filter((t) => !DURABLE_AGENT_MESSAGES.has(t)))
      assert.equal(eventForMessage(HOST, message(type)), null, type);
  });

  it('takes times from the envelope and keeps payload facts', () => {
    const progress = eventForMessage(HOST, message('job.progress'));
    assert.equal(progress?.event.type, 'JobProgress');
    if (progress?.event.type === 'JobProgress') assert.equal(progress.event.data.ts, TS);
    const hello = eventForMessage(HOST, message('hello'));
    if (hello?.event.type === 'AgentConnected') {
      assert.equal(hello.event.data.connected_at, TS);
      assert.equal(hello.event.data.host_id, HOST);
      assert.equal(hello.event.data.restic_version, '0.14.0');
      assert.equal(hello.event.data.allow_hooks, false, 'the host says whether it runs hooks');
    } else assert.fail('hello must map to AgentConnected');
    const line = eventForMessage(HOST, message('log.stream'));
    assert.deepEqual(line?.event.data, SAMPLE_PAYLOADS['log.stream']);
  });

  it('a hello from an agent that predates allow_hooks still maps, without the field', () => {
    const { allow_hooks: _omitted, ...older } = SAMPLE_PAYLOADS.hello;
    const mapped = eventForMessage(HOST, message('hello', older));
    assert.equal(mapped?.event.type, 'AgentConnected');
    assert.ok(mapped && !('allow_hooks' in mapped.event.data), 'absent means "not reported", not false');
  });

  it('command.result maps to JobAccepted or JobRejected', () => {
    const accepted = eventForMessage(HOST, message('command.result', { job_id: JOB, accepted: true }));
    assert.deepEqual(accepted?.event, { type: 'JobAccepted', data: { job_id: JOB, accepted_at: TS } });
    const rejected = eventForMessage(HOST, message('command.result', { job_id: JOB, accepted: false }));
    assert.equal(rejected?.event.type, 'JobRejected');
  });

  it('schedule.fire gets a job id derived from the envelope, so a resend starts no second job', () => {
    const fire = message('schedule.fire');
    const a = eventForMessage(HOST, fire);
    const b = eventForMessage(HOST, fire);
    const other = eventForMessage(HOST, message('schedule.fire'));
    assert.ok(
      a?.event.type === 'ScheduleFired' &&
        b?.event.type === 'ScheduleFired' &&
        other?.event.type === 'ScheduleFired',
    );
    assert.equal(a.event.data.job_id, jobIdForScheduleFire(fire.id));
    assert.equal(a.event.data.job_id, b.event.data.job_id);
    assert.notEqual(a.event.data.job_id, other.event.data.job_id);
  });

  it('drops absent optional fields instead of writing undefined or null', () => {
    const r = parseEnvelope(
      JSON.stringify({
        v: 1,
        id: '6f9619ff-8b86-4011-b42d-00c04fc964ff',
        type: 'job.progress',
        ts: TS,
        payload: { ...SAMPLE_PAYLOADS['job.progress'], eta_seconds: null },
      }),
    );
    assert.ok(r.ok);
    const mapped = eventForMessage(HOST, r.message);
    assert.ok(mapped && !('eta_seconds' in (mapped.event.data as object)));
  });

  it('metadataForMessage names the agent as actor and the envelope as cause', () => {
    const msg = message('log.stream');
    assert.deepEqual(metadataForMessage(HOST, msg, T0), {
      actor: { kind: 'agent', id: HOST },
      correlation_id: JOB,
      causation_id: msg.id,
      envelope_id: msg.id,
      received_at: T0,
    });
    const hb = message('schedule.ack');
    assert.equal(metadataForMessage(HOST, hb, T0).correlation_id, hb.id);
  });

  it('eventDataForMessage equals toEventData of the mapped event for every durable type (no validation lost)', () => {
    for (const type of DURABLE_AGENT_MESSAGES) {
      const msg = message(type);
      const fast = eventDataForMessage(HOST, msg, T0);
      const mapped = eventForMessage(HOST, msg);
      assert.ok(fast && mapped, type);
      const checked = toEventData(
        mapped.event,
        metadataForMessage(HOST, msg, T0),
        eventIdFromEnvelope(msg.id, 0),
      );
      assert.equal(fast.stream, mapped.stream);
      assert.deepEqual(fast.eventData, checked, type);
    }
    assert.equal(eventDataForMessage(HOST, message('heartbeat'), T0), null);
  });
});
