import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeliveryQueue } from './delivery-queue';

/** A job that runs until the test releases it. */
function gate() {
  const started: string[] = [];
  const release = new Map<string, () => void>();
  const run = (item: string) =>
    new Promise<void>((resolve) => {
      started.push(item);
      release.set(item, resolve);
    });
  return { started, release: (item: string) => release.get(item)?.(), run };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('DeliveryQueue', () => {
  it('runs each lane with its own concurrency, so a stuck lane holds back only itself', async () => {
    const g = gate();
    const q = new DeliveryQueue(g.run, { concurrency: 2, maxWaitingPerLane: 100 });
    for (const i of [1, 2, 3, 4]) q.offer('dead', `dead-${i}`, `dead-${i}`);
    q.offer('ok', 'ok-1', 'ok-1');
    q.offer('ok', 'ok-2', 'ok-2');
    q.offer('ok', 'ok-3', 'ok-3');
    await tick();
    assert.deepEqual(g.started, ['dead-1', 'dead-2', 'ok-1', 'ok-2']);
    g.release('ok-1');
    await tick();
    assert.deepEqual(g.started.slice(4), ['ok-3'], 'the healthy lane moves on while the dead one is stuck');
    g.release('dead-1');
    await tick();
    assert.equal(g.started.at(-1), 'dead-3');
  });

  it('holds a key once while queued or running, and again after it finished', async () => {
    const g = gate();
    const q = new DeliveryQueue(g.run, { concurrency: 1, maxWaitingPerLane: 100 });
    assert.equal(q.offer('a', 'k', 'first'), true);
    assert.equal(q.offer('a', 'k', 'again'), false);
    assert.equal(q.has('k'), true);
    g.release('first');
    await q.idle();
    assert.equal(q.has('k'), false);
    assert.equal(q.offer('a', 'k', 'later'), true);
    g.release('later');
    await q.idle();
    assert.deepEqual(g.started, ['first', 'later']);
  });

  it('refuses work beyond a lane’s limit and survives a job that throws', async () => {
    const q = new DeliveryQueue<string>(
      async (item) => {
        if (item === 'boom') throw new Error('boom');
      },
      { concurrency: 1, maxWaitingPerLane: 1 },
    );
    assert.equal(q.offer('a', '1', 'boom'), true);
    assert.equal(q.offer('a', '2', 'x'), true);
    assert.equal(q.offer('a', '3', 'y'), false, 'one running and one waiting fill the lane');
    await q.idle();
    assert.equal(q.pending, 0);
  });
});
