import {
  isSuccessful,
  type AlertRuleName,
  type AlertSeverity,
  type ChannelKind,
  type ChannelRouting,
  deliveryStream,
  evolveJobStatus,
  type FleetEventOf,
  type JobStatus,
  type NotificationFields,
  type NotificationTransition,
  type SealedChannelSettings,
} from '@rf/events';
import { firstLine } from '../rules/alert-text';
import type { WatchedEvent } from '../rules/fleet-watch.state';
import type { AlertNoticeEvent, AlertView, Notice } from '../channels/notice';
import { deliveryId } from './delivery-ids';
import { reminderHours, routes } from './routing';
import { TimeHeap } from './time-heap';
import {
  fromSnapshotJson,
  type SnapshotJson,
  snapshotList,
  snapshotMap,
  snapshotObject,
  toSnapshotJson,
} from '../snapshot-json';

const HOUR_MS = 3_600_000;

/** A channel as configured in the log (secrets sealed). */
export interface ConfiguredChannel {
  readonly id: string;
  readonly kind: ChannelKind;
  readonly name: string;
  readonly settings: SealedChannelSettings;
  readonly routing: ChannelRouting | undefined;
}

type TrackState = 'pending' | 'sent' | 'given_up' | 'superseded';

/** One notification to one channel, from first attempt to acceptance or giving up. */
interface Track {
  readonly deliveryId: string;
  readonly transition: NotificationTransition;
  readonly reminder: number | undefined;
  state: TrackState;
  failures: number;
  firstAttemptAt: number | undefined;
  retryAt: number | undefined;
}

/** What one channel is owed about one alert. */
interface AlertTarget {
  readonly type: 'alert';
  readonly alert: AlertEntry;
  readonly channelId: string;
  raised: Track;
  resolved: Track | undefined;
  reminder: Track | undefined;
  /** The highest reminder number delivered or given up. */
  remindersSettled: number;
  /** When this target next needs a look (Infinity: nothing, or an attempt is out). */
  checkAt: number;
  live: boolean;
}

interface AlertEntry {
  readonly id: string;
  readonly rule: AlertRuleName;
  readonly severity: AlertSeverity;
  readonly summary: string;
  readonly hostId: string | undefined;
  readonly hostname: string | undefined;
  readonly repositoryId: string | undefined;
  readonly jobId: string | undefined;
  readonly raisedAt: number;
  readonly raisedAtIso: string;
  resolvedAtIso: string | undefined;
  resolution: string | undefined;
  acknowledged: boolean;
  readonly targets: Map<string, AlertTarget>;
}

/** What one healthchecks channel is owed about one job. */
interface PingTarget {
  readonly type: 'ping';
  readonly job: PingJob;
  readonly channelId: string;
  readonly tracks: Map<PingTransition, Track>;
  checkAt: number;
  live: boolean;
}

type Target = AlertTarget | PingTarget;

type PingTransition = 'start' | 'success' | 'fail';

interface PingJob {
  readonly jobId: string;
  status: JobStatus;
  readonly hostId: string;
  readonly scheduleId: string;
  ended: boolean;
  detail: string;
  readonly targets: Map<string, PingTarget>;
}

/** A notification to attempt now. */
export interface DueDelivery {
  readonly channel: ConfiguredChannel;
  readonly deliveryId: string;
  readonly transition: NotificationTransition;
  readonly reminder: number | undefined;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly firstAttemptAt: number | undefined;
  /** The alert, or for pings the job, this is about; its records go to `delivery-{aboutId}`. */
  readonly aboutId: string;
  readonly stream: string;
  /** The notice to send, stamped with the sending time. */
  notice(sentAt: Date): Notice;
}

const newTrack = (
  aboutId: string,
  transition: NotificationTransition,
  channelId: string,
  reminder?: number,
): Track => ({
  deliveryId: deliveryId(aboutId, transition, channelId, reminder),
  transition,
  reminder,
  state: 'pending',
  failures: 0,
  firstAttemptAt: undefined,
  retryAt: undefined,
});

const supersede = (t: Track | undefined): void => {
  if (t !== undefined && t.state === 'pending') t.state = 'superseded';
};

const settled = (t: Track | undefined): boolean => t === undefined || t.state !== 'pending';

