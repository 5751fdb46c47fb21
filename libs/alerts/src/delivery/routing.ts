import { type AlertRuleName, type AlertSeverity, type ChannelRouting, severityRank } from '@rf/events';

/** Hours between reminders when a channel does not say. */
export const DEFAULT_REMINDER_HOURS = 24;

/** Whether a channel takes an alert: every condition it sets must hold; no routing takes everything. */
export function routes(
  routing: ChannelRouting | undefined,
  alert: {
    readonly rule: AlertRuleName;
    readonly severity: AlertSeverity;
    readonly hostId: string | undefined;
  },
): boolean {
  if (routing === undefined) return true;
  if (routing.min_severity !== undefined && severityRank(alert.severity) < severityRank(routing.min_severity))
    return false;
  if (routing.rules !== undefined && !routing.rules.includes(alert.rule)) return false;
  if (routing.hosts !== undefined && (alert.hostId === undefined || !routing.hosts.includes(alert.hostId)))
    return false;
  return true;
}

export const reminderHours = (routing: ChannelRouting | undefined): number =>
  routing?.reminder_hours ?? DEFAULT_REMINDER_HOURS;
