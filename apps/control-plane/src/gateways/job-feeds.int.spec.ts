import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Logger } from '@nestjs/common';
import { Observable } from 'rxjs';
import { createSqliteEventStore, type EventStore } from '@rf/event-store';
import { toEventData, type FleetEvent } from '@rf/events';
import type { FeedItem, FeedListener } from './job-feed';
import { JobFeeds } from './job-feeds';
import type { LiveStatusMessage } from './live-messages';

/** The real store, counting `$all` subscriptions (opened and still open). */
function counting(real: EventStore): { store: EventStore; opened: () => number; open: () => number } {
  let opened = 0;
  let open = 0;
  const store = new Proxy(real, {
    get: (target, prop) => {
      if (prop === 'subscribeToAll') {
        return (options: Parameters<EventStore['subscribeToAll']>[0]) =>
          new Observable((subscriber) => {
            opened++;
            open++;
            const sub = target.subscribeToAll(options).subscribe(subscriber);
            return () => {
              open--;
              sub.unsubscribe();
            };
          });
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store, opened: () => opened, open: () => open };
}

class Watcher implements FeedListener {
  readonly items: FeedItem[] = [];
  readonly statuses: string[] = [];
  ended: LiveStatusMessage | null = null;
  onItem(item: FeedItem): void {
    this.items.push(item);
  }
  onStatus(status: LiveStatusMessage): void {
    this.statuses.push(status.status);
  }
  onEnd(status: LiveStatusMessage): void {
    this.ended = status;
  }
  onError(): void {
    this.statuses.push('error');
  }
  seqs(): number[] {
    return this.items.flatMap((i) => (i.kind === 'line' ? [i.message.seq] : []));
  }
}

const meta = () => ({
  actor: { kind: 'agent' as const, id: 'h1' },
  correlation_id: 'c',
  causation_id: 'c',
  received_at: new Date().toISOString(),
});
const write = (store: EventStore, stream: string, ...events: FleetEvent[]) =>
  store.append(
    stream,
    events.map((e) => toEventData(e, meta())),
  );
const lines = (jobId: string, from: number, n: number): FleetEvent[] =>
  Array.from({ length: n }, (_, i) => ({
    type: 'LogStreamLine',
    data: {
      job_id: jobId,
      seq: from + i,
      ts: new Date().toISOString(),
      stream: 'stdout',
      payload: `line ${from + i}`,
    },
  }));

async function until(check: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('JobFeeds (real SQLite event store)', () => {
  let dir: string;
  let real: EventStore;

  before(() => {
    Logger.overrideLogger(false);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-feeds-'));
    real = createSqliteEventStore({ path: path.join(dir, 'events.db'), synchronous: 'NORMAL' });
  });

  after(async () => {
    await real.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('feeds every watched job from one subscription, routes each job its own events, and stops when none is watched', async () => {
    const { store, opened, open } = counting(real);
    const feeds = new JobFeeds(store);
    const [a, b] = [randomUUID(), randomUUID()];
    for (const id of [a, b]) {
      await write(store, `job-${id}`, {
        type: 'JobRequested',
        data: { job_id: id, host_id: 'h1', kind: 'check', args: {}, requested_at: new Date().toISOString() },
      });
    }
    const feedA = (await feeds.acquire(a))!;
    const feedB = (await feeds.acquire(b))!;
    const again = await feeds.acquire(a);
    assert.equal(again, feedA, 'a second watcher shares the job feed');
    assert.equal(opened(), 1, 'one subscription for every watched job');
    const [wa, wb] = [new Watcher(), new Watcher()];
    feedA.add(wa);
    feedB.add(wb);

    await write(store, `joblog-${a}`, ...lines(a, 0, 3));
    await write(store, `joblog-${b}`, ...lines(b, 0, 2));
    await write(store, `job-${b}`, {
      type: 'JobStarted',
      data: { job_id: b, kind: 'check', started_at: new Date().toISOString() },
    });
    await write(store, `joblog-${a}`, ...lines(a, 3, 1));
    await until(() => wa.items.length === 4 && wb.statuses.length === 1, 'routed items');
    assert.deepEqual(wa.seqs(), [0, 1, 2, 3]);
    assert.deepEqual(wb.seqs(), [0, 1]);
    assert.deepEqual(wb.statuses, ['running']);
    assert.deepEqual(wa.statuses, []);

    await write(store, `job-${b}`, {
      type: 'JobFinished',
      data: { job_id: b, status: 'succeeded', exit_code: 0, finished_at: new Date().toISOString() },
    });
    await until(() => wb.ended !== null, 'the end of job b');
    assert.equal(wb.ended?.status, 'succeeded');

    feeds.release(feedA);
    feeds.release(feedB);
    assert.equal(open(), 1, 'job a is still watched');
    feeds.release(feedA);
    await until(() => open() === 0, 'the subscription to close');
    assert.equal(feeds.openFeeds, 0);

    assert.equal(await feeds.acquire(randomUUID()), null, 'no such job');
    await until(() => open() === 0, 'no subscription for a job that does not exist');
    const reopened = (await feeds.acquire(a))!;
    assert.equal(reopened.status, 'queued');
    assert.equal(opened(), 3, 'a new subscription from the head once a job is watched again');
    feeds.release(reopened);
    feeds.onModuleDestroy();
  });
});