const NOTICE_EVENT: Readonly<Record<'raised' | 'resolved' | 'reminder', AlertNoticeEvent>> = {
  raised: 'alert.raised',
  resolved: 'alert.resolved',
  reminder: 'alert.reminder',
};

/**
 * What to deliver, where, and when (docs/alerts.md, "Delivery"): a fold over
 * the log — channels, alerts, the jobs healthchecks channels watch, and every
 * delivery record — plus `due(now)`. A notification's fate is in the log
 * (NotificationSent / NotificationFailed with its retry time), so a restart or
 * a replay plans exactly what is still owed: nothing accepted is planned again,
 * a failed attempt is retried at its recorded time. Which channels an alert
 * goes to is decided when it is raised, by the routing of that moment.
 *
 * `takeDue` hands each owed notification out once, in time order from a heap,
 * until the log records its outcome (or `reopen` gives it back): a round costs
 * what is due, not what is open.
 */
export class DeliveryPlanner {
  readonly channels = new Map<string, ConfiguredChannel>();
  private readonly alerts = new Map<string, AlertEntry>();
  private readonly pings = new Map<string, PingJob>();
  private readonly heap = new TimeHeap<Target>();

  apply(e: WatchedEvent): void {
    switch (e.type) {
      case 'ChannelConfigured':
        this.channels.set(e.data.channel_id, {
          id: e.data.channel_id,
          kind: e.data.kind,
          name: e.data.name,
          settings: e.data.settings,
          routing: e.data.routing,
        });
        // Reminder hours may have changed.
        for (const a of this.alerts.values()) {
          const t = a.targets.get(e.data.channel_id);
          if (t !== undefined) this.touch(t);
        }
        return;
      case 'ChannelRemoved':
        this.channelRemoved(e.data.channel_id);
        return;
      case 'AlertRaised':
        this.alertRaised(e.data);
        return;
      case 'AlertAcknowledged': {
        const a = this.alerts.get(e.data.alert_id);
        if (a === undefined) return;
        a.acknowledged = true;
        for (const t of a.targets.values()) this.touch(t);
        return;
      }
      case 'AlertResolved':
        this.alertResolved(e.data);
        return;
      case 'NotificationSent':
      case 'NotificationFailed':
        this.recorded(e);
        return;
      case 'JobRequested':
        if (e.data.schedule_id !== undefined)
          this.pings.set(e.data.job_id, {
            jobId: e.data.job_id,
            status: 'queued',
            hostId: e.data.host_id,
            scheduleId: e.data.schedule_id,
            ended: false,
            detail: 'requested',
            targets: new Map(),
          });
        return;
      case 'JobStarted':
      case 'JobFinished':
      case 'JobRejected':
      case 'JobLost':
        this.jobMoved(e);
        return;
      case 'HostEnrolled':
      case 'AgentConnected':
      case 'AgentDisconnected':
      case 'RepositoryConfigured':
      case 'HostRevoked':
      case 'AgentUpdateRequested':
      case 'RepoStatsReported':
      case 'RepositoryRegistered':
      case 'RepositoryChanged':
      case 'RepositorySecretsSet':
      case 'RepositoryAttached':
      case 'RepositoryDetached':
      case 'RepositoryRemoved':
      case 'RepositorySchedulesChanged':
      case 'SnapshotDownloaded':
      case 'JobDispatched':
      case 'JobAccepted':
      case 'JobCancelRequested':
      case 'JobProgress':
      case 'LogStreamLine':
      case 'LogLinesDropped':
      case 'SchedulesChanged':
      case 'SchedulesApplied':
      case 'ScheduleFired':
      case 'SnapshotsReported':
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
      case 'AlertRulesChanged':
      case 'unknown':
        return;
      default: {
        const _exhaustive: never = e;
        return _exhaustive;
      }
    }
  }

