import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { Subject, type Observable } from 'rxjs';
import type { EventStore, SubscribeToAllOptions, SubscriptionItem } from '@rf/event-store';
import type { Position } from '@rf/events';
import { ProjectionRunner } from './projection.runner';
import { isProjectionError } from './projection.errors';
import { ALL_PROJECTIONS } from '../read-models/all.projections';
import { JobsQuery } from '../queries/jobs.query';
import { planned, recorded, at } from '../testing/fleet-events.fixture';
import { waitUntil } from '../testing/event-log.helpers';

/** A stand-in store: each subscribeToAll call gets its own Subject the spec drives. */
class ScriptedStore {
  readonly subscriptions: Array<{ options: SubscribeToAllOptions; subject: Subject<SubscriptionItem> }> = [];
  head: Position | null = null;
  subscribeToAll(options: SubscribeToAllOptions = {}): Observable<SubscriptionItem> {
    const subject = new Subject<SubscriptionItem>();
    this.subscriptions.push({ options, subject });
    return subject;
  }
  async headPosition(): Promise<Position | null> {
    return this.head;
  }
  last(): Subject<SubscriptionItem> {
    return this.subscriptions[this.subscriptions.length - 1]!.subject;
  }
}

const requestedEvent = (n: number) =>
  ({
    kind: 'event',
    event: recorded(
      n,
      planned(`job-j${n}`, 'JobRequested', {
        job_id: `j${n}`,
        host_id: 'h1',
        kind: 'check',
        args: {},
        requested_at: at(n),
      }),
    ),
  }) as const;

describe('ProjectionRunner (scripted store)', () => {
  let runner: ProjectionRunner | undefined;
  afterEach(async () => {
    await runner?.stop();
  });

  it('resubscribes after the subscription fails, from the committed checkpoint', async () => {
    const store = new ScriptedStore();
    const db = new Database(':memory:');
    const errors: unknown[] = [];
    runner = new ProjectionRunner(store as unknown as EventStore, db, ALL_PROJECTIONS, {
      batchSize: 2,
      flushMs: 5,
      retryMs: 5,
      onError: (e) => errors.push(e),
    });
    runner.start();
    assert.equal(store.subscriptions[0]?.options.fromPosition, 'start');
    for (const n of [1, 2, 3]) store.last().next(requestedEvent(n));
    // 1 and 2 were flushed by count; 3 is still buffered when the connection drops.
    store.last().error(new Error('connection reset'));
    await waitUntil(() => store.subscriptions.length === 2, 2000, 'a resubscription');
    assert.deepEqual(store.subscriptions[1]?.options.fromPosition, { commit: 2n, prepare: 2n });
    assert.match(String(errors[0]), /connection reset/);
    for (const n of [3, 4]) store.last().next(requestedEvent(n));
    store.last().next({ kind: 'caughtUp' });
    await runner.waitForPosition({ commit: 4n, prepare: 4n }, 2000);
    assert.deepEqual(
      new JobsQuery(db).list().map((j) => j.id),
      ['j4', 'j3', 'j2', 'j1'],
    );
    assert.equal(runner.isCaughtUp(), true);
  });

  it('rejects pending waits with RunnerStopped when stopped', async () => {
    const store = new ScriptedStore();
    runner = new ProjectionRunner(store as unknown as EventStore, new Database(':memory:'), ALL_PROJECTIONS);
    runner.start();
    const wait = runner.waitForPosition({ commit: 9n, prepare: 9n }, 5000);
    await runner.stop();
    await assert.rejects(wait, (err: unknown) => isProjectionError(err, 'RunnerStopped'));
  });
});
