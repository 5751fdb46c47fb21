import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { isEventStoreError, type SubscriptionItem } from '../event-store.port';
import { collectAsync, eventStoreContract, makeEvents } from '../testing/event-store.contract';
import { createEsdbEventStore } from './esdb-event-store';
import { refusedPort } from './refused-port.testing';

const url = process.env['ESDB_TEST_URL'];

if (url) {
  eventStoreContract('esdb', {
    open: async () => createEsdbEventStore({ connectionString: url }),
    // A new client: the server keeps only what it stored (its id cache may also be gone after a restart).
    reopen: async (store) => {
      await store.close();
      return createEsdbEventStore({ connectionString: url });
    },
    // The server is shared across runs: every stream of a run gets its own prefix.
    uniquePrefix: () => `t${randomUUID().replace(/-/g, '').slice(0, 12)}`,
  });
} else {
  const reason =
    'esdb contract suite: skipped — ESDB_TEST_URL is not set (set it to esdb://host:2113?tls=false to run against a real EventStoreDB)';
  console.log(reason);
  it(reason, { skip: reason }, () => undefined);
}

const withTimeout = async <T>(p: Promise<T>, ms: number, what: string): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
};

// These run with the real client against a real socket that refuses connections; no server is faked.
describe('esdb event store: without a reachable server', () => {
  it('fails operations with Unavailable', async () => {
    const port = await refusedPort();
    const store = createEsdbEventStore({
      connectionString: `esdb://127.0.0.1:${port}?tls=false&defaultDeadline=3000`,
    });
    try {
      const append = store.append('job-1', makeEvents(1));
      const err = await withTimeout(
        append.then(
          () => assert.fail('append succeeded without a server'),
          (e: unknown) => e,
        ),
        20_000,
        'append to fail',
      );
      assert.ok(isEventStoreError(err, 'Unavailable'), `expected Unavailable, got ${String(err)}`);
      const readErr = await withTimeout(
        collectAsync(store.readStream('job-1')).then(
          () => assert.fail('read succeeded without a server'),
          (e: unknown) => e,
        ),
        20_000,
        'read to fail',
      );
      assert.ok(isEventStoreError(readErr, 'Unavailable'), `expected Unavailable, got ${String(readErr)}`);
    } finally {
      await store.close();
    }
  });

  it('keeps resubscribing with growing delays until unsubscribed, without erroring the observable', async () => {
    const port = await refusedPort();
    const retries: { attempt: number; delayMs: number }[] = [];
    const store = createEsdbEventStore({
      connectionString: `esdb://127.0.0.1:${port}?tls=false`,
      resubscribeBackoff: { initialMs: 20, maxMs: 200 },
      onResubscribe: ({ attempt, delayMs }) => retries.push({ attempt, delayMs }),
    });
    const items: SubscriptionItem[] = [];
    let failed: unknown;
    const sub = store.subscribeToStream('job-1').subscribe({
      next: (item) => items.push(item),
      error: (err: unknown) => (failed = err),
    });
    try {
      const deadline = Date.now() + 20_000;
      while (retries.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(retries.length >= 4, `expected at least 4 resubscribe attempts, saw ${retries.length}`);
      assert.deepEqual(
        retries.slice(0, 4).map((r) => r.attempt),
        [1, 2, 3, 4],
      );
      for (const r of retries) {
        const cap = Math.min(200, 20 * 2 ** (r.attempt - 1));
        assert.ok(r.delayMs >= cap / 2 && r.delayMs <= cap, `delay ${r.delayMs} within [${cap / 2}, ${cap}]`);
      }
      assert.equal(failed, undefined);
      assert.deepEqual(items, []);
    } finally {
      sub.unsubscribe();
    }
    const seen = retries.length;
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(retries.length <= seen + 1, 'no further attempts after unsubscribe');
    await store.close();
  });

  it('a subscription from "end" retries its head lookup while the server is down instead of failing', async () => {
    const retries: string[] = [];
    const store = createEsdbEventStore({
      connectionString: `esdb://127.0.0.1:${await refusedPort()}?tls=false`,
      resubscribeBackoff: { initialMs: 20, maxMs: 100 },
      onResubscribe: ({ subscription }) => retries.push(subscription),
    });
    const failures: unknown[] = [];
    const subs = [
      store.subscribeToAll({ fromPosition: 'end' }).subscribe({ error: (e: unknown) => failures.push(e) }),
      store
        .subscribeToStream('job-1', { fromRevision: 'end' })
        .subscribe({ error: (e: unknown) => failures.push(e) }),
    ];
    try {
      const deadline = Date.now() + 20_000;
      const enough = () =>
        retries.filter((n) => n === '$all').length >= 3 && retries.filter((n) => n === 'job-1').length >= 3;
      while (!enough() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(enough(), `resubscribe attempts: ${retries.join(', ')}`);
      assert.deepEqual(failures, []);
    } finally {
      for (const sub of subs) sub.unsubscribe();
      await store.close();
    }
  });

  it('errors live subscriptions with Closed when the store closes', async () => {
    const store = createEsdbEventStore({
      connectionString: `esdb://127.0.0.1:${await refusedPort()}?tls=false`,
      resubscribeBackoff: { initialMs: 20, maxMs: 100 },
    });
    const errors = Promise.all(
      [store.subscribeToAll({ streamNamePrefixes: ['job-'] }), store.subscribeToStream('job-1')].map(
        (o) =>
          new Promise<unknown>((resolve) =>
            o.subscribe({ error: resolve, complete: () => resolve('completed') }),
          ),
      ),
    );
    await new Promise((r) => setTimeout(r, 100));
    await store.close();
    const [a, b] = await withTimeout(errors, 5_000, 'subscriptions to end');
    assert.ok(isEventStoreError(a, 'Closed'), String(a));
    assert.ok(isEventStoreError(b, 'Closed'), String(b));
  });

  it('rejects calls after close with Closed, and subscriptions error with Closed', async () => {
    const store = createEsdbEventStore({
      connectionString: `esdb://127.0.0.1:${await refusedPort()}?tls=false`,
    });
    await store.close();
    await assert.rejects(store.append('job-1', makeEvents(1)), (e: unknown) =>
      isEventStoreError(e, 'Closed'),
    );
    await assert.rejects(store.headPosition(), (e: unknown) => isEventStoreError(e, 'Closed'));
    const err = await new Promise<unknown>((resolve) => store.subscribeToAll().subscribe({ error: resolve }));
    assert.ok(isEventStoreError(err, 'Closed'));
  });

  it('validates input before contacting the server, naming the field', async () => {
    assert.throws(
      () => createEsdbEventStore({ connectionString: 'http://x' }),
      /connectionString: unsupported scheme/,
    );
    assert.throws(
      () => createEsdbEventStore({ connectionString: 'esdb://127.0.0.1:1?tls=false', maxAppendSize: 0 }),
      /maxAppendSize must be a positive integer/,
    );
    const store = createEsdbEventStore({
      connectionString: `esdb://127.0.0.1:${await refusedPort()}?tls=false`,
    });
    try {
      await assert.rejects(
        store.append('job-1', [{ id: 'x', type: 'T', data: {} }]),
        /events\[0\]\.id must be a UUID/,
      );
      await assert.rejects(
        store.append('job-1', makeEvents(1), { expectedRevision: -2 }),
        /expectedRevision/,
      );
      await assert.rejects(store.setStreamMetadata('job-1', { maxAge: 0 }), /metadata\.maxAge/);
      assert.throws(() => store.readStream('job-1', { maxCount: -1 }), /maxCount/);
      assert.throws(() => store.subscribeToAll({ streamNamePrefixes: [] }), /streamNamePrefixes/);
      const big = [{ id: randomUUID(), type: 'LogStreamLine', data: { payload: 'x'.repeat(1024 * 1024) } }];
      await assert.rejects(store.append('joblog-1', big), (e: unknown) =>
        isEventStoreError(e, 'MaxAppendSizeExceeded'),
      );
    } finally {
      await store.close();
    }
  });
});
