import { Injectable } from '@nestjs/common';
import { RULE_DEFAULTS, type RuleConfiguration } from '@rf/alerts';
import {
  ALERT_RULES,
  ALERT_SEVERITIES,
  CHANNEL_FIELDS,
  CHANNEL_KINDS,
  isChannelKind,
  THRESHOLD_RULES,
  type AlertRuleName,
  type AlertRuleSetting,
  type ChannelFieldSpec,
  type ChannelKind,
} from '@rf/events';
import type { NotificationChannelRecord, NotificationDeliveryRecord } from '@rf/projections';
import { AppError } from '../../core/app-error';
import { ReadModelsReader } from '../../repositories/read-models.reader';
import { AlertsService } from '../../services/alerts.service';
import { ruleLabel } from '../ui-format';

/** One settings field of a channel form, with what to show in it. */
export interface ChannelFormField {
  readonly name: string;
  readonly label: string;
  readonly type: ChannelFieldSpec['type'];
  readonly secret: boolean;
  readonly required: boolean;
  /** Plain fields: the stored or typed value; secrets: always empty. */
  readonly value: string;
  /** Secrets: whether a value is stored (leave empty to keep it). */
  readonly set: boolean;
}

export interface ChannelForm {
  /** The channel being edited, or null for a new one. */
  readonly id: string | null;
  readonly kind: ChannelKind;
  readonly name: string;
  readonly fields: ChannelFormField[];
  readonly routing: {
    readonly minSeverity: string;
    readonly rules: readonly string[];
    readonly hosts: readonly string[];
    readonly reminderHours: string;
  };
}

/** What the operator typed, for a form shown again after an error (secrets never). */
export interface ChannelDraft {
  readonly kind: string;
  readonly name: string;
  readonly settings: Readonly<Record<string, string>>;
  readonly routing: ChannelForm['routing'];
}

export interface ChannelRow {
  readonly id: string;
  readonly kind: string;
  readonly name: string;
  /** `label: value` lines; secrets as set / not set. */
  readonly settings: ReadonlyArray<{
    readonly label: string;
    readonly value: string;
    readonly secret: boolean;
  }>;
  readonly routing: string;
  readonly deliveries: NotificationDeliveryRecord[];
}

export interface NotificationsPage {
  readonly now: Date;
  readonly channels: ChannelRow[];
  readonly form: ChannelForm;
  readonly kinds: readonly string[];
  readonly severities: readonly string[];
  readonly rules: ReadonlyArray<{ readonly id: string; readonly label: string }>;
  readonly hosts: ReadonlyArray<{ readonly id: string; readonly name: string }>;
}

export interface RuleRow {
  readonly id: AlertRuleName;
  readonly label: string;
  readonly takesThreshold: boolean;
  /** What the threshold means for this rule. */
  readonly thresholdHint: string;
  readonly defaults: { readonly enabled: boolean; readonly severity: string; readonly thresholdMin: string };
  readonly setting: { readonly enabled: string; readonly severity: string; readonly thresholdMin: string };
}

export interface HostOverrideRow {
  readonly hostId: string;
  readonly hostName: string;
  readonly rule: AlertRuleName;
  readonly ruleLabel: string;
  readonly text: string;
}

export interface AlertRulesPage {
  readonly rows: RuleRow[];
  readonly overrides: HostOverrideRow[];
  readonly hosts: ReadonlyArray<{ readonly id: string; readonly name: string }>;
  readonly rules: ReadonlyArray<{ readonly id: string; readonly label: string }>;
  readonly severities: readonly string[];
  readonly thresholdRules: readonly string[];
}

/** How many of a channel's deliveries the Notifications page lists. */
const DELIVERIES_SHOWN = 5;

const minutes = (s: number | undefined): string => (s === undefined ? '' : String(Math.round(s / 60)));

/** `enabled, error, 30 min` for a setting; only what it sets. */
export function settingText(s: AlertRuleSetting): string {
  const parts: string[] = [];
  if (s.enabled !== undefined) parts.push(s.enabled ? 'on' : 'off');
  if (s.severity !== undefined) parts.push(s.severity);
  if (s.threshold_s !== undefined) parts.push(`after ${minutes(s.threshold_s)} min`);
  return parts.join(', ') || 'defaults';
}

function routingText(r: Readonly<Record<string, unknown>> | null, hostName: (id: string) => string): string {
  if (r === null) return 'every alert';
  const parts: string[] = [];
  if (typeof r['min_severity'] === 'string') parts.push(`${r['min_severity']} and above`);
  if (Array.isArray(r['rules']))
    parts.push(`rules: ${r['rules'].map((x) => ruleLabel(String(x))).join(', ')}`);
  if (Array.isArray(r['hosts']))
    parts.push(`hosts: ${r['hosts'].map((x) => hostName(String(x))).join(', ')}`);
  if (typeof r['reminder_hours'] === 'number')
    parts.push(r['reminder_hours'] === 0 ? 'no reminders' : `reminders every ${r['reminder_hours']} h`);
  return parts.join(' · ') || 'every alert';
}

const plainValue = (v: unknown): string =>
  Array.isArray(v) ? v.join(', ') : typeof v === 'string' || typeof v === 'number' ? String(v) : '';

