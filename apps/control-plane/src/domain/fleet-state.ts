import {
  isSuccessful,
  comparePositions,
  EMPTY_REPOSITORIES_STATE,
  evolveJobStatus,
  evolveRepositories,
  fromRecorded,
  isTerminal,
  legacyRepositoryId,
  parseStreamName,
  type JobArgs,
  type JobKind,
  type JobLifecycleEvent,
  type JobStatus,
  type Position,
  type RecordedEvent,
  type RepositoriesState,
  type Schedule,
} from '@rf/events';

export interface HostState {
  readonly hostId: string;
  hostname: string;
  revoked: boolean;
  /** What the log says: true between AgentConnected and AgentDisconnected. */
  connectedInLog: boolean;
  /** When the host was last seen going away (AgentDisconnected), ms since epoch. */
  disconnectedAt: number | null;
  /** The node that recorded the last AgentConnected; null before nodes had ids (docs/architecture.md, "Several nodes"). */
  nodeId: string | null;
  /** What the agent announced in its last hello (`capabilities`); null before it first connected. */
  capabilities: readonly string[] | null;
  /** Last revision of `host-{id}`; -1 when only other streams mention the host. */
  revision: number;
}

export interface ScheduleListState {
  version: number;
  schedules: Schedule[];
  appliedVersion: number | null;
  revision: number;
}

export interface JobState {
  readonly jobId: string;
  hostId: string;
  kind: JobKind;
  args: JobArgs;
  /** The repository the job works on (a copy's source); null for a job of a host that had none. */
  repositoryId: string | null;
  status: JobStatus;
  scheduleId: string | null;
  correlationId: string;
  /** The agent answered `command.run` with accepted; the job stays `dispatched` until it starts. */
  accepted: boolean;
  cancelRequested: boolean;
  /** Order of request in the log; queued jobs are dispatched in this order. */
  requestedPosition: bigint;
  /** ms since epoch of the last lifecycle event; the JobLost timer starts from the host's disconnect. */
  updatedAt: number;
  revision: number;
}

/** The streams the command side needs to decide; joblog, snapshots and identity are not among them. */
export const FLEET_STATE_PREFIXES = ['host-', 'job-', 'schedules-', 'repository-'] as const;

/** What the fleet state keeps per repository beyond the aggregate itself (for `/metrics`). */
export interface RepositoryFactsState {
  /** Last reported total size (RepoStatsReported), bytes. */
  sizeBytes: number | null;
  /** ms since epoch of the last forget, prune or check that succeeded on it. */
  lastMaintenanceAt: number | null;
}

/** Job kinds that count as a repository's maintenance. */
const MAINTENANCE_KINDS: ReadonlySet<JobKind> = new Set<JobKind>(['forget', 'prune', 'check']);

const DAY_MS = 86_400_000;

export interface FleetStateOptions {
  /** How long a finished job stays after its last lifecycle event (log time). Default 7 days. */
  readonly finishedJobRetentionMs?: number;
  /** How long a lost job stays: its agent may still come back and report the real outcome. Default 90 days. */
  readonly lostJobRetentionMs?: number;
}

/**
 * The control plane's decision state: a pure fold of host, job and schedule
 * events (no I/O, no clock). Idempotent: an event at or before the last applied
 * position is ignored, so the same event delivered twice changes nothing.
 *
 * Bounded: hosts and schedules are as many as the fleet, and a terminal job is
 * let go of once the log's own clock (the latest `received_at` applied) has
 * moved past its last lifecycle event by the retention — 7 days for a finished
 * job, 90 for a lost one, so a late JobFinished after JobLost is still taken.
 * After that a job's events change nothing here (the read models keep every
 * job); `retired` keeps the count by final status. Only log times decide, so
 * a replay and a snapshot plus the rest of the log give the same state
 * (docs/architecture.md, "State that starts fast").
 */
export class FleetState {
  readonly hosts = new Map<string, HostState>();
  readonly schedules = new Map<string, ScheduleListState>();
  readonly jobs = new Map<string, JobState>();
  /** Jobs not yet terminal (queued, dispatched, running): what dispatch decides over, without scanning history. */
  readonly openJobs = new Map<string, JobState>();
  /** The repository aggregates (docs/repositories.md), folded with the same `evolveRepositories` as the read models. */
  repositories: RepositoriesState = EMPTY_REPOSITORIES_STATE;
  /** Last revision of each `repository-{id}` stream; absent while only a host's RepositoryConfigured stands for it. */
  readonly repositoryRevisions = new Map<string, number>();
  /** Size and last maintenance per repository id (kept after removal until the id is registered again). */
  readonly repositoryFacts = new Map<string, RepositoryFactsState>();
  position: Position | null = null;
  /** The latest event time applied (ms since epoch): the fold's only clock. */
  clock = 0;
  /** Terminal jobs, oldest change first, with the time of that change: the order they are let go in. */
  readonly finishedQueue = new Map<string, number>();
  readonly lostQueue = new Map<string, number>();
  /** Jobs let go of, by their final status. */
  readonly retired = new Map<JobStatus, number>();
  private readonly finishedRetentionMs: number;
  private readonly lostRetentionMs: number;

