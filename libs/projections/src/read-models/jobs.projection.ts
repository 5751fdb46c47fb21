import {
  isSuccessful,
  evolveJobStatus,
  isTerminal,
  type FleetEventOf,
  type JobFinishedData,
  type JobLifecycleEvent,
  type JobLostData,
  type JobRejectedData,
  type JobStatus,
} from '@rf/events';
import {
  defineProjection,
  type AppendTable,
  type KeyedTable,
  type ProjectionEvent,
  type ProjectionView,
} from '../engine/projection.definition';
import { actorOf, fields, json, num, payload, str, streamEntityId, timeField } from './event-fields';

export type JobRow = {
  readonly id: string;
  readonly host_id: string | null;
  readonly kind: string | null;
  readonly args: string | null;
  readonly status: JobStatus;
  readonly actor_kind: string | null;
  readonly actor_id: string | null;
  readonly actor_name: string | null;
  readonly schedule_id: string | null;
  /** The repository the job works on (a copy's source); v1 requests are upcast to the host's own one. */
  readonly repository_id: string | null;
  readonly requested_at: string | null;
  readonly dispatched_at: string | null;
  readonly accepted_at: string | null;
  readonly started_at: string | null;
  readonly finished_at: string | null;
  readonly cancel_requested_at: string | null;
  readonly exit_code: number | null;
  readonly stats: string | null;
  readonly error: string | null;
  readonly error_code: string | null;
  readonly percent_done: number | null;
  readonly files_done: number | null;
  readonly total_files: number | null;
  readonly bytes_done: number | null;
  readonly total_bytes: number | null;
  readonly eta_seconds: number | null;
  readonly bytes_per_second: number | null;
  readonly progress_at: string | null;
  readonly log_line_count: number;
  readonly last_seq: number | null;
  readonly dropped_lines: number;
  readonly dropped_markers: number;
  readonly dropped_reported: number;
  /** The job's number in order of first appearance: the key of its log lines (see JobLogLineRow). */
  readonly log_key: number;
};

/**
 * A persisted log line, keyed by its job's `log_key` and its seq. Jobs are numbered in
 * the order they appear, so new lines land at the end of the table's b-tree instead of
 * at a random place (as a job's UUID would put them), and the key is a small integer
 * (docs/architecture.md, "Read models").
 */
export type JobLogLineRow = {
  readonly log_key: number;
  readonly seq: number;
  readonly ts: string;
  readonly stream: string;
  readonly payload: string;
};

/** The projection's counters; one row, `log_key`: the last job number given out. */
export type JobCounterRow = {
  readonly name: string;
  readonly value: number;
};

type JobsTables = {
  readonly jobs: KeyedTable<JobRow, 'id'>;
  readonly job_log_lines: AppendTable<JobLogLineRow, 'log_key' | 'seq'>;
  readonly job_counters: KeyedTable<JobCounterRow, 'name'>;
};
type View = ProjectionView<JobsTables>;

const LOG_KEY = { name: 'log_key' };

/**
 * A new job row, numbered after every job seen before it; its other fields are filled in
 * by the event that made it (one other than JobRequested only in a damaged or truncated log).
 */
const newJob = (view: View, id: string): JobRow => {
  const logKey = (view.get('job_counters', LOG_KEY)?.value ?? 0) + 1;
  view.put('job_counters', { ...LOG_KEY, value: logKey });
  return blankJob(id, logKey);
};

const blankJob = (id: string, logKey: number): JobRow => ({
  id,
  log_key: logKey,
  host_id: null,
  kind: null,
  args: null,
  status: 'queued',
  actor_kind: null,
  actor_id: null,
  actor_name: null,
  schedule_id: null,
  repository_id: null,
  requested_at: null,
  dispatched_at: null,
  accepted_at: null,
  started_at: null,
  finished_at: null,
  cancel_requested_at: null,
  exit_code: null,
  stats: null,
  error: null,
  error_code: null,
  percent_done: null,
  files_done: null,
  total_files: null,
  bytes_done: null,
  total_bytes: null,
  eta_seconds: null,
  bytes_per_second: null,
  progress_at: null,
  log_line_count: 0,
  last_seq: null,
  dropped_lines: 0,
  dropped_markers: 0,
  dropped_reported: 0,
});

