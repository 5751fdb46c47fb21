import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Subject, firstValueFrom, take, toArray, timeout } from 'rxjs';
import type { SubscriptionItem } from '@rf/event-store';
import { batchEvents } from './batch-events.operator';
import { planned, recorded } from '../testing/fleet-events.fixture';

const ev = (n: number): SubscriptionItem => ({
  kind: 'event',
  event: recorded(n, planned('job-x', 'JobStarted', { job_id: 'x' })),
});
const positions = (b: { events: readonly { position: { commit: bigint } }[] }): number[] =>
  b.events.map((e) => Number(e.position.commit));

describe('batchEvents', () => {
  it('flushes by count, then at caught-up, then by time', async () => {
    const source = new Subject<SubscriptionItem>();
    const batches = firstValueFrom(source.pipe(batchEvents(3, 30), take(4), toArray(), timeout(2000)));
    for (let i = 1; i <= 4; i++) source.next(ev(i));
    source.next({ kind: 'caughtUp' });
    source.next(ev(5));
    await new Promise((r) => setTimeout(r, 80));
    source.next({ kind: 'caughtUp' });
    const got = await batches;
    assert.deepEqual(got.map(positions), [[1, 2, 3], [4], [5], []]);
    assert.deepEqual(
      got.map((b) => b.caughtUp),
      [false, true, false, true],
    );
  });

  it('passes errors through and drops the partial batch (the runner re-reads from its checkpoint)', async () => {
    const source = new Subject<SubscriptionItem>();
    const seen: number[][] = [];
    const done = new Promise<unknown>((resolve) =>
      source.pipe(batchEvents(10, 1000)).subscribe({ next: (b) => seen.push(positions(b)), error: resolve }),
    );
    source.next(ev(1));
    source.error(new Error('connection lost'));
    assert.match(String(await done), /connection lost/);
    assert.deepEqual(seen, []);
  });
});
