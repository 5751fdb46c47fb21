// A fleet's history for bench:fleet, written through the real SQLite store:
// hosts enrolled, a nightly backup per host for `days` days with its log lines
// and progress samples, a weekly forget, prune and check, some failures and
// warnings, reboots, and one backup with a very long log. Past the hosts that
// back up, more hosts are only enrolled (idle agents), so that many agents can
// connect with credentials the log knows. Host ids and agent secrets are
// derived from the host's number, so the bench can connect as any of them.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { AppendResult, EventStore } from '@rf/event-store';
import {
  currentSchemaVersion,
  toEventData,
  type EventData,
  type FleetEvent,
  type Snapshot,
} from '@rf/events';

export interface FleetShape {
  /** Hosts that back up every night. */
  readonly hosts: number;
  /** Hosts enrolled in all (≥ hosts); the rest only enrol. */
  readonly enrolled: number;
  readonly days: number;
  /** Log lines of an ordinary nightly backup. */
  readonly linesPerBackup: number;
  readonly progressPerBackup: number;
  /** Log lines of the one long backup (host 0, last night). */
  readonly longJobLines: number;
}

const DAY = 86_400_000;

/** Host number → host id (a UUID, as the agent's bearer needs). */
export const hostIdOf = (h: number): string => `00000000-0000-4000-8000-${h.toString(16).padStart(12, '0')}`;
export const hostnameOf = (h: number): string => `srv-${String(h).padStart(5, '0')}`;
/** Host number → the agent secret whose hash the log holds. */
export const agentSecretOf = (h: number): string => `bench-agent-secret-${h}-${'x'.repeat(8)}`;
/** The id of the backup with `longJobLines` lines. */
export const LONG_JOB_ID = '00000000-0000-4000-9000-000000000001';
/** The operator whose actions the audit filter picks. */
export const OPERATOR = { kind: 'user' as const, id: 'u-ops', name: 'ops' };

/** Events one history of this shape holds, roughly (for progress and `--events`). */
export function eventsPerHostDay(shape: FleetShape): number {
  const nightly = 7 + shape.linesPerBackup + shape.progressPerBackup;
  const weekly = 3 * 5 + WEEKLY_LINES.forget + WEEKLY_LINES.prune + WEEKLY_LINES.check;
  return nightly + weekly / 7 + 2 / 9;
}

const WEEKLY_LINES = { forget: 10, prune: 10, check: 4 };

interface Append {
  readonly stream: string;
  readonly events: EventData[];
}

type Actor = { kind: 'user' | 'agent' | 'schedule' | 'system'; id: string; name?: string };

const meta = (actor: Actor, at: number) => {
  const correlation = randomUUID();
  return {
    actor,
    correlation_id: correlation,
    causation_id: correlation,
    ...(actor.kind === 'agent' ? { envelope_id: randomUUID() } : {}),
    received_at: new Date(at).toISOString(),
  };
};

/** A catalog event, validated as every write path validates it. */
const checked = (event: FleetEvent, actor: Actor, at: number): EventData =>
  toEventData(event, meta(actor, at));

/** Telemetry as the ingest stores it (validated at the envelope, not again). */
const telemetry = (
  type: 'LogStreamLine' | 'JobProgress',
  data: object,
  agent: Actor,
  at: number,
): EventData => ({
  id: randomUUID(),
  type,
  data,
  metadata: { ...meta(agent, at), schema_version: currentSchemaVersion(type) },
});

const iso = (t: number): string => new Date(t).toISOString();
const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const SEALED = {
  alg: 'aes-256-gcm' as const,
  key_id: 'k1',
  iv: 'AAAAAAAAAAAAAAAA',
  tag: 'AAAAAAAAAAAAAAAAAAAAAA==',
  ciphertext: 'AAAA',
};
const LOG_LINES = [
  'open repository',
  'lock repository',
  'load index files',
  'using parent snapshot {p}',
  'start scan on [/srv /etc /home]',
  'scan finished in 3.412s: 48211 files, 12.337 GiB',
  'modified  /srv/app/data/{n}.db, saved in 0.310s (2.113 MiB added)',
  'new       /home/deploy/.cache/pip/{n}.whl, saved in 0.041s (311.4 KiB added)',
  'unchanged /etc/nginx/sites-enabled/site-{n}.conf',
];

