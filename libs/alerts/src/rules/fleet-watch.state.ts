import {
  type AlertRuleName,
  type AlertSeverity,
  type DisconnectReason,
  evolveJobStatus,
  type FleetEvent,
  isTerminal,
  type JobKind,
  type JobStatus,
  legacyRepositoryId,
  nameBasedUuid,
  type UnknownFleetEvent,
} from '@rf/events';
import {
  effectiveSetting,
  EMPTY_RULE_CONFIGURATION,
  type RuleConfiguration,
  ruleConfigurationOf,
} from './alert-rule-settings';
import { type BackupAnomaly, backupSample, type BackupSample, findAnomaly, remember } from './backup-anomaly';
import type { BackupDeadline } from './backup-interval';
import { hostSubject } from './alert-subjects';
import {
  fromSnapshotJson,
  type SnapshotJson,
  snapshotList,
  snapshotMap,
  snapshotObject,
  toSnapshotJson,
} from '../snapshot-json';
import { isCheckFindingErrors, isLockFailure, type JobOutcome, outcomeOf } from './job-outcome';

/** An event as the rules see it: its type and payload, its id and when the log recorded it. */
export type WatchedEvent = (FleetEvent | UnknownFleetEvent) & { readonly id: string; readonly created: Date };

/** A job that ended badly and keeps its subject failing until a later job of the kind succeeds. */
export interface FailedJob {
  readonly jobId: string;
  readonly hostId: string;
  readonly repositoryId: string;
  readonly kind: JobKind;
  readonly outcome: 'failed' | 'lost';
  readonly error: string | undefined;
  readonly errorCode: string | undefined;
  readonly scheduleId: string | undefined;
  readonly at: number;
}

export interface WatchedSchedule {
  readonly id: string;
  readonly cron: string;
  readonly repositoryId: string | undefined;
  /** When this schedule (with this cron) became desired and enabled. */
  readonly since: number;
  /** The backup_overdue rule's cache of its deadline (a pure function of the schedule, reference and grace). */
  deadlineMemo?: {
    readonly reference: number;
    readonly graceS: number | undefined;
    readonly deadline: BackupDeadline | null;
  };
}

/** An event-driven condition waiting for its alert (anomalies, dropped lines). */
export interface PendingCondition {
  readonly jobId: string;
  readonly at: number;
  readonly details: Readonly<Record<string, unknown>>;
}

export interface WatchedHost {
  readonly hostId: string;
  hostname: string | undefined;
  revoked: boolean;
  online: boolean;
  connectedAt: number | undefined;
  disconnectedAt: number | undefined;
  disconnectReason: DisconnectReason | undefined;
  desiredVersion: number | undefined;
  desiredAt: number | undefined;
  appliedVersion: number | undefined;
  /** Enabled backup schedules of the desired list. */
  backupSchedules: Map<string, WatchedSchedule>;
  /** Schedule id → finish time of its last succeeded (or warning) backup. */
  lastBackupSuccess: Map<string, number>;
  /** `<kind> <repository id>` → the failure that opened the streak. */
  failing: Map<string, FailedJob>;
  /** The repositories the host is attached to. */
  repositories: Set<string>;
  /** Paths key → the last backups' samples. */
  backupHistory: Map<string, BackupSample[]>;
  pendingAnomaly: PendingCondition | undefined;
  pendingDrops: PendingCondition | undefined;
}

/** A repository, shared or not: lock and check conditions belong to it, not to a host. */
export interface WatchedRepository {
  readonly repositoryId: string;
  name: string | undefined;
  removed: boolean;
  /** Lock failures in a row on it (from any host) since a job on it last succeeded. */
  lockStreak: number;
  /** Set once two jobs in a row failed on the lock; cleared by a success. */
  locked: FailedJob | undefined;
  /** The last check that found errors, until a check finds none. */
  checkFailure: FailedJob | undefined;
  /** Enabled forget/prune/check schedules of the repository, by id. */
  maintenance: Map<string, WatchedMaintenance>;
  /** Schedule id → finish time of the last job of that schedule (and kind) that succeeded or warned. */
  lastMaintenanceSuccess: Map<string, number>;
}

