import { recordedTime, type RecordedEvent } from '@rf/events';
import { fields, list, num, str, streamEntityId, type Fields } from '../read-models/event-fields';

export interface AuditLine {
  /** ISO time the event was recorded. */
  readonly time: string;
  /** `alice`, `agent web-01`, `schedule nightly`, `system`. */
  readonly actor: string;
  readonly actorKind: string | null;
  readonly actorId: string | null;
  /** The event type, e.g. `JobRequested`. */
  readonly action: string;
  /** What it is about, e.g. `job 1f2e…` or `host web-01`. */
  readonly target: string;
  /** One readable sentence. */
  readonly summary: string;
  readonly stream: string;
  /** Commit part of the global position, as a decimal string. */
  readonly position: string;
}

/** Names the describer can use instead of raw ids; all optional. */
export interface AuditNames {
  hostName?(hostId: string): string | undefined;
}

const shortId = (id: string): string => (id.length > 12 ? `${id.slice(0, 8)}…` : id);

const actorLabel = (
  kind: string | null,
  id: string | null,
  name: string | null,
  hosts: AuditNames,
): string => {
  if (kind === null) return 'system';
  switch (kind) {
    case 'user':
      return name ?? id ?? 'a user';
    case 'agent':
      return `agent ${(id !== null && hosts.hostName?.(id)) || name || (id !== null ? shortId(id) : '?')}`;
    case 'schedule':
      return `schedule ${name ?? id ?? '?'}`;
    case 'system':
      return name ?? 'system';
    default:
      return `${kind} ${name ?? id ?? '?'}`;
  }
};

const ARTICLE_KIND: Record<string, string> = {
  backup: 'a backup',
  init: 'a repository init',
  forget: 'a forget',
  prune: 'a prune',
  check: 'a check',
  unlock: 'an unlock',
  restore: 'a restore',
  snapshots: 'a snapshot listing',
  stats: 'a stats run',
};

/**
 * Turns one stored event into a readable audit-trail line. Pure: only the
 * event (and optional id→name lookups) decide the text, so the same log
 * always reads the same.
 */
export function describeEvent(event: RecordedEvent, names: AuditNames = {}): AuditLine {
  const d = fields(event.data);
  const actor = fields(fields(event.metadata)['actor']);
  const actorKind = str(actor, 'kind');
  const actorId = str(actor, 'id');
  const who = actorLabel(actorKind, actorId, str(actor, 'name'), names);
  const host = (id: string | null): string =>
    id === null ? 'an unknown host' : (names.hostName?.(id) ?? str(d, 'hostname') ?? id);
  const jobId =
    streamEntityId(event.streamId, 'job') ?? streamEntityId(event.streamId, 'joblog') ?? str(d, 'job_id');
  const job = jobId === null ? 'a job' : `job ${shortId(jobId)}`;
  const hostId =
    streamEntityId(event.streamId, 'host') ??
    streamEntityId(event.streamId, 'schedules') ??
    streamEntityId(event.streamId, 'snapshots') ??
    str(d, 'host_id');
  const [target, summary] = summarise(event.type, d, { who, host: host(hostId), job, hostId });
  return {
    time: recordedTime(event).toISOString(),
    actor: who,
    actorKind,
    actorId,
    action: event.type,
    target,
    summary,
    stream: event.streamId,
    position: event.position.commit.toString(),
  };
}

const alertTarget = (d: Fields): string => `alert ${shortId(str(d, 'alert_id') ?? '?')}`;
const channelTarget = (d: Fields): string => `channel ${shortId(str(d, 'channel_id') ?? '?')}`;