function enrolment(h: number, t: number, backsUp: boolean): Append[] {
  const hostId = hostIdOf(h);
  const hostname = hostnameOf(h);
  const agent: Actor = { kind: 'agent', id: hostId };
  const secretHash = createHash('sha256').update(agentSecretOf(h), 'utf8').digest('hex');
  const host: EventData[] = [
    checked(
      {
        type: 'HostEnrolled',
        data: {
          host_id: hostId,
          hostname,
          os: 'linux',
          arch: 'amd64',
          agent_secret_hash: secretHash,
          enrolment_token_id: `e${h}`,
          enrolled_at: iso(t),
        },
      },
      agent,
      t,
    ),
  ];
  if (!backsUp) return [{ stream: `host-${hostId}`, events: host }];
  host.push(
    checked(
      {
        type: 'RepositoryConfigured',
        data: { host_id: hostId, url: `s3:https://s3.example.com/backups/${hostname}`, password: SEALED },
      },
      OPERATOR,
      t + 1000,
    ),
  );
  return [
    { stream: `host-${hostId}`, events: host },
    {
      stream: `schedules-${hostId}`,
      events: [
        checked(
          {
            type: 'SchedulesChanged',
            data: {
              host_id: hostId,
              version: 1,
              schedules: [
                {
                  id: 'nightly',
                  kind: 'backup',
                  cron: '0 2 * * *',
                  enabled: true,
                  paths: ['/srv', '/etc', '/home'],
                },
                {
                  id: 'weekly-forget',
                  kind: 'forget',
                  cron: '0 4 * * 0',
                  enabled: true,
                  retention: { keep_daily: 7, keep_weekly: 4 },
                },
              ],
            },
          } as FleetEvent,
          OPERATOR,
          t + 2000,
        ),
        checked(
          { type: 'SchedulesApplied', data: { host_id: hostId, version: 1, applied_at: iso(t + 3000) } },
          agent,
          t + 3000,
        ),
      ],
    },
  ];
}

/** The history, oldest first, ending about now. */
export function* fleetHistory(shape: FleetShape, now = Date.now()): Generator<Append> {
  const start = now - (shape.days + 1) * DAY;
  for (let h = 0; h < shape.enrolled; h++) yield* enrolment(h, start + h * 1000, h < shape.hosts);
  const kept = new Map<number, Snapshot[]>();
  for (let day = 1; day <= shape.days; day++) {
    const midnight = start + day * DAY;
    for (let h = 0; h < shape.hosts; h++) {
      const hostId = hostIdOf(h);
      const agent: Actor = { kind: 'agent', id: hostId };
      let t = midnight + 2 * 3_600_000 + (h % 600) * 6_000;
      if ((day + h) % 9 === 0) {
        yield {
          stream: `host-${hostId}`,
          events: [
            checked(
              {
                type: 'AgentDisconnected',
                data: { host_id: hostId, reason: 'heartbeat_timeout', disconnected_at: iso(t - 600_000) },
              },
              { kind: 'system', id: 'control-plane' },
              t - 600_000,
            ),
            checked(
              {
                type: 'AgentConnected',
                data: {
                  host_id: hostId,
                  protocol_version: 1,
                  agent_version: '0.1.0',
                  restic_version: '0.17.3',
                  hostname: hostnameOf(h),
                  os: 'linux',
                  arch: 'amd64',
                  connected_at: iso(t - 300_000),
                },
              },
              agent,
              t - 300_000,
            ),
          ],
        };
      }
      const long = h === 0 && day === shape.days;
      const outcome = (day * 7 + h) % 23 === 0 ? 'failed' : (day + h) % 11 === 0 ? 'warning' : 'succeeded';
      if (!kept.has(h)) kept.set(h, []);
      yield* job(
        h,
        'backup',
        'nightly',
        t,
        outcome,
        long ? shape.longJobLines : shape.linesPerBackup,
        kept.get(h)!,
        long,
      );
      t += 40 * 60_000;
      if (day % 7 === 0) {
        yield* job(h, 'forget', 'weekly-forget', t, 'succeeded', WEEKLY_LINES.forget, null, false);
        const snaps = kept.get(h)!;
        snaps.splice(0, Math.max(0, snaps.length - 11));
        yield* job(h, 'prune', null, t + 600_000, 'succeeded', WEEKLY_LINES.prune, null, false);
        yield* job(h, 'check', null, t + 1_200_000, 'succeeded', WEEKLY_LINES.check, null, false);
      }
    }
  }

  function* job(
    h: number,
    kind: 'backup' | 'forget' | 'prune' | 'check',
    scheduleId: string | null,
    t: number,
    outcome: 'succeeded' | 'warning' | 'failed',
    lines: number,
    snaps: Snapshot[] | null,
    long: boolean,
  ): Generator<Append> {
    const hostId = hostIdOf(h);
    const jobId = long ? LONG_JOB_ID : randomUUID();
    const agent: Actor = { kind: 'agent', id: hostId };
    const args =
      kind === 'backup'
        ? { paths: ['/srv', '/etc', '/home'] }
        : kind === 'forget'
          ? { policy: { keep_daily: 7, keep_weekly: 4 } }
          : {};
    if (scheduleId) {
      yield {
        stream: `schedules-${hostId}`,
        events: [
          checked(
            {
              type: 'ScheduleFired',
              data: { host_id: hostId, schedule_id: scheduleId, scheduled_at: iso(t), job_id: jobId },
            },
            agent,
            t,
          ),
        ],
      };
    }
    yield {
      stream: `job-${jobId}`,
      events: [
        checked(
          {
            type: 'JobRequested',
            data: {
              job_id: jobId,
              host_id: hostId,
              kind,
              args,
              ...(scheduleId ? { schedule_id: scheduleId } : {}),
              requested_at: iso(t),
            },
          } as FleetEvent,
          scheduleId ? { kind: 'schedule', id: scheduleId } : OPERATOR,
          t,
        ),
        checked(
          { type: 'JobDispatched', data: { job_id: jobId, host_id: hostId, dispatched_at: iso(t + 20) } },
          { kind: 'system', id: 'control-plane' },
          t + 20,
        ),
        checked({ type: 'JobAccepted', data: { job_id: jobId, accepted_at: iso(t + 60) } }, agent, t + 60),
        checked(
          {
            type: 'JobStarted',
            data: { job_id: jobId, kind, started_at: iso(t + 80), restic_version: '0.17.3' },
          },
          agent,
          t + 80,
        ),
      ],
    };
    const duration = kind === 'backup' ? 25 * 60_000 : 3 * 60_000;
    const batch: EventData[] = [];
    const progressEvery = Math.max(1, Math.floor(lines / Math.max(1, shape.progressPerBackup)));
    const parent = snaps?.at(-1)?.short_id ?? 'none';
    for (let seq = 0; seq < lines; seq++) {
      const at = t + 100 + Math.floor((duration * seq) / lines);
      const pattern = LOG_LINES[seq < 6 ? seq : 6 + (seq % 3)]!;
      batch.push(
        telemetry(
          'LogStreamLine',
          {
            job_id: jobId,
            seq,
            ts: iso(at),
            stream: seq % 50 === 49 ? 'stderr' : 'stdout',
            payload: pattern.replace('{p}', parent).replace('{n}', String(seq)),
          },
          agent,
          at,
        ),
      );
      if (kind === 'backup' && shape.progressPerBackup > 0 && seq % progressEvery === 0) {
        const done = seq / lines;
        batch.push(
          telemetry(
            'JobProgress',
            {
              job_id: jobId,
              ...progressFigures(done),
              eta_seconds: Math.round((1 - done) * 1500),
              ts: iso(at),
            },
            agent,
            at,
          ),
        );
      }
      // The ingest appends a socket batch of telemetry at a time.
      if (batch.length >= 64) yield { stream: `joblog-${jobId}`, events: batch.splice(0) };
    }
    if (batch.length > 0) yield { stream: `joblog-${jobId}`, events: batch.splice(0) };
    const end = t + 100 + duration;
    yield {
      stream: `job-${jobId}`,
      events: [
        checked(
          {
            type: 'JobFinished',
            data: {
              job_id: jobId,
              status: outcome,
              exit_code: outcome === 'succeeded' ? 0 : outcome === 'warning' ? 3 : 1,
              finished_at: iso(end),
              ...(outcome === 'failed'
                ? {
                    error: 'Fatal: unable to open repository: connection reset by peer',
                    error_code: 'repo_unreachable',
                  }
                : {
                    stats: {
                      files_new: 41,
                      files_changed: 212,
                      data_added: 48_211_337,
                      total_files_processed: 48211,
                    },
                  }),
              log_lines: lines,
            },
          } as FleetEvent,
          agent,
          end,
        ),
      ],
    };
    if (snaps && outcome !== 'failed') {
      const id = hex(32);
      snaps.push({
        id,
        short_id: id.slice(0, 8),
        time: iso(end),
        hostname: hostnameOf(h),
        paths: ['/srv', '/etc', '/home'],
        size_bytes: 13_246_854_144,
        file_count: 48211,
        ...(snaps.length > 0 ? { parent: snaps.at(-1)!.id } : {}),
      });
      yield {
        stream: `snapshots-${hostId}`,
        events: [
          checked(
            {
              type: 'SnapshotsReported',
              data: {
                host_id: hostId,
                job_id: jobId,
                reported_at: iso(end + 1000),
                snapshots: snaps.slice(),
              },
            } as FleetEvent,
            agent,
            end + 1000,
          ),
        ],
      };
    }
  }
}