/** The kinds of repository schedule maintenance_overdue watches. */
export const MAINTENANCE_KINDS: readonly JobKind[] = ['forget', 'prune', 'check'];

/** One of a repository's maintenance schedules. */
export interface WatchedMaintenance {
  readonly id: string;
  readonly kind: JobKind;
  readonly cron: string;
  /** When this schedule (with this kind and cron) became desired and enabled. */
  readonly since: number;
}

interface WatchedJob {
  status: JobStatus;
  readonly hostId: string;
  readonly repositoryId: string;
  readonly kind: JobKind;
  readonly scheduleId: string | undefined;
  /** Backups only: the sorted paths, so history compares a backup with the same backup. */
  readonly pathsKey: string | undefined;
}

export interface OpenAlert {
  readonly alertId: string;
  readonly rule: AlertRuleName;
  readonly subject: string;
  readonly severity: AlertSeverity;
  readonly hostId: string | undefined;
  readonly repositoryId: string | undefined;
  readonly raisedAt: number;
  acknowledged: boolean;
  acknowledgedBy: string | undefined;
}

export const alertKey = (rule: AlertRuleName, subject: string): string => `${rule} ${subject}`;

/**
 * What the rules know about the fleet: a fold over the log (docs/alerts.md).
 * `apply` is deterministic and reads no clock; the times it keeps come from
 * the events. It also folds the alerts' own events, so after a replay it knows
 * which alerts are open and never decides what is already recorded.
 */
export class FleetWatch {
  readonly hosts = new Map<string, WatchedHost>();
  readonly repositories = new Map<string, WatchedRepository>();
  /** Open alerts by (rule, subject). */
  private readonly open = new Map<string, OpenAlert>();
  private readonly openById = new Map<string, OpenAlert>();
  private readonly jobs = new Map<string, WatchedJob>();
  private readonly raisedCount = new Map<string, number>();
  config: RuleConfiguration = EMPTY_RULE_CONFIGURATION;

  /**
   * The whole fold as JSON (docs/alerts.md, "How the rules run"): restored by
   * `fromSnapshot`, it decides exactly as the log it was folded from would.
   * Deadline caches are left out (recomputed on first use).
   */
  toSnapshot(): SnapshotJson {
    const hosts = new Map<string, unknown>();
    for (const [id, h] of this.hosts) {
      const schedules = new Map<string, unknown>();
      for (const [sid, sc] of h.backupSchedules) {
        const { deadlineMemo: _cache, ...rest } = sc;
        schedules.set(sid, rest);
      }
      // The bulk of a fleet's snapshot: each history as one flat list of numbers.
      const history = new Map<string, number[]>();
      for (const [key, samples] of h.backupHistory)
        history.set(
          key,
          samples.flatMap((x) => [x.files, x.dataAdded, x.bytesProcessed]),
        );
      hosts.set(id, { ...h, backupSchedules: schedules, backupHistory: history });
    }
    return toSnapshotJson({
      hosts,
      repositories: this.repositories,
      alerts: [...this.openById.values()],
      current: [...this.open.values()].map((a) => a.alertId),
      jobs: this.jobs,
      raised: this.raisedCount,
      config: this.config,
    });
  }

