import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RecordedEvent } from './recorded-event';
import {
  clone,
  ENVELOPE_ID,
  HOST,
  JOB,
  SAMPLE_EVENTS,
  SAMPLE_METADATA,
  SCHEDULES,
  T0,
} from './catalog-samples.testing';
import { fromRecorded, recordedTime, toEventData } from './event-codec';
import { legacyRepositoryId } from './event-ids';
import { type FleetEvent, FLEET_EVENT_TYPES } from './events';
import { currentSchemaVersion, upcast } from './upcasters';
import { isCatalogError, isUuid } from './validation';

const event = (type: string, data: unknown): FleetEvent => ({ type, data }) as FleetEvent;

/** Asserts toEventData throws a CatalogError with `code` naming `field`. */
function throwsNaming(fn: () => unknown, code: string, field: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isCatalogError(e), String(e));
    assert.equal(e.code, code);
    assert.equal(e.field, field, e.message);
    assert.ok(e.message.includes(field), e.message);
    return true;
  });
}

function recorded(type: string, data: unknown, metadata: unknown, revision = 0): RecordedEvent {
  return {
    id: 'e1',
    type,
    streamId: `job-${JOB}`,
    revision,
    position: { commit: 7n, prepare: 7n },
    data,
    metadata,
    created: new Date(T0),
  };
}

