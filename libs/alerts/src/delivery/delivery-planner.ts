import {
  type AlertRuleName,
  type AlertSeverity,
  type ChannelKind,
  type ChannelRouting,
  deliveryStream,
  type FleetEventOf,
  type NotificationFields,
  type NotificationTransition,
  type SealedChannelSettings,
} from '@rf/events';
import { firstLine } from '../rules/alert-text';
import type { WatchedEvent } from '../rules/fleet-watch.state';
import type { AlertNoticeEvent, AlertView, Notice } from '../channels/notice';
import { deliveryId } from './delivery-ids';
import { reminderHours, routes } from './routing';

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

interface AlertTarget {
  raised: Track;
  resolved: Track | undefined;
  reminder: Track | undefined;
  /** The highest reminder number delivered or given up. */
  remindersSettled: number;
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

type PingTransition = 'start' | 'success' | 'fail';

interface PingJob {
  readonly hostId: string;
  readonly scheduleId: string;
  ended: boolean;
  detail: string;
  /** Channel id → its pings about this job. */
  readonly targets: Map<string, Map<PingTransition, Track>>;
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
 */
export class DeliveryPlanner {
  readonly channels = new Map<string, ConfiguredChannel>();
  private readonly alerts = new Map<string, AlertEntry>();
  private readonly pings = new Map<string, PingJob>();

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
        return;
      case 'ChannelRemoved':
        this.channelRemoved(e.data.channel_id);
        return;
      case 'AlertRaised':
        this.alertRaised(e.data);
        return;
      case 'AlertAcknowledged': {
        const a = this.alerts.get(e.data.alert_id);
        if (a !== undefined) a.acknowledged = true;
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
            hostId: e.data.host_id,
            scheduleId: e.data.schedule_id,
            ended: false,
            detail: 'requested',
            targets: new Map(),
          });
        return;
      case 'JobStarted':
        this.ping(e.data.job_id, 'start', 'started');
        return;
      case 'JobFinished': {
        const d = e.data;
        const ok = d.status === 'succeeded' || d.status === 'warning';
        const why = firstLine(d.error);
        this.ping(d.job_id, ok ? 'success' : 'fail', `${d.status}${why ? `: ${why}` : ''}`);
        return;
      }
      case 'JobRejected':
        this.ping(e.data.job_id, 'fail', `rejected by the agent: ${firstLine(e.data.error) ?? ''}`);
        return;
      case 'JobLost':
        this.ping(e.data.job_id, 'fail', `lost: ${firstLine(e.data.reason) ?? ''}`);
        return;
      case 'HostEnrolled':
      case 'AgentConnected':
      case 'AgentDisconnected':
      case 'RepositoryConfigured':
      case 'HostRevoked':
      case 'RepoStatsReported':
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

  /** Every notification owed at `now`, in log order of what it is about. */
  due(now: number): DueDelivery[] {
    const out: DueDelivery[] = [];
    for (const a of this.alerts.values()) {
      for (const [channelId, t] of a.targets) {
        const channel = this.channels.get(channelId);
        if (channel === undefined) continue;
        for (const track of [t.raised, t.resolved]) {
          if (track !== undefined && isDue(track, now)) out.push(this.alertDelivery(a, channel, track));
        }
        const k = this.reminderOwed(a, channel, t, now);
        if (k === 0) continue;
        const r = t.reminder;
        if (r !== undefined && r.state === 'pending' && r.reminder === k) {
          if (isDue(r, now)) out.push(this.alertDelivery(a, channel, r));
        } else out.push(this.alertDelivery(a, channel, newTrack(a.id, 'reminder', channelId, k)));
      }
    }
    for (const [jobId, job] of this.pings) {
      for (const [channelId, tracks] of job.targets) {
        const channel = this.channels.get(channelId);
        if (channel === undefined) continue;
        for (const track of tracks.values())
          if (isDue(track, now)) out.push(this.pingDelivery(jobId, job, channel, track));
      }
    }
    return out;
  }

  /** The next time after `now` that something falls due, if any (retries and reminders). */
  nextDueAt(now: number): number | undefined {
    let next: number | undefined;
    const consider = (at: number | undefined): void => {
      if (at !== undefined && at > now && (next === undefined || at < next)) next = at;
    };
    for (const a of this.alerts.values()) {
      for (const [channelId, t] of a.targets) {
        for (const track of [t.raised, t.resolved, t.reminder])
          if (track?.state === 'pending') consider(track.retryAt);
        const channel = this.channels.get(channelId);
        const hours = channel === undefined ? 0 : reminderHours(channel.routing);
        if (hours > 0 && a.resolvedAtIso === undefined && !a.acknowledged) {
          const k = Math.floor((now - a.raisedAt) / (hours * HOUR_MS)) + 1;
          consider(a.raisedAt + k * hours * HOUR_MS);
        }
      }
    }
    for (const job of this.pings.values())
      for (const tracks of job.targets.values())
        for (const track of tracks.values()) if (track.state === 'pending') consider(track.retryAt);
    return next;
  }

  /** How many alerts and pinged jobs still have notifications in play (for tests and metrics). */
  get size(): { alerts: number; pings: number } {
    return { alerts: this.alerts.size, pings: this.pings.size };
  }

