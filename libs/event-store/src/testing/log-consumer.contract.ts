import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { comparePositions, type Position, type RecordedEvent } from '@rf/events';
import { type EventStore } from '../event-store.port';
import { isLogConsumerError, LogConsumer, type LogBatch, type LogConsumerOptions } from '../log.consumer';
import { makeEvents, withContractStore, type ContractHarness } from './event-store.contract';

const WAIT_MS = 15_000;

/**
 * `LogConsumer` over a real adapter: the same checks for every store. Like the
 * store contract, it never assumes it owns the store: it filters on its own
 * stream prefix and starts from the head it found.
 */
export function logConsumerContract(
  name: string,
  harness: Pick<ContractHarness, 'open' | 'uniquePrefix'>,
): void {
  const withStore = (fn: (store: EventStore, prefix: string) => Promise<void>): Promise<void> =>
    withContractStore(harness, fn);

  const follow = (
    store: EventStore,
    options: Omit<LogConsumerOptions, 'name'>,
  ): { consumer: LogConsumer; events: RecordedEvent[]; batches: LogBatch[] } => {
    const events: RecordedEvent[] = [];
    const batches: LogBatch[] = [];
    const consumer = new LogConsumer(
      store,
      (b) => {
        batches.push(b);
        events.push(...b.events);
      },
      { name: `${name} contract consumer`, ...options },
    );
    return { consumer, events, batches };
  };

  describe(`LogConsumer contract: ${name}`, () => {
    it('catches up on what is stored, says so, then follows live appends in order', () =>
      withStore(async (store, prefix) => {
        const from = await store.headPosition();
        for (let i = 0; i < 5; i++) await store.append(`${prefix}order-${i}`, makeEvents(40));
        await store.append(`other${prefix}x-1`, makeEvents(3));
        const { consumer, events, batches } = follow(store, {
          from,
          streamPrefixes: [prefix],
          batchSize: 64,
        });
        consumer.start();
        try {
          assert.equal(await consumer.whenCaughtUp(WAIT_MS), true);
          assert.equal(events.length, 200);
          assert.ok(batches.every((b) => b.events.length <= 64));
          assert.equal(batches.filter((b) => b.caughtUp).length, 1);
          const live = await store.append(`${prefix}order-live`, makeEvents(10));
          await consumer.waitForPosition(live.position, WAIT_MS);
          assert.equal(events.length, 210);
          assert.ok(events.every((e) => e.streamId.startsWith(prefix)));
          for (let i = 1; i < events.length; i++)
            assert.ok(comparePositions(events[i - 1]!.position, events[i]!.position) < 0, 'in log order');
          assert.deepEqual(consumer.position, live.position);
          const lag = await consumer.lag();
          assert.deepEqual([lag.eventsBehind, lag.msBehind, lag.caughtUp], [0, 0, true]);
        } finally {
          consumer.stop();
        }
      }));

    it('gives read-your-writes: a wait for an append resolves once that append was handled', () =>
      withStore(async (store, prefix) => {
        const { consumer, events } = follow(store, {
          from: await store.headPosition(),
          streamPrefixes: [prefix],
          batchWaitMs: 20,
        });
        consumer.start();
        try {
          await consumer.whenCaughtUp(WAIT_MS);
          for (let i = 0; i < 5; i++) {
            const written = await store.append(`${prefix}rw-${i}`, makeEvents(2));
            await consumer.waitForPosition(written.position, WAIT_MS);
            assert.equal(events.length, 2 * (i + 1));
          }
        } finally {
          consumer.stop();
        }
      }));

    it('resumes after a checkpoint with neither a gap nor a repeat', () =>
      withStore(async (store, prefix) => {
        const start = await store.headPosition();
        const stream = `${prefix}resume-1`;
        await store.append(stream, makeEvents(30));
        const first = follow(store, { from: start, streamPrefixes: [prefix] });
        first.consumer.start();
        await first.consumer.whenCaughtUp(WAIT_MS);
        first.consumer.stop();
        const checkpoint: Position | null = first.consumer.position;
        assert.equal(first.events.length, 30);
        await store.append(stream, makeEvents(20));
        const second = follow(store, { from: checkpoint, streamPrefixes: [prefix] });
        second.consumer.start();
        try {
          await second.consumer.whenCaughtUp(WAIT_MS);
          assert.deepEqual(
            [...first.events, ...second.events].map((e) => e.revision),
            Array.from({ length: 50 }, (_, i) => i),
          );
        } finally {
          second.consumer.stop();
        }
      }));

    it('stops when the store closes: waits reject with Stopped and nothing retries', async () => {
      const store = await harness.open();
      const prefix = harness.uniquePrefix();
      const errors: boolean[] = [];
      const { consumer } = follow(store, {
        from: await store.headPosition(),
        streamPrefixes: [prefix],
        retryMs: 5,
        onError: (_err, retrying) => errors.push(retrying),
      });
      consumer.start();
      await consumer.whenCaughtUp(WAIT_MS);
      const head = (await store.append(`${prefix}close-1`, makeEvents(1))).position;
      const wait = consumer.waitForPosition(
        { commit: head.commit + 1000n, prepare: head.prepare + 1000n },
        WAIT_MS,
      );
      await store.close();
      await assert.rejects(wait, (err: unknown) => isLogConsumerError(err, 'Stopped'));
      assert.equal(consumer.isRunning, false);
      assert.deepEqual(errors, [false]);
    });
  });
}
