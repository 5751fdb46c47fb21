import type { RepositoryState } from '@rf/events';
import type {
  AlertRecord,
  AuditLine,
  HostSchedulesView,
  HostView,
  JobLogLineView,
  JobView,
  NotificationChannelRecord,
  NotificationDeliveryRecord,
  RepositoryView,
  SnapshotView,
} from '@rf/projections';

/** Drops any userinfo from a repository URL (`s3:https://key:secret@host/b` → `s3:https://host/b`). */
export function redactRepoUrl(url: string): string {
  return url.replace(/(:\/\/)[^/@\s]*@/, '$1');
}

/** `PUT /api/hosts/{id}/repository`: the repository as stored, secrets only as set / not set. */
export interface ConfiguredRepositoryResponse {
  url: string;
  username: string | null;
  password_set: true;
  credential_set: boolean;
}

export function mapConfiguredRepository(input: {
  readonly url: string;
  readonly username?: string;
  readonly credential?: string;
}): ConfiguredRepositoryResponse {
  return {
    url: redactRepoUrl(input.url),
    username: input.username ?? null,
    password_set: true,
    credential_set: input.credential !== undefined,
  };
}

/** Live facts from the gateway that are fresher than the read model. */
export interface HostLiveState {
  readonly online: boolean;
  readonly lastSeen: Date | null;
  /** The control-plane node holding the agent's socket; null while offline. */
  readonly nodeId: string | null;
}

export interface HostResponse {
  id: string;
  hostname: string | null;
  status: string;
  online: boolean;
  /** The control-plane node holding the agent's socket (docs/architecture.md, "Several nodes"); null while offline. */
  node_id: string | null;
  os: string | null;
  arch: string | null;
  agent_version: string | null;
  restic_version: string | null;
  protocol_version: number | null;
  /** The host's `allow_hooks` (agent.yaml); null when its agent does not report it. */
  allow_hooks: boolean | null;
  enrolled_at: string | null;
  connected_at: string | null;
  disconnected_at: string | null;
  last_seen: string | null;
  revoked_at: string | null;
  repository: { url: string; password_set: boolean; configured_at: string | null } | null;
  last_backup: { at: string; status: string; job_id: string | null } | null;
  snapshot_count: number | null;
  snapshots_reported_at: string | null;
  repo_size_bytes: number | null;
  repo_stats_at: string | null;
}

export function mapHostResponse(view: HostView, live: HostLiveState): HostResponse {
  const liveSeen = live.lastSeen?.toISOString() ?? null;
  const lastSeen =
    liveSeen !== null && (view.lastSeen === null || liveSeen > view.lastSeen) ? liveSeen : view.lastSeen;
  return {
    id: view.id,
    hostname: view.hostname,
    status: view.status === 'revoked' ? 'revoked' : live.online ? 'online' : 'offline',
    online: live.online,
    node_id: live.online ? live.nodeId : null,
    os: view.os,
    arch: view.arch,
    agent_version: view.agentVersion,
    restic_version: view.resticVersion,
    protocol_version: view.protocolVersion,
    allow_hooks: view.hooksAllowed,
    enrolled_at: view.enrolledAt,
    connected_at: view.connectedAt,
    disconnected_at: view.disconnectedAt,
    last_seen: lastSeen,
    revoked_at: view.revokedAt,
    repository: view.repository
      ? {
          url: redactRepoUrl(view.repository.url),
          password_set: view.repository.passwordSet,
          configured_at: view.repository.configuredAt,
        }
      : null,
    last_backup: view.lastBackup
      ? { at: view.lastBackup.at, status: view.lastBackup.status, job_id: view.lastBackup.jobId }
      : null,
    snapshot_count: view.snapshotCount,
    snapshots_reported_at: view.snapshotsReportedAt,
    repo_size_bytes: view.repoSizeBytes,
    repo_stats_at: view.repoStatsAt,
  };
}

