import { Type } from 'class-transformer';
import { IsOptional, ValidateNested } from 'class-validator';
import {
  CHANNEL_KINDS,
  type ChannelKind,
  channelSettingsIssues,
  type SealedChannelSettings,
} from './channel-settings';
import {
  type FieldIssue,
  IsArrOf,
  IsId,
  IsObj,
  IsOneOf,
  IsPositiveInt,
  IsText,
  IsTimestamp,
  isId,
  isPlainObject,
  joinPath,
  registerPostCheck,
  Rule,
  scanStructure,
} from './validation';

/*
 * Alerts, notification channels and deliveries (docs/alerts.md).
 *   alert-{alertId}      AlertRaised, AlertAcknowledged, AlertResolved
 *   alertrules-fleet     AlertRulesChanged (the whole rule configuration each time)
 *   channel-{channelId}  ChannelConfigured, ChannelRemoved
 *   delivery-{id}        NotificationSent, NotificationFailed (id: the alert, or the job a ping is about)
 */

export const ALERT_RULES = [
  'backup_overdue',
  'job_failed',
  'agent_offline',
  'check_failed',
  'repository_locked',
  'schedules_not_applied',
  'log_lines_dropped',
  'backup_anomaly',
  'maintenance_overdue',
] as const;
export type AlertRuleName = (typeof ALERT_RULES)[number];
export const isAlertRuleName = (v: unknown): v is AlertRuleName =>
  typeof v === 'string' && (ALERT_RULES as readonly string[]).includes(v);

/** Rules whose `threshold_s` means something (how long a condition must last, or a grace period). */
export const THRESHOLD_RULES: readonly AlertRuleName[] = [
  'backup_overdue',
  'agent_offline',
  'schedules_not_applied',
];
/** Rules that no later fact clears: only an operator's acknowledgement closes their alerts. */
export const ACK_ONLY_RULES: readonly AlertRuleName[] = ['log_lines_dropped', 'backup_anomaly'];

export const ALERT_SEVERITIES = ['info', 'warning', 'error'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];
/** Orders severities for "at least" comparisons. */
export const severityRank = (s: AlertSeverity): number => ALERT_SEVERITIES.indexOf(s);

/** What a notification is about: an alert's transitions, or a job's start and outcome (healthchecks pings). */
export const NOTIFICATION_TRANSITIONS = [
  'raised',
  'resolved',
  'reminder',
  'start',
  'success',
  'fail',
] as const;
export type NotificationTransition = (typeof NOTIFICATION_TRANSITIONS)[number];

/** Longest a threshold may be: 30 days. */
export const MAX_THRESHOLD_S = 30 * 86_400;
export const MAX_HOST_OVERRIDES = 10_000;
/** Largest `details` object of an AlertRaised, as JSON. */
export const MAX_ALERT_DETAILS_BYTES = 16_384;

// ---------------------------------------------------------------------------
// alert-{alertId}

export class AlertRaisedData {
  @IsId() readonly alert_id!: string;
  @IsOneOf(ALERT_RULES) readonly rule!: AlertRuleName;
  @IsOneOf(ALERT_SEVERITIES) readonly severity!: AlertSeverity;
  /** What the alert is about, e.g. `host:h1/schedule:s1`; one alert is open per (rule, subject). */
  @IsText(512) readonly subject!: string;
  @IsOptional() @IsId() readonly host_id?: string;
  /** The host's name when the alert was raised, so a notification needs no lookup. */
  @IsOptional() @IsText(253) readonly hostname?: string;
  @IsOptional() @IsId() readonly repository_id?: string;
  @IsOptional() @IsId() readonly job_id?: string;
  @IsOptional() @IsId() readonly schedule_id?: string;
  @IsText(1024) readonly summary!: string;
  /** Rule-specific facts (numbers, times) behind the summary. */
  @IsObj()
  @Rule(
    'isSmallObject',
    (v) => JSON.stringify(v).length <= MAX_ALERT_DETAILS_BYTES,
    `must be at most ${MAX_ALERT_DETAILS_BYTES} bytes as JSON`,
  )
  readonly details!: Record<string, unknown>;
  @IsTimestamp() readonly raised_at!: string;
}