  /** The fold `toSnapshot` wrote; throws a TypeError naming what is not as written. */
  static fromSnapshot(body: unknown): FleetWatch {
    const o = snapshotObject(fromSnapshotJson(body), 'the fleet watch');
    const w = new FleetWatch();
    for (const [id, h] of snapshotMap(o.hosts, 'hosts')) {
      const host = snapshotObject(h, `host ${String(id)}`) as unknown as WatchedHost;
      for (const field of ['backupSchedules', 'lastBackupSuccess', 'failing', 'backupHistory'] as const)
        snapshotMap(host[field], `${field} of host ${String(id)}`);
      const history = new Map<string, BackupSample[]>();
      for (const [key, flat] of host.backupHistory as unknown as Map<string, unknown>) {
        const n = snapshotList(flat, `backup history of host ${String(id)}`).map(Number);
        const samples: BackupSample[] = [];
        for (let i = 0; i + 2 < n.length; i += 3)
          samples.push({ files: n[i]!, dataAdded: n[i + 1]!, bytesProcessed: n[i + 2]! });
        history.set(key, samples);
      }
      host.backupHistory = history;
      if (!(host.repositories instanceof Set))
        throw new TypeError(`repositories of host ${String(id)} is not a set`);
      w.hosts.set(String(id), host);
    }
    for (const [id, r] of snapshotMap(o.repositories, 'repositories')) {
      const repository = snapshotObject(r, `repository ${String(id)}`) as unknown as WatchedRepository;
      for (const field of ['maintenance', 'lastMaintenanceSuccess'] as const)
        snapshotMap(repository[field], `${field} of repository ${String(id)}`);
      w.repositories.set(String(id), repository);
    }
    for (const a of snapshotList(o.alerts, 'alerts')) {
      const alert = snapshotObject(a, 'an open alert') as unknown as OpenAlert;
      w.openById.set(alert.alertId, alert);
    }
    for (const id of snapshotList(o.current, 'current alerts')) {
      const alert = w.openById.get(String(id));
      if (alert === undefined)
        throw new TypeError(`current alert ${String(id)} is not among the open alerts`);
      w.open.set(alertKey(alert.rule, alert.subject), alert);
    }
    for (const [id, j] of snapshotMap(o.jobs, 'jobs'))
      w.jobs.set(String(id), snapshotObject(j, `job ${String(id)}`) as unknown as WatchedJob);
    for (const [key, n] of snapshotMap(o.raised, 'raised counts')) w.raisedCount.set(String(key), Number(n));
    w.config = snapshotObject(o.config, 'the rule configuration') as unknown as RuleConfiguration;
    return w;
  }

  /** The id the next alert of (rule, subject) gets: derived from the log, so every replay and every node agree. */
  nextAlertId(rule: AlertRuleName, subject: string): string {
    const n = this.raisedCount.get(alertKey(rule, subject)) ?? 0;
    return nameBasedUuid(`alert/${rule}/${subject}/${n}`);
  }

  openAlert(rule: AlertRuleName, subject: string): OpenAlert | undefined {
    return this.open.get(alertKey(rule, subject));
  }

  /** Every alert not resolved yet. */
  openAlerts(): Iterable<OpenAlert> {
    return this.openById.values();
  }

