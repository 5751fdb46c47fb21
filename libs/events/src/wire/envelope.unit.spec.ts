import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clone, ENVELOPE_ID, JOB, T0 } from '../catalog/catalog-samples.testing';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  encodeEnvelope,
  makeEnvelope,
  makeErrorEnvelope,
  parseEnvelope,
  type ParseResult,
  PROTOCOL_VERSION,
  type WireErrorCode,
  WireProtocolError,
} from './envelope';
import {
  AGENT_TO_SERVER,
  DURABLE_AGENT_MESSAGES,
  QUERY_ANSWERS,
  SERVER_TO_AGENT,
  WIRE_TYPES,
} from './wire-messages';
import { redactSecrets } from './secret-fields';
import { rawEnvelope, SAMPLE_PAYLOADS } from './wire-samples.testing';

function fails(r: ParseResult, code: WireErrorCode, field?: string): void {
  assert.equal(r.ok, false, `expected ${code}${field ? ` at ${field}` : ''}`);
  if (r.ok) return;
  assert.equal(r.error.code, code, r.error.message);
  assert.equal(r.error.field, field, r.error.message);
  assert.equal(typeof r.error.message, 'string');
  assert.ok(r.error.message.length > 0);
}
const json = (v: unknown) => JSON.stringify(v);

describe('parseEnvelope: valid messages', () => {
  it('accepts every message type and returns the typed message', () => {
    assert.equal(WIRE_TYPES.length, 23);
    for (const type of WIRE_TYPES) {
      const r = parseEnvelope(json(rawEnvelope(type, clone(SAMPLE_PAYLOADS[type]))));
      assert.ok(r.ok, `${type}: ${!r.ok && json(r.error)}`);
      assert.equal(r.message.type, type);
      assert.equal(r.message.id, ENVELOPE_ID);
      assert.equal(r.message.v, PROTOCOL_VERSION);
      assert.deepEqual(JSON.parse(json(r.message.payload)), SAMPLE_PAYLOADS[type], type);
    }
  });

  it('accepts string, Buffer, ArrayBuffer, Buffer[] fragments and parsed objects alike', () => {
    const text = json(rawEnvelope('heartbeat', { sent_at: T0 }));
    const buf = Buffer.from(text);
    const arrayBuffer = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    const inputs: unknown[] = [
      text,
      buf,
      arrayBuffer,
      [buf.subarray(0, 10), buf.subarray(10)],
      new Uint8Array(buf),
      JSON.parse(text),
    ];
    for (const input of inputs) {
      const r = parseEnvelope(input);
      assert.ok(r.ok, json(!r.ok && r.error));
      assert.equal(r.message.type, 'heartbeat');
    }
  });

  it('ignores and drops unknown envelope and payload fields (newer peers may add optional fields)', () => {
    const r = parseEnvelope(
      json(rawEnvelope('log.stream', { ...SAMPLE_PAYLOADS['log.stream'], colour: 'red' }, { trace: 'x' })),
    );
    assert.ok(r.ok);
    assert.equal('trace' in r.message, false);
    assert.equal('colour' in r.message.payload, false);
    const hello = parseEnvelope(json(rawEnvelope('hello', { ...SAMPLE_PAYLOADS.hello, load_avg: 1 })));
    assert.ok(hello.ok);
    assert.equal('load_avg' in hello.message.payload, false);
  });

  it('treats null optional fields as absent', () => {
    const r = parseEnvelope(
      json(
        rawEnvelope(
          'job.progress',
          { ...SAMPLE_PAYLOADS['job.progress'], eta_seconds: null },
          { job_id: null },
        ),
      ),
    );
    assert.ok(r.ok, json(!r.ok && r.error));
    assert.equal(r.message.job_id, undefined);
  });

  it('keeps the envelope job_id when it matches the payload', () => {
    const r = parseEnvelope(json(rawEnvelope('log.stream', SAMPLE_PAYLOADS['log.stream'], { job_id: JOB })));
    assert.ok(r.ok);
    assert.equal(r.message.job_id, JOB);
  });
});