  constructor(options: FleetStateOptions = {}) {
    this.finishedRetentionMs = options.finishedJobRetentionMs ?? 7 * DAY_MS;
    this.lostRetentionMs = options.lostJobRetentionMs ?? 90 * DAY_MS;
  }

  apply(recorded: RecordedEvent): void {
    if (this.position && comparePositions(recorded.position, this.position) <= 0) return;
    this.position = recorded.position;
    const parsed = parseStreamName(recorded.streamId);
    if (!parsed) return;
    const event = fromRecorded(recorded);
    const at = Date.parse(event.metadata.received_at) || event.created.getTime();
    if (event.type !== 'unknown') this.repositories = evolveRepositories(this.repositories, event);
    if (parsed.category === 'repository') this.repositoryRevisions.set(parsed.id, recorded.revision);
    this.fold(event, recorded, at);
    if (at > this.clock) this.clock = at;
    if (parsed.category === 'job') this.requeue(parsed.id);
    this.retireOld();
  }

  /** Jobs by status, the retired ones included. */
  jobCounts(): Map<JobStatus, number> {
    const counts = new Map(this.retired);
    for (const j of this.jobs.values()) counts.set(j.status, (counts.get(j.status) ?? 0) + 1);
    return counts;
  }

  private fold(event: ReturnType<typeof fromRecorded>, recorded: RecordedEvent, at: number): void {
    switch (event.type) {
      case 'HostEnrolled': {
        const h = this.host(event.data.host_id);
        h.hostname = event.data.hostname;
        h.revision = recorded.revision;
        return;
      }
      case 'AgentConnected': {
        const h = this.host(event.data.host_id);
        h.connectedInLog = true;
        h.disconnectedAt = null;
        h.nodeId = event.data.node_id ?? null;
        h.hostname = event.data.hostname;
        h.capabilities = event.data.capabilities ?? [];
        h.revision = recorded.revision;
        return;
      }
      case 'AgentDisconnected': {
        const h = this.host(event.data.host_id);
        h.connectedInLog = false;
        h.disconnectedAt = Date.parse(event.data.disconnected_at) || at;
        h.revision = recorded.revision;
        return;
      }
      case 'RepositoryConfigured': {
        // The repository it stands for is folded above (evolveRepositories).
        this.host(event.data.host_id).revision = recorded.revision;
        return;
      }
      case 'HostRevoked': {
        const h = this.host(event.data.host_id);
        h.revoked = true;
        h.revision = recorded.revision;
        return;
      }
      case 'RepoStatsReported': {
        // An older agent reports on its host's stream, about the host's own repository.
        const onHost = parseStreamName(recorded.streamId)?.category === 'host';
        if (onHost) this.host(event.data.host_id).revision = recorded.revision;
        const repositoryId = event.data.repository_id ?? legacyRepositoryId(event.data.host_id);
        this.facts(repositoryId).sizeBytes = event.data.total_size_bytes;
        return;
      }
      case 'SchedulesChanged': {
        const s = this.scheduleList(event.data.host_id);
        s.version = event.data.version;
        s.schedules = event.data.schedules;
        s.revision = recorded.revision;
        return;
      }
      case 'SchedulesApplied': {
        const s = this.scheduleList(event.data.host_id);
        s.appliedVersion = event.data.version;
        s.revision = recorded.revision;
        return;
      }
      case 'ScheduleFired':
        this.scheduleList(event.data.host_id).revision = recorded.revision;
        return;
      case 'JobRequested': {
        const d = event.data;
        if (this.jobs.has(d.job_id)) {
          this.transition(d.job_id, event, recorded, at);
          return;
        }
        this.jobs.set(d.job_id, {
          jobId: d.job_id,
          hostId: d.host_id,
          kind: d.kind,
          args: d.args,
          repositoryId: d.repository_id ?? null,
          status: evolveJobStatus(undefined, event).status,
          scheduleId: d.schedule_id ?? null,
          correlationId: event.metadata.correlation_id,
          accepted: false,
          cancelRequested: false,
          requestedPosition: recorded.position.commit,
          updatedAt: at,
          revision: recorded.revision,
        });
        return;
      }
      case 'JobAccepted': {
        const j = this.jobs.get(event.data.job_id);
        if (j) j.accepted = true;
        this.transition(event.data.job_id, event, recorded, at);
        return;
      }
      case 'JobCancelRequested': {
        const j = this.jobs.get(event.data.job_id);
        if (j) j.cancelRequested = true;
        this.transition(event.data.job_id, event, recorded, at);
        return;
      }
      case 'JobFinished': {
        const j = this.jobs.get(event.data.job_id);
        const ok = isSuccessful(event.data.status);
        if (j && ok && j.repositoryId !== null && MAINTENANCE_KINDS.has(j.kind)) {
          const facts = this.facts(j.repositoryId);
          const finishedAt = Date.parse(event.data.finished_at) || at;
          if (facts.lastMaintenanceAt === null || finishedAt > facts.lastMaintenanceAt)
            facts.lastMaintenanceAt = finishedAt;
        }
        this.transition(event.data.job_id, event, recorded, at);
        return;
      }
      case 'JobDispatched':
      case 'JobStarted':
      case 'JobRejected':
      case 'JobLost':
        this.transition(event.data.job_id, event, recorded, at);
        return;
      case 'JobProgress': {
        // Telemetry (a joblog- stream, not followed here today): it moves the status, not the job stream's revision.
        const j = this.jobs.get(event.data.job_id);
        if (j) j.status = evolveJobStatus(j.status, event).status;
        return;
      }
      case 'RepositoryRemoved':
        // Its size and maintenance go with it; an id registered again starts afresh.
        this.repositoryFacts.delete(event.data.repository_id);
        return;
      // Folded above by evolveRepositories (the aggregate itself).
      case 'RepositoryRegistered':
      case 'RepositoryChanged':
      case 'RepositorySecretsSet':
      case 'RepositoryAttached':
      case 'RepositoryDetached':
      case 'RepositorySchedulesChanged':
      case 'SnapshotDownloaded':
        return;
      // The command side decides nothing from telemetry lines, snapshots or identity, nor from
      // agent update requests.
      case 'LogStreamLine':
      case 'LogLinesDropped':
      case 'SnapshotsReported':
      case 'AgentUpdateRequested':
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
      case 'AlertRaised':
      case 'AlertAcknowledged':
      case 'AlertResolved':
      case 'AlertRulesChanged':
      case 'ChannelConfigured':
      case 'ChannelRemoved':
      case 'NotificationSent':
      case 'NotificationFailed':
      case 'unknown':
        return;
      default: {
        const _never: never = event;
        return _never;
      }
    }
  }