export class AlertAcknowledgedData {
  @IsId() readonly alert_id!: string;
  /** The user who acknowledged it. */
  @IsId() readonly by!: string;
  @IsOptional() @IsText(2048) readonly note?: string;
  @IsTimestamp() readonly acknowledged_at!: string;
}

export class AlertResolvedData {
  @IsId() readonly alert_id!: string;
  @IsText(1024) readonly reason!: string;
  @IsTimestamp() readonly resolved_at!: string;
}

// ---------------------------------------------------------------------------
// alertrules-fleet

/** One rule's settings; every field falls back to the rule's default (docs/alerts.md). */
export interface AlertRuleSetting {
  readonly enabled?: boolean;
  readonly threshold_s?: number;
  readonly severity?: AlertSeverity;
}
export type AlertRuleSettings = Readonly<Partial<Record<AlertRuleName, AlertRuleSetting>>>;

/** Checks `{<rule>: {enabled?, threshold_s?, severity?}}` key by key. */
export function alertRuleSettingsIssues(value: unknown, prefix: string): FieldIssue[] {
  const bad = (field: string, text: string): FieldIssue[] => [{ field, message: `${field} ${text}` }];
  if (!isPlainObject(value)) return bad(prefix, 'must be an object of rule names to settings');
  for (const [rule, setting] of Object.entries(value)) {
    const p = joinPath(prefix, rule);
    if (!isAlertRuleName(rule)) return bad(p, `is not a known rule (${ALERT_RULES.join(', ')})`);
    if (!isPlainObject(setting)) return bad(p, 'must be an object {enabled?, threshold_s?, severity?}');
    for (const [key, v] of Object.entries(setting)) {
      const f = joinPath(p, key);
      switch (key) {
        case 'enabled':
          if (typeof v !== 'boolean') return bad(f, 'must be true or false');
          break;
        case 'severity':
          if (!(ALERT_SEVERITIES as readonly unknown[]).includes(v))
            return bad(f, `must be one of: ${ALERT_SEVERITIES.join(', ')}`);
          break;
        case 'threshold_s':
          if (!THRESHOLD_RULES.includes(rule))
            return bad(f, `is not used by ${rule} (only ${THRESHOLD_RULES.join(', ')} take a threshold)`);
          if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 60 || v > MAX_THRESHOLD_S)
            return bad(f, `must be a whole number of seconds from 60 to ${MAX_THRESHOLD_S}`);
          break;
        default:
          return bad(f, 'is not an allowed property (enabled, threshold_s, severity)');
      }
    }
  }
  return [];
}

/** Checks `{<hostId>: {<rule>: {…}}}`. */
export function hostOverridesIssues(value: unknown, prefix: string): FieldIssue[] {
  if (!isPlainObject(value))
    return [{ field: prefix, message: `${prefix} must be an object of host ids to rule settings` }];
  const hosts = Object.keys(value);
  if (hosts.length > MAX_HOST_OVERRIDES)
    return [{ field: prefix, message: `${prefix} must name at most ${MAX_HOST_OVERRIDES} hosts` }];
  for (const host of hosts) {
    const p = joinPath(prefix, host);
    if (!isId(host))
      return [{ field: p, message: `${p} is not a host id (1-128 characters [A-Za-z0-9._:-])` }];
    const issues = alertRuleSettingsIssues(value[host], p);
    if (issues.length > 0) return issues;
  }
  return [];
}

export class AlertRulesChangedData {
  /** The whole configuration after the change; what is not set falls back to the defaults. */
  @IsObj() readonly rules!: AlertRuleSettings;
  @IsOptional() @IsObj() readonly host_overrides?: Readonly<Record<string, AlertRuleSettings>>;
  @IsTimestamp() readonly changed_at!: string;
}
registerPostCheck(AlertRulesChangedData, (d, prefix) => {
  const issues = alertRuleSettingsIssues(d.rules, joinPath(prefix, 'rules'));
  if (issues.length > 0 || d.host_overrides === undefined) return issues;
  return hostOverridesIssues(d.host_overrides, joinPath(prefix, 'host_overrides'));
});

// ---------------------------------------------------------------------------
// channel-{channelId}