describe('parseEnvelope: malformed input never throws and says what is wrong', () => {
  it('garbage that is not JSON', () => {
    for (const g of [
      '',
      'nope',
      '{',
      '{"v":1,',
      '\u0000\u0001',
      Buffer.from([0xff, 0xfe, 0x00]),
      '{"v":1}}',
    ]) {
      fails(parseEnvelope(g), 'invalid_json');
    }
  });

  it('JSON that is not an object', () => {
    for (const g of ['null', '[]', '[1,2]', '42', '"str"', 'true'])
      fails(parseEnvelope(g), 'invalid_envelope');
    for (const g of [null, undefined, 42, true, Symbol('x'), [], [1, 2], () => 1])
      fails(parseEnvelope(g), 'invalid_envelope');
  });

  it('too large, by bytes not characters', () => {
    const big = json(
      rawEnvelope('log.stream', {
        ...SAMPLE_PAYLOADS['log.stream'],
        payload: 'x'.repeat(DEFAULT_MAX_MESSAGE_BYTES),
      }),
    );
    fails(parseEnvelope(big), 'too_large');
    fails(parseEnvelope(Buffer.from(big)), 'too_large');
    fails(parseEnvelope([Buffer.from(big.slice(0, 600_000)), Buffer.from(big.slice(600_000))]), 'too_large');
    const small = json(
      rawEnvelope('log.stream', { ...SAMPLE_PAYLOADS['log.stream'], payload: 'é'.repeat(300) }),
    );
    assert.ok(parseEnvelope(small, { maxBytes: 1000 }).ok);
    fails(parseEnvelope(small, { maxBytes: small.length + 10 }), 'too_large');
  });

  it('deep nesting', () => {
    const deep = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);
    const r = parseEnvelope(deep, { maxBytes: 10_000_000 });
    assert.equal(r.ok, false);
    if (!r.ok) assert.ok(['invalid_envelope', 'invalid_json'].includes(r.error.code), r.error.code);
    let nested: unknown = 1;
    for (let i = 0; i < 40; i++) nested = [nested];
    const r2 = parseEnvelope(
      json(rawEnvelope('job.finished', { ...SAMPLE_PAYLOADS['job.finished'], stats: { deep: nested } })),
    );
    assert.equal(r2.ok, false);
    if (!r2.ok) {
      assert.equal(r2.error.code, 'invalid_payload');
      assert.match(r2.error.field ?? '', /^payload\.stats\.deep/);
    }
  });

  it('prototype-pollution keys anywhere', () => {
    const text = `{"v":1,"id":"${ENVELOPE_ID}","type":"job.finished","ts":"${T0}","payload":{"job_id":"${JOB}","status":"failed","exit_code":1,"finished_at":"${T0}","stats":{"__proto__":{"polluted":true}}}}`;
    fails(parseEnvelope(text), 'invalid_payload', 'payload.stats.__proto__');
    fails(parseEnvelope(`{"__proto__":{"polluted":true},"v":1}`), 'invalid_envelope', '__proto__');
    fails(
      parseEnvelope(json(rawEnvelope('heartbeat', { sent_at: T0, constructor: { prototype: 1 } }))),
      'invalid_payload',
      'payload.constructor',
    );
    fails(
      parseEnvelope(
        json(
          rawEnvelope('command.run', {
            ...SAMPLE_PAYLOADS['command.run'],
            args: JSON.parse('{"paths":["/a"],"__proto__":{}}'),
          }),
        ),
      ),
      'invalid_payload',
      'payload.args.__proto__',
    );
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('envelope fields: version, id, type, ts, job_id', () => {
    const base = rawEnvelope('heartbeat', { sent_at: T0 });
    fails(parseEnvelope(json({ ...base, v: 2 })), 'unsupported_version', 'v');
    fails(parseEnvelope(json({ ...base, v: 0 })), 'unsupported_version', 'v');
    fails(parseEnvelope(json({ ...base, v: '1' })), 'invalid_envelope', 'v');
    fails(parseEnvelope(json({ ...base, v: undefined })), 'invalid_envelope', 'v');
    fails(parseEnvelope(json({ ...base, id: 'abc' })), 'invalid_envelope', 'id');
    fails(parseEnvelope(json({ ...base, id: 7 })), 'invalid_envelope', 'id');
    fails(parseEnvelope(json({ ...base, type: 'job.exploded' })), 'unknown_type', 'type');
    fails(parseEnvelope(json({ ...base, type: 3 })), 'invalid_envelope', 'type');
    fails(parseEnvelope(json({ ...base, type: 'toString' })), 'unknown_type', 'type');
    fails(parseEnvelope(json({ ...base, type: '__proto__' })), 'unknown_type', 'type');
    fails(parseEnvelope(json({ ...base, ts: 'now' })), 'invalid_envelope', 'ts');
    fails(parseEnvelope(json({ ...base, ts: '2024-13-45T99:00:00Z' })), 'invalid_envelope', 'ts');
    fails(parseEnvelope(json({ ...base, ts: '2024-05-01T12:00:00' })), 'invalid_envelope', 'ts');
    fails(parseEnvelope(json({ ...base, job_id: 'a b' })), 'invalid_envelope', 'job_id');
    fails(parseEnvelope(json({ ...base, payload: undefined })), 'invalid_payload', 'payload');
    fails(parseEnvelope(json({ ...base, payload: [] })), 'invalid_payload', 'payload');
    fails(parseEnvelope(json({ ...base, payload: 'x' })), 'invalid_payload', 'payload');
    const mismatch = rawEnvelope('log.stream', SAMPLE_PAYLOADS['log.stream'], { job_id: 'other-job' });
    fails(parseEnvelope(json(mismatch)), 'invalid_envelope', 'job_id');
  });

  it('echoes the envelope id as ref_id when there is one', () => {
    const r = parseEnvelope(
      json(rawEnvelope('log.stream', { ...SAMPLE_PAYLOADS['log.stream'], seq: 'one' })),
    );
    fails(r, 'invalid_payload', 'payload.seq');
    if (!r.ok) assert.equal(r.error.ref_id, ENVELOPE_ID);
    const noId = parseEnvelope(json({ v: 1, type: 'heartbeat' }));
    if (!noId.ok) assert.equal(noId.error.ref_id, undefined);
  });

  it('payload fields: missing, wrong type, out of range, nested', () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['hello', { ...SAMPLE_PAYLOADS.hello, protocol_version: 0 }, 'payload.protocol_version'],
      ['hello', { ...SAMPLE_PAYLOADS.hello, os: 'Linux' }, 'payload.os'],
      ['hello', { ...SAMPLE_PAYLOADS.hello, hostname: undefined }, 'payload.hostname'],
      ['heartbeat', {}, 'payload.sent_at'],
      ['config.update', { ...SAMPLE_PAYLOADS['config.update'], repo_password: '' }, 'payload.repo_password'],
      [
        'config.update',
        { ...SAMPLE_PAYLOADS['config.update'], repo_url: 's3:https://AK:SK@s3.example/b' },
        'payload.repo_url',
      ],
      ['schedule.set', { version: -1, schedules: [] }, 'payload.version'],
      [
        'schedule.set',
        {
          version: 1,
          schedules: [{ id: 's', kind: 'backup', cron: '* * * * *', enabled: 'yes', paths: ['/a'] }],
        },
        'payload.schedules.0.enabled',
      ],
      ['schedule.ack', { version: 1.5, applied_at: T0 }, 'payload.version'],
      ['schedule.fire', { schedule_id: '', scheduled_at: T0 }, 'payload.schedule_id'],
      ['command.run', { job_id: JOB, kind: 'format', args: {} }, 'payload.kind'],
      ['command.run', { job_id: JOB, kind: 'backup', args: { paths: [] } }, 'payload.args.paths'],
      [
        'command.run',
        { job_id: JOB, kind: 'backup', args: { paths: ['/a'], dry_run: true } },
        'payload.args.dry_run',
      ],
      ['command.cancel', { job_id: 7 }, 'payload.job_id'],
      ['command.result', { job_id: JOB, accepted: 'no' }, 'payload.accepted'],
      ['job.started', { ...SAMPLE_PAYLOADS['job.started'], kind: 'dance' }, 'payload.kind'],
      ['job.progress', { ...SAMPLE_PAYLOADS['job.progress'], percent_done: -0.1 }, 'payload.percent_done'],
      ['job.progress', { ...SAMPLE_PAYLOADS['job.progress'], bytes_done: 1.5 }, 'payload.bytes_done'],
      ['job.finished', { ...SAMPLE_PAYLOADS['job.finished'], status: 'running' }, 'payload.status'],
      ['job.finished', { ...SAMPLE_PAYLOADS['job.finished'], stats: [1] }, 'payload.stats'],
      [
        'job.finished',
        { ...SAMPLE_PAYLOADS['job.finished'], error_code: 'Not A Code' },
        'payload.error_code',
      ],
      ['log.stream', { ...SAMPLE_PAYLOADS['log.stream'], stream: 'stdin' }, 'payload.stream'],
      ['log.stream', { ...SAMPLE_PAYLOADS['log.stream'], payload: 42 }, 'payload.payload'],
      ['log.dropped', { ...SAMPLE_PAYLOADS['log.dropped'], count: 0 }, 'payload.count'],
      ['log.dropped', { ...SAMPLE_PAYLOADS['log.dropped'], from_seq: 30 }, 'payload.to_seq'],
      [
        'snapshots.report',
        { snapshots: [{ ...SAMPLE_PAYLOADS['snapshots.report'].snapshots[0], paths: 'x' }] },
        'payload.snapshots.0.paths',
      ],
      ['snapshots.report', { snapshots: 'none' }, 'payload.snapshots'],
      ['repo.stats', { ...SAMPLE_PAYLOADS['repo.stats'], snapshot_count: -1 }, 'payload.snapshot_count'],
      [
        'agent.update_available',
        { ...SAMPLE_PAYLOADS['agent.update_available'], version: '' },
        'payload.version',
      ],
      [
        'agent.update_available',
        { ...SAMPLE_PAYLOADS['agent.update_available'], version: 'latest' },
        'payload.version',
      ],
      [
        'agent.update_available',
        { ...SAMPLE_PAYLOADS['agent.update_available'], sha256: 'ABC' },
        'payload.sha256',
      ],
      [
        'agent.update_available',
        { ...SAMPLE_PAYLOADS['agent.update_available'], url: 'file:///etc/passwd' },
        'payload.url',
      ],
      ['ack', { ids: [] }, 'payload.ids'],
      ['ack', { ids: ['not-a-uuid'] }, 'payload.ids'],
      ['error', { code: 'BAD', message: 'x' }, 'payload.code'],
    ];
    for (const [type, payload, field] of cases)
      fails(parseEnvelope(json(rawEnvelope(type, payload))), 'invalid_payload', field);
  });

  it('refuses types outside the accepted direction', () => {
    const run = json(rawEnvelope('command.run', SAMPLE_PAYLOADS['command.run']));
    fails(parseEnvelope(run, { accept: AGENT_TO_SERVER }), 'unknown_type', 'type');
    assert.ok(parseEnvelope(run, { accept: SERVER_TO_AGENT }).ok);
  });

  it('survives hostile objects (throwing getters)', () => {
    const evil = {
      v: 1,
      get id(): string {
        throw new Error('boom');
      },
    };
    fails(parseEnvelope(evil), 'invalid_envelope');
    const cyclic = rawEnvelope('heartbeat', { sent_at: T0 });
    const loop: Record<string, unknown> = {};
    loop.a = loop;
    loop.b = loop;
    (cyclic.payload as Record<string, unknown>).loop = loop;
    const r = parseEnvelope(cyclic);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error.field ?? '', /^payload\.loop(\.[ab])+$/);
  });

  it('bounds the number of nested values', () => {
    const stats = { x: Array.from({ length: 150_000 }, () => []) };
    fails(
      parseEnvelope(json(rawEnvelope('job.finished', { ...SAMPLE_PAYLOADS['job.finished'], stats }))),
      'invalid_envelope',
    );
  });

  it('survives a battery of random mutations without throwing', () => {
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const junk = [null, -1, 1e308, '', 'x', [], {}, true, '2024-05-01T12:00:00Z', ['a'], { a: 1 }];
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const type = WIRE_TYPES[Math.floor(rand() * WIRE_TYPES.length)];
      const payload = clone(SAMPLE_PAYLOADS[type]) as unknown as Record<string, unknown>;
      const keys = Object.keys(payload);
      const key = keys[Math.floor(rand() * keys.length)];
      payload[key] = junk[Math.floor(rand() * junk.length)];
      const r = parseEnvelope(json(rawEnvelope(type, payload)));
      if (r.ok) accepted++;
      else assert.ok(r.error.field === undefined || r.error.field.startsWith('payload'), json(r.error));
    }
    assert.ok(accepted < 3000);
  });
});