function summarise(
  type: string,
  d: Fields,
  c: { who: string; host: string; job: string; hostId: string | null },
): [target: string, summary: string] {
  const hostTarget = `host ${c.host}`;
  switch (type) {
    case 'HostEnrolled':
      return [
        hostTarget,
        `${c.who} enrolled host ${c.host}${str(d, 'os') ? ` (${str(d, 'os')}/${str(d, 'arch') ?? '?'})` : ''}`,
      ];
    case 'AgentConnected':
      return [
        hostTarget,
        `agent ${c.host} connected${str(d, 'agent_version') ? ` (agent ${str(d, 'agent_version')}, restic ${str(d, 'restic_version') ?? '?'})` : ''}`,
      ];
    case 'AgentDisconnected':
      return [hostTarget, `agent ${c.host} disconnected${str(d, 'reason') ? ` (${str(d, 'reason')})` : ''}`];
    case 'RepositoryConfigured':
      return [hostTarget, `${c.who} configured the repository of ${c.host}`];
    case 'HostRevoked':
      return [hostTarget, `${c.who} revoked host ${c.host}`];
    case 'AgentUpdateRequested':
      return [hostTarget, `${c.who} asked the agent of ${c.host} to update to ${str(d, 'version') ?? '?'}`];
    case 'RepoStatsReported':
      return [
        hostTarget,
        `agent ${c.host} reported repository stats${num(d, 'total_size_bytes') !== null ? ` (${num(d, 'total_size_bytes')} bytes)` : ''}`,
      ];
    case 'JobRequested': {
      const kind = str(d, 'kind') ?? 'job';
      const what = ARTICLE_KIND[kind] ?? `a ${kind}`;
      const on = str(d, 'host_id');
      const hostName = on === null ? c.host : c.host === 'an unknown host' ? on : c.host;
      return [c.job, `${c.who} requested ${what} of ${hostName} (${c.job})`];
    }
    case 'JobDispatched':
      return [c.job, `${c.job} was dispatched to its agent`];
    case 'JobAccepted':
      return [c.job, `${c.who} accepted ${c.job}`];
    case 'JobRejected':
      return [c.job, `${c.who} rejected ${c.job}${str(d, 'reason') ? `: ${str(d, 'reason')}` : ''}`];
    case 'JobStarted':
      return [c.job, `${c.who} started ${c.job}`];
    case 'JobCancelRequested':
      return [c.job, `${c.who} asked to cancel ${c.job}`];
    case 'JobFinished': {
      const exit = num(d, 'exit_code');
      return [
        c.job,
        `${c.who} finished ${c.job} ${str(d, 'status') ?? 'with unknown status'}${exit !== null ? ` (exit ${exit})` : ''}`,
      ];
    }
    case 'JobLost':
      return [c.job, `${c.job} was marked lost${str(d, 'reason') ? ` (${str(d, 'reason')})` : ''}`];
    case 'JobProgress':
      return [c.job, `${c.job} progress ${Math.round((num(d, 'percent_done') ?? 0) * 100)}%`];
    case 'LogStreamLine':
      return [c.job, `${c.job} log line ${num(d, 'seq') ?? list(d, 'lines').length}`];
    case 'SchedulesChanged':
      return [
        hostTarget,
        `${c.who} changed the schedules of ${c.host} (version ${num(d, 'version') ?? '?'}, ${list(d, 'schedules').length} schedules)`,
      ];
    case 'SchedulesApplied':
      return [hostTarget, `agent ${c.host} applied schedules version ${num(d, 'version') ?? '?'}`];
    case 'ScheduleFired':
      return [
        hostTarget,
        `schedule ${str(d, 'schedule_name') ?? str(d, 'schedule_id') ?? '?'} fired on ${c.host}`,
      ];
    case 'SnapshotsReported':
      return [hostTarget, `agent ${c.host} reported ${list(d, 'snapshots').length} snapshots`];
    case 'SnapshotDownloaded': {
      const format = str(d, 'format');
      const as = format === 'tar' || format === 'zip' ? ` as .${format}` : '';
      return [
        `repository ${str(d, 'repository_id') ?? '?'}`,
        `${c.who} downloaded ${str(d, 'path') ?? '?'}${as} from snapshot ${shortId(str(d, 'snapshot_id') ?? '?')} (via ${c.host})`,
      ];
    }
    case 'LogLinesDropped':
      return [c.job, `agent dropped ${num(d, 'count') ?? '?'} log lines of ${c.job}`];
    // Identity and access: names and roles only, never hashes.
    case 'UserCreated':
      return [
        `user ${str(d, 'username') ?? '?'}`,
        `${c.who} created user ${str(d, 'username') ?? '?'} (role ${str(d, 'role') ?? '?'})`,
      ];
    case 'UserPasswordChanged':
      return [
        `user ${str(d, 'user_id') ?? '?'}`,
        `${c.who} changed the password of user ${str(d, 'user_id') ?? '?'}`,
      ];
    case 'UserRoleChanged':
      return [
        `user ${str(d, 'user_id') ?? '?'}`,
        `${c.who} gave user ${str(d, 'user_id') ?? '?'} the role ${str(d, 'role') ?? '?'}`,
      ];
    case 'UserDisabled':
      return [`user ${str(d, 'user_id') ?? '?'}`, `${c.who} disabled user ${str(d, 'user_id') ?? '?'}`];
    case 'UserEnabled':
      return [`user ${str(d, 'user_id') ?? '?'}`, `${c.who} enabled user ${str(d, 'user_id') ?? '?'}`];
    case 'UserLoggedIn':
      return [`user ${str(d, 'user_id') ?? '?'}`, `${c.who} logged in`];
    case 'UserLoggedOut':
      return [`user ${str(d, 'user_id') ?? '?'}`, `${c.who} logged out`];
    case 'UserLoginFailed':
      return [
        `user ${str(d, 'username') ?? '?'}`,
        `failed login as ${JSON.stringify(str(d, 'username') ?? '')} (${str(d, 'reason') ?? 'unknown reason'})`,
      ];
    case 'ApiTokenCreated':
      return [
        `token ${str(d, 'name') ?? '?'}`,
        `${c.who} created API token ${str(d, 'name') ?? '?'} (role ${str(d, 'role') ?? '?'})`,
      ];
    case 'ApiTokenRevoked':
      return [
        `token ${str(d, 'token_id') ?? '?'}`,
        `${c.who} revoked API token ${str(d, 'token_id') ?? '?'}`,
      ];
    case 'EnrolmentTokenCreated':
      return [`enrolment token ${shortId(str(d, 'token_id') ?? '?')}`, `${c.who} created an enrolment token`];
    case 'EnrolmentTokenUsed':
      return [
        `enrolment token ${shortId(str(d, 'token_id') ?? '?')}`,
        `enrolment token ${shortId(str(d, 'token_id') ?? '?')} was used by host ${c.host}`,
      ];
    case 'EnrolmentTokenRevoked':
      return [`enrolment token ${shortId(str(d, 'token_id') ?? '?')}`, `${c.who} revoked an enrolment token`];
    case 'AlertRaised':
      return [
        alertTarget(d),
        `${c.who} raised ${str(d, 'rule') ?? '?'} (${str(d, 'severity') ?? '?'})${c.hostId !== null ? ` on ${c.host}` : ''}: ${str(d, 'summary') ?? ''}`,
      ];
    case 'AlertAcknowledged': {
      const note = str(d, 'note');
      return [alertTarget(d), `${c.who} acknowledged ${alertTarget(d)}${note ? `: “${note}”` : ''}`];
    }
    case 'AlertResolved':
      return [alertTarget(d), `${alertTarget(d)} resolved: ${str(d, 'reason') ?? '?'}`];
    case 'AlertRulesChanged':
      return ['alert rules', `${c.who} changed the alert rule settings`];
    case 'ChannelConfigured':
      return [
        channelTarget(d),
        `${c.who} configured the ${str(d, 'kind') ?? '?'} channel ${str(d, 'name') ?? '?'}`,
      ];
    case 'ChannelRemoved':
      return [channelTarget(d), `${c.who} removed ${channelTarget(d)}`];
    case 'NotificationSent':
    case 'NotificationFailed': {
      const about = str(d, 'alert_id') !== null ? alertTarget(d) : c.job;
      const what = `${str(d, 'transition') ?? '?'} notice of ${about} through ${channelTarget(d)}`;
      const attempt = `attempt ${num(d, 'attempt') ?? '?'}`;
      return type === 'NotificationSent'
        ? [channelTarget(d), `${what} delivered (${attempt})`]
        : [channelTarget(d), `${what} failed (${attempt}): ${str(d, 'error') ?? '?'}`];
    }
    default:
      return [c.hostId !== null ? hostTarget : '', `${c.who}: ${type}`];
  }
}
