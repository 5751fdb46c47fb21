import { randomUUID } from 'node:crypto';
import type { EventData, RecordedEvent } from '@rf/events';

/**
 * Test fixtures: events shaped like the catalog's (snake_case payloads, actor
 * metadata), for specs and benchmarks. Not exported from the library root.
 */
export interface PlannedEvent {
  readonly stream: string;
  readonly event: EventData;
}

const T0 = Date.parse('2026-11-01T00:00:00.000Z');
export const at = (offsetMs: number): string => new Date(T0 + offsetMs).toISOString();

export const meta = (
  actor: { kind: string; id: string; name?: string },
  receivedAt: string,
): Record<string, unknown> => ({
  actor,
  correlation_id: 'corr-1',
  causation_id: 'cause-1',
  received_at: receivedAt,
  schema_version: 1,
});

export const planned = (
  stream: string,
  type: string,
  data: Record<string, unknown>,
  actor: { kind: string; id: string; name?: string } = { kind: 'system', id: 'control-plane' },
): PlannedEvent => ({
  stream,
  event: {
    id: randomUUID(),
    type,
    data,
    metadata: meta(actor, typeof data['ts'] === 'string' ? data['ts'] : at(0)),
  },
});

export const ALICE = { kind: 'user', id: 'u-alice', name: 'alice' } as const;
export const agentOf = (hostId: string): { kind: string; id: string } => ({ kind: 'agent', id: hostId });

/** An event of `job-{jobId}` (the agent reports it unless another actor is given). */
export const jobEvent = (
  jobId: string,
  type: string,
  data: Record<string, unknown>,
  actor: { kind: string; id: string; name?: string } = agentOf('h1'),
): PlannedEvent => planned(`job-${jobId}`, type, { job_id: jobId, ...data }, actor);

/** An event of `joblog-{jobId}`, reported by the agent. */
export const jobLogEvent = (jobId: string, type: string, data: Record<string, unknown>): PlannedEvent =>
  planned(`joblog-${jobId}`, type, { job_id: jobId, ...data }, agentOf('h1'));

/** Alice asks for a backup of /srv on h1. */
export const backupRequested = (jobId: string, t: number, hostId = 'h1'): PlannedEvent =>
  jobEvent(
    jobId,
    'JobRequested',
    { host_id: hostId, kind: 'backup', args: { paths: ['/srv'] }, requested_at: at(t) },
    ALICE,
  );

export const logLine = (jobId: string, seq: number, payload = `line ${seq}`): PlannedEvent =>
  jobLogEvent(jobId, 'LogStreamLine', { seq, ts: at(5000 + seq), stream: 'stdout', payload });

/** An event of `host-{hostId}`. */
export const hostEvent = (
  hostId: string,
  type: string,
  data: Record<string, unknown>,
  actor: { kind: string; id: string; name?: string } = agentOf(hostId),
): PlannedEvent => planned(`host-${hostId}`, type, { host_id: hostId, ...data }, actor);

export const hostEnrolled = (hostId: string, t: number): PlannedEvent =>
  hostEvent(hostId, 'HostEnrolled', {
    hostname: 'web-01',
    os: 'linux',
    arch: 'amd64',
    agent_secret_hash: 'x',
    enrolment_token_id: 'et1',
    enrolled_at: at(t),
  });

export const agentConnected = (hostId: string, t: number): PlannedEvent =>
  hostEvent(hostId, 'AgentConnected', {
    protocol_version: 1,
    agent_version: '0.2.0',
    restic_version: '0.14.0',
    hostname: 'web-01',
    os: 'linux',
    arch: 'amd64',
    connected_at: at(t),
  });

/** One snapshot as restic lists it; `id` is repeated to a full-length hex id. */
export const snapshotOf = (id: string, time: string, extra: Record<string, unknown> = {}) => ({
  id: id.repeat(64 / id.length),
  short_id: id.repeat(8 / id.length),
  time,
  hostname: 'web-01',
  paths: ['/srv'],
  tags: ['t'],
  ...extra,
});

/** A stored-looking event for unit specs: positions increase with `seq`. */
export function recorded(seq: number, p: PlannedEvent, createdIso?: string): RecordedEvent {
  return {
    id: p.event.id,
    type: p.event.type,
    streamId: p.stream,
    revision: 0,
    position: { commit: BigInt(seq), prepare: BigInt(seq) },
    data: p.event.data,
    metadata: p.event.metadata ?? {},
    created: new Date(createdIso ?? at(seq * 1000)),
  };
}

export const recordAll = (events: readonly PlannedEvent[]): RecordedEvent[] =>
  events.map((p, i) => recorded(i + 1, p));

export interface FleetOptions {
  readonly hosts: number;
  readonly jobsPerHost: number;
  readonly linesPerJob: number;
  /** Index of the first host (h0 by default), to append a second, disjoint history. */
  readonly firstHost?: number;
}

