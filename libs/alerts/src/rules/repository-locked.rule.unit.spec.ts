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
    assert.match(a.summary, /^Repository web-1.example is locked: 2 jobs in a row failed on the lock/);
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

  it('watches a shared repository as one: lock failures from two hosts are in a row, and any host’s success resolves', () => {
    const log = new FleetLog('2024-05-01T10:00:00Z').enrol('a').connect('a').enrol('b').connect('b');
    log.rules({ job_failed: { enabled: false } }).sharedRepository('offsite', 'offsite', ['a', 'b']);
    const rules = new LiveRules(log);
    log.job('j1', 'a', 'backup', 'failed', { ...locked, repository: 'offsite' });
    log.job('j2', 'b', 'prune', 'failed', { ...locked, repository: 'offsite' });
    const [alert] = raisedOf(rules.evaluate());
    assert.equal(alert.subject, 'repository:offsite');
    assert.equal(alert.repository_id, 'offsite');
    assert.equal(alert.host_id, 'b');
    assert.match(alert.summary, /^Repository offsite is locked: 2 jobs in a row/);
    log.append('HostRevoked', { host_id: 'a', revoked_at: log.iso });
    assert.deepEqual(rules.evaluate(), [], 'one host leaving does not unlock the repository');
    log.job('j3', 'b', 'backup', 'succeeded');
    assert.deepEqual(
      resolvedOf(rules.evaluate()).map((r) => r.reason),
      ['a job on the repository succeeded'],
      'b’s only repository',
    );
    log.job('j4', 'b', 'backup', 'failed', { ...locked, repository: 'offsite' });
    log.job('j5', 'b', 'backup', 'failed', { ...locked, repository: 'offsite' });
    assert.equal(raisedOf(rules.evaluate()).length, 1);
    log.append('RepositoryRemoved', { repository_id: 'offsite' });
    assert.deepEqual(
      resolvedOf(rules.evaluate()).map((r) => r.reason),
      ['the repository was removed'],
    );
  });
});
