import { isEventStoreError, type EventStore, type StreamMetadata } from '@rf/event-store';
import { ORIGINAL_CREATED_KEY, type EventData, type Position, type RecordedEvent } from '@rf/events';

/**
 * Copies one event log into another through the EventStore port
 * (`restic-fleet migrate`, docs/eventstoredb.md "Moving an installation").
 *
 * Every event keeps its id, type, data, metadata, stream and revision; only its
 * position is new (the target numbers `$all` its own way) and its store time,
 * which the copy carries in `metadata.original_created`. Events are appended in
 * the source's global order, consecutive events of one stream together, each
 * append at the exact expected revision the source gives (revision of its first
 * event − 1). So a rerun never duplicates: an append the target already holds
 * fails with WrongExpectedVersion naming the target's revision, and the copy
 * skips what is there; an append whose ids already sit there succeeds as the
 * store's idempotent retry. A rerun starts near where the last one stopped: a
 * binary search over the source for the first event the target lacks.
 */

export interface MigrationProgress {
  readonly phase: 'locating' | 'copying' | 'metadata' | 'verifying';
  /** Events appended by this run. */
  readonly copied: number;
  /** Events this run found already in the target. */
  readonly present: number;
  /** Where in the source the copy is, and the source's head (for a fraction). */
  readonly position: bigint;
  readonly head: bigint;
}

export interface MigrationOptions {
  /** Most events in one append (default 500); appends also stay under `maxAppendBytes`. */
  readonly batchSize?: number;
  /** Default 512 KiB: half the stores' 1 MiB cap, leaving room for the envelope. */
  readonly maxAppendBytes?: number;
  /** Stop after appending this many events (a later run continues). */
  readonly maxEvents?: number;
  readonly onProgress?: (p: MigrationProgress) => void;
  readonly progressEveryMs?: number;
}

export interface CopyResult {
  readonly copied: number;
  readonly present: number;
  /** False when `maxEvents` stopped the copy before the source's end. */
  readonly complete: boolean;
}

export interface StreamTally {
  count: number;
  /** FNV-1a over each event's id, type, revision, data and metadata, in revision order. */
  hash: number;
}

export interface VerifyResult {
  readonly streams: number;
  readonly events: number;
  /** Empty when every stream of the source is in the target as it is in the source (the first few listed). */
  readonly mismatches: readonly string[];
  /** Streams the target holds that the source does not (the first few, and how many in all). */
  readonly foreignStreams: readonly string[];
  readonly foreignCount: number;
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

const DEFAULT_BATCH = 500;
const DEFAULT_APPEND_BYTES = 512 * 1024;
const MISMATCHES_LISTED = 20;

export class LogMigration {
  private copied = 0;
  private present = 0;
  private lastProgress = 0;

  constructor(
    private readonly source: EventStore,
    private readonly target: EventStore,
    private readonly options: MigrationOptions = {},
  ) {}

  /** Appends what the target lacks, in the source's order. */
  async copy(): Promise<CopyResult> {
    const head = await this.source.headPosition();
    if (head === null) return { copied: 0, present: 0, complete: true };
    this.report('locating', 0n, head.commit, true);
    const from = await this.firstMissing(head);
    if (from === null) {
      this.report('copying', head.commit, head.commit, true);
      return { copied: 0, present: 0, complete: true };
    }
    const batchSize = this.options.batchSize ?? DEFAULT_BATCH;
    const maxBytes = this.options.maxAppendBytes ?? DEFAULT_APPEND_BYTES;
    const limit = this.options.maxEvents ?? Number.POSITIVE_INFINITY;
    let group: RecordedEvent[] = [];
    let groupBytes = 0;
    for await (const event of this.source.readAll({ fromPosition: from })) {
      const bytes = approximateBytes(event);
      const fits =
        group.length > 0 &&
        group[0]!.streamId === event.streamId &&
        group.length < batchSize &&
        groupBytes + bytes <= maxBytes;
      if (!fits && group.length > 0) {
        await this.appendGroup(group);
        this.report('copying', group.at(-1)!.position.commit, head.commit, false);
        group = [];
        groupBytes = 0;
        if (this.copied >= limit) return { copied: this.copied, present: this.present, complete: false };
      }
      group.push(event);
      groupBytes += bytes;
    }
    if (group.length > 0) await this.appendGroup(group);
    this.report('copying', head.commit, head.commit, true);
    return { copied: this.copied, present: this.present, complete: true };
  }