  private reminderOwed(a: AlertEntry, channel: ConfiguredChannel, t: AlertTarget, now: number): number {
    const hours = reminderHours(channel.routing);
    if (hours === 0 || a.resolvedAtIso !== undefined || a.acknowledged || !settled(t.raised)) return 0;
    const k = Math.floor((now - a.raisedAt) / (hours * HOUR_MS));
    return k >= 1 && k > t.remindersSettled ? k : 0;
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
      entry.targets.set(c.id, {
        raised: newTrack(d.alert_id, 'raised', c.id),
        resolved: undefined,
        reminder: undefined,
        remindersSettled: 0,
      });
    }
    if (entry.targets.size > 0) this.alerts.set(d.alert_id, entry);
  }

  private alertResolved(d: FleetEventOf<'AlertResolved'>['data']): void {
    const a = this.alerts.get(d.alert_id);
    if (a === undefined || a.resolvedAtIso !== undefined) return;
    a.resolvedAtIso = new Date(Date.parse(d.resolved_at)).toISOString();
    a.resolution = d.reason;
    for (const [channelId, t] of a.targets) {
      // Still undelivered, the raised notice is stale: the resolution notice says all of it.
      supersede(t.raised);
      supersede(t.reminder);
      t.resolved = newTrack(a.id, 'resolved', channelId);
    }
  }

  private ping(jobId: string, transition: PingTransition, detail: string): void {
    const job = this.pings.get(jobId);
    if (job === undefined) return;
    job.detail = detail;
    if (transition !== 'start') job.ended = true;
    for (const c of this.channels.values()) {
      if (
        c.kind !== 'healthchecks' ||
        c.settings.host_id !== job.hostId ||
        c.settings.schedule_id !== job.scheduleId
      )
        continue;
      let tracks = job.targets.get(c.id);
      if (tracks === undefined) job.targets.set(c.id, (tracks = new Map()));
      if (tracks.has(transition)) continue;
      if (transition !== 'start') supersede(tracks.get('start'));
      tracks.set(transition, newTrack(jobId, transition, c.id));
    }
    this.forgetIfDone(jobId);
  }

  private recorded(e: FleetEventOf<'NotificationSent'> | FleetEventOf<'NotificationFailed'>): void {
    const d = e.data;
    const track = this.trackOf(d);
    if (track === undefined || track.state === 'sent') return;
    if (e.type === 'NotificationSent') {
      track.state = 'sent';
    } else {
      track.failures = Math.max(track.failures, e.data.attempt);
      track.firstAttemptAt ??= Date.parse(e.data.failed_at);
      track.retryAt = e.data.retry_at === undefined ? undefined : Date.parse(e.data.retry_at);
      if (e.data.retry_at === undefined) track.state = 'given_up';
    }
    const target =
      d.alert_id !== undefined ? this.alerts.get(d.alert_id)?.targets.get(d.channel_id) : undefined;
    if (target !== undefined && track.transition === 'reminder' && track.state !== 'pending')
      target.remindersSettled = Math.max(target.remindersSettled, track.reminder ?? 0);
    if (d.alert_id !== undefined) this.forgetIfDone(d.alert_id);
    if (d.job_id !== undefined) this.forgetIfDone(d.job_id);
  }

  private trackOf(d: NotificationFields): Track | undefined {
    if (d.transition === 'start' || d.transition === 'success' || d.transition === 'fail') {
      return d.job_id === undefined
        ? undefined
        : this.pings.get(d.job_id)?.targets.get(d.channel_id)?.get(d.transition);
    }
    const t = d.alert_id === undefined ? undefined : this.alerts.get(d.alert_id)?.targets.get(d.channel_id);
    if (t === undefined) return undefined;
    if (d.transition === 'raised') return t.raised;
    if (d.transition === 'resolved') return t.resolved;
    // A reminder is tracked from its first recorded attempt; a newer number replaces an older one.
    const k = d.reminder ?? 0;
    if (t.reminder === undefined || (t.reminder.reminder ?? 0) < k) {
      supersede(t.reminder);
      t.reminder = newTrack(d.alert_id ?? '', 'reminder', d.channel_id, k);
    }
    return t.reminder.reminder === k ? t.reminder : undefined;
  }

  private channelRemoved(channelId: string): void {
    this.channels.delete(channelId);
    for (const [id, a] of this.alerts) {
      a.targets.delete(channelId);
      if (a.targets.size === 0) this.alerts.delete(id);
    }
    for (const [id, job] of this.pings) {
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
    )
      this.alerts.delete(id);
    const job = this.pings.get(id);
    if (
      job !== undefined &&
      job.ended &&
      [...job.targets.values()].every((m) => [...m.values()].every(settled))
    )
      this.pings.delete(id);
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

  private pingDelivery(jobId: string, job: PingJob, channel: ConfiguredChannel, track: Track): DueDelivery {
    const transition = track.transition as PingTransition;
    const detail = transition === 'start' ? 'started' : job.detail;
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

const isDue = (t: Track, now: number): boolean =>
  t.state === 'pending' && (t.retryAt === undefined || t.retryAt <= now);
