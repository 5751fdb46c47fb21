import {
  ALERT_RULES,
  type AlertRuleName,
  alertStream,
  type FleetEventOf,
  fleetEvent,
  nameBasedUuid,
} from '@rf/events';
import { agentOfflineRule } from './agent-offline.rule';
import type { AlertRule, RuleContext } from './alert-rule';
import { effectiveSetting, type EffectiveRuleSetting } from './alert-rule-settings';
import { iso } from './alert-text';
import { backupAnomalyRule } from './backup-anomaly.rule';
import { backupOverdueRule } from './backup-overdue.rule';
import { checkFailedRule } from './check-failed.rule';
import { FleetWatch, type OpenAlert, type WatchedEvent } from './fleet-watch.state';
import { jobFailedRule } from './job-failed.rule';
import { logLinesDroppedRule } from './log-lines-dropped.rule';
import { maintenanceOverdueRule } from './maintenance-overdue.rule';
import { repositoryLockedRule } from './repository-locked.rule';
import { schedulesNotAppliedRule } from './schedules-not-applied.rule';

/** Every built-in rule, by name; the mapped type makes a new rule name a compile error here until it has code. */
export const BUILT_IN_RULES: { readonly [R in AlertRuleName]: AlertRule } = {
  backup_overdue: backupOverdueRule,
  job_failed: jobFailedRule,
  agent_offline: agentOfflineRule,
  check_failed: checkFailedRule,
  repository_locked: repositoryLockedRule,
  schedules_not_applied: schedulesNotAppliedRule,
  log_lines_dropped: logLinesDroppedRule,
  backup_anomaly: backupAnomalyRule,
  maintenance_overdue: maintenanceOverdueRule,
};

/** An event to append, with the id that makes a repeated append (a restart, a second node) a no-op. */
export interface AlertDecision {
  readonly stream: string;
  readonly eventId: string;
  readonly event: FleetEventOf<'AlertRaised'> | FleetEventOf<'AlertResolved'>;
}

export interface AlertRulesProcessOptions {
  /** When this process began watching (see RuleContext.watchingSince). */
  readonly watchingSince: Date;
  /** A fold restored from its snapshot (FleetWatch.fromSnapshot); default: an empty one, for a log read from its start. */
  readonly watch?: FleetWatch;
}

/**
 * The rules as a process over the log (docs/alerts.md): `apply` folds every
 * event in log order, `evaluate(now)` says which alerts to raise and resolve.
 * Decisions depend only on the events and `now`, and the fold sees the alert
 * events too, so once a decision is appended and applied it is not made again;
 * a replay decides nothing already recorded. Evaluate only once caught up with
 * the log: the state of the past judged against today's clock would raise
 * alerts that history already settled. Until the decisions of one `evaluate`
 * are appended and applied, do not evaluate again (their ids make a repeat
 * harmless, but it is wasted work).
 */
export class AlertRulesProcess {
  readonly watch: FleetWatch;
  private readonly watchingSince: number;

  constructor(options: AlertRulesProcessOptions) {
    this.watch = options.watch ?? new FleetWatch();
    this.watchingSince = options.watchingSince.getTime();
  }

  apply(event: WatchedEvent): void {
    this.watch.apply(event);
  }

  evaluate(now: Date): AlertDecision[] {
    const watch = this.watch;
    const setting = settingsOf(watch);
    const ctx: RuleContext = {
      watch,
      now: now.getTime(),
      watchingSince: this.watchingSince,
      setting,
      isOpen: (rule, subject) => watch.openAlert(rule, subject) !== undefined,
    };
    const decisions: AlertDecision[] = [];
    for (const alert of watch.openAlerts()) {
      const reason = this.resolution(ctx, alert);
      if (reason !== null) decisions.push(resolveDecision(alert, reason, now));
    }
    for (const rule of ALERT_RULES) {
      for (const c of BUILT_IN_RULES[rule].candidates(ctx)) {
        const alertId = watch.nextAlertId(rule, c.subject);
        decisions.push({
          stream: alertStream(alertId),
          eventId: nameBasedUuid(`alert-raised/${alertId}`),
          event: fleetEvent('AlertRaised', {
            alert_id: alertId,
            rule,
            severity: ctx.setting(rule, c.host?.hostId).severity,
            subject: c.subject,
            ...(c.host !== undefined ? { host_id: c.host.hostId } : {}),
            ...(c.host?.hostname !== undefined ? { hostname: c.host.hostname } : {}),
            ...(c.repositoryId !== undefined ? { repository_id: c.repositoryId } : {}),
            ...(c.jobId !== undefined ? { job_id: c.jobId } : {}),
            ...(c.scheduleId !== undefined ? { schedule_id: c.scheduleId } : {}),
            summary: c.summary.length > 1024 ? `${c.summary.slice(0, 1023)}…` : c.summary,
            details: { ...c.details },
            raised_at: iso(ctx.now),
          }),
        });
      }
    }
    return decisions;
  }

  private resolution(ctx: RuleContext, alert: OpenAlert): string | null {
    if (!ctx.setting(alert.rule, alert.hostId).enabled) return `the ${alert.rule} rule was turned off`;
    return BUILT_IN_RULES[alert.rule].resolution(ctx, alert);
  }
}

/**
 * The settings lookup of one round: every rule's global setting computed once,
 * a host's own only for the hosts that have overrides (a few, usually).
 */
function settingsOf(watch: FleetWatch): RuleContext['setting'] {
  const config = watch.config;
  const global = {} as Record<AlertRuleName, EffectiveRuleSetting>;
  for (const rule of ALERT_RULES) global[rule] = effectiveSetting(config, rule, undefined);
  let anyOverride = false;
  for (const _host in config.host_overrides) {
    anyOverride = true;
    break;
  }
  if (!anyOverride) return (rule) => global[rule];
  const perHost = new Map<string, EffectiveRuleSetting>();
  const overrides = config.host_overrides;
  return (rule, hostId) => {
    if (hostId === undefined || !Object.prototype.hasOwnProperty.call(overrides, hostId)) return global[rule];
    const key = `${rule} ${hostId}`;
    let s = perHost.get(key);
    if (s === undefined) perHost.set(key, (s = effectiveSetting(config, rule, hostId)));
    return s;
  };
}

function resolveDecision(alert: OpenAlert, reason: string, now: Date): AlertDecision {
  return {
    stream: alertStream(alert.alertId),
    eventId: nameBasedUuid(`alert-resolved/${alert.alertId}`),
    event: fleetEvent('AlertResolved', {
      alert_id: alert.alertId,
      reason: reason.length > 1024 ? `${reason.slice(0, 1023)}…` : reason,
      resolved_at: now.toISOString(),
    }),
  };
}
