import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { makeEnvelope, parseEnvelope, WireProtocolError } from './envelope';
import type { QueryStartPayload } from './query-messages';

/** Deliberately loose: the specs feed it wrong combinations. */
const start = (extra: Record<string, unknown>): QueryStartPayload =>
  ({
    query_id: randomUUID(),
    max_bytes: 1024,
    upload_token: 'k'.repeat(43),
    ...extra,
  }) as unknown as QueryStartPayload;

describe('browse query messages', () => {
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