  apply(e: WatchedEvent): void {
    const at = e.created.getTime();
    switch (e.type) {
      case 'HostEnrolled':
        this.host(e.data.host_id).hostname = e.data.hostname;
        return;
      case 'AgentConnected': {
        const h = this.host(e.data.host_id);
        h.hostname = e.data.hostname;
        h.online = true;
        h.connectedAt = time(e.data.connected_at, at);
        h.disconnectedAt = undefined;
        h.disconnectReason = undefined;
        return;
      }
      case 'AgentDisconnected': {
        const h = this.host(e.data.host_id);
        h.online = false;
        h.disconnectedAt = time(e.data.disconnected_at, at);
        h.disconnectReason = e.data.reason;
        return;
      }
      case 'HostRevoked': {
        const h = this.host(e.data.host_id);
        h.revoked = true;
        h.online = false;
        h.repositories.clear();
        return;
      }
      case 'RepositoryConfigured': {
        // A host's own repository from before repositories were first-class (docs/repositories.md).
        const h = this.host(e.data.host_id);
        const r = this.repository(legacyRepositoryId(h.hostId));
        r.name ??= h.hostname ?? h.hostId;
        r.removed = false;
        h.repositories.add(r.repositoryId);
        return;
      }
      case 'RepositoryRegistered':
      case 'RepositoryChanged': {
        const r = this.repository(e.data.repository_id);
        r.name = e.data.name;
        r.removed = false;
        return;
      }
      case 'RepositoryRemoved':
        this.repository(e.data.repository_id).removed = true;
        for (const h of this.hosts.values()) h.repositories.delete(e.data.repository_id);
        return;
      case 'RepositoryAttached':
        this.host(e.data.host_id).repositories.add(e.data.repository_id);
        return;
      case 'RepositoryDetached':
        this.host(e.data.host_id).repositories.delete(e.data.repository_id);
        return;
      case 'SchedulesChanged':
        this.schedulesChanged(this.host(e.data.host_id), e.data, at);
        return;
      case 'SchedulesApplied': {
        const h = this.host(e.data.host_id);
        h.appliedVersion = Math.max(h.appliedVersion ?? 0, e.data.version);
        return;
      }
      case 'JobRequested': {
        const paths = e.data.kind === 'backup' ? (e.data.args as { paths?: unknown }).paths : undefined;
        this.jobs.set(e.data.job_id, {
          status: 'queued',
          hostId: e.data.host_id,
          repositoryId: e.data.repository_id ?? this.defaultRepository(e.data.host_id),
          kind: e.data.kind,
          scheduleId: e.data.schedule_id,
          pathsKey: Array.isArray(paths) ? [...paths].map(String).sort().join('\n') : undefined,
        });
        return;
      }
      case 'JobRejected':
      case 'JobFinished':
      case 'JobLost':
        this.jobEnded(e, at);
        return;
      case 'LogLinesDropped': {
        const job = this.jobs.get(e.data.job_id);
        if (job !== undefined) this.linesDropped(job, e.data.job_id, e.data.count, at);
        return;
      }
      case 'AlertRaised': {
        const key = alertKey(e.data.rule, e.data.subject);
        this.raisedCount.set(key, (this.raisedCount.get(key) ?? 0) + 1);
        const alert: OpenAlert = {
          alertId: e.data.alert_id,
          rule: e.data.rule,
          subject: e.data.subject,
          severity: e.data.severity,
          hostId: e.data.host_id,
          repositoryId: e.data.repository_id,
          raisedAt: time(e.data.raised_at, at),
          acknowledged: false,
          acknowledgedBy: undefined,
        };
        this.open.set(key, alert);
        this.openById.set(alert.alertId, alert);
        const h = e.data.host_id === undefined ? undefined : this.hosts.get(e.data.host_id);
        if (h !== undefined && e.data.rule === 'backup_anomaly') h.pendingAnomaly = undefined;
        if (h !== undefined && e.data.rule === 'log_lines_dropped') h.pendingDrops = undefined;
        return;
      }
      case 'AlertAcknowledged': {
        const alert = this.openById.get(e.data.alert_id);
        if (alert === undefined) return;
        alert.acknowledged = true;
        alert.acknowledgedBy = e.data.by;
        return;
      }
      case 'AlertResolved': {
        const alert = this.openById.get(e.data.alert_id);
        if (alert === undefined) return;
        this.openById.delete(alert.alertId);
        // Only if it is the open one: two nodes racing may have opened another for the same subject.
        const key = alertKey(alert.rule, alert.subject);
        if (this.open.get(key) === alert) this.open.delete(key);
        return;
      }
      case 'AlertRulesChanged':
        this.config = ruleConfigurationOf(e.data);
        return;
      case 'RepositorySchedulesChanged':
        this.repositorySchedulesChanged(this.repository(e.data.repository_id), e.data.schedules, at);
        return;
      case 'RepoStatsReported':
      case 'AgentUpdateRequested':
      case 'RepositorySecretsSet':
      case 'JobDispatched':
      case 'JobAccepted':
      case 'JobStarted':
      case 'JobCancelRequested':
      case 'JobProgress':
      case 'LogStreamLine':
      case 'ScheduleFired':
      case 'SnapshotsReported':
      case 'SnapshotDownloaded':
      case 'UserCreated':
      case 'UserPasswordChanged':
      case 'UserRoleChanged':
      case 'UserDisabled':
      case 'UserEnabled':
      case 'UserLoggedIn':
      case 'UserLoggedOut':
      case 'UserLoginFailed':
      case 'ApiTokenCreated':
      case 'ApiTokenRevoked':
      case 'EnrolmentTokenCreated':
      case 'EnrolmentTokenUsed':
      case 'EnrolmentTokenRevoked':
      case 'ChannelConfigured':
      case 'ChannelRemoved':
      case 'NotificationSent':
      case 'NotificationFailed':
      case 'unknown':
        return;
      default: {
        const _exhaustive: never = e;
        return _exhaustive;
      }
    }
  }

