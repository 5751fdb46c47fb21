import {
  isJobKind,
  isTerminal,
  JOB_STATUSES,
  type JobArgs,
  type JobStatus,
  type RepositoriesState,
  type RepositoryState,
  type Schedule,
} from '@rf/events';
import { encodePosition, snapshotField, type StateSnapshotCodec } from '@rf/projections';
import {
  FleetState,
  type FleetStateOptions,
  type HostState,
  type JobState,
  type RepositoryFactsState,
  type ScheduleListState,
} from '../domain/fleet-state';

/**
 * `FleetState` in `readmodels.db` (docs/architecture.md, "State that starts
 * fast"). Bump the version with any change to `FleetState.apply` or to this
 * shape: older snapshots are then discarded and the state is replayed.
 *
 * Maps are written as arrays in their iteration order, so a restored state
 * iterates (and retires jobs) exactly as the replayed one would. Nested
 * payloads (job args, schedules, sealed secrets) were validated when they
 * entered the log and are taken back as they were written.
 */
export const FLEET_STATE_SNAPSHOT_VERSION = 3;

const { record, list, pair, str, num, bool, strOrNull, numOrNull } = snapshotField;

interface EncodedJob extends Omit<JobState, 'requestedPosition'> {
  readonly requestedPosition: string;
}

export function fleetStateSnapshotCodec(options: FleetStateOptions = {}): StateSnapshotCodec<FleetState> {
  return {
    name: 'fleet-state',
    version: FLEET_STATE_SNAPSHOT_VERSION,
    encode: (s) => ({
      position: encodePosition(s.position),
      clock: s.clock,
      hosts: [...s.hosts.values()],
      schedules: [...s.schedules],
      jobs: [...s.jobs.values()].map((j): EncodedJob => ({
        ...j,
        requestedPosition: j.requestedPosition.toString(),
      })),
      finished: [...s.finishedQueue.keys()],
      lost: [...s.lostQueue.keys()],
      retired: [...s.retired],
      repositories: [...s.repositories.repositories.values()],
      hostnames: [...s.repositories.hostnames],
      repositoryRevisions: [...s.repositoryRevisions],
      repositoryFacts: [...s.repositoryFacts],
    }),
    decode: (body) => decodeFleetState(body, options),
  };
}

function decodeFleetState(body: unknown, options: FleetStateOptions): FleetState {
  const o = record(body, 'snapshot');
  const state = new FleetState(options);
  state.position = snapshotField.position(o['position']);
  state.clock = num(o['clock'], 'clock');
  for (const h of list(o['hosts'], 'hosts')) {
    const host = hostOf(record(h, 'host'));
    state.hosts.set(host.hostId, host);
  }
  for (const entry of list(o['schedules'], 'schedules')) {
    const [hostId, value] = pair(entry, 'schedules');
    state.schedules.set(str(hostId, 'schedules host'), scheduleListOf(record(value, 'schedule list')));
  }
  for (const j of list(o['jobs'], 'jobs')) {
    const job = jobOf(record(j, 'job'));
    state.jobs.set(job.jobId, job);
    if (!isTerminal(job.status)) state.openJobs.set(job.jobId, job);
  }
  for (const [key, queue] of [
    ['finished', state.finishedQueue],
    ['lost', state.lostQueue],
  ] as const) {
    for (const id of list(o[key], key)) {
      const job = state.jobs.get(str(id, key));
      if (!job) throw new Error(`${key} names a job the snapshot does not hold`);
      queue.set(job.jobId, job.updatedAt);
    }
  }
  for (const entry of list(o['retired'], 'retired')) {
    const [status, count] = pair(entry, 'retired');
    state.retired.set(jobStatus(status), num(count, 'retired count'));
  }
  state.repositories = repositoriesOf(o);
  for (const entry of list(o['repositoryRevisions'], 'repositoryRevisions')) {
    const [id, revision] = pair(entry, 'repositoryRevisions');
    state.repositoryRevisions.set(str(id, 'repository id'), num(revision, 'repository revision'));
  }
  for (const entry of list(o['repositoryFacts'], 'repositoryFacts')) {
    const [id, value] = pair(entry, 'repositoryFacts');
    state.repositoryFacts.set(str(id, 'repository id'), factsOf(record(value, 'repository facts')));
  }
  return state;
}

