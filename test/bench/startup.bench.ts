// Start-up time of `restic-fleet serve` (spawn → /readyz ready) with an empty
// data dir and with a long fleet history, plus the first start after an
// upgrade (state snapshots missing). Usage:
//   node dist/test/bench/startup.bench.js [--events N] [--hosts H] [--runs R] [--data DIR] [--json]
// `--data DIR` keeps the filled data dir there (and reuses it when it already holds a log).
//
// The history is written through the real SQLite store (multi-event appends,
// group commit), then a control plane runs once over it until ready and stops
// cleanly, which leaves read models and snapshots as a running installation
// has them. Lifecycle, host, schedule and identity events pass the catalog's
// validation (toEventData); telemetry is shaped as the ingest stores it.
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { createSqliteEventStore, type AppendResult, type EventStore } from '@rf/event-store';
import {
  currentSchemaVersion,
  toEventData,
  type EventData,
  type FleetEvent,
  type Snapshot,
} from '@rf/events';
import { freeTcpPort as freePort, median, rawNodeHttp, startServe, stopServe as stop } from './serve-process';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const targetEvents = Number(opt('--events') ?? 2_000_000);
const hosts = Number(opt('--hosts') ?? 40);
const runs = Number(opt('--runs') ?? 5);
const asJson = args.includes('--json');
const keptData = opt('--data');
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const DAY = 86_400_000;
const LINES_PER_BACKUP = 200;
const PROGRESS_PER_BACKUP = 12;
const MAX_IN_FLIGHT = 256;

// --- the fleet history ------------------------------------------------------

interface Append {
  readonly stream: string;
  readonly events: EventData[];
}

type Actor = { kind: 'user' | 'agent' | 'schedule' | 'system'; id: string; name?: string };

const meta = (actor: Actor, at: number, envelope?: boolean) => {
  const correlation = randomUUID();
  return {
    actor,
    correlation_id: correlation,
    causation_id: correlation,
    ...(envelope ? { envelope_id: randomUUID() } : {}),
    received_at: new Date(at).toISOString(),
  };
};

/** A catalog event, validated as every write path validates it. */
const checked = (event: FleetEvent, actor: Actor, at: number): EventData =>
  toEventData(event, meta(actor, at, actor.kind === 'agent'));

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
  metadata: { ...meta(agent, at, true), schema_version: currentSchemaVersion(type) },
});

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const iso = (t: number): string => new Date(t).toISOString();
const FAKE_HASH = `$argon2id$v=19$m=19456,t=2,p=1$${randomBytes(16).toString('base64')}$${randomBytes(32).toString('base64')}`;
const SEALED = {
  alg: 'aes-256-gcm' as const,
  key_id: 'k1',
  iv: 'AAAAAAAAAAAAAAAA',
  tag: 'AAAAAAAAAAAAAAAAAAAAAA==',
  ciphertext: 'AAAA',
};

const LOG_LINES = [
  'using parent snapshot {p}',
  'open repository',
  'lock repository',
  'load index files',
  'start scan on [/srv /etc /home]',
  'start backup on [/srv /etc /home]',
  'scan finished in 3.412s: 48211 files, 12.337 GiB',
  'modified  /srv/app/data/{n}.db, saved in 0.310s (2.113 MiB added)',
  'new       /home/deploy/.cache/pip/{n}.whl, saved in 0.041s (311.4 KiB added)',
  'unchanged /etc/nginx/sites-enabled/site-{n}.conf',
];

