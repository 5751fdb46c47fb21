import type { AlertRuleName } from '@rf/events';
import type { EffectiveRuleSetting } from './alert-rule-settings';
import type { FleetWatch, OpenAlert, WatchedHost, WatchedRepository } from './fleet-watch.state';

/** A condition that holds now and has no open alert yet. */
export interface RaiseCandidate {
  readonly subject: string;
  /** The host it is about, or (a repository's alert) the host whose job showed it. */
  readonly host: WatchedHost | undefined;
  readonly repositoryId?: string;
  readonly jobId?: string;
  readonly scheduleId?: string;
  readonly summary: string;
  readonly details: Readonly<Record<string, unknown>>;
}

export interface RuleContext {
  readonly watch: FleetWatch;
  /** Milliseconds since the epoch, from the injected clock. */
  readonly now: number;
  /**
   * When this process began watching. The control plane's own absence (it was
   * stopped, so agents could not connect) counts from here, not from before.
   */
  readonly watchingSince: number;
  setting(rule: AlertRuleName, hostId: string | undefined): EffectiveRuleSetting;
  isOpen(rule: AlertRuleName, subject: string): boolean;
}

/**
 * One built-in rule (docs/alerts.md, "Rules"). Rules only read the watch; the
 * process turns what they say into raise and resolve decisions, checks that
 * the rule is on, and keeps one alert open per (rule, subject).
 */
export interface AlertRule {
  readonly name: AlertRuleName;
  /** Conditions that hold at `ctx.now` where the rule is on, skipping subjects with an open alert. */
  candidates(ctx: RuleContext): Iterable<RaiseCandidate>;
  /** Why an open alert of this rule resolves now, or null while it stays open. */
  resolution(ctx: RuleContext, alert: OpenAlert): string | null;
}

/**
 * Hosts a rule may raise for: `worthALook` first (a cheap test of the host's
 * own state, so a fleet's round skips most hosts at once), then not revoked
 * and the rule on for the host.
 */
export function* watchedHosts(
  ctx: RuleContext,
  rule: AlertRuleName,
  worthALook: (h: WatchedHost) => boolean,
): Iterable<WatchedHost> {
  for (const h of ctx.watch.hosts.values())
    if (worthALook(h) && !h.revoked && ctx.setting(rule, h.hostId).enabled) yield h;
}

/**
 * The one-per-host conditions of `rule` that `pick` finds on watched hosts
 * whose subject has no open alert yet, with the host and the subject.
 */
export function* hostConditions<T>(
  ctx: RuleContext,
  rule: AlertRuleName,
  subjectOf: (hostId: string) => string,
  pick: (h: WatchedHost) => T | undefined,
): Iterable<{ readonly host: WatchedHost; readonly subject: string; readonly condition: T }> {
  for (const host of ctx.watch.hosts.values()) {
    const condition = pick(host);
    if (condition === undefined || host.revoked || !ctx.setting(rule, host.hostId).enabled) continue;
    const subject = subjectOf(host.hostId);
    if (!ctx.isOpen(rule, subject)) yield { host, subject, condition };
  }
}

/** The name a person knows the host by. */
export const hostLabel = (h: WatchedHost): string => h.hostname ?? h.hostId;

/** The name a person knows the repository by (a host's own is named after the host). */
export const repositoryLabel = (r: WatchedRepository): string => r.name ?? r.repositoryId;

/** The resolution of a host's alert: it resolves with the host gone, else as `decide` says. */
export function hostResolution(
  decide: (ctx: RuleContext, alert: OpenAlert, host: WatchedHost) => string | null,
): AlertRule['resolution'] {
  return (ctx, alert) => {
    const host = alert.hostId === undefined ? undefined : ctx.watch.hosts.get(alert.hostId);
    if (host === undefined) return 'the host is no longer known';
    if (host.revoked) return 'the host was removed';
    return decide(ctx, alert, host);
  };
}

/** The resolution of a repository's alert: it resolves with the repository gone, else as `decide` says. */
export function repositoryResolution(
  decide: (ctx: RuleContext, alert: OpenAlert, repository: WatchedRepository) => string | null,
): AlertRule['resolution'] {
  return (ctx, alert) => {
    const r = alert.repositoryId === undefined ? undefined : ctx.watch.repositories.get(alert.repositoryId);
    if (r === undefined) return 'the repository is no longer known';
    if (r.removed) return 'the repository was removed';
    return decide(ctx, alert, r);
  };
}

/** Resolution of the rules no later fact clears (log_lines_dropped, backup_anomaly): the acknowledgement closes them. */
export const closedByAcknowledgement = hostResolution((_ctx, alert) =>
  alert.acknowledged ? `acknowledged by ${alert.acknowledgedBy ?? 'an operator'}` : null,
);
