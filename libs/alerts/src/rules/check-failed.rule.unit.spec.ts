import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { legacyRepositoryId } from '@rf/events';
import { FleetLog, LiveRules, raisedOf, resolvedOf } from './alert-rules.testing';

describe('check_failed', () => {
  it('raises when a check finds errors and resolves when a later check finds none', () => {
    const log = new FleetLog('2024-05-01T10:00:00Z').enrol('web-1').connect('web-1');
    const rules = new LiveRules(log);
    log.job('c1', 'web-1', 'check', 'failed', {
      error_code: 'fatal',
      error: 'The check found damage in the repository.',
    });
    const raised = raisedOf(rules.evaluate());
    const check = raised.find((a) => a.rule === 'check_failed');
    assert.ok(check, JSON.stringify(raised));
    assert.equal(check.subject, `repository:${legacyRepositoryId('web-1')}`);
    assert.equal(check.repository_id, legacyRepositoryId('web-1'));
    assert.equal(check.host_id, 'web-1');
    assert.equal(
      check.summary,
      'restic check found errors in repository web-1.example: The check found damage in the repository.',
    );
    log.job('b1', 'web-1', 'backup', 'succeeded');
    assert.deepEqual(resolvedOf(rules.evaluate()), [], 'a backup does not say the repository is sound');
    log.job('c2', 'web-1', 'check', 'succeeded');
    assert.deepEqual(
      resolvedOf(rules.evaluate())
        .map((r) => r.reason)
        .sort(),
      ['a later check found no errors', 'a later check job succeeded'],
    );
  });

  it('does not raise for a check that could not run (locked, wrong password, unreachable)', () => {
    const log = new FleetLog('2024-05-01T10:00:00Z').enrol('web-1').connect('web-1');
    const rules = new LiveRules(log);
    log.job('c1', 'web-1', 'check', 'failed', { error_code: 'locked' });
    log.job('c2', 'web-1', 'check', 'failed', { error_code: 'wrong_password' });
    log.job('c3', 'web-1', 'check', 'failed', { error_code: 'unreachable' });
    assert.deepEqual(
      raisedOf(rules.evaluate())
        .map((a) => a.rule)
        .filter((r) => r === 'check_failed'),
      [],
    );
  });
});
