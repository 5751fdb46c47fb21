import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FleetLog, LiveRules, raisedOf, resolvedOf } from './alert-rules.testing';

const locked = { error_code: 'locked', error: 'Another restic process holds the lock' };

function fleet() {
  const log = new FleetLog('2024-05-01T10:00:00Z').enrol('web-1').connect('web-1');
  log.rules({ job_failed: { enabled: false } });
  return { log, rules: new LiveRules(log) };
}

describe('repository_locked', () => {
  it('raises when two jobs in a row fail on the lock, and a success resolves it', () => {
    const { log, rules } = fleet();
    log.job('j1', 'web-1', 'backup', 'failed', locked);
    assert.deepEqual(rules.evaluate(), [], 'one lock failure can be a concurrent job');
    log.job('j2', 'web-1', 'prune', 'failed', { ...locked, error_code: 'repo_locked' });
    const [a] = raisedOf(rules.evaluate());
    assert.equal(a.rule, 'repository_locked');
    assert.equal(a.severity, 'warning');
    assert.equal(a.job_id, 'j2');
    assert.match(a.summary, /The repository of web-1.example is locked: 2 jobs in a row failed on the lock/);
    log.job('j3', 'web-1', 'backup', 'failed', locked);
    assert.deepEqual(rules.evaluate(), []);
    log.job('j4', 'web-1', 'unlock', 'succeeded');
    assert.deepEqual(
      resolvedOf(rules.evaluate()).map((r) => r.reason),
      ['a job on the repository succeeded'],
    );
  });

  it('needs the lock failures in a row', () => {
    const { log, rules } = fleet();
    log.job('j1', 'web-1', 'backup', 'failed', locked);
    log.job('j2', 'web-1', 'backup', 'failed', { error_code: 'unreachable' });
    log.job('j3', 'web-1', 'backup', 'failed', locked);
    assert.deepEqual(rules.evaluate(), []);
    log.job('j4', 'web-1', 'backup', 'cancelled');
    log.job('j5', 'web-1', 'backup', 'failed', locked);
    assert.equal(raisedOf(rules.evaluate()).length, 1, 'a cancelled job does not break the streak');
  });
});