describe('toEventData', () => {
  it('accepts the sample of every event type and stamps the current schema version', () => {
    assert.equal(FLEET_EVENT_TYPES.length, Object.keys(SAMPLE_EVENTS).length);
    for (const type of FLEET_EVENT_TYPES) {
      const ed = toEventData(event(type, clone(SAMPLE_EVENTS[type])), SAMPLE_METADATA);
      assert.equal(ed.type, type);
      assert.ok(isUuid(ed.id));
      assert.deepEqual(ed.data, SAMPLE_EVENTS[type]);
      assert.equal((ed.metadata as { schema_version: number }).schema_version, currentSchemaVersion(type));
    }
  });

  it('uses the given id (envelope-derived ids make appends idempotent)', () => {
    const id = '0f8fad5b-d9cb-469f-a165-70867728950e';
    assert.equal(toEventData(event('JobAccepted', SAMPLE_EVENTS.JobAccepted), SAMPLE_METADATA, id).id, id);
    throwsNaming(
      () => toEventData(event('JobAccepted', SAMPLE_EVENTS.JobAccepted), SAMPLE_METADATA, 'not-a-uuid'),
      'invalid_event',
      'id',
    );
  });

  it('names the missing field for every event type', () => {
    for (const type of FLEET_EVENT_TYPES) {
      const data = clone(SAMPLE_EVENTS[type]) as unknown as Record<string, unknown>;
      const first = Object.keys(data).find((k) => k !== 'username' || type !== 'UserLoginFailed') as string;
      delete data[first];
      throwsNaming(() => toEventData(event(type, data), SAMPLE_METADATA), 'invalid_event', `data.${first}`);
    }
  });

  it('names wrongly typed and unknown fields', () => {
    throwsNaming(
      () =>
        toEventData(event('HostEnrolled', { ...SAMPLE_EVENTS.HostEnrolled, os: 'Linux' }), SAMPLE_METADATA),
      'invalid_event',
      'data.os',
    );
    throwsNaming(
      () =>
        toEventData(event('JobFinished', { ...SAMPLE_EVENTS.JobFinished, status: 'lost' }), SAMPLE_METADATA),
      'invalid_event',
      'data.status',
    );
    throwsNaming(
      () =>
        toEventData(event('JobFinished', { ...SAMPLE_EVENTS.JobFinished, exit_code: '3' }), SAMPLE_METADATA),
      'invalid_event',
      'data.exit_code',
    );
    throwsNaming(
      () => toEventData(event('LogStreamLine', { ...SAMPLE_EVENTS.LogStreamLine, seq: -1 }), SAMPLE_METADATA),
      'invalid_event',
      'data.seq',
    );
    throwsNaming(
      () =>
        toEventData(event('LogStreamLine', { ...SAMPLE_EVENTS.LogStreamLine, line: 'x' }), SAMPLE_METADATA),
      'invalid_event',
      'data.line',
    );
    throwsNaming(
      () =>
        toEventData(
          event('JobProgress', { ...SAMPLE_EVENTS.JobProgress, percent_done: 1.5 }),
          SAMPLE_METADATA,
        ),
      'invalid_event',
      'data.percent_done',
    );
    throwsNaming(
      () =>
        toEventData(
          event('LogLinesDropped', { ...SAMPLE_EVENTS.LogLinesDropped, from_seq: 20 }),
          SAMPLE_METADATA,
        ),
      'invalid_event',
      'data.to_seq',
    );
    throwsNaming(
      () =>
        toEventData(
          event('AgentDisconnected', { ...SAMPLE_EVENTS.AgentDisconnected, reason: 'bored' }),
          SAMPLE_METADATA,
        ),
      'invalid_event',
      'data.reason',
    );
    throwsNaming(
      () =>
        toEventData(
          event('HostEnrolled', { ...SAMPLE_EVENTS.HostEnrolled, enrolled_at: '2024-05-01 12:00' }),
          SAMPLE_METADATA,
        ),
      'invalid_event',
      'data.enrolled_at',
    );
  });

  it('validates nested payloads with indexed paths', () => {
    const bad = clone(SAMPLE_EVENTS.SnapshotsReported);
    (bad.snapshots[0] as { short_id: string }).short_id = 'xyz';
    throwsNaming(
      () => toEventData(event('SnapshotsReported', bad), SAMPLE_METADATA),
      'invalid_event',
      'data.snapshots.0.short_id',
    );
    const secret = clone(SAMPLE_EVENTS.RepositoryConfigured);
    (secret.password as { iv: string }).iv = 'not base64!';
    throwsNaming(
      () => toEventData(event('RepositoryConfigured', secret), SAMPLE_METADATA),
      'invalid_event',
      'data.password.iv',
    );
  });

  it('refuses repository URLs with embedded passwords', () => {
    const d = { ...SAMPLE_EVENTS.RepositoryConfigured, url: 'rest:https://user:hunter2@backup.example/' };
    throwsNaming(
      () => toEventData(event('RepositoryConfigured', d), SAMPLE_METADATA),
      'invalid_event',
      'data.url',
    );
    const sftp = { ...SAMPLE_EVENTS.RepositoryConfigured, url: 'sftp:backup@nas:/srv/restic' };
    assert.equal(
      toEventData(event('RepositoryConfigured', sftp), SAMPLE_METADATA).type,
      'RepositoryConfigured',
    );
  });

  it('validates JobRequested args against the kind', () => {
    const d = { ...SAMPLE_EVENTS.JobRequested, kind: 'forget', args: { policy: {} } };
    throwsNaming(
      () => toEventData(event('JobRequested', d), SAMPLE_METADATA),
      'invalid_event',
      'data.args.policy',
    );
    const e = { ...SAMPLE_EVENTS.JobRequested, args: { paths: ['/a'], bogus: true } };
    throwsNaming(
      () => toEventData(event('JobRequested', e), SAMPLE_METADATA),
      'invalid_event',
      'data.args.bogus',
    );
  });

  it('validates schedules: args by kind (under schedule field names), cron, unique ids', () => {
    const withSchedules = (s: unknown[]) =>
      event('SchedulesChanged', { ...SAMPLE_EVENTS.SchedulesChanged, schedules: s });
    const [backup, forget] = SCHEDULES;
    throwsNaming(
      () => toEventData(withSchedules([{ ...backup, paths: [] }]), SAMPLE_METADATA),
      'invalid_event',
      'data.schedules.0.paths',
    );
    throwsNaming(
      () =>
        toEventData(withSchedules([backup, { ...forget, retention: { keep_within: 'x' } }]), SAMPLE_METADATA),
      'invalid_event',
      'data.schedules.1.retention.keep_within',
    );
    throwsNaming(
      () => toEventData(withSchedules([{ ...forget, retention: undefined }]), SAMPLE_METADATA),
      'invalid_event',
      'data.schedules.0.retention',
    );
    throwsNaming(
      () => toEventData(withSchedules([{ ...forget, options: { prune: 'y' } }]), SAMPLE_METADATA),
      'invalid_event',
      'data.schedules.0.options.prune',
    );
    throwsNaming(
      () => toEventData(withSchedules([{ ...backup, cron: '61 * * * *' }]), SAMPLE_METADATA),
      'invalid_event',
      'data.schedules.0.cron',
    );
    throwsNaming(
      () => toEventData(withSchedules([backup, backup]), SAMPLE_METADATA),
      'invalid_event',
      'data.schedules.1.id',
    );
    throwsNaming(
      () => toEventData(withSchedules([{ ...backup, hook_timeout_s: 0 }]), SAMPLE_METADATA),
      'invalid_event',
      'data.schedules.0.hook_timeout_s',
    );
  });

  it('rejects unknown types and bad metadata with coded errors', () => {
    throwsNaming(() => toEventData(event('HostExploded', {}), SAMPLE_METADATA), 'unknown_event_type', 'type');
    const ok = event('JobAccepted', SAMPLE_EVENTS.JobAccepted);
    throwsNaming(
      () => toEventData(ok, { ...SAMPLE_METADATA, actor: { kind: 'robot', id: 'x' } } as never),
      'invalid_metadata',
      'metadata.actor.kind',
    );
    throwsNaming(
      () => toEventData(ok, { ...SAMPLE_METADATA, correlation_id: '' }),
      'invalid_metadata',
      'metadata.correlation_id',
    );
    throwsNaming(
      () => toEventData(ok, { ...SAMPLE_METADATA, envelope_id: 'x' }),
      'invalid_metadata',
      'metadata.envelope_id',
    );
    throwsNaming(
      () => toEventData(ok, { ...SAMPLE_METADATA, received_at: 'yesterday' }),
      'invalid_metadata',
      'metadata.received_at',
    );
    throwsNaming(() => toEventData(ok, null as never), 'invalid_metadata', 'metadata');
  });
});

