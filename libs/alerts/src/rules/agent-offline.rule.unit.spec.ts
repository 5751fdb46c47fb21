import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FleetLog, HOUR, LiveRules, MINUTE, raisedOf, resolvedOf } from './alert-rules.testing';

describe('agent_offline', () => {
  it('raises after 15 minutes offline and resolves when the agent reconnects', () => {
    const log = new FleetLog('2024-05-01T10:00:00Z').enrol('web-1').connect('web-1');
    const rules = new LiveRules(log);
    log.at('2024-05-01T11:00:00Z').disconnect('web-1');
    assert.deepEqual(rules.at(log.now + 15 * MINUTE), [], 'exactly the threshold is not yet "longer"');
    const [a] = raisedOf(rules.at(log.now + 1000));
    assert.equal(a.rule, 'agent_offline');
    assert.equal(a.severity, 'warning');
    assert.equal(a.summary, 'web-1.example has been offline since 2024-05-01 11:00 UTC (more than 15 min)');
    assert.deepEqual(a.details, {
      disconnected_at: '2024-05-01T11:00:00.000Z',
      reason: 'heartbeat_timeout',
      threshold_s: 900,
    });
    assert.deepEqual(rules.at(log.now + HOUR), []);
    log.connect('web-1');
    assert.deepEqual(
      resolvedOf(rules.evaluate()).map((r) => r.reason),
      ['the agent reconnected'],
    );
  });

  it('uses the threshold of the host override, and never raises for a host that never connected or was removed', () => {
    const log = new FleetLog('2024-05-01T10:00:00Z')
      .enrol('a')
      .connect('a')
      .enrol('b')
      .connect('b')
      .enrol('never');
    log.rules({ agent_offline: { threshold_s: 3600 } }, { b: { agent_offline: { threshold_s: 120 } } });
    const rules = new LiveRules(log);
    log.disconnect('a').disconnect('b');
    assert.deepEqual(
      raisedOf(rules.at(log.now + 3 * MINUTE)).map((x) => x.host_id),
      ['b'],
    );
    assert.deepEqual(
      raisedOf(rules.at(log.now + HOUR)).map((x) => x.host_id),
      ['a'],
    );
    log.append('HostRevoked', { host_id: 'a', revoked_at: log.iso });
    assert.deepEqual(
      resolvedOf(rules.evaluate()).map((r) => r.reason),
      ['the host was removed'],
    );
    assert.deepEqual(rules.at(log.now + 100 * HOUR), []);
  });

  it('counts the control plane’s own shutdown only from when it watches again', () => {
    const log = new FleetLog('2024-05-01T10:00:00Z').enrol('web-1').connect('web-1');
    log.at('2024-05-01T12:00:00Z').disconnect('web-1', 'server_shutdown');
    log.at('2024-05-01T20:00:00Z');
    const rules = new LiveRules(log); // started at 20:00
    assert.deepEqual(rules.evaluate(), [], 'hosts get a chance to reconnect after a restart');
    assert.equal(raisedOf(rules.at(log.now + 16 * MINUTE)).length, 1);
  });

  it('judges an agent’s own disconnection from its time, even across a restart', () => {
    const log = new FleetLog('2024-05-01T10:00:00Z').enrol('web-1').connect('web-1');
    log.at('2024-05-01T12:00:00Z').disconnect('web-1', 'closed');
    log.at('2024-05-01T20:00:00Z');
    assert.equal(raisedOf(new LiveRules(log).evaluate()).length, 1);
  });
});
