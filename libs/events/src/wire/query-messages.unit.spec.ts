import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { makeEnvelope, parseEnvelope, WireProtocolError } from './envelope';
import {
  encodeUploadHeader,
  QueryUploadDecoder,
  UPLOAD_FRAME,
  type QueryStartPayload,
} from './query-messages';

/** Deliberately loose: the specs feed it wrong combinations. */
const start = (extra: Record<string, unknown>): QueryStartPayload =>
  ({
    query_id: randomUUID(),
    max_bytes: 1024,
    upload_token: 'k'.repeat(43),
    ...extra,
  }) as unknown as QueryStartPayload;

describe('browse query messages', () => {
  it('decodes upload frames cut at any byte, handing data on without assembling it', () => {
    const body = Buffer.from('restic bytes, then the answer');
    const answer = Buffer.from('{"type":"query.end"}');
    const wire = Buffer.concat([
      encodeUploadHeader(UPLOAD_FRAME.data, 7),
      body.subarray(0, 7),
      encodeUploadHeader(UPLOAD_FRAME.data, body.length - 7),
      body.subarray(7),
      encodeUploadHeader(UPLOAD_FRAME.answer, answer.length),
      answer,
    ]);
    for (let cut = 1; cut < wire.length; cut++) {
      const data: Buffer[] = [];
      const answers: string[] = [];
      const d = new QueryUploadDecoder({ data: (b) => data.push(b), answer: (t) => answers.push(t) });
      d.push(wire.subarray(0, cut));
      d.push(wire.subarray(cut));
      assert.equal(Buffer.concat(data).toString(), body.toString(), `cut at ${cut}`);
      assert.deepEqual(answers, [answer.toString()]);
      assert.ok(d.done);
    }
  });

  it('refuses an unknown frame type, an oversized frame and bytes after the answer', () => {
    const sink = { data: () => undefined, answer: () => undefined };
    assert.throws(
      () => new QueryUploadDecoder(sink).push(encodeUploadHeader(9, 1)),
      /unknown upload frame type/,
    );
    assert.throws(
      () => new QueryUploadDecoder(sink).push(encodeUploadHeader(UPLOAD_FRAME.answer, 1 << 20)),
      /exceeds/,
    );
    const d = new QueryUploadDecoder(sink);
    assert.throws(
      () =>
        d.push(
          Buffer.concat([encodeUploadHeader(UPLOAD_FRAME.answer, 2), Buffer.from('{}'), Buffer.from('x')]),
        ),
      /after the answer/,
    );
  });

  it('refuses a query.start without a well-formed upload token', () => {
    const r = parseEnvelope({
      v: 1,
      id: randomUUID(),
      type: 'query.start',
      ts: new Date().toISOString(),
      payload: { ...start({ kind: 'ls', snapshot: 'abcd1234', path: '/a' }), upload_token: 'short' },
    });
    assert.equal(r.ok, false);
  });

  it('requires the arguments of each kind and refuses those of another', () => {
    const ok = makeEnvelope(
      'query.start',
      start({ kind: 'dump', snapshot: 'abcd1234', path: '/srv/a', archive: 'zip' }),
    );
    assert.equal(ok.payload.archive, 'zip');
    assert.throws(
      () => makeEnvelope('query.start', start({ kind: 'ls', snapshot: 'abcd1234' })),
      (e: unknown) => e instanceof WireProtocolError && e.field === 'payload.path',
    );
    assert.throws(
      () => makeEnvelope('query.start', start({ kind: 'find', pattern: '*.txt', snapshot: 'abcd1234' })),
      (e: unknown) => e instanceof WireProtocolError && e.field === 'payload.snapshot',
    );
  });

  it('refuses paths with dot segments, patterns that read as flags and "latest" as a snapshot', () => {
    const bad = [
      start({ kind: 'ls', snapshot: 'abcd1234', path: '/srv/../etc' }),
      start({ kind: 'ls', snapshot: 'abcd1234', path: 'relative' }),
      start({ kind: 'find', pattern: '--password-command=x' }),
      start({ kind: 'dump', snapshot: 'latest', path: '/a' }),
    ];
    for (const payload of bad) {
      const r = parseEnvelope({
        v: 1,
        id: randomUUID(),
        type: 'query.start',
        ts: new Date().toISOString(),
        payload,
      });
      assert.equal(r.ok, false, JSON.stringify(payload));
    }
  });
});