export interface JobResponse {
  id: string;
  host_id: string | null;
  kind: string | null;
  args: unknown;
  status: string;
  actor: { kind: string; id: string; name: string | null } | null;
  schedule_id: string | null;
  repository_id: string | null;
  requested_at: string | null;
  dispatched_at: string | null;
  accepted_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  cancel_requested_at: string | null;
  exit_code: number | null;
  stats: unknown;
  error: string | null;
  error_code: string | null;
  progress: {
    percent_done: number | null;
    files_done: number | null;
    total_files: number | null;
    bytes_done: number | null;
    total_bytes: number | null;
    eta_seconds: number | null;
    bytes_per_second: number | null;
    at: string;
  } | null;
  log_line_count: number;
  last_seq: number | null;
  dropped_lines: number;
  /** Why a queued job is not dispatched yet ("waiting for prune on repository …"); null otherwise. */
  wait_reason: string | null;
}

export function mapJobResponse(view: JobView, waitReason: string | null = null): JobResponse {
  const p = view.progress;
  return {
    id: view.id,
    host_id: view.hostId,
    kind: view.kind,
    args: view.args,
    status: view.status,
    actor: view.actor ? { kind: view.actor.kind, id: view.actor.id, name: view.actor.name } : null,
    schedule_id: view.scheduleId,
    repository_id: view.repositoryId,
    requested_at: view.requestedAt,
    dispatched_at: view.dispatchedAt,
    accepted_at: view.acceptedAt,
    started_at: view.startedAt,
    finished_at: view.finishedAt,
    cancel_requested_at: view.cancelRequestedAt,
    exit_code: view.exitCode,
    stats: view.stats,
    error: view.error,
    error_code: view.errorCode,
    progress: p
      ? {
          percent_done: p.percentDone,
          files_done: p.filesDone,
          total_files: p.totalFiles,
          bytes_done: p.bytesDone,
          total_bytes: p.totalBytes,
          eta_seconds: p.etaSeconds,
          bytes_per_second: p.bytesPerSecond,
          at: p.at,
        }
      : null,
    log_line_count: view.logLineCount,
    last_seq: view.lastSeq,
    dropped_lines: view.droppedLines,
    wait_reason: view.status === 'queued' ? waitReason : null,
  };
}

export const mapLogLine = (l: JobLogLineView) => ({
  seq: l.seq,
  ts: l.ts,
  stream: l.stream,
  payload: l.payload,
});

export const mapSnapshot = (s: SnapshotView) => ({
  id: s.id,
  repository_id: s.repositoryId,
  short_id: s.shortId,
  time: s.time,
  hostname: s.hostname,
  paths: s.paths,
  tags: s.tags,
  parent: s.parent,
  size_bytes: s.sizeBytes,
  file_count: s.fileCount,
  reported_at: s.reportedAt,
});

export const mapSchedules = (v: HostSchedulesView) => ({
  host_id: v.hostId,
  version: v.desiredVersion,
  desired_at: v.desiredAt,
  schedules: v.schedules,
  applied_version: v.appliedVersion,
  applied_at: v.appliedAt,
  in_sync: v.inSync,
  fires: v.fires.map((f) => ({
    schedule_id: f.scheduleId,
    last_scheduled_at: f.lastScheduledAt,
    last_fired_at: f.lastFiredAt,
    last_job_id: f.lastJobId,
    fire_count: f.fireCount,
  })),
});

export const mapAuditLine = (l: AuditLine) => ({
  time: l.time,
  actor: l.actor,
  actor_kind: l.actorKind,
  actor_id: l.actorId,
  action: l.action,
  target: l.target,
  summary: l.summary,
  stream: l.stream,
  position: l.position,
});

/** `GET /api/repositories[/{id}]`: a repository and its attached hosts; secrets only as set / not set. */
export interface RepositoryResponse {
  id: string;
  name: string;
  url: string;
  password_set: boolean;
  /** The host whose `PUT /api/hosts/{id}/repository` history this repository stands for, if any. */
  legacy_host_id: string | null;
  hosts: Array<{ id: string; hostname: string | null }>;
  registered_at: string;
  updated_at: string;
}

