import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { legacyRepositoryId } from '@rf/events';
import { FleetLog, LiveRules, MINUTE, raisedOf, resolvedOf } from './alert-rules.testing';

const OWN = legacyRepositoryId('web-1');

function fleet() {
  const log = new FleetLog('2024-05-01T10:00:00Z').enrol('web-1').connect('web-1');
  return { log, rules: new LiveRules(log) };
}

describe('job_failed', () => {
  it('raises when a job fails, with its error, once per host and kind', () => {
    const { log, rules } = fleet();
    log.job('j1', 'web-1', 'backup', 'failed', {
      error_code: 'wrong_password',
      error: 'The repository password is wrong.\nmore detail',
      schedule: 's1',
    });
    const [a] = raisedOf(rules.evaluate());
    assert.equal(a.rule, 'job_failed');
    assert.equal(a.subject, `host:web-1/kind:backup/repository:${OWN}`);
    assert.equal(a.repository_id, OWN);
    assert.equal(a.job_id, 'j1');
    assert.equal(a.schedule_id, 's1');
    assert.equal(a.host_id, 'web-1');
    assert.equal(a.hostname, 'web-1.example');
    assert.equal(a.summary, 'backup job failed on web-1.example: The repository password is wrong.');
    assert.deepEqual(a.details, {
      kind: 'backup',
      status: 'failed',
      error_code: 'wrong_password',
      error: 'The repository password is wrong.',
      ended_at: '2024-05-01T10:00:00.000Z',
    });
    log.after(MINUTE).job('j2', 'web-1', 'backup', 'failed');
    assert.deepEqual(rules.evaluate(), [], 'the same failing condition does not raise again');
    log.job('j3', 'web-1', 'backup', 'cancelled');
    assert.deepEqual(rules.evaluate(), [], 'a cancelled job neither raises nor resolves');
  });

  it('keeps kinds apart and is resolved by the next job of the same kind that succeeds', () => {
    const { log, rules } = fleet();
    log.job('j1', 'web-1', 'backup', 'failed').job('j2', 'web-1', 'prune', 'failed');
    assert.deepEqual(
      raisedOf(rules.evaluate()).map((a) => a.subject),
      [`host:web-1/kind:backup/repository:${OWN}`, `host:web-1/kind:prune/repository:${OWN}`],
    );
    log.job('j3', 'web-1', 'prune', 'succeeded');
    const resolved = resolvedOf(rules.evaluate());
    assert.equal(resolved.length, 1);
    assert.equal(resolved[0].reason, 'a later prune job succeeded');
    log.job('j4', 'web-1', 'backup', 'warning');
    assert.equal(resolvedOf(rules.evaluate())[0].reason, 'a later backup job succeeded');
  });

  it('raises for a lost or rejected job, and a late success report of the lost job resolves it', () => {
    const { log, rules } = fleet();
    log.request('j1', 'web-1', 'check').lost('j1');
    const [lost] = raisedOf(rules.evaluate());
    assert.equal(lost.summary, 'check job was lost on web-1.example: agent away');
    log.finish('j1', 'succeeded');
    assert.equal(resolvedOf(rules.evaluate()).length, 1);
    log
      .request('j2', 'web-1', 'stats')
      .append('JobRejected', { job_id: 'j2', error: 'busy', rejected_at: log.iso });
    assert.match(raisedOf(rules.evaluate())[0].summary, /stats job failed on web-1.example: busy/);
  });

  it('raises anew (a new alert id) when a kind fails again after it was resolved', () => {
    const { log, rules } = fleet();
    log.job('j1', 'web-1', 'backup', 'failed');
    const first = raisedOf(rules.evaluate())[0];
    log.job('j2', 'web-1', 'backup', 'succeeded');
    rules.evaluate();
    log.job('j3', 'web-1', 'backup', 'failed');
    const second = raisedOf(rules.evaluate())[0];
    assert.notEqual(second.alert_id, first.alert_id);
    assert.equal(second.job_id, 'j3');
  });
});
