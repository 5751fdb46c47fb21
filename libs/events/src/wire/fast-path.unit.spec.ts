import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SAMPLE_EVENTS } from '../catalog/catalog-samples.testing';
import { JobProgressData, LogStreamLineData } from '../catalog/events';
import { BackupArgs, InitArgs } from '../catalog/job-args';
import { checkClass, type ClassOf, type UnknownFields } from '../catalog/validation';
import { AckPayload, HeartbeatPayload, JobProgressPayload } from './wire-messages';
import { SAMPLE_PAYLOADS } from './wire-samples.testing';

/*
 * The hot types (log.stream, job.progress, heartbeat, ack) are checked by
 * hand-written fast paths. These specs run both the fast path and the
 * class-validator decorators on a large set of valid and invalid samples and
 * require the same verdict, the same first field and the same message.
 */

const JUNK: unknown[] = [
  null,
  '',
  'x',
  ' ',
  -1,
  0,
  1,
  0.5,
  1.5,
  -0.0001,
  2 ** 53,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  true,
  false,
  [],
  ['a'],
  {},
  { a: 1 },
  '2024-05-01T12:00:00Z',
  '2024-05-01T12:00:00',
  '2024-02-30T12:00:00Z',
  '6f9619ff-8b86-4011-b42d-00c04fc964ff',
  ['6f9619ff-8b86-4011-b42d-00c04fc964ff'],
  'stdout',
  'hook',
  'job-1',
  'a b',
  'a'.repeat(128),
  'a'.repeat(129),
  'x'.repeat(70_000),
];
const DELETE = Symbol('delete');

/** Drops null/undefined values so the two paths' outputs compare (class-validator keeps explicit nulls of optional fields). */
function canonical(v: unknown): string {
  const o = JSON.parse(JSON.stringify(v)) as Record<string, unknown>;
  for (const k of Object.keys(o)) if (o[k] === null) delete o[k];
  return JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b))));
}

function samples(base: Record<string, unknown>): Array<Record<string, unknown>> {
  const keys = Object.keys(base);
  const out: Array<Record<string, unknown>> = [{ ...base }, { ...base, extra: 1 }, { extra: 1, ...base }, {}];
  for (const k of keys) {
    for (const j of [...JUNK, DELETE]) {
      const s = { ...base };
      if (j === DELETE) delete s[k];
      else s[k] = j;
      out.push(s);
    }
  }
  // Two fields broken at once: the first reported field must be the same.
  let seed = 7;
  const rand = (n: number) => (seed = (seed * 48271) % 2147483647) % n;
  for (let i = 0; i < 1500; i++) {
    const s: Record<string, unknown> = { ...base };
    for (let m = 0; m < 2; m++) s[keys[rand(keys.length)]] = JUNK[rand(JUNK.length)];
    if (rand(4) === 0) s[`extra${rand(3)}`] = 1;
    out.push(s);
  }
  return out;
}

function agree(cls: ClassOf<object>, base: Record<string, unknown>): { valid: number; invalid: number } {
  let valid = 0;
  let invalid = 0;
  for (const unknown of ['strip', 'reject'] as UnknownFields[]) {
    for (const sample of samples(base)) {
      const fast = checkClass(cls, sample, 'payload', { unknown });
      const slow = checkClass(cls, sample, 'payload', { unknown, slow: true });
      const label = `${cls.name} ${unknown} ${JSON.stringify(sample).slice(0, 300)}`;
      assert.equal(
        fast.ok,
        slow.ok,
        `verdict differs: ${label}\nfast ${JSON.stringify(fast).slice(0, 300)}\nslow ${JSON.stringify(slow).slice(0, 300)}`,
      );
      if (fast.ok && slow.ok) {
        valid++;
        assert.equal(canonical(fast.value), canonical(slow.value), label);
      } else if (!fast.ok && !slow.ok) {
        invalid++;
        assert.equal(fast.issues[0].field, slow.issues[0].field, label);
        assert.equal(fast.issues[0].message, slow.issues[0].message, label);
      }
    }
  }
  return { valid, invalid };
}

describe('fast paths agree with the class-validator rules', () => {
  const cases: Array<[ClassOf<object>, object]> = [
    [LogStreamLineData, SAMPLE_PAYLOADS['log.stream']],
    [JobProgressPayload, SAMPLE_PAYLOADS['job.progress']],
    [JobProgressData, SAMPLE_EVENTS.JobProgress],
    [HeartbeatPayload, SAMPLE_PAYLOADS.heartbeat],
    [AckPayload, SAMPLE_PAYLOADS.ack],
  ];
  for (const [cls, base] of cases) {
    it(`${cls.name}: same verdict, first field and message on thousands of samples`, () => {
      const { valid, invalid } = agree(cls, base as Record<string, unknown>);
      assert.ok(valid >= 20, `only ${valid} valid samples`);
      assert.ok(invalid >= 500, `only ${invalid} invalid samples`);
    });
  }

  it('the fast path is really used for the hot types (slow path differs only in output prototype)', () => {
    const fast = checkClass(LogStreamLineData, { ...SAMPLE_PAYLOADS['log.stream'] }, 'payload', {
      unknown: 'strip',
    });
    const slow = checkClass(LogStreamLineData, { ...SAMPLE_PAYLOADS['log.stream'] }, 'payload', {
      unknown: 'strip',
      slow: true,
    });
    assert.ok(fast.ok && slow.ok);
    assert.equal(Object.getPrototypeOf(fast.value), Object.prototype);
    assert.ok(slow.value instanceof LogStreamLineData);
  });

  it('argless job kinds (explicit empty schema) behave like an empty class in both modes', () => {
    assert.ok(checkClass(InitArgs, {}, 'args').ok);
    assert.ok(checkClass(InitArgs, { x: 1 }, 'args', { unknown: 'strip' }).ok);
    const r = checkClass(InitArgs, { x: 1 }, 'args', { unknown: 'reject' });
    assert.ok(!r.ok && r.issues[0].field === 'args.x');
    assert.ok(checkClass(BackupArgs, { paths: ['/a'] }, 'args').ok);
  });
});
