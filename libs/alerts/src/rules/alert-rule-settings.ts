import type { AlertRuleName, AlertRuleSettings, AlertRulesChangedData, AlertSeverity } from '@rf/events';

/** A rule's settings for one host, every field decided. */
export interface EffectiveRuleSetting {
  readonly enabled: boolean;
  readonly severity: AlertSeverity;
  /** Seconds; undefined where the rule has no threshold or computes it (backup_overdue's grace). */
  readonly threshold_s: number | undefined;
}

/** The built-in defaults (docs/alerts.md, "Rules"). */
export const RULE_DEFAULTS: { readonly [R in AlertRuleName]: EffectiveRuleSetting } = {
  backup_overdue: { enabled: true, severity: 'error', threshold_s: undefined },
  job_failed: { enabled: true, severity: 'error', threshold_s: undefined },
  agent_offline: { enabled: true, severity: 'warning', threshold_s: 15 * 60 },
  check_failed: { enabled: true, severity: 'error', threshold_s: undefined },
  repository_locked: { enabled: true, severity: 'warning', threshold_s: undefined },
  schedules_not_applied: { enabled: true, severity: 'warning', threshold_s: 10 * 60 },
  log_lines_dropped: { enabled: true, severity: 'warning', threshold_s: undefined },
  backup_anomaly: { enabled: true, severity: 'error', threshold_s: undefined },
  maintenance_overdue: { enabled: true, severity: 'warning', threshold_s: undefined },
};

export interface RuleConfiguration {
  readonly rules: AlertRuleSettings;
  readonly host_overrides: Readonly<Record<string, AlertRuleSettings>>;
}

export const EMPTY_RULE_CONFIGURATION: RuleConfiguration = { rules: {}, host_overrides: {} };

export function ruleConfigurationOf(d: AlertRulesChangedData): RuleConfiguration {
  return { rules: d.rules, host_overrides: d.host_overrides ?? {} };
}

/** Default ← global setting ← the host's override, field by field. */
export function effectiveSetting(
  config: RuleConfiguration,
  rule: AlertRuleName,
  hostId: string | undefined,
): EffectiveRuleSetting {
  const base = RULE_DEFAULTS[rule];
  const global = config.rules[rule];
  const host = hostId === undefined ? undefined : config.host_overrides[hostId]?.[rule];
  if (global === undefined && host === undefined) return base;
  return {
    enabled: host?.enabled ?? global?.enabled ?? base.enabled,
    severity: host?.severity ?? global?.severity ?? base.severity,
    threshold_s: host?.threshold_s ?? global?.threshold_s ?? base.threshold_s,
  };
}