  /**
   * Everything still owed, as JSON (docs/alerts.md, "How the rules run"). A
   * notification handed out by `takeDue` whose outcome is not recorded yet is
   * written as owed: restored after a crash, it is attempted again.
   */
  toSnapshot(): SnapshotJson {
    return toSnapshotJson({
      channels: [...this.channels.values()],
      alerts: [...this.alerts.values()].map((a) => ({
        ...a,
        targets: [...a.targets.values()].map((t) => ({
          channelId: t.channelId,
          raised: t.raised,
          resolved: t.resolved,
          reminder: t.reminder,
          remindersSettled: t.remindersSettled,
        })),
      })),
      pings: [...this.pings.values()].map((j) => ({
        ...j,
        targets: [...j.targets.values()].map((t) => ({ channelId: t.channelId, tracks: t.tracks })),
      })),
    });
  }

  /** The planner `toSnapshot` wrote, every target planned again; throws a TypeError naming what is not as written. */
  static fromSnapshot(body: unknown): DeliveryPlanner {
    const o = snapshotObject(fromSnapshotJson(body), 'the delivery planner');
    const p = new DeliveryPlanner();
    for (const c of snapshotList(o.channels, 'channels')) {
      const channel = snapshotObject(c, 'a channel') as unknown as ConfiguredChannel;
      p.channels.set(channel.id, channel);
    }
    const restored: Target[] = [];
    for (const a of snapshotList(o.alerts, 'alerts')) {
      const fields = snapshotObject(a, 'an alert');
      const entry = { ...fields, targets: new Map() } as unknown as AlertEntry;
      for (const t of snapshotList(fields.targets, `targets of alert ${entry.id}`)) {
        const tf = snapshotObject(t, `a target of alert ${entry.id}`);
        const target: AlertTarget = {
          type: 'alert',
          alert: entry,
          channelId: String(tf.channelId),
          raised: snapshotObject(tf.raised, 'a raised track') as unknown as Track,
          resolved:
            tf.resolved === undefined
              ? undefined
              : (snapshotObject(tf.resolved, 'a track') as unknown as Track),
          reminder:
            tf.reminder === undefined
              ? undefined
              : (snapshotObject(tf.reminder, 'a track') as unknown as Track),
          remindersSettled: Number(tf.remindersSettled),
          checkAt: Infinity,
          live: true,
        };
        entry.targets.set(target.channelId, target);
        restored.push(target);
      }
      p.alerts.set(entry.id, entry);
    }
    for (const j of snapshotList(o.pings, 'pings')) {
      const fields = snapshotObject(j, 'a pinged job');
      const job = { ...fields, targets: new Map() } as unknown as PingJob;
      for (const t of snapshotList(fields.targets, `targets of job ${job.jobId}`)) {
        const tf = snapshotObject(t, `a target of job ${job.jobId}`);
        const tracks = snapshotMap(tf.tracks, `tracks of job ${job.jobId}`) as Map<PingTransition, Track>;
        const target: PingTarget = {
          type: 'ping',
          job,
          channelId: String(tf.channelId),
          tracks,
          checkAt: Infinity,
          live: true,
        };
        job.targets.set(target.channelId, target);
        restored.push(target);
      }
      p.pings.set(job.jobId, job);
    }
    for (const t of restored) p.touch(t);
    return p;
  }

  /** Every notification owed at `now` (a full look; changes nothing). */
  due(now: number): DueDelivery[] {
    const out: DueDelivery[] = [];
    for (const a of this.alerts.values()) for (const t of a.targets.values()) this.dueOf(t, now, out);
    for (const job of this.pings.values()) for (const t of job.targets.values()) this.dueOf(t, now, out);
    return out;
  }

  /**
   * The notifications owed at `now` that were not handed out yet. Each is handed
   * out once; its target comes back when the log records the attempt's outcome,
   * or when `reopen` returns it.
   */
  takeDue(now: number): DueDelivery[] {
    const out: DueDelivery[] = [];
    for (let at = this.heap.peekAt(); at !== undefined && at <= now; at = this.heap.peekAt()) {
      const t = this.heap.pop() as Target;
      if (!t.live || t.checkAt !== at) continue;
      const before = out.length;
      this.dueOf(t, now, out);
      t.checkAt = Infinity;
      if (out.length === before) this.touch(t, now);
    }
    return out;
  }

  /** Gives back a delivery handed out by `takeDue` whose outcome could not be recorded. */
  reopen(d: DueDelivery): void {
    const t =
      this.alerts.get(d.aboutId)?.targets.get(d.channel.id) ??
      this.pings.get(d.aboutId)?.targets.get(d.channel.id);
    if (t !== undefined) this.touch(t);
  }

