import { createHash, hash } from 'node:crypto';

// Fixed namespace for restic-fleet's name-based UUIDs; changing it would break deduplication of resent envelopes.
const NAMESPACE = Buffer.from('3b8f2c1e5d7a4f60a9e1c4b2d6f80a17', 'hex');
// Namespace followed by the name, reused: one-shot hashing of one buffer is the cheapest way
// to hash (this runs for every ingested envelope). Synchronous use only, so sharing is safe.
const SCRATCH = Buffer.alloc(16 + 512);
NAMESPACE.copy(SCRATCH, 0);

/** RFC 4122 version-5 UUID (SHA-1, name-based) of `name` in restic-fleet's namespace. */
export function nameBasedUuid(name: string): string {
  const h =
    name.length * 3 <= SCRATCH.length - 16
      ? hash('sha1', SCRATCH.subarray(0, 16 + SCRATCH.write(name, 16, 'utf8')), 'buffer')
      : createHash('sha1').update(NAMESPACE).update(name, 'utf8').digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.toString('hex', 0, 16);
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/**
 * The id of the `index`-th event appended for an envelope. Deterministic, so an
 * envelope resent after a reconnect yields the same event ids and the store's
 * idempotent append deduplicates it (docs/architecture.md, "Wire protocol").
 */
export function eventIdFromEnvelope(envelopeId: string, index: number): string {
  if (typeof envelopeId !== 'string' || envelopeId.length === 0)
    throw new TypeError('envelopeId must be a non-empty string');
  if (!Number.isSafeInteger(index) || index < 0) throw new TypeError('index must be a non-negative integer');
  return nameBasedUuid(`envelope/${envelopeId.toLowerCase()}/${index}`);
}

/** The job id the control plane gives the job a `schedule.fire` envelope starts, so a resent fire starts no second job. */
export function jobIdForScheduleFire(envelopeId: string): string {
  if (typeof envelopeId !== 'string' || envelopeId.length === 0)
    throw new TypeError('envelopeId must be a non-empty string');
  return nameBasedUuid(`schedule.fire/${envelopeId.toLowerCase()}`);
}

/**
 * The id of the repository a host's `RepositoryConfigured` history stands for
 * (docs/repositories.md): derived from the host id, so every reader agrees
 * without any event being rewritten.
 */
export function legacyRepositoryId(hostId: string): string {
  if (typeof hostId !== 'string' || hostId.length === 0)
    throw new TypeError('hostId must be a non-empty string');
  return nameBasedUuid(`legacy-repository/${hostId}`);
}
