import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FleetLog, LiveRules, MINUTE, raisedOf, resolvedOf } from './alert-rules.testing';

const S = [{ id: 'nightly', cron: '0 2 * * *' }];

describe('schedules_not_applied', () => {
  it('raises when the desired version is not applied 10 minutes after it was set, while online', () => {
    const log = new FleetLog('2024-05-01T10:00:00Z')
      .enrol('web-1')
      .connect('web-1')
      .schedules('web-1', 1, S)
      .applied('web-1', 1);
    const rules = new LiveRules(log);
    log.at('2024-05-01T11:00:00Z').schedules('web-1', 2, S);
    assert.deepEqual(rules.at('2024-05-01T11:10:00Z'), []);
    const [a] = raisedOf(rules.at('2024-05-01T11:10:01Z'));
    assert.equal(a.rule, 'schedules_not_applied');
    assert.equal(
      a.summary,
      'web-1.example has not applied schedule version 2 (it runs version 1) for more than 10 min while online',
    );
    log.disconnect('web-1');
    assert.deepEqual(rules.evaluate(), [], 'going offline does not resolve it');
    log.connect('web-1').applied('web-1', 2);
    assert.deepEqual(
      resolvedOf(rules.evaluate()).map((r) => r.reason),
      ['the agent applied schedule version 2'],
    );
  });

  it('waits while the host is offline, and counts from its return', () => {
    const log = new FleetLog('2024-05-01T10:00:00Z').enrol('web-1').connect('web-1').disconnect('web-1');
    log.rules({ agent_offline: { enabled: false } });
    const rules = new LiveRules(log);
    log.schedules('web-1', 1, S);
    assert.deepEqual(rules.at(log.now + 60 * MINUTE), []);
    log.connect('web-1');
    assert.deepEqual(rules.at(log.now + 9 * MINUTE), []);
    assert.equal(raisedOf(rules.at(log.now + 2 * MINUTE)).length, 1);
  });
});