  /** When something is next owed (a retry, a reminder, or now), if anything. */
  nextDueAt(): number | undefined {
    for (let t = this.heap.peek(); t !== undefined; t = this.heap.peek()) {
      const at = this.heap.peekAt() as number;
      if (t.live && t.checkAt === at) return at;
      this.heap.pop();
    }
    return undefined;
  }

  /** How many alerts and pinged jobs still have notifications in play (for tests and metrics). */
  get size(): { alerts: number; pings: number } {
    return { alerts: this.alerts.size, pings: this.pings.size };
  }

  /** Re-plans a target after its state changed: when it next needs a look. */
  private touch(t: Target, notBefore = -Infinity): void {
    const at = this.checkAtOf(t);
    t.checkAt = at;
    // A look that found nothing never comes back for the same instant (no busy loop on an inconsistency).
    if (at === Infinity || at <= notBefore) {
      t.checkAt = Infinity;
      return;
    }
    this.heap.push(at, t);
  }

  private checkAtOf(t: Target): number {
    let at = Infinity;
    const pending = (track: Track | undefined): void => {
      if (track !== undefined && track.state === 'pending') at = Math.min(at, track.retryAt ?? 0);
    };
    if (t.type === 'ping') {
      for (const track of t.tracks.values()) pending(track);
      return at;
    }
    pending(t.raised);
    pending(t.resolved);
    const hours = this.remindersEvery(t);
    if (hours > 0) {
      pending(t.reminder);
      at = Math.min(at, t.alert.raisedAt + (t.remindersSettled + 1) * hours * HOUR_MS);
    }
    return at;
  }

  /** Hours between reminders for this target now, 0 when none are owed (resolved, acknowledged, raised unsettled). */
  private remindersEvery(t: AlertTarget): number {
    const channel = this.channels.get(t.channelId);
    if (
      channel === undefined ||
      t.alert.resolvedAtIso !== undefined ||
      t.alert.acknowledged ||
      !settled(t.raised)
    )
      return 0;
    return reminderHours(channel.routing);
  }

  private dueOf(t: Target, now: number, out: DueDelivery[]): void {
    const channel = this.channels.get(t.channelId);
    if (channel === undefined) return;
    if (t.type === 'ping') {
      for (const track of t.tracks.values())
        if (isDue(track, now)) out.push(this.pingDelivery(t.job, channel, track));
      return;
    }
    for (const track of [t.raised, t.resolved])
      if (track !== undefined && isDue(track, now)) out.push(this.alertDelivery(t.alert, channel, track));
    const hours = this.remindersEvery(t);
    if (hours === 0) return;
    const k = Math.floor((now - t.alert.raisedAt) / (hours * HOUR_MS));
    if (k < 1 || k <= t.remindersSettled) return;
    const r = t.reminder;
    if (r !== undefined && r.state === 'pending' && r.reminder === k) {
      if (isDue(r, now)) out.push(this.alertDelivery(t.alert, channel, r));
    } else out.push(this.alertDelivery(t.alert, channel, newTrack(t.alert.id, 'reminder', t.channelId, k)));
  }

  private alertRaised(d: FleetEventOf<'AlertRaised'>['data']): void {
    const raisedAt = Date.parse(d.raised_at);
    const entry: AlertEntry = {
      id: d.alert_id,
      rule: d.rule,
      severity: d.severity,
      summary: d.summary,
      hostId: d.host_id,
      hostname: d.hostname,
      repositoryId: d.repository_id,
      jobId: d.job_id,
      raisedAt,
      raisedAtIso: new Date(raisedAt).toISOString(),
      resolvedAtIso: undefined,
      resolution: undefined,
      acknowledged: false,
      targets: new Map(),
    };
    for (const c of this.channels.values()) {
      if (
        c.kind === 'healthchecks' ||
        !routes(c.routing, { rule: d.rule, severity: d.severity, hostId: d.host_id })
      )
        continue;
      const target: AlertTarget = {
        type: 'alert',
        alert: entry,
        channelId: c.id,
        raised: newTrack(d.alert_id, 'raised', c.id),
        resolved: undefined,
        reminder: undefined,
        remindersSettled: 0,
        checkAt: Infinity,
        live: true,
      };
      entry.targets.set(c.id, target);
      this.touch(target);
    }
    if (entry.targets.size > 0) this.alerts.set(d.alert_id, entry);
  }