describe('makeEnvelope / encodeEnvelope', () => {
  it('builds messages that parse back identically', () => {
    for (const type of WIRE_TYPES) {
      const msg = makeEnvelope(type, clone(SAMPLE_PAYLOADS[type]) as never, { ts: new Date(T0) });
      const r = parseEnvelope(encodeEnvelope(msg));
      assert.ok(r.ok, type);
      assert.deepEqual(JSON.parse(encodeEnvelope(r.message)), JSON.parse(encodeEnvelope(msg)));
    }
  });

  it('fills id, ts and job_id (from the payload)', () => {
    const m = makeEnvelope('log.stream', SAMPLE_PAYLOADS['log.stream']);
    assert.match(m.id, /^[0-9a-f-]{36}$/);
    assert.ok(!Number.isNaN(Date.parse(m.ts)));
    assert.equal(m.job_id, JOB);
    assert.notEqual(
      makeEnvelope('heartbeat', { sent_at: T0 }).id,
      makeEnvelope('heartbeat', { sent_at: T0 }).id,
    );
  });

  it('throws a WireProtocolError naming the field for an invalid payload', () => {
    assert.throws(
      () => makeEnvelope('log.stream', { ...SAMPLE_PAYLOADS['log.stream'], seq: -1 }),
      (e: unknown) =>
        e instanceof WireProtocolError && e.code === 'invalid_payload' && e.field === 'payload.seq',
    );
  });

  it('answers a rejected message with an error envelope carrying code, field and ref_id', () => {
    const r = parseEnvelope(json(rawEnvelope('log.stream', { ...SAMPLE_PAYLOADS['log.stream'], seq: 'x' })));
    assert.equal(r.ok, false);
    if (r.ok) return;
    const e = makeErrorEnvelope(r.error);
    assert.equal(e.type, 'error');
    assert.deepEqual(
      { ...e.payload },
      { code: 'invalid_payload', message: r.error.message, ref_id: ENVELOPE_ID, field: 'payload.seq' },
    );
    const fromJunk = parseEnvelope('\u0000{');
    if (!fromJunk.ok) assert.equal(makeErrorEnvelope(fromJunk.error).payload.code, 'invalid_json');
  });
});