/** Appends the history with many appends in flight (group commit); reports progress. */
export async function writeHistory(
  store: EventStore,
  shape: FleetShape,
  onProgress: (written: number) => void,
): Promise<number> {
  const inFlight = new Set<Promise<AppendResult>>();
  let written = 0;
  let lastReport = Date.now();
  for (const append of fleetHistory(shape)) {
    const p = store.append(append.stream, append.events);
    inFlight.add(p);
    void p.then(() => inFlight.delete(p));
    written += append.events.length;
    if (inFlight.size >= 256) await Promise.race(inFlight);
    if (Date.now() - lastReport > 5000) {
      lastReport = Date.now();
      onProgress(written);
    }
  }
  await Promise.all(inFlight);
  return written;
}

/** A backup's progress counters at a fraction done: the same made-up 48,211-file, 12.3 GiB job everywhere. */
export function progressFigures(done: number): {
  percent_done: number;
  files_done: number;
  total_files: number;
  bytes_done: number;
  total_bytes: number;
  throughput_bps: number;
} {
  return {
    percent_done: done,
    files_done: Math.floor(48211 * done),
    total_files: 48211,
    bytes_done: Math.floor(13_246_854_144 * done),
    total_bytes: 13_246_854_144,
    throughput_bps: 8_800_000,
  };
}
