import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FleetLog, HOUR, LiveRules, raisedOf, resolvedOf } from './alert-rules.testing';

describe('log_lines_dropped', () => {
  it('raises for dropped lines, covers later drops while open, and closes only when acknowledged', () => {
    const log = new FleetLog('2024-05-01T10:00:00Z').enrol('web-1').connect('web-1');
    const rules = new LiveRules(log);
    log.job('j1', 'web-1', 'backup', 'succeeded', { dropped: 1234 });
    const [a] = raisedOf(rules.evaluate());
    assert.equal(a.rule, 'log_lines_dropped');
    assert.equal(a.job_id, 'j1');
    assert.equal(
      a.summary,
      'The agent on web-1.example dropped 1,234 log lines of a job because its outbox was full',
    );
    log
      .request('j2', 'web-1')
      .append('LogLinesDropped', { job_id: 'j2', from_seq: 1, to_seq: 10, count: 10 });
    assert.deepEqual(rules.at(log.now + 48 * HOUR), [], 'covered by the open alert, which no time resolves');
    log.ack(a.alert_id, 'alice');
    assert.deepEqual(
      resolvedOf(rules.evaluate()).map((r) => r.reason),
      ['acknowledged by alice'],
    );
    assert.deepEqual(rules.evaluate(), [], 'drops before the acknowledgement do not come back');
    log.append('LogLinesDropped', { job_id: 'j2', from_seq: 11, to_seq: 12, count: 2 });
    const [again] = raisedOf(rules.evaluate());
    assert.notEqual(again.alert_id, a.alert_id);
    assert.equal(again.job_id, 'j2');
  });

  it('keeps nothing pending for a host where the rule is off', () => {
    const log = new FleetLog('2024-05-01T10:00:00Z').enrol('web-1').connect('web-1');
    log.rules({}, { 'web-1': { log_lines_dropped: { enabled: false } } });
    const rules = new LiveRules(log);
    log.job('j1', 'web-1', 'backup', 'succeeded', { dropped: 5 });
    assert.deepEqual(rules.evaluate(), []);
    log.rules({});
    assert.deepEqual(rules.evaluate(), [], 'turning the rule on later does not dig up old drops');
  });
});
