import type { AlertRule, RaiseCandidate, RuleContext } from './alert-rule';
import { hostLabel, hostResolution } from './alert-rule';
import { scheduleSubject, subjectPart } from './alert-subjects';
import { formatDuration, formatTime, iso } from './alert-text';
import { backupDeadline, type BackupDeadline } from './backup-interval';
import type { WatchedHost, WatchedSchedule } from './fleet-watch.state';

/** Where overdue counts from: the last succeeded backup of the schedule, or when the schedule was set up, whichever is later. */
function referenceOf(h: WatchedHost, s: WatchedSchedule): number {
  const lastSuccess = h.lastBackupSuccess.get(s.id);
  return lastSuccess !== undefined && lastSuccess > s.since ? lastSuccess : s.since;
}

/** The schedule's deadline, or null when it has none or it has not passed yet. */
function passedDeadline(ctx: RuleContext, h: WatchedHost, s: WatchedSchedule): BackupDeadline | null {
  const reference = referenceOf(h, s);
  const graceS = ctx.setting('backup_overdue', h.hostId).threshold_s;
  // Deadlines change only with their inputs; a fleet's evaluation round must not re-walk every cron.
  let m = s.deadlineMemo;
  if (m === undefined || m.reference !== reference || m.graceS !== graceS)
    s.deadlineMemo = m = { reference, graceS, deadline: backupDeadline(s.cron, reference, graceS) };
  return m.deadline !== null && ctx.now > m.deadline.deadline ? m.deadline : null;
}

function candidate(h: WatchedHost, s: WatchedSchedule, d: BackupDeadline): RaiseCandidate {
  const lastSuccess = h.lastBackupSuccess.get(s.id);
  const from = referenceOf(h, s);
  const since =
    lastSuccess === from
      ? `since ${formatTime(from)}`
      : `since the schedule was set up at ${formatTime(from)}`;
  return {
    subject: scheduleSubject(h.hostId, s.id),
    host: h,
    scheduleId: s.id,
    ...(s.repositoryId !== undefined ? { repositoryId: s.repositoryId } : {}),
    summary:
      `No successful backup of schedule ${s.id} on ${hostLabel(h)} ${since} ` +
      `(it runs every ${formatDuration(d.intervalMs)}, grace ${formatDuration(d.graceMs)})`,
    details: {
      cron: s.cron,
      last_success_at: lastSuccess !== undefined ? iso(lastSuccess) : null,
      counted_from: iso(from),
      interval_s: Math.round(d.intervalMs / 1000),
      grace_s: Math.round(d.graceMs / 1000),
      deadline: iso(d.deadline),
    },
  };
}

/** An enabled backup schedule has had no succeeded backup for longer than its interval plus grace. */
export const backupOverdueRule: AlertRule = {
  name: 'backup_overdue',
  *candidates(ctx) {
    // The one rule that looks at every host on every round: plain loops, no allocation until a deadline has passed.
    for (const h of ctx.watch.hosts.values()) {
      if (h.backupSchedules.size === 0 || h.revoked || !ctx.setting('backup_overdue', h.hostId).enabled)
        continue;
      for (const s of h.backupSchedules.values()) {
        const d = passedDeadline(ctx, h, s);
        if (d !== null && !ctx.isOpen('backup_overdue', scheduleSubject(h.hostId, s.id)))
          yield candidate(h, s, d);
      }
    }
  },
  resolution: hostResolution((ctx, alert, h) => {
    const scheduleId = subjectPart(alert.subject, 'schedule') ?? '';
    const s = h.backupSchedules.get(scheduleId);
    if (s === undefined) return `schedule ${scheduleId} was removed or disabled`;
    if (passedDeadline(ctx, h, s) !== null) return null;
    const last = h.lastBackupSuccess.get(scheduleId);
    return last !== undefined && last >= s.since
      ? `a backup of schedule ${scheduleId} succeeded at ${formatTime(last)}`
      : `schedule ${scheduleId} changed and is no longer overdue`;
  }),
};