/** Which alerts a channel receives; every absent field means "all". */
export class ChannelRouting {
  @IsOptional() @IsOneOf(ALERT_SEVERITIES) readonly min_severity?: AlertSeverity;
  @IsOptional()
  @IsArrOf(isAlertRuleName, `a rule name (${ALERT_RULES.join(', ')})`, { min: 1, max: ALERT_RULES.length })
  readonly rules?: AlertRuleName[];
  @IsOptional() @IsArrOf(isId, 'a host id', { min: 1, max: 10_000 }) readonly hosts?: string[];
  /** Hours between reminders while an alert stays open and unacknowledged; 0 turns reminders off. Default 24. */
  @IsOptional()
  @Rule(
    'isReminderHours',
    (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= 720,
    'must be a whole number of hours from 0 (no reminders) to 720',
  )
  readonly reminder_hours?: number;
}

export class ChannelConfiguredData {
  @IsId() readonly channel_id!: string;
  @IsOneOf(CHANNEL_KINDS) readonly kind!: ChannelKind;
  @IsText(128) readonly name!: string;
  /** Checked against `kind` (channelSettingsIssues); secrets sealed. */
  @IsObj() readonly settings!: SealedChannelSettings;
  @IsOptional() @IsObj() @ValidateNested() @Type(() => ChannelRouting) readonly routing?: ChannelRouting;
  @IsTimestamp() readonly configured_at!: string;
}
registerPostCheck(ChannelConfiguredData, (d, prefix) => {
  const scan = scanStructure(d.settings, joinPath(prefix, 'settings'));
  if (scan) return [scan];
  return channelSettingsIssues(d.kind, d.settings, joinPath(prefix, 'settings'), 'sealed');
});

export class ChannelRemovedData {
  @IsId() readonly channel_id!: string;
  @IsTimestamp() readonly removed_at!: string;
}

// ---------------------------------------------------------------------------
// delivery-{alertId or jobId}

/** Fields every delivery record carries. */
export class NotificationFields {
  @IsId() readonly channel_id!: string;
  @IsOneOf(NOTIFICATION_TRANSITIONS) readonly transition!: NotificationTransition;
  /** Stable per alert (or job) × transition × channel (× reminder number): the `X-RF-Delivery` header. */
  @IsId() readonly delivery_id!: string;
  @IsOptional() @IsId() readonly alert_id?: string;
  @IsOptional() @IsId() readonly job_id?: string;
  /** The reminder's number (1 = the first reminder) for `transition: reminder`. */
  @IsOptional() @IsPositiveInt() readonly reminder?: number;
  @IsPositiveInt() readonly attempt!: number;
}
/** A delivery is about an alert or (pings) a job, and a reminder has its number. */
export function notificationIssues(
  d: { alert_id?: string; job_id?: string; transition: NotificationTransition; reminder?: number },
  prefix: string,
): FieldIssue[] {
  const bad = (name: string, text: string): FieldIssue[] => {
    const f = joinPath(prefix, name);
    return [{ field: f, message: `${f} ${text}` }];
  };
  const aboutJob = d.transition === 'start' || d.transition === 'success' || d.transition === 'fail';
  if (aboutJob && d.job_id === undefined) return bad('job_id', `is required for transition ${d.transition}`);
  if (!aboutJob && d.alert_id === undefined)
    return bad('alert_id', `is required for transition ${d.transition}`);
  if ((d.transition === 'reminder') !== (d.reminder !== undefined))
    return bad(
      'reminder',
      d.transition === 'reminder' ? 'is required for a reminder' : 'is only for reminders',
    );
  return [];
}
registerPostCheck(NotificationFields, (d, prefix) => notificationIssues(d, prefix));

export class NotificationSentData extends NotificationFields {
  @IsTimestamp() readonly sent_at!: string;
}

export class NotificationFailedData extends NotificationFields {
  /** What went wrong, for the operator; never holds a secret. */
  @IsText(2048) readonly error!: string;
  @IsTimestamp() readonly failed_at!: string;
  /** When the next attempt is due; absent when the delivery was given up. */
  @IsOptional() @IsTimestamp() readonly retry_at?: string;
}