const lifecycleId = (e: ProjectionEvent): string | null =>
  streamEntityId(e.streamId, 'job') ?? str(fields<{ job_id: string }>(e.data), 'job_id');
const logId = (e: ProjectionEvent): string | null =>
  streamEntityId(e.streamId, 'joblog') ?? str(fields<{ job_id: string }>(e.data), 'job_id');

/** Every lifecycle event gives its job a row, even one seen before its JobRequested. */
function lifecycle(
  view: View,
  event: ProjectionEvent & JobLifecycleEvent,
  change: (job: JobRow) => JobRow,
): void {
  const id = lifecycleId(event);
  if (id === null) return;
  const job = view.get('jobs', { id }) ?? newJob(view, id);
  view.put('jobs', change({ ...job, status: evolveJobStatus(job.status, event).status }));
}

function requested(view: View, event: ProjectionEvent & FleetEventOf<'JobRequested'>): void {
  const id = lifecycleId(event);
  if (id === null) return;
  const existing = view.get('jobs', { id });
  // A repeated JobRequested changes nothing; one after an out-of-order event fills the request in.
  if (existing !== undefined && existing.requested_at !== null) return;
  const d = payload(event);
  const actor = actorOf(event);
  view.put('jobs', {
    ...(existing ?? newJob(view, id)),
    status: evolveJobStatus(existing?.status, event).status,
    host_id: str(d, 'host_id'),
    kind: str(d, 'kind'),
    args: json(d['args'] ?? null),
    actor_kind: actor?.kind ?? null,
    actor_id: actor?.id ?? null,
    actor_name: actor?.name ?? null,
    schedule_id: str(d, 'schedule_id'),
    repository_id: str(d, 'repository_id'),
    requested_at: timeField(d, 'requested_at', event),
  });
}

type OutcomeEvent = ProjectionEvent & FleetEventOf<'JobRejected' | 'JobFinished' | 'JobLost'>;

/** JobRejected, JobFinished, JobLost: the outcome fields count only when the lifecycle takes this event as the outcome. */
function outcome(view: View, event: OutcomeEvent): void {
  const id = lifecycleId(event);
  if (id === null) return;
  const job = view.get('jobs', { id }) ?? newJob(view, id);
  const step = evolveJobStatus(job.status, event);
  if (!step.outcome) {
    view.put('jobs', job);
    return;
  }
  // One reader over the three outcome payloads; each field is read only where it exists.
  const d = fields<Partial<JobFinishedData & JobRejectedData & JobLostData>>(event.data);
  const timeKey =
    event.type === 'JobLost' ? 'lost_at' : event.type === 'JobRejected' ? 'rejected_at' : 'finished_at';
  const droppedReported = Math.max(job.dropped_reported, num(d, 'dropped_log_lines') ?? 0);
  view.put('jobs', {
    ...job,
    status: step.status,
    finished_at: timeField(d, timeKey, event),
    exit_code: num(d, 'exit_code'),
    stats: json(d['stats'] ?? null),
    error: str(d, 'error') ?? str(d, 'reason'),
    error_code:
      str(d, 'error_code') ??
      (event.type === 'JobLost' ? 'lost' : event.type === 'JobRejected' ? 'rejected' : null),
    // The agent's total already includes drop markers its outbox delivers after the outcome.
    dropped_reported: droppedReported,
    dropped_lines: Math.max(job.dropped_markers, droppedReported),
    percent_done: isSuccessful(step.status) ? 1 : job.percent_done,
  });
}

function progress(view: View, event: ProjectionEvent & FleetEventOf<'JobProgress'>): void {
  const id = logId(event);
  if (id === null) return;
  const job = view.get('jobs', { id });
  if (job === undefined || isTerminal(job.status)) return;
  const d = payload(event);
  const at = timeField(d, 'ts', event);
  // Progress only moves forward in time; a late report of an earlier state is dropped.
  if (job.progress_at !== null && job.progress_at > at) return;
  // A patch, not a copy of the whole row: progress is the commonest job event after log lines.
  view.patch(
    'jobs',
    { id },
    {
      status: evolveJobStatus(job.status, event).status,
      percent_done: num(d, 'percent_done'),
      files_done: num(d, 'files_done'),
      total_files: num(d, 'total_files'),
      bytes_done: num(d, 'bytes_done'),
      total_bytes: num(d, 'total_bytes'),
      eta_seconds: num(d, 'eta_seconds'),
      bytes_per_second: num(d, 'throughput_bps'),
      progress_at: at,
    },
  );
}