/** Days of a fleet: enrolment, nightly backups with logs, weekly forget/prune and check, reconnects, logins. */
function* fleetHistory(start: number): Generator<Append> {
  const admin: Actor = { kind: 'user', id: 'u-ops', name: 'ops' };
  yield {
    stream: 'user-u-ops',
    events: [
      checked(
        {
          type: 'UserCreated',
          data: { user_id: 'u-ops', username: 'ops', role: 'admin', password_hash: FAKE_HASH },
        },
        { kind: 'system', id: 'bootstrap' },
        start,
      ),
    ],
  };
  yield {
    stream: 'user-u-viewer',
    events: [
      checked(
        {
          type: 'UserCreated',
          data: { user_id: 'u-viewer', username: 'auditor', role: 'viewer', password_hash: FAKE_HASH },
        },
        admin,
        start,
      ),
    ],
  };
  yield {
    stream: 'token-t-ci',
    events: [
      checked(
        {
          type: 'ApiTokenCreated',
          data: { token_id: 't-ci', name: 'ci', role: 'operator', token_hash: hex(32), created_by: 'u-ops' },
        },
        admin,
        start,
      ),
    ],
  };
  const snapshots = new Map<string, Snapshot[]>();
  for (let h = 0; h < hosts; h++) {
    const hostId = `h${h}`;
    const hostname = `srv-${String(h).padStart(3, '0')}`;
    const agent: Actor = { kind: 'agent', id: hostId };
    const t = start + h * 60_000;
    yield {
      stream: `enrolment-e${h}`,
      events: [
        checked(
          {
            type: 'EnrolmentTokenCreated',
            data: { token_id: `e${h}`, token_hash: hex(32), expires_at: iso(t + DAY), created_by: 'u-ops' },
          },
          admin,
          t,
        ),
        checked(
          {
            type: 'EnrolmentTokenUsed',
            data: { token_id: `e${h}`, host_id: hostId, used_at: iso(t + 5000) },
          },
          agent,
          t + 5000,
        ),
      ],
    };
    yield {
      stream: `host-${hostId}`,
      events: [
        checked(
          {
            type: 'HostEnrolled',
            data: {
              host_id: hostId,
              hostname,
              os: 'linux',
              arch: 'amd64',
              agent_secret_hash: FAKE_HASH,
              enrolment_token_id: `e${h}`,
              enrolled_at: iso(t + 5000),
            },
          },
          agent,
          t + 5000,
        ),
        checked(
          {
            type: 'AgentConnected',
            data: {
              host_id: hostId,
              protocol_version: 1,
              agent_version: '0.1.0',
              restic_version: '0.17.3',
              hostname,
              os: 'linux',
              arch: 'amd64',
              connected_at: iso(t + 6000),
            },
          },
          agent,
          t + 6000,
        ),
        checked(
          {
            type: 'RepositoryConfigured',
            data: { host_id: hostId, url: `s3:https://s3.example.com/backups/${hostname}`, password: SEALED },
          },
          admin,
          t + 7000,
        ),
      ],
    };
    yield {
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
                  excludes: ['*.tmp'],
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
          admin,
          t + 8000,
        ),
        checked(
          { type: 'SchedulesApplied', data: { host_id: hostId, version: 1, applied_at: iso(t + 9000) } },
          agent,
          t + 9000,
        ),
      ],
    };
    snapshots.set(hostId, []);
  }
  for (let day = 1; ; day++) {
    const midnight = start + day * DAY;
    yield {
      stream: 'user-u-ops',
      events: [
        checked(
          { type: 'UserLoggedIn', data: { user_id: 'u-ops', at: iso(midnight + 9 * 3_600_000) } },
          admin,
          midnight + 9 * 3_600_000,
        ),
      ],
    };
    for (let h = 0; h < hosts; h++) {
      const hostId = `h${h}`;
      const hostname = `srv-${String(h).padStart(3, '0')}`;
      const agent: Actor = { kind: 'agent', id: hostId };
      let t = midnight + 2 * 3_600_000 + h * 30_000;
      if ((day + h) % 9 === 0) {
        // A reboot at night: the agent goes away and comes back.
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
                  hostname,
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
      const failed = (day * 7 + h) % 23 === 0;
      yield* job(
        hostId,
        hostname,
        'backup',
        { paths: ['/srv', '/etc', '/home'], excludes: ['*.tmp'] },
        'nightly',
        t,
        failed ? 'failed' : (day + h) % 11 === 0 ? 'warning' : 'succeeded',
        LINES_PER_BACKUP,
        snapshots.get(hostId)!,
      );
      t += 40 * 60_000;
      if (day % 7 === 0) {
        yield* job(
          hostId,
          hostname,
          'forget',
          { policy: { keep_daily: 7, keep_weekly: 4 } },
          'weekly-forget',
          t,
          'succeeded',
          30,
          null,
        );
        const kept = snapshots.get(hostId)!;
        kept.splice(0, Math.max(0, kept.length - 11));
        t += 10 * 60_000;
        yield* job(hostId, hostname, 'prune', {}, null, t, 'succeeded', 40, null);
        t += 20 * 60_000;
        yield* job(hostId, hostname, 'check', {}, null, t, 'succeeded', 12, null);
      }
    }
  }

  function* job(
    hostId: string,
    hostname: string,
    kind: 'backup' | 'forget' | 'prune' | 'check',
    jobArgs: Record<string, unknown>,
    scheduleId: string | null,
    t: number,
    outcome: 'succeeded' | 'warning' | 'failed',
    lines: number,
    kept: Snapshot[] | null,
  ): Generator<Append> {
    const jobId = randomUUID();
    const agent: Actor = { kind: 'agent', id: hostId };
    const system: Actor = { kind: 'system', id: 'control-plane' };
    const requester: Actor = scheduleId
      ? { kind: 'schedule', id: scheduleId }
      : { kind: 'user', id: 'u-ops', name: 'ops' };
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
              args: jobArgs,
              ...(scheduleId ? { schedule_id: scheduleId } : {}),
              requested_at: iso(t),
            },
          } as FleetEvent,
          requester,
          t,
        ),
        checked(
          { type: 'JobDispatched', data: { job_id: jobId, host_id: hostId, dispatched_at: iso(t + 20) } },
          system,
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
    const telemetryEvents: EventData[] = [];
    const progressEvery = Math.max(1, Math.floor(lines / PROGRESS_PER_BACKUP));
    const parent = kept?.at(-1)?.short_id ?? 'none';
    for (let seq = 0; seq < lines; seq++) {
      const at = t + 100 + Math.floor((duration * seq) / lines);
      const pattern = LOG_LINES[seq < 7 ? seq : 7 + (seq % 3)]!;
      telemetryEvents.push(
        telemetry(
          'LogStreamLine',
          {
            job_id: jobId,
            seq,
            ts: iso(at),
            stream: seq % 50 === 49 ? 'stderr' : 'stdout',
            payload: pattern.replace('{p}', String(parent)).replace('{n}', String(seq)),
          },
          agent,
          at,
        ),
      );
      if (kind === 'backup' && seq % progressEvery === 0) {
        const done = seq / lines;
        telemetryEvents.push(
          telemetry(
            'JobProgress',
            {
              job_id: jobId,
              percent_done: done,
              files_done: Math.floor(48211 * done),
              total_files: 48211,
              bytes_done: Math.floor(13_246_854_144 * done),
              total_bytes: 13_246_854_144,
              eta_seconds: Math.round((1 - done) * 1500),
              throughput_bps: 8_800_000,
              ts: iso(at),
            },
            agent,
            at,
          ),
        );
      }
    }
    // The ingest appends a socket batch of telemetry at a time.
    for (let i = 0; i < telemetryEvents.length; i += 64) {
      yield { stream: `joblog-${jobId}`, events: telemetryEvents.slice(i, i + 64) };
    }
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
    if (kept && outcome !== 'failed') {
      const id = hex(32);
      kept.push({
        id,
        short_id: id.slice(0, 8),
        time: iso(end),
        hostname,
        paths: ['/srv', '/etc', '/home'],
        size_bytes: 13_246_854_144,
        file_count: 48211,
        ...(kept.length > 0 ? { parent: kept.at(-1)!.id } : {}),
      });
      yield {
        stream: `snapshots-${hostId}`,
        events: [
          checked(
            {
              type: 'SnapshotsReported',
              data: { host_id: hostId, job_id: jobId, reported_at: iso(end + 1000), snapshots: kept.slice() },
            } as FleetEvent,
            agent,
            end + 1000,
          ),
        ],
      };
    }
  }
}

