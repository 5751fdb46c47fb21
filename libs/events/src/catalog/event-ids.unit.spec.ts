import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventIdFromEnvelope, jobIdForScheduleFire, nameBasedUuid } from './event-ids';
import { isUuid } from './validation';

describe('event ids from envelopes', () => {
  const env = '6f9619ff-8b86-4011-b42d-00c04fc964ff';

  it('is stable: the same envelope and index give the same id (resends deduplicate)', () => {
    assert.equal(eventIdFromEnvelope(env, 0), eventIdFromEnvelope(env, 0));
    assert.equal(eventIdFromEnvelope(env, 0), eventIdFromEnvelope(env.toUpperCase(), 0));
  });

  it('is a version-5 RFC 4122 UUID', () => {
    const id = eventIdFromEnvelope(env, 0);
    assert.ok(isUuid(id));
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('is distinct across envelopes and indexes (10,000 ids, no collisions)', () => {
    const seen = new Set<string>();
    for (let e = 0; e < 1000; e++) {
      const envelope = `00000000-0000-4000-8000-${e.toString(16).padStart(12, '0')}`;
      for (let i = 0; i < 10; i++) seen.add(eventIdFromEnvelope(envelope, i));
    }
    assert.equal(seen.size, 10_000);
    assert.notEqual(jobIdForScheduleFire(env), eventIdFromEnvelope(env, 0));
  });

  it('agrees with an independent RFC 4122 v5 implementation (the namespace must never change)', () => {
    // Computed with Python: uuid.uuid5(uuid.UUID('3b8f2c1e-5d7a-4f60-a9e1-c4b2d6f80a17'), 'envelope/<id>/0').
    // A change here means resent envelopes from agents in the field would no longer deduplicate.
    assert.equal(eventIdFromEnvelope(env, 0), 'f22a652c-bf4f-51cd-8518-6bdc8af2398a');
    assert.equal(nameBasedUuid(`envelope/${env}/0`), eventIdFromEnvelope(env, 0));
  });

  it('hashes long and non-ASCII names the same way on both hashing paths', () => {
    const long = 'x'.repeat(1000);
    assert.equal(nameBasedUuid(long), nameBasedUuid(long));
    assert.notEqual(nameBasedUuid(long), nameBasedUuid(`${long}y`));
    // Python: uuid.uuid5(uuid.UUID('3b8f2c1e-5d7a-4f60-a9e1-c4b2d6f80a17'), 'é' * 200) and 'é' * 100
    assert.equal(nameBasedUuid('é'.repeat(200)), 'afff02d0-671a-503f-8041-c770613f3008');
    assert.equal(nameBasedUuid('é'.repeat(100)), '0cd1f1a0-0ecd-5e1c-a53c-56038d915e3d');
  });

  it('rejects bad input', () => {
    assert.throws(() => eventIdFromEnvelope('', 0), TypeError);
    assert.throws(() => eventIdFromEnvelope(env, -1), TypeError);
    assert.throws(() => eventIdFromEnvelope(env, 1.5), TypeError);
  });
});