  private alertResolved(d: FleetEventOf<'AlertResolved'>['data']): void {
    const a = this.alerts.get(d.alert_id);
    if (a === undefined || a.resolvedAtIso !== undefined) return;
    a.resolvedAtIso = new Date(Date.parse(d.resolved_at)).toISOString();
    a.resolution = d.reason;
    for (const t of a.targets.values()) {
      // Still undelivered, the raised notice is stale: the resolution notice says all of it.
      supersede(t.raised);
      supersede(t.reminder);
      t.resolved = newTrack(a.id, 'resolved', t.channelId);
      this.touch(t);
    }
  }

  /** A scheduled job moved in its lifecycle (the catalog's): it started, or this event is its outcome. */
  private jobMoved(e: FleetEventOf<'JobStarted' | 'JobFinished' | 'JobRejected' | 'JobLost'>): void {
    const job = this.pings.get(e.data.job_id);
    if (job === undefined) return;
    const before = job.status;
    const step = evolveJobStatus(before, e);
    job.status = step.status;
    if (e.type === 'JobStarted') {
      if (before !== 'running' && step.status === 'running') this.ping(job, 'start', 'started');
      return;
    }
    if (!step.outcome) return;
    const ok = isSuccessful(step.status);
    const why =
      e.type === 'JobFinished'
        ? firstLine(e.data.error)
        : e.type === 'JobRejected'
          ? firstLine(e.data.error)
          : firstLine(e.data.reason);
    const detail =
      e.type === 'JobRejected'
        ? `rejected by the agent: ${why ?? ''}`
        : `${step.status}${why ? `: ${why}` : ''}`;
    this.ping(job, ok ? 'success' : 'fail', detail);
  }

  private ping(job: PingJob, transition: PingTransition, detail: string): void {
    const jobId = job.jobId;
    job.detail = detail;
    if (transition !== 'start') job.ended = true;
    for (const c of this.channels.values()) {
      if (
        c.kind !== 'healthchecks' ||
        c.settings.host_id !== job.hostId ||
        c.settings.schedule_id !== job.scheduleId
      )
        continue;
      let t = job.targets.get(c.id);
      if (t === undefined) {
        t = { type: 'ping', job, channelId: c.id, tracks: new Map(), checkAt: Infinity, live: true };
        job.targets.set(c.id, t);
      }
      if (t.tracks.has(transition)) continue;
      if (transition !== 'start') supersede(t.tracks.get('start'));
      t.tracks.set(transition, newTrack(jobId, transition, c.id));
      this.touch(t);
    }
    this.forgetIfDone(jobId);
  }

  private recorded(e: FleetEventOf<'NotificationSent'> | FleetEventOf<'NotificationFailed'>): void {
    const d = e.data;
    const target =
      d.alert_id !== undefined
        ? this.alerts.get(d.alert_id)?.targets.get(d.channel_id)
        : d.job_id !== undefined
          ? this.pings.get(d.job_id)?.targets.get(d.channel_id)
          : undefined;
    if (target === undefined) return;
    const track = trackOf(target, d);
    if (track === undefined || track.state === 'sent') return;
    if (e.type === 'NotificationSent') {
      track.state = 'sent';
    } else {
      track.failures = Math.max(track.failures, e.data.attempt);
      track.firstAttemptAt ??= Date.parse(e.data.failed_at);
      track.retryAt = e.data.retry_at === undefined ? undefined : Date.parse(e.data.retry_at);
      if (e.data.retry_at === undefined) track.state = 'given_up';
    }
    if (target.type === 'alert' && track.transition === 'reminder' && track.state !== 'pending')
      target.remindersSettled = Math.max(target.remindersSettled, track.reminder ?? 0);
    this.touch(target);
    this.forgetIfDone(d.alert_id ?? d.job_id ?? '');
  }

