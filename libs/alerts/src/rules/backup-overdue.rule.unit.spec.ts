import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FleetLog, HOUR, LiveRules, MINUTE, raisedOf, resolvedOf } from './alert-rules.testing';

const DAILY = { id: 'nightly', cron: '0 2 * * *' };

/** web-1 online with a daily 02:00 backup schedule set up at 2024-05-01 10:00. */
function fleet(): { log: FleetLog; rules: LiveRules } {
  const log = new FleetLog('2024-05-01T10:00:00Z')
    .enrol('web-1')
    .connect('web-1')
    .schedules('web-1', 1, [DAILY])
    .applied('web-1', 1);
  return { log, rules: new LiveRules(log) };
}

describe('backup_overdue', () => {
  it('raises once the interval plus grace has passed since the last success, and only once', () => {
    const { log, rules } = fleet();
    log.at('2024-05-02T02:40:00Z').job('b1', 'web-1', 'backup', 'succeeded', { schedule: 'nightly' });
    // Deadline: 02:40 + 24 h + 6 h grace = 2024-05-03 08:40.
    assert.deepEqual(rules.at('2024-05-03T08:39:00Z'), []);
    const [alert] = raisedOf(rules.at('2024-05-03T08:41:00Z'));
    assert.equal(alert.rule, 'backup_overdue');
    assert.equal(alert.subject, 'host:web-1/schedule:nightly');
    assert.equal(alert.schedule_id, 'nightly');
    assert.equal(alert.severity, 'error');
    assert.match(
      alert.summary,
      /No successful backup of schedule nightly on web-1\.example since 2024-05-02 02:40 UTC/,
    );
    assert.match(alert.summary, /every 1 d, grace 6 h/);
    assert.equal(alert.details.deadline, '2024-05-03T08:40:00.000Z');
    assert.deepEqual(rules.at('2024-05-03T12:00:00Z'), [], 'a persisting condition does not raise twice');
    assert.deepEqual(rules.at('2024-05-05T12:00:00Z'), []);
  });

  it('is resolved by a successful (or warning) backup of that schedule, not by another one', () => {
    const { log, rules } = fleet();
    assert.equal(
      raisedOf(rules.at('2024-05-02T16:01:00Z')).length,
      1,
      'never ran since set up: counts from setup',
    );
    log.at('2024-05-02T17:00:00Z').job('manual', 'web-1', 'backup', 'succeeded');
    assert.deepEqual(rules.evaluate(), []);
    log.job('b2', 'web-1', 'backup', 'warning', { schedule: 'nightly' });
    const [resolved] = resolvedOf(rules.evaluate());
    assert.match(resolved.reason, /a backup of schedule nightly succeeded at 2024-05-02 17:00 UTC/);
  });

  it('counts a full interval from a backup that finished in the last second before a fire', () => {
    const { log, rules } = fleet();
    log.at('2024-05-02T01:59:59.500Z').job('b1', 'web-1', 'backup', 'succeeded', { schedule: 'nightly' });
    // 01:59:59.5 + 24 h + 6 h grace: not 1 h of grace after an interval of 0.
    assert.deepEqual(rules.at('2024-05-02T03:00:00Z'), []);
    assert.deepEqual(rules.at('2024-05-03T07:59:00Z'), []);
    const [alert] = raisedOf(rules.at('2024-05-03T08:00:00Z'));
    assert.equal(alert?.details.deadline, '2024-05-03T07:59:59.500Z');
  });

  it('expects the Friday→Monday gap of a weekday schedule', () => {
    const log = new FleetLog('2024-05-01T00:00:00Z')
      .enrol('h')
      .connect('h')
      .schedules('h', 1, [{ id: 'wd', cron: '0 2 * * 1-5' }])
      .applied('h', 1);
    const rules = new LiveRules(log);
    log.at('2024-05-03T02:30:00Z').job('fri', 'h', 'backup', 'succeeded', { schedule: 'wd' });
    // 02:30 Friday + 72 h + 18 h grace = Monday 20:30.
    assert.deepEqual(rules.at('2024-05-04T12:00:00Z'), [], 'no alert on Saturday');
    assert.deepEqual(rules.at('2024-05-06T20:29:00Z'), []);
    assert.equal(raisedOf(rules.at('2024-05-06T20:31:00Z')).length, 1);
  });

  it('takes the grace from threshold_s, per host', () => {
    const { log, rules } = fleet();
    log.at('2024-05-02T02:40:00Z').job('b1', 'web-1', 'backup', 'succeeded', { schedule: 'nightly' });
    log.rules({}, { 'web-1': { backup_overdue: { threshold_s: 600 } } });
    assert.deepEqual(rules.at('2024-05-03T02:49:00Z'), []);
    assert.match(raisedOf(rules.at('2024-05-03T02:51:00Z'))[0].summary, /grace 10 min/);
  });

  it('resolves when the schedule is disabled or removed, and ignores disabled schedules', () => {
    const { log, rules } = fleet();
    assert.equal(raisedOf(rules.at('2024-05-03T00:00:00Z')).length, 1);
    log.schedules('web-1', 2, [{ ...DAILY, enabled: false }]).applied('web-1', 2);
    assert.match(resolvedOf(rules.evaluate())[0].reason, /schedule nightly was removed or disabled/);
    assert.deepEqual(rules.at('2024-06-01T00:00:00Z'), []);
  });

  it('raises once after a restart when the deadline passed while the control plane was down', () => {
    const { log } = fleet();
    log.at('2024-05-02T02:40:00Z').job('b1', 'web-1', 'backup', 'succeeded', { schedule: 'nightly' });
    log.at('2024-05-02T03:00:00Z').disconnect('web-1', 'server_shutdown');
    // Down for two days; a fresh process replays the log and evaluates.
    log.at('2024-05-04T09:00:00Z');
    const restarted = new LiveRules(log);
    const first = raisedOf(restarted.evaluate());
    assert.deepEqual(
      first.map((a) => a.rule),
      ['backup_overdue'],
    );
    // The agent is back; another restart replays the alert too and decides nothing new.
    log.after(5 * MINUTE).connect('web-1');
    assert.deepEqual(new LiveRules(log).evaluate(), []);
    assert.deepEqual(restarted.at(log.now + HOUR), []);
  });
});
