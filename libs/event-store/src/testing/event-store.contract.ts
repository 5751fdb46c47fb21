import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Observable, Subscription } from 'rxjs';
import {
  DEFAULT_MAX_APPEND_SIZE,
  isEventStoreError,
  type EventStore,
  type EventStoreErrorCode,
  type ExpectedRevision,
  type ReadAllOptions,
  type SubscriptionItem,
} from '../event-store.port';
import { ensureLogIdentity, readLogIdentity } from '../log-identity';
import { comparePositions, type EventData, type Position, type RecordedEvent } from '@rf/events';

/**
 * One contract suite for every EventStore adapter (docs/architecture.md, "Event store").
 *
 * The suite never assumes it owns the store: every stream it writes starts with
 * `uniquePrefix()`, and every `$all` assertion starts at the head taken before
 * the test and keeps only the test's own streams, so it runs against an
 * EventStoreDB server shared across runs as well as against a fresh file.
 */
export interface ContractHarness {
  /** A store to test against: a fresh one (embedded) or a new client of the shared server. The suite closes it. */
  open(): Promise<EventStore>;
  /**
   * Closes `store` and opens the same log again (the embedded file, or a new client of the
   * same server): whatever an adapter keeps in memory is gone. The suite closes the result.
   */
  reopen(store: EventStore): Promise<EventStore>;
  /** A stream-name prefix unique per call; the suite names streams `${prefix}cat-id`. */
  uniquePrefix(): string;
  /** The adapter's append size limit when it is not DEFAULT_MAX_APPEND_SIZE. */
  readonly maxAppendSize?: number;
  /** Only for file-backed adapters: crash a real appender process and check what it acknowledged survived. */
  readonly durability?: DurabilityHarness;
}

export interface DurabilityHarness {
  /** How many kill-and-reopen rounds to run (default 3). */
  readonly rounds?: number;
  /** Sets up a fresh backing file for one round. */
  prepare(round: number): Promise<DurabilityRound>;
}

export interface DurabilityRound {
  /** Shown in the test name, e.g. the synchronous mode used. */
  readonly label: string;
  /**
   * Starts a child process that appends one event at a time to `stream` in an
   * endless loop and writes each event's id on its own stdout line only after
   * that append resolved.
   */
  spawnAppender(stream: string): ChildProcess;
  /** Opens the backing file again after the child was killed. The suite closes it. */
  reopen(): Promise<EventStore>;
  /** Removes what prepare() created. */
  cleanup(): Promise<void>;
}

const WAIT_MS = 15_000;

/** Runs `fn` on a store opened from the harness, with a fresh stream prefix, and closes the store. */
export async function withContractStore(
  harness: Pick<ContractHarness, 'open' | 'uniquePrefix'>,
  fn: (store: EventStore, prefix: string) => Promise<void>,
): Promise<void> {
  const store = await harness.open();
  try {
    await fn(store, harness.uniquePrefix());
  } finally {
    await store.close();
  }
}