  /**
   * Per stream, the count and a content hash of its events in each log (all
   * events `$all` yields, retention aside), and each stream's metadata: the
   * target must equal the source.
   */
  async verify(): Promise<VerifyResult> {
    const head = (await this.source.headPosition())?.commit ?? 0n;
    this.report('verifying', 0n, head, true);
    const want = await tallyLog(this.source);
    const have = await tallyLog(this.target, true);
    const mismatches: string[] = [];
    let events = 0;
    for (const [stream, w] of want) {
      events += w.count;
      if (mismatches.length >= MISMATCHES_LISTED) continue;
      const h = have.get(stream) ?? { count: 0, hash: FNV_OFFSET };
      const [s, t] = await Promise.all([streamState(this.source, stream), streamState(this.target, stream)]);
      if (s.deleted !== t.deleted) {
        mismatches.push(
          `stream ${stream}: ${s.deleted || 'live'} in the source, ${t.deleted || 'live'} in the target`,
        );
      } else if (s.deleted === 'hard') {
        // A tombstoned stream's events may be gone from the target's $all already; nothing reads them.
        continue;
      } else if (h.count !== w.count) {
        mismatches.push(`stream ${stream}: ${w.count} events in the source, ${h.count} in the target`);
      } else if (h.hash !== w.hash) {
        mismatches.push(`stream ${stream}: as many events in both, but not the same ones`);
      } else if (!sameMetadata(s.metadata, t.metadata)) {
        mismatches.push(
          `stream ${stream}: metadata ${canonical(s.metadata)} in the source, ${canonical(t.metadata)} in the target`,
        );
      }
    }
    const foreign = [...have.keys()].filter((stream) => !want.has(stream));
    this.report('verifying', head, head, true);
    return {
      streams: want.size,
      events,
      mismatches,
      foreignStreams: foreign.slice(0, MISMATCHES_LISTED),
      foreignCount: foreign.length,
    };
  }

  /**
   * Stream metadata (retention: `maxAge`, `maxCount`, `truncateBefore`, which
   * keep their meaning because revisions are the same) and deletions, copied
   * after the events so a truncation never hides an event the copy still has
   * to check. Idempotent: only differences are written.
   */
  async copyMetadata(): Promise<number> {
    const streams = new Set<string>();
    for await (const e of this.source.readAll()) streams.add(e.streamId);
    let written = 0;
    let done = 0;
    for (const stream of streams) {
      this.report('metadata', BigInt(done++), BigInt(streams.size), false);
      const s = await streamState(this.source, stream);
      const t = await streamState(this.target, stream);
      if (s.deleted === 'hard') {
        if (t.deleted !== 'hard') {
          await this.target.deleteStream(stream, { hard: true });
          written++;
        }
        continue;
      }
      if (s.deleted === 'soft') {
        if (t.deleted !== 'soft') {
          // A soft delete, not only its truncation: reads then say the stream is not found, as in the source.
          const { truncateBefore: _deleted, ...kept } = s.metadata;
          if (!sameMetadata(kept, t.metadata)) await this.target.setStreamMetadata(stream, kept);
          await this.target.deleteStream(stream);
          written++;
        }
        continue;
      }
      if (!sameMetadata(s.metadata, t.metadata)) {
        await this.target.setStreamMetadata(stream, s.metadata);
        written++;
      }
    }
    this.report('metadata', BigInt(streams.size), BigInt(streams.size), true);
    return written;
  }

