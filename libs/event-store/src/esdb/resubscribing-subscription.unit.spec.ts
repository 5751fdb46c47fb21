import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordedEvent } from '@rf/events';
import type { SubscriptionItem } from '../event-store.port';
import {
  ResubscribingSubscription,
  type ResubscribingSubscriptionOptions,
  type SubscriptionAttemptHandlers,
} from './resubscribing-subscription';

/** One recorded `open` call: where it started and the handlers the class gave it. */
interface OpenCall {
  readonly after: number | 'start';
  readonly handlers: SubscriptionAttemptHandlers<number>;
  closed: boolean;
}

class TransientError extends Error {}
class FatalError extends Error {}

const event = (revision: number): RecordedEvent => ({
  id: `00000000-0000-4000-8000-${String(revision).padStart(12, '0')}`,
  type: 'Tested',
  streamId: 'job-1',
  revision,
  position: { commit: BigInt(revision), prepare: BigInt(revision) },
  data: { revision },
  metadata: {},
  created: new Date(0),
});

/** Builds a subscription whose timers and connections are driven by the test. */
function harness(overrides: Partial<ResubscribingSubscriptionOptions<number>> = {}) {
  const opens: OpenCall[] = [];
  const items: SubscriptionItem[] = [];
  const failures: unknown[] = [];
  const timers: { ms: number; fn: () => void; cancelled: boolean }[] = [];
  const retries: { attempt: number; delayMs: number }[] = [];
  const sub = new ResubscribingSubscription<number>({
    open: (after, handlers) => {
      const call: OpenCall = { after, handlers, closed: false };
      opens.push(call);
      return {
        close: () => {
          call.closed = true;
        },
      };
    },
    from: 'start',
    compare: (a, b) => a - b,
    isTransient: (err) => err instanceof TransientError,
    mapError: (err) => new Error(`mapped: ${(err as Error).message}`),
    random: () => 0.5,
    schedule: (fn, ms) => {
      const t = { ms, fn, cancelled: false };
      timers.push(t);
      return () => {
        t.cancelled = true;
      };
    },
    next: (item) => items.push(item),
    fail: (err) => failures.push(err),
    onRetry: ({ attempt, delayMs }) => retries.push({ attempt, delayMs }),
    ...overrides,
  });
  const fireTimer = (): void => {
    const t = timers.find((x) => !x.cancelled);
    assert.ok(t, 'a retry timer is pending');
    t.cancelled = true;
    t.fn();
  };
  const delivered = (): number[] => items.flatMap((i) => (i.kind === 'event' ? [i.event.revision] : []));
  const last = (): OpenCall => {
    const call = opens.at(-1);
    assert.ok(call, 'open was called');
    return call;
  };
  return { sub, opens, items, failures, timers, retries, fireTimer, delivered, last };
}

/** Lets promise callbacks (from/readHead resolution) run; bounded by construction. */
const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i += 1) await new Promise((r) => setImmediate(r));
};