/** A deterministic slice of fleet life: enrolment, connection, config, schedules, jobs with logs, snapshots, stats. */
export function fleetHistory(options: FleetOptions, startMs = 0): PlannedEvent[] {
  const out: PlannedEvent[] = [];
  let t = startMs;
  const tick = (): string => at((t += 1000));
  const alice = { kind: 'user', id: 'u-alice', name: 'alice' };
  const first = options.firstHost ?? 0;
  for (let h = first; h < first + options.hosts; h++) {
    const hostId = `h${h}`;
    const agent = { kind: 'agent', id: hostId };
    out.push(
      planned(`host-${hostId}`, 'HostEnrolled', {
        host_id: hostId,
        hostname: `web-${String(h).padStart(2, '0')}`,
        os: 'linux',
        arch: 'amd64',
        agent_secret_hash: 'argon2id$fake',
        enrolment_token_id: `et-${h}`,
        enrolled_at: tick(),
      }),
      planned(
        `host-${hostId}`,
        'AgentConnected',
        {
          host_id: hostId,
          protocol_version: 1,
          agent_version: '0.1.0',
          restic_version: '0.14.0',
          hostname: `web-${String(h).padStart(2, '0')}`,
          os: 'linux',
          arch: 'amd64',
          connected_at: tick(),
        },
        agent,
      ),
      planned(
        `host-${hostId}`,
        'RepositoryConfigured',
        {
          host_id: hostId,
          url: `rest:https://backup.example/${hostId}`,
          password: { alg: 'aes-256-gcm', key_id: 'k1', iv: 'AAAA', tag: 'AAAA', ciphertext: 'AAAA' },
        },
        alice,
      ),
      planned(
        `schedules-${hostId}`,
        'SchedulesChanged',
        {
          host_id: hostId,
          version: 1,
          schedules: [{ id: 'nightly', kind: 'backup', cron: '0 2 * * *', enabled: true, paths: ['/srv'] }],
        },
        alice,
      ),
      planned(
        `schedules-${hostId}`,
        'SchedulesApplied',
        { host_id: hostId, version: 1, applied_at: tick() },
        agent,
      ),
    );
    for (let j = 0; j < options.jobsPerHost; j++) {
      const jobId = `j-${h}-${j}`;
      const scheduled = j % 2 === 1;
      if (scheduled) {
        out.push(
          planned(
            `schedules-${hostId}`,
            'ScheduleFired',
            { host_id: hostId, schedule_id: 'nightly', scheduled_at: tick(), job_id: jobId },
            agent,
          ),
        );
      }
      const requester = scheduled ? { kind: 'schedule', id: 'nightly' } : alice;
      out.push(
        planned(
          `job-${jobId}`,
          'JobRequested',
          {
            job_id: jobId,
            host_id: hostId,
            kind: 'backup',
            args: { paths: ['/srv'] },
            ...(scheduled ? { schedule_id: 'nightly' } : {}),
            requested_at: tick(),
          },
          requester,
        ),
        planned(`job-${jobId}`, 'JobDispatched', { job_id: jobId, host_id: hostId, dispatched_at: tick() }),
        planned(`job-${jobId}`, 'JobStarted', { job_id: jobId, kind: 'backup', started_at: tick() }, agent),
      );
      for (let l = 0; l < options.linesPerJob; l++) {
        if (l === Math.floor(options.linesPerJob / 2)) {
          out.push(
            planned(
              `joblog-${jobId}`,
              'JobProgress',
              {
                job_id: jobId,
                percent_done: 0.5,
                files_done: 10,
                total_files: 20,
                bytes_done: 1000,
                total_bytes: 2000,
                eta_seconds: 3,
                throughput_bps: 500,
                ts: tick(),
              },
              agent,
            ),
          );
        }
        out.push(
          planned(
            `joblog-${jobId}`,
            'LogStreamLine',
            {
              job_id: jobId,
              seq: l,
              ts: tick(),
              stream: l % 7 === 6 ? 'stderr' : 'stdout',
              payload: `line ${l} of ${jobId}`,
            },
            agent,
          ),
        );
      }
      const outcome =
        j % 3 === 2
          ? { status: 'failed', exit_code: 1, error: 'repository is locked', error_code: 'repo_locked' }
          : j % 3 === 1
            ? { status: 'warning', exit_code: 3 }
            : { status: 'succeeded', exit_code: 0 };
      out.push(
        planned(
          `job-${jobId}`,
          'JobFinished',
          { job_id: jobId, ...outcome, finished_at: tick(), stats: { files_new: j, data_added: 100 * j } },
          agent,
        ),
      );
    }
    out.push(
      planned(
        `snapshots-${hostId}`,
        'SnapshotsReported',
        {
          host_id: hostId,
          snapshots: [
            {
              id: `${'a'.repeat(56)}${String(h).padStart(8, '0')}`,
              short_id: `aaaa${String(h).padStart(4, '0')}`,
              time: tick(),
              hostname: `web-${h}`,
              paths: ['/srv'],
              tags: ['nightly'],
            },
            {
              id: `${'b'.repeat(56)}${String(h).padStart(8, '0')}`,
              short_id: `bbbb${String(h).padStart(4, '0')}`,
              time: tick(),
              hostname: `web-${h}`,
              paths: ['/srv'],
            },
          ],
          reported_at: tick(),
        },
        agent,
      ),
      planned(
        `host-${hostId}`,
        'RepoStatsReported',
        {
          host_id: hostId,
          total_size_bytes: 1_000_000 + h,
          snapshot_count: 2,
          file_count: 40,
          reported_at: tick(),
        },
        agent,
      ),
    );
  }
  return out;
}
