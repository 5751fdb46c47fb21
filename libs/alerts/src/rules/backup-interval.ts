import { Cron } from 'croner';

const HOUR_MS = 3_600_000;
/** Parsing a pattern costs far more than using it, and a fleet shares a handful of patterns. */
const patterns = new Map<string, Cron | null>();
const MAX_CACHED_PATTERNS = 10_000;

function patternOf(cron: string): Cron | null {
  let pattern = patterns.get(cron);
  if (pattern !== undefined) return pattern;
  try {
    // utcOffset 0 rather than timezone 'UTC': the same times without a time-zone database lookup per call.
    pattern = new Cron(cron, { paused: true, utcOffset: 0 });
  } catch {
    pattern = null;
  }
  if (patterns.size >= MAX_CACHED_PATTERNS) patterns.clear();
  patterns.set(cron, pattern);
  return pattern;
}

export interface BackupDeadline {
  /** The gap between the cron fire times around the reference time. */
  readonly intervalMs: number;
  readonly graceMs: number;
  /** reference + interval + grace: past this, the backup is overdue. */
  readonly deadline: number;
}

/**
 * When a backup schedule is overdue (docs/alerts.md, backup_overdue): no
 * succeeded backup for longer than the schedule's own interval plus grace,
 * counted from `reference` (the last succeeded backup, or when the schedule was
 * set up). The interval is the gap between the fire time at or before the
 * reference and the one after it, so an irregular cron (weekdays only) expects
 * the Friday→Monday gap after a Friday backup. Grace is `graceS` when set, else
 * max(1 h, 25 % of the interval). Fire times are computed in UTC: the agent's
 * zone is not known here, and the grace absorbs an hour of daylight saving.
 * Returns null when the cron never fires again.
 */
export function backupDeadline(
  cron: string,
  reference: number,
  graceS: number | undefined,
): BackupDeadline | null {
  const pattern = patternOf(cron);
  if (pattern === null) return null;
  const next = pattern.nextRun(new Date(reference));
  if (next === null) return null;
  // The last fire at or before the reference (previousRuns looks strictly before its date), so a
  // reference exactly on a fire time counts that fire. Looking a whole second ahead instead would
  // take `next` itself for a reference in the last second before it, and an interval of 0.
  const previous = pattern.previousRuns(1, new Date(reference + 1))[0];
  let intervalMs: number;
  if (previous !== undefined) intervalMs = next.getTime() - previous.getTime();
  else {
    const after = pattern.nextRun(next);
    intervalMs = after === null ? next.getTime() - reference : after.getTime() - next.getTime();
  }
  const graceMs = graceS !== undefined ? graceS * 1000 : Math.max(HOUR_MS, Math.round(intervalMs / 4));
  return { intervalMs, graceMs, deadline: reference + intervalMs + graceMs };
}
