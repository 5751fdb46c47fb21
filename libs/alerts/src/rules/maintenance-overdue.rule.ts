import type { AlertRule, RaiseCandidate, RuleContext } from './alert-rule';
import { repositoryLabel, repositoryResolution } from './alert-rule';
import { repositoryScheduleSubject, subjectPart } from './alert-subjects';
import { formatDuration, formatTime, iso } from './alert-text';
import { backupDeadline } from './backup-interval';
import type { WatchedMaintenance, WatchedRepository } from './fleet-watch.state';

/** How many of its own intervals a maintenance schedule may go without a success. */
export const MAINTENANCE_INTERVALS = 2;

/** Where overdue counts from: the schedule's last success, or when it was set up, whichever is later. */
function referenceOf(r: WatchedRepository, s: WatchedMaintenance): number {
  const last = r.lastMaintenanceSuccess.get(s.id);
  return last !== undefined && last > s.since ? last : s.since;
}

/** The schedule's interval when two of them have passed since the reference, else null. */
function overdueInterval(ctx: RuleContext, r: WatchedRepository, s: WatchedMaintenance): number | null {
  // The interval around the reference, as for backups; grace 0: two whole intervals are the slack.
  const d = backupDeadline(s.cron, referenceOf(r, s), 0);
  if (d === null) return null;
  return ctx.now > referenceOf(r, s) + MAINTENANCE_INTERVALS * d.intervalMs ? d.intervalMs : null;
}

function candidate(r: WatchedRepository, s: WatchedMaintenance, intervalMs: number): RaiseCandidate {
  const last = r.lastMaintenanceSuccess.get(s.id);
  const from = referenceOf(r, s);
  const since =
    last === from ? `since ${formatTime(from)}` : `since the schedule was set up at ${formatTime(from)}`;
  return {
    subject: repositoryScheduleSubject(r.repositoryId, s.id),
    host: undefined,
    repositoryId: r.repositoryId,
    scheduleId: s.id,
    summary:
      `No successful ${s.kind} of repository ${repositoryLabel(r)} (schedule ${s.id}) ${since}; ` +
      `it runs every ${formatDuration(intervalMs)}`,
    details: {
      kind: s.kind,
      cron: s.cron,
      last_success_at: last !== undefined ? iso(last) : null,
      counted_from: iso(from),
      interval_s: Math.round(intervalMs / 1000),
      deadline: iso(from + MAINTENANCE_INTERVALS * intervalMs),
    },
  };
}

/**
 * A repository's forget, prune or check schedule has not succeeded for two of
 * its intervals (docs/alerts.md, maintenance_overdue); a success of that
 * schedule resolves it. Repository-wide: the global setting applies.
 */
export const maintenanceOverdueRule: AlertRule = {
  name: 'maintenance_overdue',
  *candidates(ctx) {
    if (!ctx.setting('maintenance_overdue', undefined).enabled) return;
    for (const r of ctx.watch.repositories.values()) {
      if (r.removed || r.maintenance.size === 0) continue;
      for (const s of r.maintenance.values()) {
        const subject = repositoryScheduleSubject(r.repositoryId, s.id);
        if (ctx.isOpen('maintenance_overdue', subject)) continue;
        const interval = overdueInterval(ctx, r, s);
        if (interval !== null) yield candidate(r, s, interval);
      }
    }
  },
  resolution: repositoryResolution((ctx, alert, r) => {
    const scheduleId = subjectPart(alert.subject, 'schedule') ?? '';
    const s = r.maintenance.get(scheduleId);
    if (s === undefined) return `schedule ${scheduleId} was removed or disabled`;
    if (overdueInterval(ctx, r, s) !== null) return null;
    const last = r.lastMaintenanceSuccess.get(scheduleId);
    return last !== undefined && last >= s.since
      ? `the ${s.kind} of schedule ${scheduleId} succeeded at ${formatTime(last)}`
      : `schedule ${scheduleId} changed and is no longer overdue`;
  }),
};