export function eventStoreContract(name: string, harness: ContractHarness): void {
  const withStore = (fn: (store: EventStore, prefix: string) => Promise<void>): Promise<void> =>
    withContractStore(harness, fn);

  describe(`EventStore contract: ${name}`, () => {
    describe('append and readStream', () => {
      it('appends to a new stream with revisions from 0 and reads them back as written', () =>
        withStore(async (store, prefix) => {
          const stream = `${prefix}order-1`;
          const events = makeEvents(3, { metadata: true });
          const before = Date.now();
          const result = await store.append(stream, events, { expectedRevision: 'no_stream' });
          assert.equal(result.nextExpectedRevision, 2);

          const read = await collectAsync(store.readStream(stream));
          assert.deepEqual(
            read.map((e) => [e.id, e.type, e.streamId, e.revision]),
            events.map((e, i) => [e.id, e.type, stream, i]),
          );
          assert.deepEqual(
            read.map((e) => e.data),
            events.map((e) => e.data),
          );
          assert.deepEqual(
            read.map((e) => e.metadata),
            events.map((e) => e.metadata),
          );
          assertStrictlyIncreasing(read.map((e) => e.position));
          assert.equal(comparePositions(read[2]!.position, result.position), 0);
          for (const e of read) {
            assert.ok(e.created instanceof Date);
            assert.ok(e.created.getTime() >= before - 5_000 && e.created.getTime() <= Date.now() + 5_000);
          }
        }));

      it('continues revisions across appends and returns the last revision and position', () =>
        withStore(async (store, prefix) => {
          const stream = `${prefix}order-1`;
          await store.append(stream, makeEvents(2));
          const second = await store.append(stream, makeEvents(3));
          assert.equal(second.nextExpectedRevision, 4);
          const read = await collectAsync(store.readStream(stream));
          assert.deepEqual(
            read.map((e) => e.revision),
            [0, 1, 2, 3, 4],
          );
          assert.equal(comparePositions(read[4]!.position, second.position), 0);
          const head = await store.headPosition();
          assert.ok(head !== null && comparePositions(head, second.position) >= 0);
        }));

      it('reads a stream forwards from a revision, backwards from the end, and limited by maxCount', () =>
        withStore(async (store, prefix) => {
          const stream = `${prefix}order-1`;
          await store.append(stream, makeEvents(6));
          const revs = async (o: Parameters<EventStore['readStream']>[1]) =>
            (await collectAsync(store.readStream(stream, o))).map((e) => e.revision);
          assert.deepEqual(await revs({ fromRevision: 3 }), [3, 4, 5]);
          assert.deepEqual(await revs({ fromRevision: 'end', direction: 'backwards' }), [5, 4, 3, 2, 1, 0]);
          assert.deepEqual(await revs({ fromRevision: 2, direction: 'backwards' }), [2, 1, 0]);
          assert.deepEqual(await revs({ fromRevision: 1, maxCount: 2 }), [1, 2]);
          assert.deepEqual(await revs({ fromRevision: 'end', direction: 'backwards', maxCount: 1 }), [5]);
          assert.deepEqual(await revs({ fromRevision: 'end' }), []);
        }));

      it('throws StreamNotFound when reading a stream that was never written', () =>
        withStore(async (store, prefix) => {
          await assertRejectsCode(collectAsync(store.readStream(`${prefix}order-missing`)), 'StreamNotFound');
        }));

      it('reports bad input with an error naming the field', () =>
        withStore(async (store, prefix) => {
          const stream = `${prefix}order-1`;
          await assert.rejects(
            store.append(stream, [{ id: 'not-a-uuid', type: 'OrderPlaced', data: {} }]),
            /\bid\b/,
          );
          await assert.rejects(store.append(stream, [{ id: randomUUID(), type: '', data: {} }]), /\btype\b/);
          await assert.rejects(store.append('', makeEvents(1)), /stream/);
          await assertRejectsCode(collectAsync(store.readStream(stream)), 'StreamNotFound');
        }));
    });

    describe('expected revision', () => {
      type Setup =
        'missing' | 'metadata only' | 'existing (last 1)' | 'soft-deleted (last 1)' | 'hard-deleted';
      type Outcome = { ok: number } | { code: EventStoreErrorCode; actual?: number | 'no_stream' };
      const setups: Record<Setup, (store: EventStore, stream: string) => Promise<void>> = {
        missing: async () => {},
        'metadata only': async (store, stream) => {
          await store.setStreamMetadata(stream, { custom: { owner: 'contract' } });
        },
        'existing (last 1)': async (store, stream) => {
          await store.append(stream, makeEvents(2));
        },
        'soft-deleted (last 1)': async (store, stream) => {
          await store.append(stream, makeEvents(2));
          await store.deleteStream(stream);
        },
        'hard-deleted': async (store, stream) => {
          await store.append(stream, makeEvents(2));
          await store.deleteStream(stream, { hard: true });
        },
      };
      const wev = (actual?: number | 'no_stream'): Outcome =>
        actual === undefined ? { code: 'WrongExpectedVersion' } : { code: 'WrongExpectedVersion', actual };
      const matrix: Record<Setup, [ExpectedRevision, Outcome][]> = {
        missing: [
          ['any', { ok: 0 }],
          ['no_stream', { ok: 0 }],
          ['stream_exists', wev('no_stream')],
          [0, wev('no_stream')],
          [3, wev('no_stream')],
        ],
        'metadata only': [
          ['any', { ok: 0 }],
          ['no_stream', { ok: 0 }],
          // EventStoreDB counts a stream with metadata as existing for appends.
          ['stream_exists', { ok: 0 }],
          [0, wev()],
        ],
        'existing (last 1)': [
          ['any', { ok: 2 }],
          ['no_stream', wev(1)],
          ['stream_exists', { ok: 2 }],
          [1, { ok: 2 }],
          [0, wev(1)],
          [2, wev(1)],
        ],
        'soft-deleted (last 1)': [
          ['any', { ok: 2 }],
          ['no_stream', { ok: 2 }],
          ['stream_exists', { code: 'StreamDeleted' }],
          [1, { ok: 2 }],
          [5, wev()],
        ],
        'hard-deleted': [
          ['any', { code: 'StreamDeleted' }],
          ['no_stream', { code: 'StreamDeleted' }],
          ['stream_exists', { code: 'StreamDeleted' }],
          [1, { code: 'StreamDeleted' }],
        ],
      };
      for (const [setup, cases] of Object.entries(matrix) as [Setup, [ExpectedRevision, Outcome][]][]) {
        for (const [expected, outcome] of cases) {
          const verdict =
            'ok' in outcome ? `succeeds with revision ${outcome.ok}` : `fails with ${outcome.code}`;
          it(`${setup} stream, expected ${JSON.stringify(expected)}: ${verdict}`, () =>
            withStore(async (store, prefix) => {
              const stream = `${prefix}matrix-1`;
              await setups[setup](store, stream);
              const events = makeEvents(1);
              if ('ok' in outcome) {
                const result = await store.append(stream, events, { expectedRevision: expected });
                assert.equal(result.nextExpectedRevision, outcome.ok);
                const read = await collectAsync(store.readStream(stream));
                assert.deepEqual(
                  read.map((e) => [e.id, e.revision]).slice(setup.startsWith('existing') ? 2 : 0),
                  [[events[0]!.id, outcome.ok]],
                  'the new event follows what was visible before',
                );
                return;
              }
              const err = await assertRejectsCode(
                store.append(stream, events, { expectedRevision: expected }),
                outcome.code,
              );
              if (outcome.code === 'WrongExpectedVersion') {
                assert.deepEqual(err.details.expected, expected);
                if (outcome.actual !== undefined) assert.deepEqual(err.details.actual, outcome.actual);
              }
            }));
        }
      }

      it('after a soft delete, only the first write may recreate with no_stream', () =>
        withStore(async (store, prefix) => {
          const stream = `${prefix}order-1`;
          await store.append(stream, makeEvents(2));
          await store.deleteStream(stream, { expectedRevision: 1 });
          const recreated = await store.append(stream, makeEvents(3), { expectedRevision: 'no_stream' });
          assert.equal(recreated.nextExpectedRevision, 4);
          await assertRejectsCode(
            store.append(stream, makeEvents(1), { expectedRevision: 'no_stream' }),
            'WrongExpectedVersion',
          );
        }));
    });

    describe('idempotency', () => {
      for (const expected of ['no_stream', 'any', 'exact'] as const) {
        it(`re-appending the same ids at the same expected revision (${expected}) is a success without duplicates`, () =>
          withStore(async (store, prefix) => {
            const stream = `${prefix}order-1`;
            const at: ExpectedRevision = expected === 'exact' ? 1 : expected;
            if (expected === 'exact') await store.append(stream, makeEvents(2));
            const events = makeEvents(3);
            const first = await store.append(stream, events, { expectedRevision: at });
            const retry = await store.append(stream, events, { expectedRevision: at });
            assert.equal(retry.nextExpectedRevision, first.nextExpectedRevision);
            assert.equal(comparePositions(retry.position, first.position), 0);
            // Still idempotent after the stream moved on.
            await store.append(stream, makeEvents(2));
            const late = await store.append(stream, events, { expectedRevision: at });
            assert.equal(late.nextExpectedRevision, first.nextExpectedRevision);
            const read = await collectAsync(store.readStream(stream));
            assert.equal(read.length, expected === 'exact' ? 7 : 5);
            assert.equal(new Set(read.map((e) => e.id)).size, read.length, 'no duplicate ids');
          }));
      }

      it('a resend at the exact revision of the original is idempotent after the store restarted', async () => {
        const prefix = harness.uniquePrefix();
        const stream = `${prefix}host-1`;
        const resent = makeEvents(1);
        let store = await harness.open();
        try {
          await store.append(stream, makeEvents(2), { expectedRevision: 'no_stream' });
          const first = await store.append(stream, resent, { expectedRevision: 1 });
          store = await harness.reopen(store);
          // Something else was appended to the stream before the resend arrived.
          await store.append(stream, makeEvents(1), { expectedRevision: first.nextExpectedRevision });
          const again = await store.append(stream, resent, { expectedRevision: 1 });
          assert.equal(again.nextExpectedRevision, first.nextExpectedRevision);
          assert.equal(comparePositions(again.position, first.position), 0);
          const read = await collectAsync(store.readStream(stream));
          assert.deepEqual(
            read.map((e) => e.id).filter((id) => id === resent[0]!.id),
            [resent[0]!.id],
            'stored once',
          );
          assert.equal(read.length, 4);
        } finally {
          await store.close();
        }
      });

      it('different ids at an already used expected revision fail with WrongExpectedVersion', () =>
        withStore(async (store, prefix) => {
          const stream = `${prefix}order-1`;
          await store.append(stream, makeEvents(2), { expectedRevision: 'no_stream' });
          await assertRejectsCode(
            store.append(stream, makeEvents(2), { expectedRevision: 'no_stream' }),
            'WrongExpectedVersion',
          );
          assert.equal((await collectAsync(store.readStream(stream))).length, 2);
        }));
    });

    describe('concurrency', () => {
      it('N appenders at the same expected revision: exactly one wins per revision', () =>
        withStore(async (store, prefix) => {
          const stream = `${prefix}race-1`;
          const appenders = 8;
          const winners: string[] = [];
          for (let round = 0; round < 5; round++) {
            const expected: ExpectedRevision = round === 0 ? 'no_stream' : round - 1;
            const candidates = Array.from({ length: appenders }, () => makeEvents(1));
            const settled = await Promise.allSettled(
              candidates.map((events) => store.append(stream, events, { expectedRevision: expected })),
            );
            const won = settled.flatMap((s, i) => (s.status === 'fulfilled' ? [candidates[i]![0]!.id] : []));
            assert.equal(won.length, 1, `round ${round}: exactly one winner`);
            for (const s of settled) {
              if (s.status === 'rejected') assert.ok(isEventStoreError(s.reason, 'WrongExpectedVersion'));
            }
            winners.push(won[0]!);
          }
          const read = await collectAsync(store.readStream(stream));
          assert.deepEqual(
            read.map((e) => e.id),
            winners,
          );
        }));

      it('N appenders with expected any all succeed with contiguous revisions', () =>
        withStore(async (store, prefix) => {
          const stream = `${prefix}race-1`;
          const batches = Array.from({ length: 16 }, () => makeEvents(3));
          const results = await Promise.all(batches.map((events) => store.append(stream, events)));
          const read = await collectAsync(store.readStream(stream));
          assert.deepEqual(
            read.map((e) => e.revision),
            range(48),
          );
          for (const [i, events] of batches.entries()) {
            const last = results[i]!.nextExpectedRevision;
            assert.deepEqual(
              read.slice(last - 2, last + 1).map((e) => e.id),
              events.map((e) => e.id),
              'each append is contiguous',
            );
          }
        }));
    });

    describe('$all', () => {
      it('readAll returns every event of every stream in global order, forwards and backwards', () =>
        withStore(async (store, prefix) => {
          const from = await store.headPosition();
          const written: string[] = [];
          for (let i = 0; i < 12; i++) {
            const events = makeEvents(2);
            await store.append(`${prefix}cat${i % 3}-x`, events);
            written.push(...events.map((e) => e.id));
          }
          const own = (e: RecordedEvent) => e.streamId.startsWith(prefix);
          const forwards = (await collectAsync(store.readAll({ fromPosition: from ?? 'start' }))).filter(own);
          assert.deepEqual(
            forwards.map((e) => e.id),
            written,
          );
          assertStrictlyIncreasing(forwards.map((e) => e.position));
          assert.ok(
            forwards.every((e) => !e.streamId.startsWith('$')),
            'no system records',
          );

          // A shared server may have written its own records meanwhile: read back further than 24, keep ours.
          const backwards = (
            await collectAsync(
              store.readAll({ fromPosition: 'end', direction: 'backwards', maxCount: 2_000 }),
            )
          ).filter(own);
          assert.deepEqual(
            backwards.map((e) => e.id),
            [...written].reverse(),
          );
          const lastTwo = await collectAsync(
            store.readAll({ fromPosition: forwards[23]!.position, direction: 'backwards', maxCount: 2 }),
          );
          assert.equal(lastTwo.length, 2, 'maxCount applies backwards');
          assert.equal(lastTwo[0]!.id, written[23], 'a backwards fromPosition is inclusive');

          const fromTenth = await collectAsync(
            store.readAll({ fromPosition: forwards[10]!.position, maxCount: 3 }),
          );
          assert.equal(fromTenth[0]!.id, written[10], 'fromPosition is inclusive');
          assert.equal(fromTenth.length, 3);
        }));

      it('readAll with streamNamePrefixes returns only those streams, at their positions in the whole log, resumable from any position', () =>
        withStore(async (store, prefix) => {
          const from = await store.headPosition();
          const kinds = ['keep', 'skip', 'also', 'skip', 'skip'];
          for (let i = 0; i < 15; i++) {
            // Several events per append too, so some rows of the embedded store hold more than one.
            await store.append(`${prefix}${kinds[i % kinds.length]}-${i % 4}`, makeEvents(1 + (i % 3)));
          }
          const own = (e: RecordedEvent) => e.streamId.startsWith(prefix);
          const wanted = [`${prefix}keep-`, `${prefix}also-`];
          const matches = (e: RecordedEvent) => wanted.some((w) => e.streamId.startsWith(w));
          const ids = (events: RecordedEvent[]) => events.map((e) => e.id);
          const log = (await collectAsync(store.readAll({ fromPosition: from ?? 'start' }))).filter(own);
          const expected = log.filter(matches);
          assert.ok(expected.length > 0 && expected.length < log.length);

          const filtered = await collectAsync(
            store.readAll({ fromPosition: from ?? 'start', streamNamePrefixes: wanted }),
          );
          assert.deepEqual(
            filtered.map((e) => [e.id, e.position]),
            expected.map((e) => [e.id, e.position]),
            'the same events at the same positions as an unfiltered read',
          );
          assert.deepEqual(filtered[0], expected[0]);

          // Resuming from the position of any event, returned by the filter or skipped by it.
          for (let i = 0; i < log.length; i++) {
            const at = log[i]!.position;
            const next = expected.filter((e) => comparePositions(e.position, at) >= 0).slice(0, 2);
            assert.deepEqual(
              ids(
                await collectAsync(
                  store.readAll({ fromPosition: at, maxCount: 2, streamNamePrefixes: wanted }),
                ),
              ),
              ids(next),
              `filtered readAll forwards from event ${i} (maxCount counts returned events)`,
            );
            const before = expected
              .filter((e) => comparePositions(e.position, at) <= 0)
              .reverse()
              .slice(0, 2);
            assert.deepEqual(
              ids(
                await collectAsync(
                  store.readAll({
                    fromPosition: at,
                    direction: 'backwards',
                    maxCount: 2,
                    streamNamePrefixes: wanted,
                  }),
                ),
              ),
              ids(before),
              `filtered readAll backwards from event ${i}`,
            );
          }

          await assert.rejects(
            collectAsync(store.readAll({ streamNamePrefixes: [] })),
            (err: unknown) => err instanceof TypeError && /streamNamePrefixes/.test(err.message),
          );
        }));

      it('readAllPages returns what readAll returns, in order, in pages that are never empty', () =>
        withStore(async (store, prefix) => {
          const from = await store.headPosition();
          for (let i = 0; i < 12; i++) {
            await store.append(`${prefix}${i % 3 === 0 ? 'skip' : 'keep'}-${i % 4}`, makeEvents(1 + (i % 4)));
          }
          const own = (e: RecordedEvent) => e.streamId.startsWith(prefix);
          const flat = async (options: ReadAllOptions): Promise<[string, Position][]> => {
            const out: [string, Position][] = [];
            for await (const page of store.readAllPages(options)) {
              assert.ok(page.length > 0, 'no empty page');
              for (const e of page) if (own(e)) out.push([e.id, e.position]);
            }
            return out;
          };
          const events = async (options: ReadAllOptions): Promise<[string, Position][]> =>
            (await collectAsync(store.readAll(options))).filter(own).map((e) => [e.id, e.position]);
          const log = (await collectAsync(store.readAll({ fromPosition: from ?? 'start' }))).filter(own);
          for (const options of [
            { fromPosition: from ?? 'start' },
            { fromPosition: log[5]!.position },
            { fromPosition: log[5]!.position, maxCount: 4 },
            { fromPosition: log[7]!.position, direction: 'backwards', maxCount: 5 },
            { fromPosition: from ?? 'start', streamNamePrefixes: [`${prefix}keep-`] },
            { fromPosition: log[3]!.position, streamNamePrefixes: [`${prefix}keep-`] },
          ] satisfies ReadAllOptions[]) {
            assert.deepEqual(
              await flat(options),
              await events(options),
              JSON.stringify(options, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
            );
          }
          await assert.rejects(
            (async () => {
              for await (const _ of store.readAllPages({ streamNamePrefixes: [] })) break;
            })(),
            (err: unknown) => err instanceof TypeError && /streamNamePrefixes/.test(err.message),
          );
        }));
    });

    describe('multi-event appends', () => {
      it('every read starting inside a multi-event append sees exactly the events a one-by-one log would give', () =>
        withStore(async (store, prefix) => {
          const from = await store.headPosition();
          const a = `${prefix}joblog-a`;
          const b = `${prefix}joblog-b`;
          // Interleaved appends of different sizes, so appends begin and end at many offsets.
          for (const [stream, n] of [
            [a, 7],
            [b, 1],
            [a, 1],
            [b, 5],
            [a, 3],
            [b, 2],
          ] as const) {
            await store.append(stream, makeEvents(n));
          }
          const own = (e: RecordedEvent) => e.streamId.startsWith(prefix);
          const log = (await collectAsync(store.readAll({ fromPosition: from ?? 'start' }))).filter(own);
          assert.equal(log.length, 19);
          assertStrictlyIncreasing(log.map((e) => e.position));
          const ids = (events: RecordedEvent[]) => events.filter(own).map((e) => e.id);
          for (let i = 0; i < log.length; i++) {
            const at = log[i]!.position;
            assert.deepEqual(
              ids(await collectAsync(store.readAll({ fromPosition: at, maxCount: 3 }))).slice(0, 3),
              log.slice(i, i + 3).map((e) => e.id),
              `readAll forwards from event ${i}`,
            );
            assert.deepEqual(
              ids(
                await collectAsync(store.readAll({ fromPosition: at, direction: 'backwards', maxCount: 3 })),
              ),
              log
                .slice(Math.max(0, i - 2), i + 1)
                .reverse()
                .map((e) => e.id),
              `readAll backwards from event ${i}`,
            );
            const after = await collectSubscription(
              store.subscribeToAll({ fromPosition: at, streamNamePrefixes: [prefix] }),
              (got) => got.some((x) => x.kind === 'caughtUp'),
            );
            assert.deepEqual(
              after.flatMap((x) => (x.kind === 'event' ? [x.event.id] : [])),
              log.slice(i + 1).map((e) => e.id),
              `subscribeToAll after event ${i}`,
            );
          }
          for (const stream of [a, b]) {
            const all = log.filter((e) => e.streamId === stream);
            assert.deepEqual(
              all.map((e) => e.revision),
              range(all.length),
            );
            for (let r = 0; r < all.length; r++) {
              const revs = async (o: Parameters<EventStore['readStream']>[1]) =>
                (await collectAsync(store.readStream(stream, o))).map((e) => e.revision);
              assert.deepEqual(
                await revs({ fromRevision: r, maxCount: 2 }),
                [r, r + 1].filter((x) => x < all.length),
              );
              assert.deepEqual(
                await revs({ fromRevision: r, direction: 'backwards', maxCount: 2 }),
                [r, r - 1].filter((x) => x >= 0),
              );
              const later = await collectSubscription(
                store.subscribeToStream(stream, { fromRevision: r }),
                (got) => got.some((x) => x.kind === 'caughtUp'),
              );
              assert.deepEqual(
                later.flatMap((x) => (x.kind === 'event' ? [x.event.id] : [])),
                all.slice(r + 1).map((e) => e.id),
                `subscribeToStream ${stream} after revision ${r}`,
              );
            }
          }
          // Truncation and maxCount that cut through the 7-event append.
          await store.setStreamMetadata(a, { truncateBefore: 4 });
          assert.deepEqual(await revisions(store, a), [4, 5, 6, 7, 8, 9, 10]);
          await store.setStreamMetadata(a, { maxCount: 9 });
          assert.deepEqual(await revisions(store, a), range(11).slice(2));
          assert.deepEqual(
            (await collectAsync(store.readStream(a, { direction: 'backwards', fromRevision: 'end' }))).map(
              (e) => e.revision,
            ),
            range(11).slice(2).reverse(),
          );
        }));

      it('retrying a multi-event append at an exact revision is idempotent; overlapping ids conflict', () =>
        withStore(async (store, prefix) => {
          const stream = `${prefix}order-9`;
          await store.append(stream, makeEvents(2));
          const events = makeEvents(6);
          const first = await store.append(stream, events, { expectedRevision: 1 });
          await store.append(stream, makeEvents(3));
          const retry = await store.append(stream, events, { expectedRevision: 1 });
          assert.equal(retry.nextExpectedRevision, first.nextExpectedRevision);
          assert.equal(comparePositions(retry.position, first.position), 0);
          // The same first ids with a different tail: neither a retry nor a fresh write.
          await assertRejectsCode(
            store.append(stream, [...events.slice(0, 3), ...makeEvents(3)], { expectedRevision: 1 }),
            'WrongExpectedVersion',
          );
          assert.equal((await collectAsync(store.readStream(stream))).length, 11);
        }));
    });

    describe('subscriptions', () => {
      it('subscribeToAll: catch-up then live while appends race, no gap and no duplicate at the seam', () =>
        withStore(async (store, prefix) => {
          const from = await store.headPosition();
          const streams = [`${prefix}seam-a`, `${prefix}seam-b`, `${prefix}seam-c`];
          const before = 150;
          const during = 300;
          const written = new Set<string>();
          const appendRound = async (n: number) => {
            for (let i = 0; i < n; i++) {
              const events = makeEvents(1 + (i % 3));
              await store.append(streams[i % streams.length]!, events);
              for (const e of events) written.add(e.id);
            }
          };
          await appendRound(before);
          // Three racing appenders, started before the subscription is made.
          const racing = Promise.all([
            appendRound(during / 3),
            appendRound(during / 3),
            appendRound(during / 3),
          ]);
          const collector = startCollecting(
            store.subscribeToAll({ fromPosition: from ?? 'start', streamNamePrefixes: [prefix] }),
          );
          try {
            await withTimeout(racing, 'racing appenders');
            await waitFor(
              () =>
                collector.events().length >= written.size &&
                collector.items.some((i) => i.kind === 'caughtUp'),
              'every appended event',
              collector,
            );
            // Anything extra (a duplicate) would arrive right behind.
            await sleep(100);
          } finally {
            collector.stop();
          }
          const items = collector.items;
          const events = items.flatMap((i) => (i.kind === 'event' ? [i.event] : []));
          assert.equal(items.filter((i) => i.kind === 'caughtUp').length, 1, 'caughtUp exactly once');
          assert.equal(events.length, written.size);
          assert.deepEqual(new Set(events.map((e) => e.id)), written, 'no gap, no duplicate');
          assert.ok(
            events.every((e) => e.streamId.startsWith(prefix)),
            'prefix filter',
          );
          assertStrictlyIncreasing(events.map((e) => e.position));
          for (const stream of streams) {
            const revs = events.filter((e) => e.streamId === stream).map((e) => e.revision);
            assert.deepEqual(revs, range(revs.length), `${stream}: contiguous revisions`);
          }
        }));

      it('resubscribing from a checkpoint delivers exactly what follows it', () =>
        withStore(async (store, prefix) => {
          const from = await store.headPosition();
          const stream = `${prefix}resume-1`;
          for (let i = 0; i < 10; i++) await store.append(stream, makeEvents(3));
          const all = (await collectAsync(store.readAll({ fromPosition: from ?? 'start' }))).filter((e) =>
            e.streamId.startsWith(prefix),
          );
          assert.equal(all.length, 30);
          const checkpoint = all[11]!.position;
          const laterBatch = makeEvents(2);
          const items = await collectSubscription(
            store.subscribeToAll({ fromPosition: checkpoint, streamNamePrefixes: [prefix] }),
            (got) => got.filter((i) => i.kind === 'event').length >= 20,
            () => void store.append(stream, laterBatch),
          );
          const ids = items.flatMap((i) => (i.kind === 'event' ? [i.event.id] : []));
          assert.deepEqual(ids, [...all.slice(12).map((e) => e.id), ...laterBatch.map((e) => e.id)]);
        }));

      it('subscribeToAll from end delivers only later events; unsubscribing stops delivery', () =>
        withStore(async (store, prefix) => {
          const stream = `${prefix}live-1`;
          await store.append(stream, makeEvents(5));
          const received: SubscriptionItem[] = [];
          let caughtUp!: () => void;
          const caught = new Promise<void>((resolve) => (caughtUp = resolve));
          const sub = store.subscribeToAll({ fromPosition: 'end', streamNamePrefixes: [prefix] }).subscribe({
            next: (item) => {
              received.push(item);
              if (item.kind === 'caughtUp') caughtUp();
            },
          });
          try {
            await withTimeout(caught, 'caughtUp');
            const live = makeEvents(2);
            await store.append(stream, live);
            await waitFor(() => received.filter((i) => i.kind === 'event').length >= 2, 'live events');
            assert.deepEqual(
              received.flatMap((i) => (i.kind === 'event' ? [i.event.id] : [])),
              live.map((e) => e.id),
            );
          } finally {
            sub.unsubscribe();
          }
          const count = received.length;
          await store.append(stream, makeEvents(3));
          await sleep(200);
          assert.equal(received.length, count, 'nothing after unsubscribe');
        }));

      it('subscribeToStream starts after the given revision, catches up, then goes live', () =>
        withStore(async (store, prefix) => {
          const stream = `${prefix}order-7`;
          await store.append(stream, makeEvents(5));
          await store.append(`${prefix}order-8`, makeEvents(2));
          const live = makeEvents(2);
          const fromStart = await collectSubscription(
            store.subscribeToStream(stream),
            (got) => got.filter((i) => i.kind === 'event').length >= 7,
            () => void store.append(stream, live),
          );
          assert.deepEqual(
            fromStart.flatMap((i) => (i.kind === 'event' ? [i.event.revision] : [])),
            range(7),
          );
          assert.ok(
            fromStart.every((i) => i.kind === 'caughtUp' || i.event.streamId === stream),
            'only the subscribed stream',
          );
          const caughtAt = fromStart.findIndex((i) => i.kind === 'caughtUp');
          assert.ok(caughtAt >= 5, 'caughtUp after the catch-up events');
          const fromTwo = await collectSubscription(
            store.subscribeToStream(stream, { fromRevision: 2 }),
            (got) => got.some((i) => i.kind === 'caughtUp'),
          );
          assert.deepEqual(
            fromTwo.flatMap((i) => (i.kind === 'event' ? [i.event.revision] : [])),
            [3, 4, 5, 6],
          );
        }));
    });

    describe('stream metadata and retention', () => {
      it('stores and returns metadata with its own expected revision', () =>
        withStore(async (store, prefix) => {
          const stream = `${prefix}meta-1`;
          assert.deepEqual(await store.getStreamMetadata(stream), {});
          const first = await store.setStreamMetadata(
            stream,
            { maxCount: 10, custom: { owner: 'ops' } },
            { expectedRevision: 'no_stream' },
          );
          assert.equal(first.nextExpectedRevision, 0);
          const meta = await store.getStreamMetadata(stream);
          assert.equal(meta.maxCount, 10);
          assert.deepEqual(meta.custom, { owner: 'ops' });
          await assertRejectsCode(
            store.setStreamMetadata(stream, { maxCount: 3 }, { expectedRevision: 'no_stream' }),
            'WrongExpectedVersion',
          );
          const second = await store.setStreamMetadata(stream, { maxAge: 60 }, { expectedRevision: 0 });
          assert.equal(second.nextExpectedRevision, 1);
          const replaced = await store.getStreamMetadata(stream);
          assert.equal(replaced.maxAge, 60);
          assert.equal(replaced.maxCount, undefined, 'metadata is replaced, not merged');
        }));

      it('maxCount keeps only the newest events visible', () =>
        withStore(async (store, prefix) => {
          const stream = `${prefix}joblog-1`;
          await store.append(stream, makeEvents(5));
          await store.setStreamMetadata(stream, { maxCount: 2 });
          assert.deepEqual(await revisions(store, stream), [3, 4]);
          await store.append(stream, makeEvents(1));
          assert.deepEqual(await revisions(store, stream), [4, 5]);
          assert.deepEqual(
            (
              await collectAsync(store.readStream(stream, { direction: 'backwards', fromRevision: 'end' }))
            ).map((e) => e.revision),
            [5, 4],
          );
        }));

      it('truncateBefore hides earlier revisions', () =>
        withStore(async (store, prefix) => {
          const stream = `${prefix}joblog-1`;
          await store.append(stream, makeEvents(5));
          await store.setStreamMetadata(stream, { truncateBefore: 3 });
          assert.deepEqual(await revisions(store, stream), [3, 4]);
          assert.deepEqual(
            (await collectAsync(store.readStream(stream, { fromRevision: 1, maxCount: 1 }))).map(
              (e) => e.revision,
            ),
            [3],
          );
        }));

      it('maxAge (seconds) hides events older than the limit', () =>
        withStore(async (store, prefix) => {
          const stream = `${prefix}joblog-1`;
          await store.append(stream, makeEvents(3));
          await store.setStreamMetadata(stream, { maxAge: 1 });
          assert.deepEqual(await revisions(store, stream), [0, 1, 2]);
          await sleep(2_100);
          await store.append(stream, makeEvents(1));
          assert.deepEqual(await revisions(store, stream), [3]);
        }));
    });

    describe('log identity', () => {
      it('a log gets one id: repeated, concurrent and after a restart, and it never shows in $all', async () => {
        const stream = `${harness.uniquePrefix()}identity`;
        let store = await harness.open();
        try {
          const from = await store.headPosition();
          assert.equal(await readLogIdentity(store, { stream }), null, 'a fresh log has no id');
          let n = 0;
          const ids = await Promise.all(
            [1, 2, 3].map(() => ensureLogIdentity(store, { stream, newId: () => `log-${++n}` })),
          );
          assert.equal(new Set(ids).size, 1, `every caller sees the same id: ${ids.join(', ')}`);
          store = await harness.reopen(store);
          assert.equal(await ensureLogIdentity(store, { stream, newId: () => 'another' }), ids[0]);
          assert.equal(await readLogIdentity(store, { stream }), ids[0]);
          const all = await collectAsync(store.readAll({ fromPosition: from ?? 'start' }));
          assert.ok(!all.some((e) => e.streamId.includes(stream)), 'the identity adds no event to $all');
        } finally {
          await store.close();
        }
      });
    });

    describe('delete', () => {
      it('soft delete: reads fail with StreamNotFound, the stream can be re-created and revisions continue', () =>
        withStore(async (store, prefix) => {
          const stream = `${prefix}host-1`;
          await store.append(stream, makeEvents(2));
          await store.deleteStream(stream, { expectedRevision: 1 });
          await assertRejectsCode(collectAsync(store.readStream(stream)), 'StreamNotFound');
          const again = makeEvents(3);
          const result = await store.append(stream, again);
          assert.equal(result.nextExpectedRevision, 4);
          const read = await collectAsync(store.readStream(stream));
          assert.deepEqual(
            read.map((e) => [e.id, e.revision]),
            again.map((e, i) => [e.id, i + 2]),
          );
          assert.equal((await store.getStreamMetadata(stream)).truncateBefore, 2);
        }));

      it('soft delete honours the expected revision', () =>
        withStore(async (store, prefix) => {
          const stream = `${prefix}host-1`;
          await store.append(stream, makeEvents(2));
          await assertRejectsCode(
            store.deleteStream(stream, { expectedRevision: 0 }),
            'WrongExpectedVersion',
          );
          assert.equal((await collectAsync(store.readStream(stream))).length, 2);
        }));

      it('hard delete tombstones the stream: appends, reads, metadata and deletes fail with StreamDeleted', () =>
        withStore(async (store, prefix) => {
          const stream = `${prefix}host-1`;
          await store.append(stream, makeEvents(2));
          await store.deleteStream(stream, { hard: true });
          await assertRejectsCode(collectAsync(store.readStream(stream)), 'StreamDeleted');
          await assertRejectsCode(store.append(stream, makeEvents(1)), 'StreamDeleted');
          await assertRejectsCode(store.getStreamMetadata(stream), 'StreamDeleted');
          await assertRejectsCode(store.deleteStream(stream, { hard: true }), 'StreamDeleted');
        }));
    });

    describe('append size limit', () => {
      const limit = harness.maxAppendSize ?? DEFAULT_MAX_APPEND_SIZE;
      const ofSize = (count: number, bytes: number): EventData[] =>
        Array.from({ length: count }, () => ({
          id: randomUUID(),
          type: 'LogStreamLine',
          data: { payload: 'x'.repeat(Math.max(0, bytes - 20)) },
        }));

      it('accepts a batch just under the limit', () =>
        withStore(async (store, prefix) => {
          const stream = `${prefix}joblog-1`;
          const events = ofSize(20, Math.floor((limit * 0.9) / 20));
          const result = await store.append(stream, events);
          assert.equal(result.nextExpectedRevision, 19);
          assert.equal((await collectAsync(store.readStream(stream))).length, 20);
        }));

      it('rejects a batch over the limit with MaxAppendSizeExceeded and writes nothing', () =>
        withStore(async (store, prefix) => {
          const stream = `${prefix}joblog-1`;
          await assertRejectsCode(
            store.append(stream, ofSize(20, Math.ceil((limit * 1.1) / 20))),
            'MaxAppendSizeExceeded',
          );
          await assertRejectsCode(store.append(stream, ofSize(1, limit + 100)), 'MaxAppendSizeExceeded');
          await assertRejectsCode(collectAsync(store.readStream(stream)), 'StreamNotFound');
        }));
    });

    it('rejects calls after close with Closed', async () => {
      const store = await harness.open();
      await store.close();
      await assertRejectsCode(store.append(`${harness.uniquePrefix()}x-1`, makeEvents(1)), 'Closed');
    });

    const durability = harness.durability;
    if (durability) {
      describe('durability', () => {
        for (let round = 0; round < (durability.rounds ?? 3); round++) {
          it(`every append a killed process saw resolve is there after reopening (round ${round + 1})`, async () => {
            const r = await durability.prepare(round);
            try {
              const stream = 'durability-1';
              const acknowledged = await runAndKill(r.spawnAppender(stream), 40 + round * 60);
              const store = await r.reopen();
              try {
                const ids = new Set((await collectAsync(store.readStream(stream))).map((e) => e.id));
                const lost = acknowledged.filter((id) => !ids.has(id));
                assert.deepEqual(
                  lost,
                  [],
                  `${r.label}: ${lost.length} of ${acknowledged.length} acknowledged lost`,
                );
                assert.ok(acknowledged.length >= 40);
              } finally {
                await store.close();
              }
            } finally {
              await r.cleanup();
            }
          });
        }
      });
    }
  });
}

export function makeEvents(count: number, options: { metadata?: boolean } = {}): EventData[] {
  return Array.from({ length: count }, (_, i) => ({
    id: randomUUID(),
    type: 'ContractEventHappened',
    data: { n: i, text: `line ${i}`, nested: { ok: true, list: [1, 2, 3] } },
    ...(options.metadata
      ? { metadata: { actor: { kind: 'system', id: 'contract' }, correlation_id: randomUUID() } }
      : {}),
  }));
}

export async function collectAsync<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

async function revisions(store: EventStore, stream: string): Promise<number[]> {
  return (await collectAsync(store.readStream(stream))).map((e) => e.revision);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function assertStrictlyIncreasing(positions: Position[]): void {
  for (let i = 1; i < positions.length; i++) {
    assert.ok(
      comparePositions(positions[i - 1]!, positions[i]!) < 0,
      `position ${i} is after position ${i - 1}`,
    );
  }
}

async function assertRejectsCode(promise: Promise<unknown>, code: EventStoreErrorCode) {
  try {
    await promise;
  } catch (err) {
    assert.ok(isEventStoreError(err, code), `expected ${code}, got ${String(err)}`);
    return err;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function withTimeout<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitFor(
  condition: () => boolean,
  what: string,
  collector?: Collector,
  ms = WAIT_MS,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (collector?.failure !== undefined) throw collector.failure;
    if (Date.now() > deadline) {
      const have = collector ? ` (have ${collector.items.length} items)` : '';
      throw new Error(`timed out after ${ms} ms waiting for ${what}${have}`);
    }
    await sleep(5);
  }
}

interface Collector {
  readonly items: SubscriptionItem[];
  readonly failure: unknown;
  events(): RecordedEvent[];
  stop(): void;
}

function startCollecting(source: Observable<SubscriptionItem>): Collector {
  const items: SubscriptionItem[] = [];
  const collector = {
    items,
    failure: undefined as unknown,
    events: () => items.flatMap((i) => (i.kind === 'event' ? [i.event] : [])),
    stop: () => sub.unsubscribe(),
  };
  const sub = source.subscribe({
    next: (item) => items.push(item),
    error: (err: unknown) => (collector.failure = err),
    complete: () => (collector.failure = new Error('subscription completed unexpectedly')),
  });
  return collector;
}

/** Subscribes, runs `afterSubscribe`, and gathers items until `done` holds (bounded). */
async function collectSubscription(
  source: Observable<SubscriptionItem>,
  done: (items: SubscriptionItem[]) => boolean,
  afterSubscribe?: () => void,
): Promise<SubscriptionItem[]> {
  const items: SubscriptionItem[] = [];
  let sub: Subscription | undefined;
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        sub = source.subscribe({
          next: (item) => {
            items.push(item);
            if (done(items)) resolve();
          },
          error: reject,
          complete: () => reject(new Error('subscription completed unexpectedly')),
        });
        afterSubscribe?.();
      }),
      'subscription items',
    );
  } finally {
    sub?.unsubscribe();
  }
  return items;
}

/** Reads acknowledged ids from the child's stdout, SIGKILLs it after `count` acks, and returns every acked id. */
async function runAndKill(child: ChildProcess, count: number): Promise<string[]> {
  const acknowledged: string[] = [];
  let buffered = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`appender exited early (${code}): ${stderr}`)));
        child.stdout?.on('data', (chunk: Buffer) => {
          buffered += chunk.toString();
          const lines = buffered.split('\n');
          buffered = lines.pop() ?? '';
          acknowledged.push(...lines.filter((l) => l.length > 0));
          if (acknowledged.length >= count) resolve();
        });
      }),
      `${count} acknowledged appends`,
    );
  } finally {
    child.kill('SIGKILL');
    await withTimeout(exited, 'appender exit');
  }
  // Lines that arrived between the last check and the kill were acknowledged too.
  acknowledged.push(...buffered.split('\n').filter((l) => /^[0-9a-f-]{36}$/.test(l)));
  return acknowledged;
}
