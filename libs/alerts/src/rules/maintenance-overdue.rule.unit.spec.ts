import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RepositorySchedule } from '@rf/events';
import { FleetLog, LiveRules, raisedOf, resolvedOf } from './alert-rules.testing';

const PRUNE_WEEKLY = { id: 'weekly-prune', kind: 'prune', cron: '0 3 * * 0', enabled: true } as const;
const CHECK_DAILY = { id: 'daily-check', kind: 'check', cron: '0 4 * * *', enabled: true } as const;
const COPY_DAILY = {
  id: 'offsite',
  kind: 'copy',
  cron: '0 5 * * *',
  enabled: true,
  to_repository_id: 'r2',
} as const;

/** A repository shared by two hosts with a daily check, set up on Wednesday 2024-05-01 10:00. */
function fleet(schedules: readonly RepositorySchedule[] = [CHECK_DAILY]): {
  log: FleetLog;
  rules: LiveRules;
} {
  const log = new FleetLog('2024-05-01T10:00:00Z').enrol('h1', 'web-1').enrol('h2', 'db-1');
  log.sharedRepository('r1', 'shared', ['h1', 'h2']);
  log.append('RepositorySchedulesChanged', { repository_id: 'r1', version: 1, schedules: [...schedules] });
  return { log, rules: new LiveRules(log) };
}

/** A fire of a repository schedule: the job names the schedule and the repository. */
const run = (
  log: FleetLog,
  job: string,
  host: string,
  s: RepositorySchedule,
  status: 'succeeded' | 'failed',
) => log.job(job, host, s.kind, status, { schedule: s.id, repository: 'r1' });

