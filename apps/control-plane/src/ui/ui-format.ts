import { Cron } from 'croner';
import { toString as describeCron } from 'cronstrue';
import { isAlertRuleName, type AlertRuleName } from '@rf/events';

/** Presentation helpers shared by the admin UI's templates; pure, `now` injected. */

const DAY_MS = 86_400_000;

export function bytes(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = value;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** A signed size change: "+1.2 KiB", "−300 B" (a true minus sign), "±0 B"; "—" when unknown. */
export function bytesDelta(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  if (value === 0) return '±0 B';
  return (value > 0 ? '+' : '\u2212') + bytes(Math.abs(value));
}

/** "just now", "5 min ago", "3 h ago", "2 d ago"; "in 4 h" for the future. */
export function relative(iso: string | null | undefined, now: Date): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '—';
  const diff = now.getTime() - t;
  const abs = Math.abs(diff);
  let text: string;
  if (abs < 45_000) return diff >= 0 ? 'just now' : 'in a moment';
  if (abs < 3_600_000) text = `${Math.round(abs / 60_000)} min`;
  else if (abs < DAY_MS) text = `${Math.round(abs / 3_600_000)} h`;
  else text = `${Math.round(abs / DAY_MS)} d`;
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

/** `2026-11-22 15:04 UTC` — one unambiguous format across the UI. */
export function timestamp(iso: string | null | undefined): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return iso;
  return `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function duration(fromIso: string | null | undefined, toIso: string | null | undefined): string {
  if (!fromIso || !toIso) return '—';
  const ms = Date.parse(toIso) - Date.parse(fromIso);
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** Badge colour for a job or host status. */
export function statusTone(status: string | null | undefined): 'ok' | 'warn' | 'bad' | 'info' | '' {
  switch (status) {
    case 'succeeded':
    case 'online':
      return 'ok';
    case 'warning':
    case 'cancelled':
      return 'warn';
    case 'failed':
    case 'lost':
    case 'revoked':
      return 'bad';
    case 'running':
    case 'dispatched':
    case 'queued':
      return 'info';
    default:
      return '';
  }
}

/** An alert severity (or an alert's state) as a badge tone. */
export function severityTone(severity: string | null | undefined): 'bad' | 'warn' | 'info' | 'ok' | '' {
  switch (severity) {
    case 'error':
      return 'bad';
    case 'warning':
      return 'warn';
    case 'info':
    case 'acknowledged':
      return 'info';
    case 'resolved':
      return 'ok';
    default:
      return '';
  }
}

const RULE_LABELS: { readonly [R in AlertRuleName]: string } = {
  backup_overdue: 'Backup overdue',
  job_failed: 'Job failed',
  agent_offline: 'Agent offline',
  check_failed: 'Check failed',
  repository_locked: 'Repository locked',
  schedules_not_applied: 'Schedules not applied',
  log_lines_dropped: 'Log lines dropped',
  backup_anomaly: 'Backup anomaly',
  maintenance_overdue: 'Maintenance overdue',
};

/** A validation message shown next to its own field: `settings.url must …` → `must …`. */
export const fieldMessage = (field: string, message: string): string =>
  message.startsWith(`${field} `) ? message.slice(field.length + 1) : message;

/** `backup_overdue` → `Backup overdue`. */
export const ruleLabel = (rule: string): string => (isAlertRuleName(rule) ? RULE_LABELS[rule] : rule);

export function isValidCron(cron: string): boolean {
  try {
    new Cron(cron, { paused: true });
    return true;
  } catch {
    return false;
  }
}

/** Human-readable cron ("At 02:00 AM"), or null when the expression is not valid. */
export function cronText(cron: string): string | null {
  if (!isValidCron(cron)) return null;
  try {
    return describeCron(cron, { throwExceptionOnParseError: true, use24HourTimeFormat: true });
  } catch {
    return null;
  }
}

/** The next run of a cron expression after `now` (UTC, as croner computes it), or null. */
export function nextRun(cron: string, now: Date): Date | null {
  try {
    return new Cron(cron, { paused: true, timezone: 'UTC' }).nextRun(now);
  } catch {
    return null;
  }
}

/** Typical gap between runs: the distance between the next two runs. */
export function cronInterval(cron: string, now: Date): number | null {
  try {
    const runs = new Cron(cron, { paused: true, timezone: 'UTC' }).nextRuns(2, now);
    return runs.length === 2 ? runs[1]!.getTime() - runs[0]!.getTime() : null;
  } catch {
    return null;
  }
}

export interface ScheduleLike {
  readonly kind?: unknown;
  readonly cron?: unknown;
  readonly enabled?: unknown;
}

const enabledOf = (schedules: readonly unknown[], kind?: string): Array<{ cron: string; kind: string }> =>
  schedules.flatMap((raw) => {
    const s = (raw ?? {}) as ScheduleLike;
    if (s.enabled !== true || typeof s.cron !== 'string' || typeof s.kind !== 'string') return [];
    if (kind !== undefined && s.kind !== kind) return [];
    return [{ cron: s.cron, kind: s.kind }];
  });

/** The soonest next run among a host's enabled schedules. */
export function nextScheduled(schedules: readonly unknown[], now: Date): { at: Date; kind: string } | null {
  let best: { at: Date; kind: string } | null = null;
  for (const s of enabledOf(schedules)) {
    const at = nextRun(s.cron, now);
    if (at && (!best || at < best.at)) best = { at, kind: s.kind };
  }
  return best;
}

export type Freshness = 'ok' | 'warn' | 'bad' | 'none';

/**
 * How fresh the last backup is against the host's backup schedule: fresh
 * within 1.5 intervals, late within 3, overdue after. Without a backup
 * schedule a day is the expected interval.
 */
export function backupFreshness(
  lastBackupAt: string | null,
  schedules: readonly unknown[],
  now: Date,
): Freshness {
  if (!lastBackupAt) return 'none';
  const t = Date.parse(lastBackupAt);
  if (!Number.isFinite(t)) return 'none';
  const intervals = enabledOf(schedules, 'backup')
    .map((s) => cronInterval(s.cron, now))
    .filter((v): v is number => v !== null);
  const interval = intervals.length ? Math.min(...intervals) : DAY_MS;
  const age = now.getTime() - t;
  if (age <= interval * 1.5) return 'ok';
  if (age <= interval * 3) return 'warn';
  return 'bad';
}