describe('direction sets and secrets', () => {
  it('every type has one way to travel; durable = agent→server minus heartbeat and query answers', () => {
    for (const t of WIRE_TYPES)
      assert.equal([AGENT_TO_SERVER.has(t), SERVER_TO_AGENT.has(t)].filter(Boolean).length, 1, t);
    for (const t of QUERY_ANSWERS) assert.ok(AGENT_TO_SERVER.has(t), t);
    assert.equal(DURABLE_AGENT_MESSAGES.has('heartbeat'), false);
    assert.equal(DURABLE_AGENT_MESSAGES.has('query.end'), false);
    assert.equal(DURABLE_AGENT_MESSAGES.has('query.error'), false);
    assert.equal(DURABLE_AGENT_MESSAGES.size, AGENT_TO_SERVER.size - 3);
    for (const t of DURABLE_AGENT_MESSAGES) assert.ok(AGENT_TO_SERVER.has(t));
  });

  it('redactSecrets hides the repository secrets of config.update and leaves other messages alone', () => {
    const m = makeEnvelope('config.update', SAMPLE_PAYLOADS['config.update']);
    const text = JSON.stringify(redactSecrets(m));
    assert.equal(text.includes('hunter2'), false);
    assert.equal(text.includes('basic-secret'), false);
    assert.equal(m.payload.repo_password, 'hunter2', 'the original is not modified');
    const hb = makeEnvelope('heartbeat', { sent_at: T0 });
    assert.equal(redactSecrets(hb), hb);
  });

  it('never echoes message text in a JSON error (it may contain a secret)', () => {
    const r = parseEnvelope('{"type":"config.update","payload":{"repo_password":"hunter2"');
    fails(r, 'invalid_json');
    if (!r.ok) assert.equal(r.error.message.includes('hunter2'), false);
  });
});

describe('parseEnvelope: nested lists', () => {
  it('requires objects in schedule and snapshot lists (class-validator alone lets [[]] through)', () => {
    for (const item of [[], 1, null, 'x']) {
      fails(
        parseEnvelope(json(rawEnvelope('schedule.set', { version: 1, schedules: [item] }))),
        'invalid_payload',
        'payload.schedules',
      );
      fails(
        parseEnvelope(json(rawEnvelope('snapshots.report', { snapshots: [item] }))),
        'invalid_payload',
        'payload.snapshots',
      );
    }
    fails(
      parseEnvelope(json(rawEnvelope('snapshots.report', { snapshots: [{}] }))),
      'invalid_payload',
      'payload.snapshots.0.id',
    );
  });
});