  /** The source position of the first event the target lacks, or null when it holds them all. */
  private async firstMissing(head: Position): Promise<Position | null> {
    const first = await firstEvent(this.source, 'start');
    if (!first) return null;
    if (!(await this.holds(first))) return first.position;
    const last = await firstEvent(this.source, head);
    if (last && (await this.holds(last))) return null;
    // Held events form a prefix of the source (the copy appends in order): find where it ends.
    let lo = first.position.commit; // held
    let hi = head.commit; // not held
    while (hi - lo > 1n) {
      const mid = lo + (hi - lo) / 2n;
      const e = await firstEvent(this.source, { commit: mid, prepare: mid });
      if (!e || e.position.commit >= hi) {
        hi = mid;
        continue;
      }
      if (await this.holds(e)) lo = e.position.commit;
      else hi = e.position.commit;
    }
    const next = await firstEvent(this.source, { commit: lo + 1n, prepare: lo + 1n });
    return next?.position ?? null;
  }

  /**
   * Whether the target has this event. Its streams are prefixes of the
   * source's, so a later revision there means this one is there too, even
   * when retention hides it; a tombstone is written only after its stream was
   * copied whole. Unsure (a soft-deleted stream) reads as not held: the copy
   * then re-sends, and the store takes the same ids at the same revision as a
   * retry.
   */
  private async holds(e: RecordedEvent): Promise<boolean> {
    try {
      for await (const t of this.target.readStream(e.streamId, { fromRevision: e.revision, maxCount: 1 })) {
        if (t.revision === e.revision && t.id !== e.id)
          throw new MigrationError(
            `the target's stream ${e.streamId} holds another event at revision ${e.revision} (${t.id}, the source has ${e.id}): ` +
              'it is not a copy of this log; migrate into an empty one',
          );
        return t.revision >= e.revision;
      }
      const meta = await this.target.getStreamMetadata(e.streamId);
      return !isSoftDeleted(meta) && meta.truncateBefore !== undefined && e.revision < meta.truncateBefore;
    } catch (err) {
      if (isEventStoreError(err, 'StreamDeleted')) return true;
      if (isEventStoreError(err, 'StreamNotFound')) return false;
      throw err;
    }
  }

  private async appendGroup(group: readonly RecordedEvent[]): Promise<void> {
    let pending = group;
    for (;;) {
      const firstRevision = pending[0]!.revision;
      try {
        await this.target.append(pending[0]!.streamId, pending.map(copyOf), {
          expectedRevision: firstRevision === 0 ? 'no_stream' : firstRevision - 1,
        });
        this.copied += pending.length;
        return;
      } catch (err) {
        if (isEventStoreError(err, 'StreamDeleted')) {
          // Tombstoned by an earlier run's metadata step: only right if the source's stream is too.
          if ((await streamState(this.source, pending[0]!.streamId)).deleted === 'hard') {
            this.present += pending.length;
            return;
          }
          throw err;
        }
        if (!isEventStoreError(err, 'WrongExpectedVersion')) throw err;
        const actual = err.details.actual;
        const stream = pending[0]!.streamId;
        if (actual === undefined || actual === 'no_stream' || actual < firstRevision - 1) {
          throw new MigrationError(
            `the target's stream ${stream} ends at revision ${String(actual)}, but the source continues it from revision ${firstRevision}: ` +
              'the target is not a copy of this log (or was written to meanwhile); migrate into an empty one',
          );
        }
        // The target holds the head of this group already (an earlier run): append the rest only.
        const rest = pending.filter((e) => e.revision > actual);
        this.present += pending.length - rest.length;
        if (rest.length === 0) return;
        pending = rest;
      }
    }
  }