function hostOf(h: Record<string, unknown>): HostState {
  return {
    hostId: str(h['hostId'], 'hostId'),
    hostname: str(h['hostname'], 'hostname'),
    revoked: bool(h['revoked'], 'revoked'),
    connectedInLog: bool(h['connectedInLog'], 'connectedInLog'),
    disconnectedAt: numOrNull(h['disconnectedAt'], 'disconnectedAt'),
    nodeId: strOrNull(h['nodeId'], 'nodeId'),
    capabilities:
      h['capabilities'] === null
        ? null
        : list(h['capabilities'], 'capabilities').map((c) => str(c, 'capability')),
    revision: num(h['revision'], 'revision'),
  };
}

/** The repository aggregates; their sealed secrets and schedules were validated when they entered the log. */
function repositoriesOf(o: Record<string, unknown>): RepositoriesState {
  const repositories = new Map<string, RepositoryState>();
  for (const r of list(o['repositories'], 'repositories')) {
    const repo = record(r, 'repository');
    const id = str(repo['id'], 'repository id');
    str(repo['name'], 'repository name');
    str(repo['url'], 'repository url');
    list(repo['host_ids'], 'repository host_ids').forEach((h) => str(h, 'repository host id'));
    repositories.set(id, repo as unknown as RepositoryState);
  }
  const hostnames = new Map<string, string>();
  for (const entry of list(o['hostnames'], 'hostnames')) {
    const [hostId, hostname] = pair(entry, 'hostnames');
    hostnames.set(str(hostId, 'hostnames host'), str(hostname, 'hostname'));
  }
  return { repositories, hostnames };
}

function factsOf(f: Record<string, unknown>): RepositoryFactsState {
  return {
    sizeBytes: numOrNull(f['sizeBytes'], 'sizeBytes'),
    lastMaintenanceAt: numOrNull(f['lastMaintenanceAt'], 'lastMaintenanceAt'),
  };
}

function scheduleListOf(s: Record<string, unknown>): ScheduleListState {
  return {
    version: num(s['version'], 'version'),
    schedules: list(s['schedules'], 'schedules').map((x) => record(x, 'schedule') as unknown as Schedule),
    appliedVersion: numOrNull(s['appliedVersion'], 'appliedVersion'),
    revision: num(s['revision'], 'revision'),
  };
}

function jobOf(j: Record<string, unknown>): JobState {
  const kind = j['kind'];
  if (!isJobKind(kind)) throw new Error(`job kind ${String(kind)} is not a job kind`);
  return {
    jobId: str(j['jobId'], 'jobId'),
    hostId: str(j['hostId'], 'hostId'),
    kind,
    args: record(j['args'], 'args') as unknown as JobArgs,
    repositoryId: strOrNull(j['repositoryId'], 'repositoryId'),
    status: jobStatus(j['status']),
    scheduleId: strOrNull(j['scheduleId'], 'scheduleId'),
    correlationId: str(j['correlationId'], 'correlationId'),
    accepted: bool(j['accepted'], 'accepted'),
    cancelRequested: bool(j['cancelRequested'], 'cancelRequested'),
    requestedPosition: BigInt(str(j['requestedPosition'], 'requestedPosition')),
    updatedAt: num(j['updatedAt'], 'updatedAt'),
    revision: num(j['revision'], 'revision'),
  };
}

function jobStatus(v: unknown): JobStatus {
  if (!(JOB_STATUSES as readonly unknown[]).includes(v)) throw new Error(`${String(v)} is not a job status`);
  return v as JobStatus;
}