  private channelRemoved(channelId: string): void {
    this.channels.delete(channelId);
    for (const [id, a] of this.alerts) {
      const t = a.targets.get(channelId);
      if (t === undefined) continue;
      t.live = false;
      a.targets.delete(channelId);
      if (a.targets.size === 0) this.alerts.delete(id);
    }
    for (const [id, job] of this.pings) {
      const t = job.targets.get(channelId);
      if (t === undefined) continue;
      t.live = false;
      job.targets.delete(channelId);
      this.forgetIfDone(id);
    }
  }

  /** Drops what owes nothing more: a resolved alert whose notices are settled, an ended job whose pings are. */
  private forgetIfDone(id: string): void {
    const a = this.alerts.get(id);
    if (
      a !== undefined &&
      a.resolvedAtIso !== undefined &&
      [...a.targets.values()].every((t) => settled(t.resolved))
    ) {
      for (const t of a.targets.values()) t.live = false;
      this.alerts.delete(id);
    }
    const job = this.pings.get(id);
    if (
      job !== undefined &&
      job.ended &&
      [...job.targets.values()].every((t) => [...t.tracks.values()].every(settled))
    ) {
      for (const t of job.targets.values()) t.live = false;
      this.pings.delete(id);
    }
  }

  private alertDelivery(a: AlertEntry, channel: ConfiguredChannel, track: Track): DueDelivery {
    const transition = track.transition as 'raised' | 'resolved' | 'reminder';
    const view: AlertView = {
      id: a.id,
      rule: a.rule,
      severity: a.severity,
      state: a.resolvedAtIso !== undefined ? 'resolved' : a.acknowledged ? 'acknowledged' : 'open',
      summary: a.summary,
      ...(a.hostId !== undefined ? { host: { id: a.hostId, hostname: a.hostname ?? a.hostId } } : {}),
      ...(a.repositoryId !== undefined ? { repository_id: a.repositoryId } : {}),
      ...(a.jobId !== undefined ? { job_id: a.jobId } : {}),
      raised_at: a.raisedAtIso,
      ...(a.resolvedAtIso !== undefined ? { resolved_at: a.resolvedAtIso } : {}),
      ...(a.resolution !== undefined ? { resolution: a.resolution } : {}),
    };
    return {
      channel,
      deliveryId: track.deliveryId,
      transition,
      reminder: track.reminder,
      attempt: track.failures + 1,
      firstAttemptAt: track.firstAttemptAt,
      aboutId: a.id,
      stream: deliveryStream(a.id),
      notice: (sentAt) => ({
        type: 'alert',
        event: NOTICE_EVENT[transition],
        deliveryId: track.deliveryId,
        alert: view,
        ...(track.reminder !== undefined ? { reminder: track.reminder } : {}),
        sentAt,
      }),
    };
  }

  private pingDelivery(job: PingJob, channel: ConfiguredChannel, track: Track): DueDelivery {
    const transition = track.transition as PingTransition;
    const detail = transition === 'start' ? 'started' : job.detail;
    const jobId = job.jobId;
    return {
      channel,
      deliveryId: track.deliveryId,
      transition,
      reminder: undefined,
      attempt: track.failures + 1,
      firstAttemptAt: track.firstAttemptAt,
      aboutId: jobId,
      stream: deliveryStream(jobId),
      notice: (sentAt) => ({ type: 'ping', transition, deliveryId: track.deliveryId, jobId, detail, sentAt }),
    };
  }
}

/** The track a delivery record is about; a reminder is tracked from its first record, a newer number replacing an older. */
function trackOf(t: Target, d: NotificationFields): Track | undefined {
  if (t.type === 'ping')
    return d.transition === 'start' || d.transition === 'success' || d.transition === 'fail'
      ? t.tracks.get(d.transition)
      : undefined;
  if (d.transition === 'raised') return t.raised;
  if (d.transition === 'resolved') return t.resolved;
  if (d.transition !== 'reminder') return undefined;
  const k = d.reminder ?? 0;
  if (t.reminder === undefined || (t.reminder.reminder ?? 0) < k) {
    supersede(t.reminder);
    t.reminder = newTrack(t.alert.id, 'reminder', t.channelId, k);
  }
  return t.reminder.reminder === k ? t.reminder : undefined;
}

const isDue = (t: Track, now: number): boolean =>
  t.state === 'pending' && (t.retryAt === undefined || t.retryAt <= now);
