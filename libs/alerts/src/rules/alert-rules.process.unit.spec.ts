import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { legacyRepositoryId } from '@rf/events';
import { FleetLog, HOUR, LiveRules, MINUTE, raisedOf, resolvedOf } from './alert-rules.testing';
import { AlertRulesProcess } from './alert-rules.process';

/** Two hosts with a few troubles. */
function troubledFleet(): FleetLog {
  const log = new FleetLog('2024-05-01T10:00:00Z');
  log.enrol('a').connect('a').enrol('b').connect('b');
  log.schedules('a', 1, [{ id: 'nightly', cron: '0 2 * * *' }]).applied('a', 1);
  log.job('j1', 'a', 'backup', 'failed', { error_code: 'wrong_password' });
  log.after(HOUR).disconnect('b');
  return log;
}

describe('AlertRulesProcess', () => {
  it('decides the same from the same log and clock: ids, events and order', () => {
    const log = troubledFleet();
    log.after(HOUR);
    const decide = () => {
      const p = new AlertRulesProcess({ watchingSince: new Date(0) });
      for (const e of log.events) p.apply(e);
      return p.evaluate(new Date(log.now));
    };
    const first = decide();
    assert.deepEqual(
      first.map((d) => `${d.event.type} ${d.event.data.alert_id.length}`),
      ['AlertRaised 36', 'AlertRaised 36'],
    );
    assert.deepEqual(decide(), first);
  });

  it('never decides again what a replayed log already holds', () => {
    const log = troubledFleet();
    const live = new LiveRules(log, 0);
    let total = 0;
    for (let i = 0; i < 48; i++) total += live.at(log.now + HOUR).length;
    log.job('j2', 'a', 'backup', 'succeeded', { schedule: 'nightly' }).connect('b');
    total += live.evaluate().length;
    assert.ok(total >= 4, `raised and resolved something (${total})`);
    const replayed = new LiveRules(log, 0);
    assert.deepEqual(replayed.evaluate(), []);
  });

  it('turning a rule off resolves its open alerts and raises no more; per host too', () => {
    const log = troubledFleet();
    const rules = new LiveRules(log, 0);
    assert.equal(raisedOf(rules.at(log.now + HOUR)).length, 2);
    log.rules({}, { b: { agent_offline: { enabled: false } } });
    assert.deepEqual(
      resolvedOf(rules.evaluate()).map((r) => r.reason),
      ['the agent_offline rule was turned off'],
    );
    log.rules({ job_failed: { enabled: false } });
    const decisions = rules.evaluate();
    assert.deepEqual(
      resolvedOf(decisions).map((r) => r.reason),
      ['the job_failed rule was turned off'],
    );
    assert.deepEqual(
      raisedOf(decisions).map((r) => r.rule),
      ['agent_offline'],
      'b is watched again',
    );
    log.job('j9', 'a', 'backup', 'failed');
    assert.deepEqual(rules.evaluate(), []);
  });

  it('raises with the severity of the settings, the host override first', () => {
    const log = troubledFleet();
    log.rules(
      { job_failed: { severity: 'warning' }, agent_offline: { severity: 'error' } },
      { a: { job_failed: { severity: 'info' } } },
    );
    const raised = raisedOf(new LiveRules(log, 0).at(log.now + HOUR));
    assert.deepEqual(
      raised.map((r) => [r.rule, r.severity]),
      [
        ['job_failed', 'info'],
        ['agent_offline', 'error'],
      ],
    );
  });

  it('resolves every open alert of a revoked host and raises nothing for it', () => {
    const log = troubledFleet();
    const rules = new LiveRules(log, 0);
    rules.at(log.now + HOUR);
    log
      .append('HostRevoked', { host_id: 'a', revoked_at: log.iso })
      .append('HostRevoked', { host_id: 'b', revoked_at: log.iso });
    assert.deepEqual(
      resolvedOf(rules.evaluate()).map((r) => r.reason),
      ['the host was removed', 'the host was removed'],
    );
    assert.deepEqual(rules.at(log.now + 72 * HOUR), []);
  });

  it('ignores acknowledgements and resolutions of alerts it does not know, and events of newer versions', () => {
    const log = troubledFleet();
    log.ack('no-such-alert').append('AlertResolved', { alert_id: 'nope', reason: 'x', resolved_at: log.iso });
    log.record({ type: 'unknown', original_type: 'HostTeleported', data: {} } as never);
    assert.equal(raisedOf(new LiveRules(log, 0).at(log.now + 20 * MINUTE)).length, 2);
  });

  it('copes with two open alerts for one subject (two nodes racing): neither is lost, no third is raised', () => {
    const log = new FleetLog('2024-05-01T10:00:00Z').enrol('a').connect('a');
    log.job('j1', 'a', 'backup', 'failed');
    const raised = (alert_id: string) =>
      log.append('AlertRaised', {
        alert_id,
        rule: 'job_failed',
        severity: 'error',
        subject: `host:a/kind:backup/repository:${legacyRepositoryId('a')}`,
        host_id: 'a',
        summary: 'backup job failed',
        details: {},
        raised_at: log.iso,
      });
    raised('first');
    raised('second');
    const rules = new LiveRules(log, 0);
    assert.deepEqual(rules.evaluate(), []);
    log.append('AlertResolved', { alert_id: 'first', reason: 'by hand', resolved_at: log.iso });
    assert.deepEqual(rules.evaluate(), [], 'the second one still covers the condition');
    log.job('j2', 'a', 'backup', 'succeeded');
    assert.deepEqual(
      resolvedOf(rules.evaluate()).map((r) => r.alert_id),
      ['second'],
    );
  });
});
