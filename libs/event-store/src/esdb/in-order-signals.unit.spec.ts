import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Transform, type TransformCallback } from 'node:stream';
import { once } from 'node:events';
import { InOrderSignals } from './in-order-signals';

/** Mirrors how @eventstore/db-client's Subscription turns server messages into `data` items and out-of-band `caughtUp`. */
class SubscriptionLikeTransform extends Transform {
  constructor() {
    super({ objectMode: true });
  }

  override _transform(msg: { event?: number; caughtUp?: true }, _enc: string, next: TransformCallback): void {
    if (msg.caughtUp) this.emit('caughtUp');
    if (msg.event !== undefined) return next(null, msg.event);
    next();
  }
}

const messages = [{ event: 1 }, { event: 2 }, { event: 3 }, { caughtUp: true as const }, { event: 4 }];

async function run(useSignals: boolean): Promise<(number | string)[]> {
  const sub = new SubscriptionLikeTransform();
  const signals = new InOrderSignals();
  signals.attach(sub);
  const log: (number | string)[] = [];
  sub.on('data', (n: number) => {
    log.push(n);
    signals.itemDelivered();
  });
  sub.on('caughtUp', () => (useSignals ? signals.signal(() => log.push('caughtUp')) : log.push('caughtUp')));
  // A consumer that is momentarily paused lets items queue in the readable buffer.
  sub.pause();
  for (const m of messages) sub.write(m);
  sub.end();
  setImmediate(() => sub.resume());
  await once(sub, 'end');
  return log;
}

describe('InOrderSignals', () => {
  it('shows the problem: a raw caughtUp overtakes buffered catch-up events', async () => {
    assert.deepEqual(await run(false), ['caughtUp', 1, 2, 3, 4]);
  });

  it('holds caughtUp until the events buffered before it are delivered', async () => {
    assert.deepEqual(await run(true), [1, 2, 3, 'caughtUp', 4]);
  });

  it('runs a signal at once when nothing is buffered, and keeps several pending signals in order', () => {
    let buffered = 0;
    const signals = new InOrderSignals();
    signals.attach({
      get readableLength() {
        return buffered;
      },
    });
    const log: string[] = [];
    signals.signal(() => log.push('now'));
    buffered = 2;
    signals.signal(() => log.push('after two'));
    buffered = 3;
    signals.signal(() => log.push('after three'));
    signals.itemDelivered();
    assert.deepEqual(log, ['now']);
    signals.itemDelivered();
    assert.deepEqual(log, ['now', 'after two']);
    signals.itemDelivered();
    assert.deepEqual(log, ['now', 'after two', 'after three']);
  });
});
