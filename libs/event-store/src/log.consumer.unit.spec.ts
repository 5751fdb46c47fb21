import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Subject, type Observable } from 'rxjs';
import {
  EventStoreError,
  type EventStore,
  type ReadAllOptions,
  type SubscribeToAllOptions,
  type SubscriptionItem,
} from './event-store.port';
import { type Position, type RecordedEvent } from '@rf/events';
import { isLogConsumerError, LogConsumer, type LogBatch, type LogConsumerOptions } from './log.consumer';

const pos = (n: number): Position => ({ commit: BigInt(n), prepare: BigInt(n) });

const event = (
  n: number,
  options: { type?: string; stream?: string; created?: number } = {},
): RecordedEvent => ({
  id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  type: options.type ?? 'Happened',
  streamId: options.stream ?? 'thing-1',
  revision: n - 1,
  position: pos(n),
  data: { n },
  metadata: null,
  created: new Date(options.created ?? 1_000_000 + n),
});

/** A stand-in store: each subscribeToAll gets its own Subject the spec drives; the log for lag is a plain array. */
class ScriptedStore {
  readonly subscriptions: Array<{ options: SubscribeToAllOptions; subject: Subject<SubscriptionItem> }> = [];
  log: RecordedEvent[] = [];

  subscribeToAll(options: SubscribeToAllOptions = {}): Observable<SubscriptionItem> {
    const subject = new Subject<SubscriptionItem>();
    this.subscriptions.push({ options, subject });
    return subject;
  }

  async headPosition(): Promise<Position | null> {
    return this.log.at(-1)?.position ?? null;
  }

  readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    const from = options.fromPosition;
    const start =
      from === undefined || from === 'start' ? 0n : from === 'end' ? BigInt(this.log.length) : from.commit;
    const out = this.log.filter((e) => e.position.commit >= start).slice(0, options.maxCount ?? Infinity);
    return (async function* () {
      yield* out;
    })();
  }

  get last(): Subject<SubscriptionItem> {
    return this.subscriptions.at(-1)!.subject;
  }

  push(...ns: number[]): void {
    for (const n of ns) this.last.next({ kind: 'event', event: event(n) });
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const commits = (b: LogBatch): number[] => b.events.map((e) => Number(e.position.commit));

async function until(check: () => boolean, what: string, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

describe('LogConsumer (scripted store)', () => {
  const consumers: LogConsumer[] = [];
  afterEach(() => {
    for (const c of consumers.splice(0)) c.stop();
  });

  const make = (
    store: ScriptedStore,
    options: Partial<LogConsumerOptions> = {},
    handle: (b: LogBatch) => void | { restartFrom: Position | null } = () => undefined,
  ): { consumer: LogConsumer; batches: LogBatch[]; errors: Array<[unknown, boolean]> } => {
    const batches: LogBatch[] = [];
    const errors: Array<[unknown, boolean]> = [];
    const consumer = new LogConsumer(
      store as unknown as EventStore,
      (b) => {
        batches.push(b);
        return handle(b);
      },
      { name: 'test consumer', onError: (e, retrying) => errors.push([e, retrying]), ...options },
    );
    consumers.push(consumer);
    return { consumer, batches, errors };
  };

  it('starts after its checkpoint and passes the stream filter to the store', () => {
    const store = new ScriptedStore();
    const { consumer } = make(store, { from: pos(7), streamPrefixes: ['job-', 'host-'] });
    consumer.start();
    assert.deepEqual(store.subscriptions[0]!.options, {
      fromPosition: pos(7),
      streamNamePrefixes: ['job-', 'host-'],
    });
    assert.deepEqual(consumer.position, pos(7));
  });

  it('batches by count, flushes at caught-up, then by time', async () => {
    const store = new ScriptedStore();
    const { consumer, batches } = make(store, { batchSize: 3, batchWaitMs: 30 });
    consumer.start();
    store.push(1, 2, 3, 4);
    store.last.next({ kind: 'caughtUp' });
    store.push(5);
    assert.deepEqual(batches.map(commits), [[1, 2, 3], [4]], 'event 5 waits for the timer');
    await until(() => batches.length === 3, 'the time flush');
    assert.deepEqual(batches.map(commits), [[1, 2, 3], [4], [5]]);
    assert.deepEqual(
      batches.map((b) => b.caughtUp),
      [false, true, false],
    );
    assert.deepEqual(batches[2]!.position, pos(5));
  });

  it('without a wait, hands a partial batch over as soon as the source pauses', async () => {
    const store = new ScriptedStore();
    const { consumer, batches } = make(store, { batchSize: 100 });
    consumer.start();
    store.push(1, 2, 3);
    assert.equal(batches.length, 0, 'not inside the burst');
    await tick();
    assert.deepEqual(batches.map(commits), [[1, 2, 3]]);
  });

  it('reports caught-up once, also for an empty log', async () => {
    const store = new ScriptedStore();
    const { consumer, batches } = make(store);
    consumer.start();
    assert.equal(consumer.caughtUp, false);
    const waiting = consumer.whenCaughtUp(1000);
    store.last.next({ kind: 'caughtUp' });
    assert.equal(await waiting, true);
    assert.equal(consumer.caughtUp, true);
    assert.deepEqual(batches, [{ events: [], position: null, caughtUp: true }]);
    assert.equal(await consumer.whenCaughtUp(10), true);
  });

  it('whenCaughtUp answers false after its timeout', async () => {
    const store = new ScriptedStore();
    const { consumer } = make(store);
    consumer.start();
    assert.equal(await consumer.whenCaughtUp(20), false);
  });

  it('resolves position waiters once a batch covering them was applied', async () => {
    const store = new ScriptedStore();
    const { consumer } = make(store);
    consumer.start();
    let resolved = false;
    const wait = consumer.waitForPosition(pos(3), 1000).then(() => (resolved = true));
    store.push(1, 2);
    await tick();
    assert.equal(resolved, false);
    store.push(3);
    await wait;
    assert.deepEqual(consumer.position, pos(3));
    await consumer.waitForPosition(pos(2), 10); // already passed: at once
  });

  it('times out a position wait with a coded error naming the positions', async () => {
    const store = new ScriptedStore();
    const { consumer } = make(store);
    consumer.start();
    store.push(1);
    await tick();
    await assert.rejects(consumer.waitForPosition(pos(9), 20), (err: unknown) => {
      assert.ok(isLogConsumerError(err, 'WaitTimeout'));
      assert.match(err.message, /test consumer did not reach position 9 within 20 ms \(at 1\)/);
      assert.deepEqual(err.details, { position: '9', applied: '1', timeoutMs: 20 });
      return true;
    });
  });

  it('rejects pending waits with Stopped, and new ones too', async () => {
    const store = new ScriptedStore();
    const { consumer } = make(store);
    consumer.start();
    const wait = consumer.waitForPosition(pos(5), 5000);
    const caught = consumer.whenCaughtUp(5000);
    consumer.stop();
    await assert.rejects(wait, (err: unknown) => isLogConsumerError(err, 'Stopped'));
    assert.equal(await caught, false);
    await assert.rejects(consumer.waitForPosition(pos(6), 10), (err: unknown) =>
      isLogConsumerError(err, 'Stopped'),
    );
  });

  it('resubscribes after a failure from the last applied position, dropping the partial batch, with growing capped delays', async () => {
    const store = new ScriptedStore();
    const { consumer, batches, errors } = make(store, { batchSize: 2, retryMs: 10, maxRetryMs: 25 });
    consumer.start();
    store.push(1, 2, 3); // 1-2 flushed by count, 3 buffered
    const failedAt: number[] = [Date.now()];
    store.last.error(new Error('connection reset'));
    await until(() => store.subscriptions.length === 2, 'the first resubscription');
    assert.deepEqual(store.subscriptions[1]!.options.fromPosition, pos(2));
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]![0]), /connection reset/);
    assert.equal(errors[0]![1], true);
    for (let i = 2; i <= 4; i++) {
      failedAt.push(Date.now());
      store.last.error(new Error(`again ${i}`));
      await until(() => store.subscriptions.length === i + 1, `resubscription ${i}`);
    }
    // 10, 20, 25 (capped), 25 ms: the later gaps are not shorter than the cap.
    const resubscribedAfter = Date.now() - failedAt.at(-1)!;
    assert.ok(resubscribedAfter >= 20, `the capped delay is kept (${resubscribedAfter} ms)`);
    store.push(3, 4);
    assert.deepEqual(batches.map(commits), [
      [1, 2],
      [3, 4],
    ]);
    assert.equal((await consumer.lag()).lastError, null);
  });

  it('a handler that throws gets the same events again after the resubscription', async () => {
    const store = new ScriptedStore();
    let failOnce = true;
    const { consumer, batches, errors } = make(store, { retryMs: 5 }, (b) => {
      if (failOnce && b.events.length > 0) {
        failOnce = false;
        throw new Error('disk full');
      }
    });
    consumer.start();
    store.push(1, 2);
    await until(() => store.subscriptions.length === 2, 'a resubscription');
    assert.equal(store.subscriptions[1]!.options.fromPosition, 'start');
    assert.match(String(errors[0]![0]), /disk full/);
    assert.equal(consumer.position, null);
    store.push(1, 2);
    await tick();
    assert.deepEqual(batches.map(commits), [
      [1, 2],
      [1, 2],
    ]);
    assert.deepEqual(consumer.position, pos(2));
  });

  it('starts over from the position a handler asks for, ignoring the old subscription', async () => {
    const store = new ScriptedStore();
    let restart = true;
    const { consumer, batches } = make(store, {}, (b) => {
      if (restart && commits(b).includes(5)) {
        restart = false;
        return { restartFrom: pos(1) };
      }
      return undefined;
    });
    consumer.start();
    const first = store.last;
    store.push(4, 5);
    await tick();
    assert.equal(store.subscriptions.length, 2);
    assert.deepEqual(store.subscriptions[1]!.options.fromPosition, pos(1));
    assert.deepEqual(consumer.position, pos(1));
    first.next({ kind: 'event', event: event(6) }); // late item of the dropped subscription
    store.push(2);
    await tick();
    assert.deepEqual(batches.map(commits), [[4, 5], [2]]);
  });

  it('with an event-type filter, other events only move the position', async () => {
    const store = new ScriptedStore();
    const { consumer, batches } = make(store, { eventTypes: ['Wanted'] });
    consumer.start();
    store.last.next({ kind: 'event', event: event(1, { type: 'Wanted' }) });
    store.last.next({ kind: 'event', event: event(2, { type: 'Other' }) });
    await tick();
    store.last.next({ kind: 'event', event: event(3, { type: 'Other' }) });
    const passed = consumer.waitForPosition(pos(3), 1000);
    await tick();
    await passed;
    assert.deepEqual(
      batches.map((b) => [commits(b), Number(b.position?.commit)]),
      [
        [[1], 2],
        [[], 3],
      ],
    );
  });

  it('stops for good when the store is closed', async () => {
    const store = new ScriptedStore();
    const { consumer, errors } = make(store, { retryMs: 5 });
    consumer.start();
    const wait = consumer.waitForPosition(pos(1), 5000);
    store.last.error(new EventStoreError('Closed', 'the event store was closed'));
    await assert.rejects(wait, (err: unknown) => isLogConsumerError(err, 'Stopped'));
    await sleep(20);
    assert.equal(store.subscriptions.length, 1, 'no resubscription');
    assert.equal(consumer.isRunning, false);
    assert.equal(errors[0]![1], false);
  });

  it('treats a subscription that completes as a failure', async () => {
    const store = new ScriptedStore();
    const { consumer, errors } = make(store, { retryMs: 5 });
    consumer.start();
    store.last.complete();
    await until(() => store.subscriptions.length === 2, 'a resubscription');
    assert.match(String(errors[0]![0]), /ended unexpectedly/);
  });

  it('delivers nothing after stop', async () => {
    const store = new ScriptedStore();
    const { consumer, batches } = make(store);
    consumer.start();
    store.push(1);
    consumer.stop();
    store.push(2);
    await tick();
    assert.deepEqual(batches, []);
  });

  it('measures lag from the head and the oldest unapplied event', async () => {
    const store = new ScriptedStore();
    store.log = [1, 2, 3, 4].map((n) => event(n, { created: 10_000 + n * 1000 }));
    const clock = { now: 20_000 };
    const { consumer } = make(store, { from: pos(1), batchWaitMs: 1000, now: () => clock.now });
    const before = await consumer.lag();
    assert.deepEqual(
      [before.eventsBehind, before.msBehind, before.running, before.caughtUp],
      [3, 20_000 - 12_000, false, false],
    );
    consumer.start();
    // Buffered by the 1 s wait: the oldest unapplied is event 2, known without a read.
    store.last.next({ kind: 'event', event: store.log[1]! });
    store.log = [];
    const buffered = await consumer.lag();
    assert.deepEqual([buffered.eventsBehind, buffered.msBehind], [0, 8000]);
  });

  it('is not behind when live on a filtered subset, whatever else the log holds', async () => {
    const store = new ScriptedStore();
    store.log = [1, 2, 3, 4, 5].map((n) => event(n));
    const { consumer } = make(store, { streamPrefixes: ['job-'] });
    consumer.start();
    store.push(2);
    store.last.next({ kind: 'caughtUp' });
    const lag = await consumer.lag();
    assert.deepEqual([lag.eventsBehind, lag.msBehind, lag.caughtUp], [0, 0, true]);
    assert.deepEqual(lag.head, pos(5));
  });

  it('refuses bad options with a clear error', () => {
    const store = new ScriptedStore() as unknown as EventStore;
    assert.throws(
      () => new LogConsumer(store, () => undefined, { name: 'x', batchSize: 0 }),
      /batchSize must be a positive integer/,
    );
    assert.throws(
      () => new LogConsumer(store, () => undefined, { name: 'x', batchWaitMs: -1 }),
      /batchWaitMs must be a number >= 0/,
    );
  });
});
