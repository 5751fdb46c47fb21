import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SlidingWindowLimiter } from './rate-limiter';

describe('SlidingWindowLimiter', () => {
  it('allows `limit` hits per window, then reports how long to wait', () => {
    let now = 1_000_000;
    const limiter = new SlidingWindowLimiter(3, 60_000, () => now);
    for (let i = 0; i < 3; i++) {
      assert.equal(limiter.retryAfterMs('k'), 0);
      limiter.record('k');
      now += 1000;
    }
    assert.equal(limiter.retryAfterMs('k'), 57_000);
    assert.equal(limiter.retryAfterMs('other'), 0);
    now += 57_000;
    assert.equal(limiter.retryAfterMs('k'), 0);
  });

  it('forgets a key on reset', () => {
    const limiter = new SlidingWindowLimiter(1, 60_000, () => 5);
    limiter.record('k');
    assert.ok(limiter.retryAfterMs('k') > 0);
    limiter.reset('k');
    assert.equal(limiter.retryAfterMs('k'), 0);
  });
});