export const mapRepositoryResponse = (r: RepositoryView): RepositoryResponse => ({
  id: r.id,
  name: r.name,
  url: redactRepoUrl(r.url),
  password_set: r.passwordSet,
  legacy_host_id: r.legacyHostId,
  hosts: r.hosts.map((h) => ({ id: h.id, hostname: h.hostname })),
  registered_at: r.registeredAt,
  updated_at: r.updatedAt,
});

/** An alert as the API answers it (docs/alerts.md). */
export interface AlertResponse {
  id: string;
  rule: string;
  severity: string;
  /** `open`, `acknowledged` or `resolved`. */
  state: string;
  subject: string;
  summary: string;
  details: Readonly<Record<string, unknown>>;
  host: { id: string; hostname: string | null } | null;
  repository_id: string | null;
  job_id: string | null;
  schedule_id: string | null;
  raised_at: string;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  acknowledged_by_name: string | null;
  ack_note: string | null;
  resolved_at: string | null;
  resolution: string | null;
}

export const mapAlertResponse = (a: AlertRecord): AlertResponse => ({
  id: a.id,
  rule: a.rule,
  severity: a.severity,
  state: a.state,
  subject: a.subject,
  summary: a.summary,
  details: a.details,
  host: a.hostId === null ? null : { id: a.hostId, hostname: a.hostname },
  repository_id: a.repositoryId,
  job_id: a.jobId,
  schedule_id: a.scheduleId,
  raised_at: a.raisedAt,
  acknowledged_at: a.acknowledged?.at ?? null,
  acknowledged_by: a.acknowledged?.by ?? null,
  acknowledged_by_name: a.acknowledged?.byName ?? null,
  ack_note: a.acknowledged?.note ?? null,
  resolved_at: a.resolvedAt,
  resolution: a.resolution,
});

export interface NotificationDeliveryResponse {
  delivery_id: string;
  alert_id: string | null;
  job_id: string | null;
  transition: string;
  reminder: number | null;
  attempt: number;
  /** `sent`, `retrying` or `failed` (given up). */
  result: string;
  error: string | null;
  retry_at: string | null;
  at: string;
}

/** A notification channel: secrets only as `{set: true|false}`, never their value. */
export interface NotificationChannelResponse {
  id: string;
  kind: string;
  name: string;
  settings: Readonly<Record<string, unknown>>;
  routing: Readonly<Record<string, unknown>> | null;
  created_at: string;
  configured_at: string;
  last_deliveries: NotificationDeliveryResponse[];
}

export const mapNotificationChannel = (
  c: NotificationChannelRecord,
  deliveries: readonly NotificationDeliveryRecord[],
): NotificationChannelResponse => ({
  id: c.id,
  kind: c.kind,
  name: c.name,
  settings: c.settings,
  routing: c.routing,
  created_at: c.createdAt,
  configured_at: c.configuredAt,
  last_deliveries: deliveries.map((d) => ({
    delivery_id: d.deliveryId,
    alert_id: d.alertId,
    job_id: d.jobId,
    transition: d.transition,
    reminder: d.reminder,
    attempt: d.attempt,
    result: d.result,
    error: d.error,
    retry_at: d.retryAt,
    at: d.at,
  })),
});

/**
 * What a repository command answers: the aggregate as the command side holds
 * it right after the change. Secrets only as set / not set.
 */
export interface RepositoryStateResponse {
  id: string;
  name: string;
  url: string;
  username: string | null;
  password_set: boolean;
  credential_set: boolean;
  legacy_host_id: string | null;
  hosts: Array<{ id: string; hostname: string | null }>;
}

export const mapRepositoryState = (
  r: RepositoryState,
  hostnameOf: (hostId: string) => string | null,
): RepositoryStateResponse => ({
  id: r.id,
  name: r.name,
  url: redactRepoUrl(r.url),
  username: r.secrets?.username ?? null,
  password_set: r.secrets !== undefined,
  credential_set: r.secrets?.credential !== undefined,
  legacy_host_id: r.legacy_host_id ?? null,
  hosts: r.host_ids.map((id) => ({ id, hostname: hostnameOf(id) })),
});