  private report(phase: MigrationProgress['phase'], position: bigint, head: bigint, force: boolean): void {
    const cb = this.options.onProgress;
    if (!cb) return;
    const now = Date.now();
    if (!force && now - this.lastProgress < (this.options.progressEveryMs ?? 200)) return;
    this.lastProgress = now;
    cb({ phase, copied: this.copied, present: this.present, position, head });
  }
}

/** The event as appended to the target: same id, its original time in the metadata. */
function copyOf(e: RecordedEvent): EventData {
  const meta = e.metadata;
  const base: Record<string, unknown> =
    meta !== null && typeof meta === 'object' && !Array.isArray(meta)
      ? { ...(meta as Record<string, unknown>) }
      : {};
  // A log that was itself migrated keeps the first time.
  if (typeof base[ORIGINAL_CREATED_KEY] !== 'string') base[ORIGINAL_CREATED_KEY] = e.created.toISOString();
  return { id: e.id, type: e.type, data: e.data, metadata: base };
}

function approximateBytes(e: RecordedEvent): number {
  return JSON.stringify(e.data).length + JSON.stringify(e.metadata ?? null).length + e.type.length + 128;
}

async function firstEvent(store: EventStore, from: Position | 'start'): Promise<RecordedEvent | undefined> {
  for await (const e of store.readAll({ fromPosition: from, maxCount: 1 })) return e;
  return undefined;
}

/** Per stream: how many events `$all` holds and a hash of them, in revision order. */
async function tallyLog(store: EventStore, copied = false): Promise<Map<string, StreamTally>> {
  const out = new Map<string, StreamTally>();
  for await (const e of store.readAll()) {
    let t = out.get(e.streamId);
    if (!t) {
      t = { count: 0, hash: FNV_OFFSET };
      out.set(e.streamId, t);
    }
    t.count++;
    t.hash = fnv1a(
      t.hash,
      `${e.id}\u0000${e.type}\u0000${e.revision}\u0000${JSON.stringify(e.data)}\u0000${JSON.stringify(comparableMetadata(e.metadata, copied))}`,
    );
  }
  return out;
}

/** A copied event's metadata without the time the copy added, to compare with the source's. */
function comparableMetadata(meta: unknown, copied: boolean): unknown {
  if (!copied || meta === null || typeof meta !== 'object' || Array.isArray(meta)) return meta ?? null;
  const { [ORIGINAL_CREATED_KEY]: _added, ...rest } = meta as Record<string, unknown>;
  return Object.keys(rest).length === 0 ? null : rest;
}

const FNV_OFFSET = 0x811c9dc5;
function fnv1a(h: number, s: string): number {
  let x = h;
  for (let i = 0; i < s.length; i++) {
    x ^= s.charCodeAt(i);
    x = Math.imul(x, 0x01000193) >>> 0;
  }
  return x;
}

interface StreamState {
  readonly deleted: false | 'soft' | 'hard';
  readonly metadata: StreamMetadata;
}

async function streamState(store: EventStore, stream: string): Promise<StreamState> {
  try {
    const metadata = await store.getStreamMetadata(stream);
    return { deleted: isSoftDeleted(metadata) ? 'soft' : false, metadata };
  } catch (err) {
    if (isEventStoreError(err, 'StreamDeleted')) return { deleted: 'hard', metadata: {} };
    throw err;
  }
}

/**
 * A soft delete truncates before "the largest revision": the SQLite store
 * writes Number.MAX_SAFE_INTEGER, EventStoreDB long.MaxValue (read as a
 * number, about 9.22e18).
 */
const isSoftDeleted = (m: StreamMetadata): boolean =>
  m.truncateBefore !== undefined && m.truncateBefore >= Number.MAX_SAFE_INTEGER;

function sameMetadata(a: StreamMetadata, b: StreamMetadata): boolean {
  return canonical(a) === canonical(b);
}

function canonical(m: StreamMetadata): string {
  return JSON.stringify({
    maxAge: m.maxAge ?? null,
    maxCount: m.maxCount ?? null,
    truncateBefore: m.truncateBefore ?? null,
    custom: m.custom ?? null,
  });
}