/**
 * Log lines are keyed by (job, seq): a line delivered twice is stored and
 * counted once. Lines arrive in seq order, so one above the job's `last_seq`
 * is new without a look at the table; only an older seq is checked.
 */
function line(view: View, event: ProjectionEvent & FleetEventOf<'LogStreamLine'>): void {
  const id = logId(event);
  const d = payload(event);
  const seq = num(d, 'seq');
  if (id === null || seq === null || !Number.isInteger(seq)) return;
  let job = view.get('jobs', { id });
  if (job === undefined) view.put('jobs', (job = newJob(view, id)));
  const lastSeq = job.last_seq;
  const logKey = job.log_key;
  if (lastSeq !== null && seq <= lastSeq && view.has('job_log_lines', { log_key: logKey, seq })) return;
  view.append('job_log_lines', {
    log_key: logKey,
    seq,
    ts: timeField(d, 'ts', event),
    stream: str(d, 'stream') ?? 'stdout',
    // Schema v1 called it `line`; the writer has already upcast it to `payload`.
    payload: str(d, 'payload') ?? '',
  });
  view.patch(
    'jobs',
    { id },
    {
      log_line_count: job.log_line_count + 1,
      last_seq: lastSeq === null || seq > lastSeq ? seq : lastSeq,
    },
  );
}

function linesDropped(view: View, event: ProjectionEvent & FleetEventOf<'LogLinesDropped'>): void {
  const id = logId(event);
  const count = num(payload(event), 'count');
  if (id === null || count === null) return;
  const job = view.get('jobs', { id });
  if (job === undefined) return;
  const markers = job.dropped_markers + count;
  view.put('jobs', {
    ...job,
    dropped_markers: markers,
    dropped_lines: Math.max(markers, job.dropped_reported),
  });
}

/**
 * Jobs and their persisted log. A job's lifecycle comes from `job-{id}`, its
 * progress and log lines from `joblog-{id}` (docs/architecture.md, "Event catalog");
 * its status only through the job lifecycle (`evolveJobStatus` in @rf/events),
 * so a late or repeated event never reopens a finished job, and the agent's late
 * report replaces `lost`.
 */