  private host(hostId: string): WatchedHost {
    let h = this.hosts.get(hostId);
    if (h === undefined) {
      h = {
        hostId,
        hostname: undefined,
        revoked: false,
        online: false,
        connectedAt: undefined,
        disconnectedAt: undefined,
        disconnectReason: undefined,
        desiredVersion: undefined,
        desiredAt: undefined,
        appliedVersion: undefined,
        backupSchedules: new Map(),
        lastBackupSuccess: new Map(),
        failing: new Map(),
        repositories: new Set(),
        backupHistory: new Map(),
        pendingAnomaly: undefined,
        pendingDrops: undefined,
      };
      this.hosts.set(hostId, h);
    }
    return h;
  }

  private repository(repositoryId: string): WatchedRepository {
    let r = this.repositories.get(repositoryId);
    if (r === undefined) {
      r = {
        repositoryId,
        name: undefined,
        removed: false,
        lockStreak: 0,
        locked: undefined,
        checkFailure: undefined,
        maintenance: new Map(),
        lastMaintenanceSuccess: new Map(),
      };
      this.repositories.set(repositoryId, r);
    }
    return r;
  }

  /** The repository a job that names none works on: the host's only one, else its own from before (docs/repositories.md). */
  private defaultRepository(hostId: string): string {
    const attached = this.hosts.get(hostId)?.repositories;
    if (attached !== undefined && attached.size === 1) return attached.values().next().value as string;
    const legacy = this.repository(legacyRepositoryId(hostId));
    legacy.name ??= this.hosts.get(hostId)?.hostname ?? hostId;
    return legacy.repositoryId;
  }

  private schedulesChanged(
    h: WatchedHost,
    d: Extract<FleetEvent, { type: 'SchedulesChanged' }>['data'],
    at: number,
  ): void {
    h.desiredVersion = d.version;
    h.desiredAt = at;
    const next = new Map<string, WatchedSchedule>();
    for (const s of d.schedules) {
      if (s.kind !== 'backup' || !s.enabled) continue;
      const before = h.backupSchedules.get(s.id);
      const same = before !== undefined && before.cron === s.cron && before.repositoryId === s.repository_id;
      next.set(s.id, same ? before : { id: s.id, cron: s.cron, repositoryId: s.repository_id, since: at });
    }
    h.backupSchedules = next;
  }

  private repositorySchedulesChanged(
    r: WatchedRepository,
    schedules: Extract<FleetEvent, { type: 'RepositorySchedulesChanged' }>['data']['schedules'],
    at: number,
  ): void {
    const next = new Map<string, WatchedMaintenance>();
    for (const s of schedules) {
      if (!s.enabled || !MAINTENANCE_KINDS.includes(s.kind)) continue;
      const before = r.maintenance.get(s.id);
      const same = before !== undefined && before.cron === s.cron && before.kind === s.kind;
      next.set(s.id, same ? before : { id: s.id, kind: s.kind, cron: s.cron, since: at });
    }
    r.maintenance = next;
  }

