import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_RETRY_POLICY, nextAttemptAt } from './retry-policy';

describe('retry policy', () => {
  it('doubles the wait from 30 s up to an hour', () => {
    const waits: number[] = [];
    for (let attempt = 1; attempt <= 10; attempt++) {
      const at = nextAttemptAt(DEFAULT_RETRY_POLICY, 0, attempt, 1000);
      assert.ok(at !== undefined);
      waits.push((at - 1000) / 1000);
    }
    assert.deepEqual(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
  });

  it('gives up when the next attempt would start more than 24 h after the first', () => {
    const H = 3_600_000;
    assert.equal(nextAttemptAt(DEFAULT_RETRY_POLICY, 0, 40, 23 * H), 24 * H);
    assert.equal(nextAttemptAt(DEFAULT_RETRY_POLICY, 0, 40, 23 * H + 1), undefined);
    assert.equal(
      nextAttemptAt(DEFAULT_RETRY_POLICY, 0, 1_000, 0),
      3_600_000,
      'a huge attempt count stays finite',
    );
  });
});