export const jobsProjection = defineProjection<JobsTables>({
  name: 'jobs',
  // 3: dropped lines no longer depend on whether the last drop marker came before or after JobFinished.
  // 4: each job's repository_id.
  // 5: log lines keyed by the job's number (log_key) instead of its id.
  version: 5,
  // Its lifecycle and its telemetry (docs/architecture.md, "Read models").
  streams: ['job', 'joblog'],
  tables: {
    jobs: {
      kind: 'keyed',
      key: ['id'],
      columns: {
        id: 'TEXT PRIMARY KEY',
        host_id: 'TEXT',
        kind: 'TEXT',
        args: 'TEXT',
        status: 'TEXT NOT NULL',
        actor_kind: 'TEXT',
        actor_id: 'TEXT',
        actor_name: 'TEXT',
        schedule_id: 'TEXT',
        repository_id: 'TEXT',
        requested_at: 'TEXT',
        dispatched_at: 'TEXT',
        accepted_at: 'TEXT',
        started_at: 'TEXT',
        finished_at: 'TEXT',
        cancel_requested_at: 'TEXT',
        exit_code: 'INTEGER',
        stats: 'TEXT',
        error: 'TEXT',
        error_code: 'TEXT',
        percent_done: 'REAL',
        files_done: 'INTEGER',
        total_files: 'INTEGER',
        bytes_done: 'INTEGER',
        total_bytes: 'INTEGER',
        eta_seconds: 'REAL',
        bytes_per_second: 'REAL',
        progress_at: 'TEXT',
        log_line_count: 'INTEGER NOT NULL DEFAULT 0',
        last_seq: 'INTEGER',
        dropped_lines: 'INTEGER NOT NULL DEFAULT 0',
        dropped_markers: 'INTEGER NOT NULL DEFAULT 0',
        dropped_reported: 'INTEGER NOT NULL DEFAULT 0',
        log_key: 'INTEGER NOT NULL',
      },
    },
    job_log_lines: {
      kind: 'append',
      key: ['log_key', 'seq'],
      columns: {
        log_key: 'INTEGER NOT NULL',
        seq: 'INTEGER NOT NULL',
        ts: 'TEXT NOT NULL',
        stream: 'TEXT NOT NULL',
        payload: 'TEXT NOT NULL',
      },
      constraints: 'PRIMARY KEY (log_key, seq)',
      options: 'WITHOUT ROWID',
    },
    job_counters: {
      kind: 'keyed',
      key: ['name'],
      columns: { name: 'TEXT PRIMARY KEY', value: 'INTEGER NOT NULL' },
      options: 'WITHOUT ROWID',
    },
  },
  // Each ends with the list's whole order (requested_at DESC, id DESC), so a filtered page reads
  // only the rows it shows instead of sorting every match in the history; the dashboard and
  // retention read the finished_at range (docs/architecture.md, "Read-model retention").
  indexes: [
    { name: 'jobs_by_host_requested', table: 'jobs', columns: 'host_id, requested_at, id' },
    { name: 'jobs_by_repository_requested', table: 'jobs', columns: 'repository_id, requested_at, id' },
    { name: 'jobs_by_status_requested', table: 'jobs', columns: 'status, requested_at, id' },
    { name: 'jobs_by_requested_id', table: 'jobs', columns: 'requested_at, id' },
    { name: 'jobs_by_finished_status', table: 'jobs', columns: 'finished_at, status' },
  ],
  evolve(view, event) {
    switch (event.type) {
      case 'LogStreamLine':
        return line(view, event);
      case 'JobProgress':
        return progress(view, event);
      case 'LogLinesDropped':
        return linesDropped(view, event);
      case 'JobRequested':
        return requested(view, event);
      case 'JobDispatched': {
        const at = timeField(payload(event), 'dispatched_at', event);
        return lifecycle(view, event, (j) => ({ ...j, dispatched_at: j.dispatched_at ?? at }));
      }
      case 'JobAccepted': {
        const at = timeField(payload(event), 'accepted_at', event);
        return lifecycle(view, event, (j) => ({ ...j, accepted_at: j.accepted_at ?? at }));
      }
      case 'JobStarted': {
        const d = payload(event);
        const at = timeField(d, 'started_at', event);
        return lifecycle(view, event, (j) => ({
          ...j,
          started_at: j.started_at ?? at,
          kind: j.kind ?? str(d, 'kind'),
        }));
      }
      case 'JobCancelRequested': {
        const at = timeField(payload(event), 'requested_at', event);
        return lifecycle(view, event, (j) => ({ ...j, cancel_requested_at: j.cancel_requested_at ?? at }));
      }
      case 'JobRejected':
      case 'JobFinished':
      case 'JobLost':
        return outcome(view, event);
      case 'HostEnrolled':
      case 'AgentConnected':
      case 'AgentDisconnected':
      case 'RepositoryConfigured':
      case 'HostRevoked':
      case 'RepoStatsReported':
      case 'SchedulesChanged':
      case 'SchedulesApplied':
      case 'ScheduleFired':
      case 'SnapshotsReported':
      case 'AgentUpdateRequested':
      case 'RepositoryRegistered':
      case 'RepositoryChanged':
      case 'RepositorySecretsSet':
      case 'RepositoryAttached':
      case 'RepositoryDetached':
      case 'RepositoryRemoved':
      case 'RepositorySchedulesChanged':
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
      case 'AlertRaised':
      case 'AlertAcknowledged':
      case 'AlertResolved':
      case 'AlertRulesChanged':
      case 'ChannelConfigured':
      case 'ChannelRemoved':
      case 'NotificationSent':
      case 'NotificationFailed':
        return;
      default: {
        const _never: never = event;
        return _never;
      }
    }
  },
});