  private jobEnded(
    e: Extract<WatchedEvent, { type: 'JobRejected' | 'JobFinished' | 'JobLost' }>,
    at: number,
  ): void {
    const job = this.jobs.get(e.data.job_id);
    if (job === undefined) return;
    // The catalog's lifecycle decides whether this event is the job's outcome (a late or repeated one is not).
    const step = evolveJobStatus(job.status, e);
    job.status = step.status;
    if (!step.outcome || !isTerminal(step.status)) return;
    const outcome = outcomeOf(e, step.status, at);
    // A lost job may still report later (its agent comes back); every other ending is final.
    if (step.status !== 'lost') this.jobs.delete(e.data.job_id);
    const h = this.host(job.hostId);
    if (outcome.status === 'cancelled') return;
    const failed: FailedJob | undefined =
      outcome.status === 'failed' || outcome.status === 'lost'
        ? {
            jobId: e.data.job_id,
            hostId: job.hostId,
            repositoryId: job.repositoryId,
            kind: job.kind,
            outcome: outcome.status,
            error: outcome.error,
            errorCode: outcome.errorCode,
            scheduleId: job.scheduleId,
            at: outcome.at,
          }
        : undefined;
    if (failed === undefined) this.jobSucceeded(h, job, e.data.job_id, outcome);
    else this.jobFailed(h, failed);
    if (outcome.droppedLines > 0) this.linesDropped(job, e.data.job_id, outcome.droppedLines, outcome.at);
  }

  private jobSucceeded(h: WatchedHost, job: WatchedJob, jobId: string, outcome: JobOutcome): void {
    h.failing.delete(failingKey(job.kind, job.repositoryId));
    const r = this.repository(job.repositoryId);
    r.lockStreak = 0;
    r.locked = undefined;
    if (job.kind === 'check') r.checkFailure = undefined;
    if (job.scheduleId !== undefined && r.maintenance.get(job.scheduleId)?.kind === job.kind)
      r.lastMaintenanceSuccess.set(job.scheduleId, outcome.at);
    if (job.kind !== 'backup') return;
    if (job.scheduleId !== undefined) h.lastBackupSuccess.set(job.scheduleId, outcome.at);
    const sample = backupSample(outcome.stats);
    if (sample === null) return;
    const key = job.pathsKey ?? '';
    let history = h.backupHistory.get(key);
    if (history === undefined) h.backupHistory.set(key, (history = []));
    const anomaly = findAnomaly(history, sample);
    remember(history, sample);
    if (anomaly !== null && this.watching(h, 'backup_anomaly') && h.pendingAnomaly === undefined)
      h.pendingAnomaly = { jobId, at: outcome.at, details: anomalyDetails(anomaly, job) };
  }

  private jobFailed(h: WatchedHost, failed: FailedJob): void {
    const key = failingKey(failed.kind, failed.repositoryId);
    if (!h.failing.has(key)) h.failing.set(key, failed);
    const r = this.repository(failed.repositoryId);
    if (isLockFailure(failed.errorCode)) {
      r.lockStreak++;
      if (r.lockStreak >= 2 && r.locked === undefined) r.locked = failed;
    } else r.lockStreak = 0;
    if (failed.kind === 'check' && isCheckFindingErrors(failed) && r.checkFailure === undefined)
      r.checkFailure = failed;
  }

  private linesDropped(job: WatchedJob, jobId: string, count: number, at: number): void {
    const h = this.host(job.hostId);
    if (!this.watching(h, 'log_lines_dropped')) return;
    if (h.pendingDrops === undefined)
      h.pendingDrops = { jobId, at, details: { job_id: jobId, dropped_lines: count } };
  }

  /**
   * Whether a one-off condition (an anomaly, dropped lines) should wait for an
   * alert: the rule is on for the host and no alert of it is open (an open one covers it).
   */
  private watching(h: WatchedHost, rule: 'backup_anomaly' | 'log_lines_dropped'): boolean {
    return (
      !h.revoked &&
      effectiveSetting(this.config, rule, h.hostId).enabled &&
      !this.open.has(alertKey(rule, hostSubject(h.hostId)))
    );
  }
}

const failingKey = (kind: JobKind, repositoryId: string): string => `${kind} ${repositoryId}`;

function time(iso: string | undefined, fallback: number): number {
  if (iso === undefined) return fallback;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? fallback : t;
}

function anomalyDetails(a: BackupAnomaly, job: WatchedJob): Record<string, unknown> {
  return {
    anomaly: a.kind,
    value: a.value,
    median: a.median,
    compared_with: a.samples,
    ...(job.scheduleId !== undefined ? { schedule_id: job.scheduleId } : {}),
    ...(job.pathsKey !== undefined ? { paths: job.pathsKey.split('\n') } : {}),
  };
}
