import type { AlertRule, RaiseCandidate, RuleContext } from './alert-rule';
import { hostLabel, watchedHosts } from './alert-rule';
import { scheduleSubject, subjectPart } from './alert-subjects';
import { formatDuration, formatTime, iso } from './alert-text';
import { backupDeadline, type BackupDeadline } from './backup-interval';
import type { WatchedHost, WatchedSchedule } from './fleet-watch.state';

/** Where overdue counts from: the last succeeded backup of the schedule, or when the schedule was set up, whichever is later. */
function referenceOf(h: WatchedHost, s: WatchedSchedule): { at: number; lastSuccess: number | undefined } {
  const lastSuccess = h.lastBackupSuccess.get(s.id);
  return { at: lastSuccess !== undefined && lastSuccess > s.since ? lastSuccess : s.since, lastSuccess };
}

/** Deadlines change only with their inputs; a fleet's evaluation round must not re-walk every cron. */
const memo = new WeakMap<WatchedSchedule, { key: string; deadline: BackupDeadline | null }>();
function deadlineOf(
  s: WatchedSchedule,
  reference: number,
  graceS: number | undefined,
): BackupDeadline | null {
  const key = `${reference}/${graceS ?? ''}`;
  const hit = memo.get(s);
  if (hit !== undefined && hit.key === key) return hit.deadline;
  const deadline = backupDeadline(s.cron, reference, graceS);
  memo.set(s, { key, deadline });
  return deadline;
}

function overdue(ctx: RuleContext, h: WatchedHost, s: WatchedSchedule): RaiseCandidate | null {
  const ref = referenceOf(h, s);
  const d = deadlineOf(s, ref.at, ctx.setting('backup_overdue', h.hostId).threshold_s);
  if (d === null || ctx.now <= d.deadline) return null;
  const since =
    ref.lastSuccess !== undefined && ref.lastSuccess === ref.at
      ? `since ${formatTime(ref.at)}`
      : `since the schedule was set up at ${formatTime(ref.at)}`;
  return {
    subject: scheduleSubject(h.hostId, s.id),
    host: h,
    scheduleId: s.id,
    summary:
      `No successful backup of schedule ${s.id} on ${hostLabel(h)} ${since} ` +
      `(it runs every ${formatDuration(d.intervalMs)}, grace ${formatDuration(d.graceMs)})`,
    details: {
      cron: s.cron,
      last_success_at: ref.lastSuccess !== undefined ? iso(ref.lastSuccess) : null,
      counted_from: iso(ref.at),
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
    for (const h of watchedHosts(ctx, 'backup_overdue')) {
      for (const s of h.backupSchedules.values()) {
        if (ctx.isOpen('backup_overdue', scheduleSubject(h.hostId, s.id))) continue;
        const c = overdue(ctx, h, s);
        if (c !== null) yield c;
      }
    }
  },
  resolution(ctx, alert, h) {
    const scheduleId = subjectPart(alert.subject, 'schedule') ?? '';
    const s = h.backupSchedules.get(scheduleId);
    if (s === undefined) return `schedule ${scheduleId} was removed or disabled`;
    if (overdue(ctx, h, s) !== null) return null;
    const last = h.lastBackupSuccess.get(scheduleId);
    return last !== undefined && last >= s.since
      ? `a backup of schedule ${scheduleId} succeeded at ${formatTime(last)}`
      : `schedule ${scheduleId} changed and is no longer overdue`;
  },
};