describe('ResubscribingSubscription', () => {
  it('resubscribes after a transient error from the last delivered cursor, so there is no gap', async () => {
    const h = harness();
    h.sub.begin();
    await flush();
    assert.equal(h.last().after, 'start');
    h.last().handlers.event(event(0), 0);
    h.last().handlers.event(event(1), 1);
    h.last().handlers.error(new TransientError('connection reset'));
    assert.equal(h.opens[0]?.closed, true, 'the failed attempt is closed');
    assert.equal(h.opens.length, 1, 'no resubscribe before the backoff delay');
    h.fireTimer();
    await flush();
    assert.equal(h.opens.length, 2);
    assert.equal(h.last().after, 1);
    h.last().handlers.event(event(2), 2);
    assert.deepEqual(h.delivered(), [0, 1, 2]);
    assert.deepEqual(h.failures, []);
  });

  it('drops events at or before the last delivered cursor (a server replaying after reconnect)', async () => {
    const h = harness();
    h.sub.begin();
    await flush();
    h.last().handlers.event(event(0), 0);
    h.last().handlers.event(event(1), 1);
    h.last().handlers.end();
    h.fireTimer();
    await flush();
    h.last().handlers.event(event(1), 1);
    h.last().handlers.event(event(0), 0);
    h.last().handlers.event(event(2), 2);
    assert.deepEqual(h.delivered(), [0, 1, 2]);
  });

  it('never delivers the start cursor itself (delivery starts after it)', async () => {
    const h = harness({ from: 5 });
    h.sub.begin();
    await flush();
    assert.equal(h.last().after, 5);
    h.last().handlers.event(event(5), 5);
    h.last().handlers.event(event(6), 6);
    assert.deepEqual(h.delivered(), [6]);
  });

  it('backs off exponentially with jitter, capped, and resets after the server confirms', async () => {
    const h = harness({ backoff: { initialMs: 100, maxMs: 1000, factor: 2 } });
    h.sub.begin();
    await flush();
    for (let i = 0; i < 6; i += 1) {
      h.last().handlers.error(new TransientError('down'));
      h.fireTimer();
      await flush();
    }
    // equal jitter with random() = 0.5: 3/4 of the capped exponential delay
    assert.deepEqual(
      h.retries.map((r) => r.delayMs),
      [75, 150, 300, 600, 750, 750],
    );
    assert.deepEqual(
      h.retries.map((r) => r.attempt),
      [1, 2, 3, 4, 5, 6],
    );
    h.last().handlers.confirmed();
    h.last().handlers.error(new TransientError('down again'));
    assert.equal(h.retries.at(-1)?.delayMs, 75);
  });

  it('keeps every jittered delay between half and all of the capped delay', () => {
    const low = harness({ random: () => 0, backoff: { initialMs: 200, maxMs: 5000 } }).sub;
    const high = harness({ random: () => 0.999999, backoff: { initialMs: 200, maxMs: 5000 } }).sub;
    for (let n = 1; n <= 12; n += 1) {
      const cap = Math.min(5000, 200 * 2 ** (n - 1));
      assert.equal(low.backoffDelay(n), cap / 2);
      assert.ok(high.backoffDelay(n) <= cap && high.backoffDelay(n) >= cap / 2);
    }
  });

  it('fails with the mapped error on a non-transient error and stops retrying', async () => {
    const h = harness();
    h.sub.begin();
    await flush();
    h.last().handlers.error(new FatalError('access denied'));
    assert.equal(h.failures.length, 1);
    assert.equal((h.failures[0] as Error).message, 'mapped: access denied');
    assert.equal(h.timers.length, 0);
    assert.equal(h.sub.isStopped, true);
  });

  it('gives up after maxAttempts consecutive failures', async () => {
    const h = harness({ backoff: { maxAttempts: 2 } });
    h.sub.begin();
    await flush();
    h.last().handlers.error(new TransientError('a'));
    h.fireTimer();
    await flush();
    h.last().handlers.error(new TransientError('b'));
    h.fireTimer();
    await flush();
    h.last().handlers.error(new TransientError('c'));
    assert.equal(h.opens.length, 3);
    assert.equal(h.failures.length, 1);
    assert.equal((h.failures[0] as Error).message, 'mapped: c');
  });

  it('stop() closes the open attempt, cancels a pending retry and ignores late callbacks', async () => {
    const h = harness();
    h.sub.begin();
    await flush();
    const first = h.last();
    await h.sub.stop();
    assert.equal(first.closed, true);
    first.handlers.event(event(0), 0);
    first.handlers.error(new TransientError('late'));
    assert.deepEqual(h.items, []);
    assert.equal(h.timers.length, 0);

    const g = harness();
    g.sub.begin();
    await flush();
    g.last().handlers.error(new TransientError('down'));
    await g.sub.stop();
    assert.equal(g.timers[0]?.cancelled, true);
    assert.equal(g.opens.length, 1);
  });

  it('ignores callbacks from an attempt that was already replaced', async () => {
    const h = harness();
    h.sub.begin();
    await flush();
    const old = h.last();
    old.handlers.error(new TransientError('x'));
    h.fireTimer();
    await flush();
    old.handlers.event(event(7), 7);
    old.handlers.error(new TransientError('stale'));
    assert.deepEqual(h.delivered(), []);
    assert.equal(h.opens.length, 2);
    assert.equal(h.timers.filter((t) => !t.cancelled).length, 0);
  });

  it('emits caughtUp once, from the client signal, even when a resubscribed attempt signals again', async () => {
    const h = harness();
    h.sub.begin();
    await flush();
    h.last().handlers.event(event(0), 0);
    h.last().handlers.caughtUp();
    h.last().handlers.error(new TransientError('x'));
    h.fireTimer();
    await flush();
    h.last().handlers.caughtUp();
    h.last().handlers.event(event(1), 1);
    assert.deepEqual(
      h.items.map((i) => (i.kind === 'event' ? i.event.revision : 'caughtUp')),
      [0, 'caughtUp', 1],
    );
  });

  it('falls back to the read head: caughtUp after the event at the head is delivered', async () => {
    const h = harness({ readHead: () => Promise.resolve(2) });
    h.sub.begin();
    await flush();
    h.last().handlers.event(event(0), 0);
    h.last().handlers.event(event(1), 1);
    assert.equal(
      h.items.some((i) => i.kind === 'caughtUp'),
      false,
    );
    h.last().handlers.event(event(2), 2);
    h.last().handlers.event(event(3), 3);
    assert.deepEqual(
      h.items.map((i) => (i.kind === 'event' ? i.event.revision : 'caughtUp')),
      [0, 1, 2, 'caughtUp', 3],
    );
  });

  it('falls back to the read head: a checkpoint at or past the head also counts', async () => {
    const h = harness({ readHead: () => Promise.resolve(9) });
    h.sub.begin();
    await flush();
    h.last().handlers.event(event(4), 4);
    h.last().handlers.checkpoint(8);
    assert.equal(h.items.length, 1);
    h.last().handlers.checkpoint(9);
    assert.deepEqual(h.items.at(-1), { kind: 'caughtUp' });
  });

  it('falls back to the read head: an empty log or a start at the head is caught up at once', async () => {
    const empty = harness({ readHead: () => Promise.resolve(null) });
    empty.sub.begin();
    await flush();
    assert.deepEqual(empty.items, [{ kind: 'caughtUp' }]);
    const atHead = harness({ from: 4, readHead: () => Promise.resolve(4) });
    atHead.sub.begin();
    await flush();
    assert.deepEqual(atHead.items, [{ kind: 'caughtUp' }]);
  });

  it('resolves a deferred start (e.g. "end") once and resubscribes after it', async () => {
    let resolutions = 0;
    const h = harness({
      from: () => {
        resolutions += 1;
        return Promise.resolve(10);
      },
    });
    h.sub.begin();
    await flush();
    assert.equal(h.last().after, 10);
    h.last().handlers.error(new TransientError('x'));
    h.fireTimer();
    await flush();
    assert.equal(h.last().after, 10);
    assert.equal(resolutions, 1);
  });

  it('retries a start resolution that failed transiently', async () => {
    let calls = 0;
    const h = harness({
      from: () => {
        calls += 1;
        return calls === 1 ? Promise.reject(new TransientError('down')) : Promise.resolve(3);
      },
    });
    h.sub.begin();
    await flush();
    assert.equal(h.opens.length, 0);
    h.fireTimer();
    await flush();
    assert.equal(h.last().after, 3);
  });
});
