import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createSqliteEventStore, type EventStore } from '@rf/event-store';
import { collectAsync, makeEvents } from '@rf/event-store/testing';
import { ResendGuardAppender } from './resend-guard.appender';

describe('ResendGuardAppender (real SQLite event store)', () => {
  let dir: string;
  let file: string;
  let store: EventStore;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-resend-guard-'));
    file = path.join(dir, 'events.db');
    store = createSqliteEventStore({ path: file });
  });

  after(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stores a message resent after the store restarted once, with other events in between', async () => {
    const stream = 'host-restart-1';
    const [message] = makeEvents(1);
    const first = await new ResendGuardAppender(store).append('h1', stream, message!);
    assert.equal(first?.nextExpectedRevision, 0);
    // The store restarts remembering no recent ids (as EventStoreDB's cache after a restart).
    await store.close();
    store = createSqliteEventStore({ path: file, recentIdsCapacity: 0 });
    await store.append(stream, makeEvents(3)); // the reconnect's own events, an operator's order
    const guard = new ResendGuardAppender(store);
    assert.equal(await guard.append('h1', stream, message!), null, 'the resend is recognised');
    const next = await guard.append('h1', stream, makeEvents(1)[0]!);
    assert.equal(next?.nextExpectedRevision, 4);
    const ids = (await collectAsync(store.readStream(stream))).map((e) => e.id);
    assert.equal(ids.filter((id) => id === message!.id).length, 1);
    assert.equal(ids.length, 5);
  });

  it('appends after events the stream no longer shows (truncated), at the revision the store reports', async () => {
    const stream = 'host-truncated-1';
    await store.append(stream, makeEvents(2));
    await store.setStreamMetadata(stream, { truncateBefore: 2 });
    assert.deepEqual(await collectAsync(store.readStream(stream)), []);
    const result = await new ResendGuardAppender(store).append('h2', stream, makeEvents(1)[0]!);
    assert.equal(result?.nextExpectedRevision, 2);
  });

  it("keeps one agent's messages in arrival order across streams and loses none to a racing writer", async () => {
    const guard = new ResendGuardAppender(store);
    const events = makeEvents(6);
    const streams = [
      'host-order-1',
      'job-order-1',
      'host-order-1',
      'job-order-1',
      'host-order-1',
      'job-order-1',
    ];
    const head = await store.append('other-1', makeEvents(1));
    const results = await Promise.all([
      ...events.map((e, i) => guard.append('h3', streams[i]!, e)),
      // Another writer appends to the same host stream meanwhile (as operator orders do).
      store.append('host-order-1', makeEvents(1)),
      store.append('host-order-1', makeEvents(1)),
    ]);
    assert.ok(results.every((r) => r !== null));
    const all = await collectAsync(store.readAll({ fromPosition: head.position }));
    const mine = new Set(events.map((e) => e.id));
    assert.deepEqual(
      all.filter((e) => mine.has(e.id)).map((e) => e.id),
      events.map((e) => e.id),
      'stored in the order the agent sent them',
    );
    assert.equal((await collectAsync(store.readStream('host-order-1'))).length, 5);
  });
});