  /** Queued jobs (of one host, or of all) in request order. */
  queuedJobs(hostId?: string): JobState[] {
    const out: JobState[] = [];
    for (const j of this.openJobs.values())
      if (j.status === 'queued' && (hostId === undefined || j.hostId === hostId)) out.push(j);
    return out.sort((a, b) => (a.requestedPosition < b.requestedPosition ? -1 : 1));
  }

  /** Jobs an agent holds (dispatched or running), for the JobLost timer. */
  activeJobs(hostId?: string): JobState[] {
    const out: JobState[] = [];
    for (const j of this.openJobs.values()) {
      if (
        (j.status === 'dispatched' || j.status === 'running') &&
        (hostId === undefined || j.hostId === hostId)
      )
        out.push(j);
    }
    return out;
  }

  /**
   * Puts a job that is now terminal at the end of its retention queue (or takes it out of both),
   * and keeps `openJobs` in step with its status.
   */
  private requeue(jobId: string): void {
    this.finishedQueue.delete(jobId);
    this.lostQueue.delete(jobId);
    const job = this.jobs.get(jobId);
    if (job && !isTerminal(job.status)) this.openJobs.set(jobId, job);
    else this.openJobs.delete(jobId);
    if (!job || !isTerminal(job.status)) return;
    (job.status === 'lost' ? this.lostQueue : this.finishedQueue).set(jobId, job.updatedAt);
  }

  private retireOld(): void {
    for (const [queue, retention] of [
      [this.finishedQueue, this.finishedRetentionMs],
      [this.lostQueue, this.lostRetentionMs],
    ] as const) {
      for (const [jobId, since] of queue) {
        if (since >= this.clock - retention) break;
        queue.delete(jobId);
        const job = this.jobs.get(jobId);
        if (!job) continue;
        this.jobs.delete(jobId);
        this.retired.set(job.status, (this.retired.get(job.status) ?? 0) + 1);
      }
    }
  }

  private host(hostId: string): HostState {
    let h = this.hosts.get(hostId);
    if (!h) {
      h = {
        hostId,
        hostname: '',
        revoked: false,
        connectedInLog: false,
        disconnectedAt: null,
        nodeId: null,
        capabilities: null,
        revision: -1,
      };
      this.hosts.set(hostId, h);
    }
    return h;
  }

  private facts(repositoryId: string): RepositoryFactsState {
    let f = this.repositoryFacts.get(repositoryId);
    if (!f) {
      f = { sizeBytes: null, lastMaintenanceAt: null };
      this.repositoryFacts.set(repositoryId, f);
    }
    return f;
  }

  private scheduleList(hostId: string): ScheduleListState {
    let s = this.schedules.get(hostId);
    if (!s) {
      s = { version: 0, schedules: [], appliedVersion: null, revision: -1 };
      this.schedules.set(hostId, s);
    }
    return s;
  }

  /** A job's status moves only through the job lifecycle; events of a job never requested are ignored. */
  private transition(jobId: string, event: JobLifecycleEvent, recorded: RecordedEvent, at: number): void {
    const j = this.jobs.get(jobId);
    if (!j) return;
    j.status = evolveJobStatus(j.status, event).status;
    j.updatedAt = at;
    j.revision = recorded.revision;
  }
}