function formOf(
  kind: ChannelKind,
  stored: NotificationChannelRecord | null,
  draft: ChannelDraft | null,
  typedName?: string,
): ChannelForm {
  const r = stored?.routing ?? null;
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
  return {
    id: stored?.id ?? null,
    kind,
    name: draft?.name ?? typedName ?? stored?.name ?? '',
    fields: CHANNEL_FIELDS[kind].map((f) => {
      const v = stored?.kind === kind ? stored.settings[f.name] : undefined;
      const set = f.secret && typeof v === 'object' && v !== null && (v as { set?: unknown }).set === true;
      return {
        name: f.name,
        label: f.label,
        type: f.type,
        secret: f.secret,
        required: f.required,
        value: f.secret ? '' : (draft?.settings[f.name] ?? plainValue(v)),
        set,
      };
    }),
    routing: draft?.routing ?? {
      minSeverity: typeof r?.['min_severity'] === 'string' ? r['min_severity'] : '',
      rules: list(r?.['rules']),
      hosts: list(r?.['hosts']),
      reminderHours: typeof r?.['reminder_hours'] === 'number' ? String(r['reminder_hours']) : '',
    },
  };
}

/** Settings → Notifications and the alert rule settings, as admins see them. */
@Injectable()
export class AlertSettingsPresenter {
  constructor(
    private readonly reader: ReadModelsReader,
    private readonly alerts: AlertsService,
  ) {}

  async notifications(
    now: Date,
    edit: { id?: string; kind?: string; draft?: ChannelDraft; name?: string } = {},
  ): Promise<NotificationsPage> {
    const models = await this.reader.fresh();
    const hosts = this.hostChoices(models.hosts.list({ includeRevoked: false }));
    const nameOf = (id: string): string => hosts.find((h) => h.id === id)?.name ?? id;
    const stored = edit.id !== undefined ? models.notifications.channel(edit.id) : null;
    if (edit.id !== undefined && stored === null)
      throw new AppError('not_found', `notification channel ${edit.id} does not exist`, { field: 'id' });
    const kind = isChannelKind(edit.kind) ? edit.kind : isChannelKind(stored?.kind) ? stored.kind : 'webhook';
    return {
      now,
      channels: models.notifications.channels().map((c) => ({
        id: c.id,
        kind: c.kind,
        name: c.name,
        settings: isChannelKind(c.kind)
          ? CHANNEL_FIELDS[c.kind]
              .filter((f) => c.settings[f.name] !== undefined)
              .map((f) => {
                const v = c.settings[f.name];
                const set = typeof v === 'object' && v !== null && (v as { set?: unknown }).set === true;
                return {
                  label: f.name,
                  value: f.secret ? (set ? 'set' : 'not set') : plainValue(v),
                  secret: f.secret,
                };
              })
          : [],
        routing: routingText(c.routing, nameOf),
        deliveries: models.notifications.deliveries(c.id, DELIVERIES_SHOWN),
      })),
      form: formOf(kind, stored, edit.draft ?? null, edit.name),
      kinds: CHANNEL_KINDS,
      severities: ALERT_SEVERITIES,
      rules: ALERT_RULES.map((id) => ({ id, label: ruleLabel(id) })),
      hosts,
    };
  }

  async rules(): Promise<AlertRulesPage> {
    const models = await this.reader.fresh();
    const config = this.alerts.ruleConfiguration();
    const hosts = this.hostChoices(models.hosts.list({ includeRevoked: false }));
    return {
      rows: ALERT_RULES.map((id) => ruleRow(id, config)),
      overrides: Object.entries(config.host_overrides).flatMap(([hostId, rules]) =>
        ALERT_RULES.filter((rule) => rules[rule] !== undefined).map((rule) => ({
          hostId,
          hostName: hosts.find((h) => h.id === hostId)?.name ?? hostId,
          rule,
          ruleLabel: ruleLabel(rule),
          text: settingText(rules[rule] ?? {}),
        })),
      ),
      hosts,
      rules: ALERT_RULES.map((id) => ({ id, label: ruleLabel(id) })),
      severities: ALERT_SEVERITIES,
      thresholdRules: THRESHOLD_RULES,
    };
  }

  private hostChoices(hosts: ReadonlyArray<{ id: string; hostname: string | null }>) {
    return hosts
      .map((h) => ({ id: h.id, name: h.hostname ?? h.id }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }
}

const THRESHOLD_HINTS: Partial<Record<AlertRuleName, string>> = {
  backup_overdue: 'grace after the schedule’s own interval; auto: max(60 min, 25 % of the interval)',
  agent_offline: 'how long a host may stay offline',
  schedules_not_applied: 'how long an online agent may lag behind its schedules',
};

function ruleRow(id: AlertRuleName, config: RuleConfiguration): RuleRow {
  const d = RULE_DEFAULTS[id];
  const s = config.rules[id] ?? {};
  return {
    id,
    label: ruleLabel(id),
    takesThreshold: THRESHOLD_RULES.includes(id),
    thresholdHint: THRESHOLD_HINTS[id] ?? '',
    defaults: {
      enabled: d.enabled,
      severity: d.severity,
      thresholdMin: id === 'backup_overdue' ? 'auto' : minutes(d.threshold_s),
    },
    setting: {
      enabled: s.enabled === undefined ? '' : s.enabled ? 'on' : 'off',
      severity: s.severity ?? '',
      thresholdMin: minutes(s.threshold_s),
    },
  };
}