describe('fromRecorded', () => {
  it('returns the typed event with its position and metadata, without re-validating', () => {
    const meta = { ...SAMPLE_METADATA, envelope_id: ENVELOPE_ID, schema_version: 1 };
    const notValid = { job_id: JOB, accepted_at: 'whenever' };
    const e = fromRecorded(recorded('JobAccepted', notValid, meta, 4));
    assert.equal(e.type, 'JobAccepted');
    assert.equal(e.data, notValid);
    assert.equal(e.revision, 4);
    assert.equal(e.position.commit, 7n);
    assert.equal(e.streamId, `job-${JOB}`);
    assert.equal(e.metadata.envelope_id, ENVELOPE_ID);
  });

  it('maps unknown event types to the unknown variant instead of throwing', () => {
    const e = fromRecorded(recorded('HostTeleported', { to: 'mars' }, SAMPLE_METADATA));
    assert.equal(e.type, 'unknown');
    if (e.type === 'unknown') {
      assert.equal(e.original_type, 'HostTeleported');
      assert.deepEqual(e.data, { to: 'mars' });
    }
  });

  it('tolerates missing or odd metadata (version 1, system actor, created time)', () => {
    const e = fromRecorded(recorded('JobAccepted', SAMPLE_EVENTS.JobAccepted, null));
    assert.equal(e.metadata.schema_version, 1);
    assert.equal(e.metadata.actor.kind, 'system');
    assert.equal(e.metadata.received_at, new Date(T0).toISOString());
  });

  it('upcasts LogStreamLine v1 (`line`) to v2 (`payload`)', () => {
    const v1 = { job_id: JOB, seq: 3, ts: T0, stream: 'stdout', line: 'hello' };
    const e = fromRecorded(recorded('LogStreamLine', v1, { ...SAMPLE_METADATA, schema_version: 1 }));
    assert.equal(e.type, 'LogStreamLine');
    assert.deepEqual(e.data, { job_id: JOB, seq: 3, ts: T0, stream: 'stdout', payload: 'hello' });
    assert.equal('line' in (v1 as object), true, 'the stored object is not mutated');
  });

  it('upcasts JobFinished v1 (no error_code) to v2 by deriving the code from the outcome', () => {
    const v1 = (status: string, exit_code: number) => ({ job_id: JOB, status, exit_code, finished_at: T0 });
    const read = (d: object) =>
      fromRecorded(recorded('JobFinished', d, { ...SAMPLE_METADATA, schema_version: 1 })).data as {
        error_code?: string;
      };
    assert.equal(read(v1('failed', 11)).error_code, 'repo_locked');
    assert.equal(read(v1('failed', 10)).error_code, 'repo_not_found');
    assert.equal(read(v1('failed', 12)).error_code, 'wrong_password');
    assert.equal(read(v1('warning', 3)).error_code, 'partial_read');
    assert.equal(read(v1('cancelled', 130)).error_code, 'cancelled');
    assert.equal(read(v1('succeeded', 0)).error_code, undefined);
    assert.equal(read(v1('failed', 1)).error_code, undefined);
  });

  it('upcasts JobRequested v1 to v2: the job worked on its host’s own repository', () => {
    const { repository_id: _r, ...v1 } = clone(SAMPLE_EVENTS.JobRequested);
    const e = fromRecorded(recorded('JobRequested', v1, { ...SAMPLE_METADATA, schema_version: 1 }));
    assert.deepEqual(e.data, { ...v1, repository_id: legacyRepositoryId(HOST) });
    const v2 = fromRecorded(recorded('JobRequested', v1, { ...SAMPLE_METADATA, schema_version: 2 }));
    assert.equal(
      (v2.data as { repository_id?: string }).repository_id,
      undefined,
      'v2 without it stays without',
    );
  });

  it('upcasts SchedulesChanged v1 to v2: each schedule names its host’s own repository', () => {
    const v1 = clone(SAMPLE_EVENTS.SchedulesChanged);
    const e = fromRecorded(recorded('SchedulesChanged', v1, { ...SAMPLE_METADATA, schema_version: 1 }));
    const schedules = (e.data as { schedules: { id: string; repository_id?: string }[] }).schedules;
    assert.deepEqual(
      schedules.map((s) => [s.id, s.repository_id]),
      v1.schedules.map((s) => [s.id, legacyRepositoryId(HOST)]),
    );
    assert.equal('repository_id' in v1.schedules[0], false, 'the stored object is not mutated');
    // A v1 list that (oddly) named one already keeps it.
    const named = { ...v1, schedules: [{ ...v1.schedules[0], repository_id: 'other' }] };
    const n = fromRecorded(recorded('SchedulesChanged', named, { ...SAMPLE_METADATA, schema_version: 1 }));
    assert.equal((n.data as typeof named).schedules[0].repository_id, 'other');
  });

  it('does not upcast current-version data', () => {
    const v2 = { ...SAMPLE_EVENTS.LogStreamLine, line: 'extra field kept as is' };
    const e = fromRecorded(recorded('LogStreamLine', v2, { ...SAMPLE_METADATA, schema_version: 2 }));
    assert.equal(e.data, v2);
    assert.equal(upcast('JobFinished', 2, v2), v2);
  });

  it('round-trips every sample through toEventData → RecordedEvent → fromRecorded', () => {
    for (const type of FLEET_EVENT_TYPES) {
      const ed = toEventData(event(type, clone(SAMPLE_EVENTS[type])), SAMPLE_METADATA);
      const back = fromRecorded(
        recorded(ed.type, JSON.parse(JSON.stringify(ed.data)), JSON.parse(JSON.stringify(ed.metadata))),
      );
      assert.equal(back.type, type);
      assert.deepEqual(back.data, SAMPLE_EVENTS[type]);
      assert.equal(back.metadata.actor.id, 'u1');
    }
  });

  it('takes an event copied from another log at its original time (metadata.original_created), else the store time', () => {
    const stored = new Date('2026-12-05T01:00:00.000Z');
    const base = { created: stored };
    assert.equal(recordedTime({ ...base, metadata: SAMPLE_METADATA }), stored);
    const copied = {
      ...base,
      metadata: { ...SAMPLE_METADATA, original_created: '2025-03-01T10:00:00.000Z' },
    };
    assert.equal(recordedTime(copied).toISOString(), '2025-03-01T10:00:00.000Z');
    assert.equal(
      recordedTime({ ...base, metadata: { original_created: 'yesterday' } }),
      stored,
      'not a time: ignored',
    );
    assert.equal(recordedTime({ ...base, metadata: null }), stored);
    const recorded: RecordedEvent = {
      id: '00000000-0000-4000-8000-000000000001',
      type: 'HostEnrolled',
      streamId: `host-${HOST}`,
      revision: 0,
      position: { commit: 1n, prepare: 1n },
      data: SAMPLE_EVENTS.HostEnrolled,
      metadata: copied.metadata,
      created: stored,
    };
    assert.equal(fromRecorded(recorded).created.toISOString(), '2025-03-01T10:00:00.000Z');
  });
});
