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