async function fill(store: EventStore): Promise<number> {
  // The history ends about now: a day per step, as many days as the event target needs.
  const perDay = hosts * (LINES_PER_BACKUP + PROGRESS_PER_BACKUP + 8) + (hosts * 100) / 7;
  const days = Math.ceil(targetEvents / perDay) + 1;
  const start = Date.now() - days * DAY;
  const inFlight = new Set<Promise<AppendResult>>();
  let written = 0;
  for (const append of fleetHistory(start)) {
    if (written >= targetEvents) break;
    const p = store.append(append.stream, append.events);
    inFlight.add(p);
    void p.then(() => inFlight.delete(p));
    written += append.events.length;
    if (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return written;
}

const mb = (file: string): number =>
  fs.existsSync(file) ? Math.round(fs.statSync(file).size / 1e5) / 10 : 0;

function dropSnapshots(dataDir: string): number {
  const db = new Database(path.join(dataDir, 'readmodels.db'));
  try {
    return db.prepare('DELETE FROM state_snapshots').run().changes;
  } finally {
    db.close();
  }
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-bench-startup-'));
  const full = keptData ? path.resolve(keptData) : path.join(root, 'full');
  fs.mkdirSync(full, { recursive: true });
  try {
    const port = await freePort();
    let fillMs = 0;
    let prepareMs = 0;
    if (fs.existsSync(path.join(full, 'events.db'))) {
      say(`reusing the history in ${full}`);
    } else {
      const t0 = Date.now();
      const store = createSqliteEventStore({ path: path.join(full, 'events.db'), synchronous: 'NORMAL' });
      let written: number;
      try {
        written = await fill(store);
      } finally {
        await store.close();
      }
      fillMs = Date.now() - t0;
      say(`filled ${written} events in ${fillMs} ms`);
      const t1 = Date.now();
      const first = await startServe(full, port, 60 * 60_000);
      await stop(first);
      prepareMs = Date.now() - t1;
      say(`first run over the history (read models and snapshots built) in ${prepareMs} ms`);
    }

    const empty: number[] = [];
    const fullRuns: number[] = [];
    const noSnapshots: number[] = [];
    const raw: number[] = [];
    for (let r = 0; r < runs; r++) {
      const emptyDir = path.join(root, `empty-${r}`);
      fs.mkdirSync(emptyDir);
      const e = await startServe(emptyDir, port, 120_000);
      empty.push(e.readyMs);
      await stop(e);
      fs.rmSync(emptyDir, { recursive: true, force: true });

      const f = await startServe(full, port, 120_000);
      fullRuns.push(f.readyMs);
      await stop(f);

      if (dropSnapshots(full) === 0) throw new Error('no state snapshots were stored by the clean shutdown');
      const n = await startServe(full, port, 30 * 60_000);
      noSnapshots.push(n.readyMs);
      await stop(n);

      raw.push(await rawNodeHttp(port));
      say(
        `run ${r + 1}/${runs}: empty ${Math.round(e.readyMs)} ms, full ${Math.round(f.readyMs)} ms, no snapshots ${Math.round(n.readyMs)} ms`,
      );
    }
    const events = await countEvents(full);
    const result = {
      events,
      startup_ms_empty: median(empty),
      startup_ms_full: median(fullRuns),
      startup_ms_full_without_snapshots: median(noSnapshots),
      raw_node_http_ms: median(raw),
      target_full_ms: 2 * median(empty) + 1000,
      runs,
      hosts,
      fill_ms: fillMs,
      first_run_ms: prepareMs,
      events_db_mb: mb(path.join(full, 'events.db')),
      readmodels_db_mb: mb(path.join(full, 'readmodels.db')),
      load_average: Math.round(os.loadavg()[0]! * 10) / 10,
    };
    say('');
    say('control-plane start-up: spawn → /readyz 200 (median of runs)');
    say(`  events in the log                 ${result.events}`);
    say(`  empty data dir                    ${result.startup_ms_empty} ms`);
    say(
      `  full history                      ${result.startup_ms_full} ms   (target ≤ ${result.target_full_ms} ms)`,
    );
    say(
      `  full history, snapshots missing   ${result.startup_ms_full_without_snapshots} ms   (first start after an upgrade)`,
    );
    say(`  raw limit: bare node HTTP server  ${result.raw_node_http_ms} ms`);
    say(`  events.db / readmodels.db         ${result.events_db_mb} MB / ${result.readmodels_db_mb} MB`);
    say(`  load average (1 min)              ${result.load_average} on ${os.cpus().length} CPUs`);
    if (asJson) say(JSON.stringify(result));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** Events in `$all` (system records excluded), counted from the file itself. */
async function countEvents(dataDir: string): Promise<number> {
  const db = new Database(path.join(dataDir, 'events.db'), { readonly: true });
  try {
    const row = db.prepare('SELECT SUM(count) AS n FROM events WHERE system = 0').get() as { n: number };
    return row.n;
  } finally {
    db.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