describe('maintenance_overdue', () => {
  it('raises when a maintenance schedule has not succeeded for two of its intervals, once, about the repository', () => {
    const { log, rules } = fleet();
    run(log.at('2024-05-02T04:00:00Z'), 'c1', 'h1', CHECK_DAILY, 'succeeded');
    // Two daily intervals after the last success: 2024-05-04 04:00.
    assert.deepEqual(rules.at('2024-05-04T03:59:00Z'), []);
    run(log.at('2024-05-03T04:00:00Z'), 'c2', 'h2', CHECK_DAILY, 'failed');
    const meanwhile = raisedOf(rules.at('2024-05-04T03:59:00Z'));
    assert.deepEqual(
      meanwhile.map((a) => a.rule),
      ['job_failed'],
      'one failure is not yet two intervals',
    );
    const [alert] = raisedOf(rules.at('2024-05-04T04:01:00Z'));
    assert.equal(alert?.rule, 'maintenance_overdue');
    assert.equal(alert?.subject, 'repository:r1/schedule:daily-check');
    assert.equal(alert?.repository_id, 'r1');
    assert.equal(alert?.schedule_id, 'daily-check');
    assert.equal(alert?.host_id, undefined, 'about the repository, whichever host ran it');
    assert.equal(alert?.severity, 'warning');
    assert.match(
      alert?.summary ?? '',
      /No successful check of repository shared \(schedule daily-check\) since 2024-05-02 04:00 UTC; it runs every 1 d/,
    );
    assert.equal(alert?.details.deadline, '2024-05-04T04:00:00.000Z');
    assert.deepEqual(rules.at('2024-05-06T00:00:00Z'), [], 'a persisting condition does not raise twice');
  });

  it('counts from when the schedule was set up, uses the cron’s own interval, and resolves on a success of that schedule only', () => {
    const { log, rules } = fleet([PRUNE_WEEKLY]);
    // Weekly: set up Wed 10:00; two intervals = 14 days.
    assert.deepEqual(rules.at('2024-05-15T09:59:00Z'), []);
    const [alert] = raisedOf(rules.at('2024-05-15T10:01:00Z'));
    assert.match(
      alert?.summary ?? '',
      /since the schedule was set up at 2024-05-01 10:00 UTC; it runs every 7 d/,
    );
    // A prune not of this schedule (an operator's), or a check, resolves nothing.
    log.at('2024-05-15T11:00:00Z').job('manual', 'h1', 'prune', 'succeeded', { repository: 'r1' });
    log.job('other', 'h1', 'check', 'succeeded', { schedule: PRUNE_WEEKLY.id, repository: 'r1' });
    assert.deepEqual(rules.evaluate(), []);
    run(log, 'p1', 'h2', PRUNE_WEEKLY, 'succeeded');
    const [resolved] = resolvedOf(rules.evaluate());
    assert.match(
      resolved?.reason ?? '',
      /the prune of schedule weekly-prune succeeded at 2024-05-15 11:00 UTC/,
    );
  });

  it('resolves on a success in the last second before a fire, and later ticks still queued do not re-raise it', () => {
    // A 5 s forget schedule whose fired jobs do not finish (the log of the end-to-end spec).
    const FORGET_5S = { id: 'forget-5s', kind: 'forget', cron: '*/5 * * * * *', enabled: true } as const;
    const log = new FleetLog('2026-12-05T04:12:13.672Z').enrol('h1', 'web-1');
    log.sharedRepository('r1', 'shared', ['h1']);
    log.append('RepositorySchedulesChanged', { repository_id: 'r1', version: 1, schedules: [FORGET_5S] });
    const rules = new LiveRules(log);
    const tick = (job: string) =>
      log.request(job, 'h1', 'forget', { schedule: FORGET_5S.id, repository: 'r1' });
    log.at('2026-12-05T04:12:15.021Z');
    tick('f1');
    log.at('2026-12-05T04:12:20.011Z');
    tick('f2');
    const [alert] = raisedOf(rules.at('2026-12-05T04:12:23.877Z'));
    assert.equal(alert?.rule, 'maintenance_overdue');
    assert.match(alert?.summary ?? '', /No successful forget of repository shared \(schedule forget-5s\)/);
    // f1 succeeds 0.855 s before the 04:12:25 fire: the interval around it is 5 s, not 0.
    log.at('2026-12-05T04:12:24.145Z').finish('f1', 'succeeded');
    const [resolved] = resolvedOf(rules.evaluate());
    assert.equal(resolved?.alert_id, alert?.alert_id);
    assert.match(
      resolved?.reason ?? '',
      /the forget of schedule forget-5s succeeded at 2026-12-05 04:12 UTC/,
    );
    // The next tick queues behind f2 (dispatched, never finishing): overdue again only two intervals after f1.
    log.at('2026-12-05T04:12:25.006Z');
    tick('f3');
    assert.deepEqual(rules.at('2026-12-05T04:12:25.500Z'), []);
    assert.deepEqual(rules.at('2026-12-05T04:12:34.100Z'), []);
    const [again] = raisedOf(rules.at('2026-12-05T04:12:34.200Z'));
    assert.notEqual(again?.alert_id, alert?.alert_id, 'a new alert, the resolved one stays resolved');
    assert.match(again?.summary ?? '', /since 2026-12-05 04:12 UTC; it runs every 5 s/);
  });

  it('resolves when the schedule is disabled or the repository removed, and ignores copy schedules', () => {
    const { log, rules } = fleet([CHECK_DAILY, COPY_DAILY]);
    const raised = raisedOf(rules.at('2024-05-10T00:00:00Z'));
    assert.deepEqual(
      raised.map((a) => a.schedule_id),
      ['daily-check'],
      'copy is not maintenance',
    );
    log.append('RepositorySchedulesChanged', {
      repository_id: 'r1',
      version: 2,
      schedules: [{ ...CHECK_DAILY, enabled: false }],
    });
    assert.match(
      resolvedOf(rules.evaluate())[0]?.reason ?? '',
      /schedule daily-check was removed or disabled/,
    );
    log.append('RepositorySchedulesChanged', { repository_id: 'r1', version: 3, schedules: [CHECK_DAILY] });
    assert.deepEqual(rules.evaluate(), [], 're-enabled now: counts from now');
    assert.equal(raisedOf(rules.at('2024-05-12T05:00:00Z')).length, 1);
    log.append('RepositoryRemoved', { repository_id: 'r1' });
    assert.match(resolvedOf(rules.evaluate())[0]?.reason ?? '', /the repository was removed/);
  });

  it('is off when turned off globally', () => {
    const { log, rules } = fleet();
    log.rules({ maintenance_overdue: { enabled: false } });
    assert.deepEqual(rules.at('2024-06-01T00:00:00Z'), []);
    log.rules({});
    assert.equal(raisedOf(rules.at('2024-06-01T00:00:00Z')).length, 1);
  });
});
