import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { EVENT_STORE, type EventStore } from '@rf/event-store';
import { jobLockClaims, repositoryStream, type JobKind, type RepositoryLock } from '@rf/events';
import { AppConfig } from '../../apps/control-plane/src/core/app-config';
import { systemContext } from '../../apps/control-plane/src/core/command-context';
import { SecretBox } from '../../apps/control-plane/src/core/secret-box';
import { startServer, type RunningServer } from '../../apps/control-plane/src/main';
import { FleetEventWriter } from '../../apps/control-plane/src/services/fleet-event.writer';
import { FleetStateService } from '../../apps/control-plane/src/services/fleet-state.service';
import { JobCommandsService } from '../../apps/control-plane/src/services/jobs.service';
import { positiveIntOption } from '../support/bench-args';
import { RestClient } from '../support/rest-client';
import { enrolHost, type AgentIdentity } from '../support/scripted-agent';

/*
 * Dispatch benchmark: many hosts sharing few repositories, with shared
 * (backup) and exclusive (prune, check) jobs requested at a steady rate.
 *
 * What is real: the whole control plane (the Nest app as `serve` builds it:
 * SQLite event log, FleetState following it, the projections, the agent
 * gateway and the fleet-wide dispatcher) listening on 127.0.0.1, and one real
 * WebSocket per host to its `/agent` endpoint. What is simulated: the agents
 * (they accept, start and finish each job after a few milliseconds instead of
 * running restic) and the requests, which call `JobCommandsService.requestJob`
 * in this process rather than going over REST (the repositories are set up by
 * appending their events through the control plane's own writer). Agents,
 * requests and the control plane share this one process and event loop, so
 * every latency below includes the load generator's own work.
 *
 * Each agent checks every `command.run` against what the agents of the
 * repository's other hosts are running at that moment: an exclusive job while
 * anything runs, or a shared one beside an exclusive one, is a lock conflict
 * (restic would fail it). `dispatch_p99_ms` is request → `command.run`
 * received, over jobs whose repository had nothing requested or running when
 * they were requested (the repository was free). The raw limit, measured first
 * in the same run, is a bare append of one event to the same store. Each job
 * costs about five durable appends (requested, dispatched, accepted, started,
 * finished), each an fsync'd commit on the event loop; the default 20 jobs/s
 * keeps the store short of saturation on a 2-vCPU VM, `--rate` finds where it
 * saturates (then every latency is mostly queueing).
 *
 *   npm run bench:dispatch -- [--hosts 1000] [--repositories 50] [--jobs 1000] [--rate 20]
 *                             [--exclusive-percent 10] [--hold-ms 30] [--settle-s 5] [--json]
 */

interface Options {
  hosts: number;
  repositories: number;
  jobs: number;
  rate: number;
  exclusivePercent: number;
  holdMs: number;
  /** Seconds between the last hello and the first request, while the control plane folds the hellos. */
  settleS: number;
  json: boolean;
}

function parseArgs(argv: string[]): Options {
  const o = {
    hosts: positiveIntOption(argv, '--hosts', 1000),
    repositories: positiveIntOption(argv, '--repositories', 50),
    jobs: positiveIntOption(argv, '--jobs', 1000),
    rate: positiveIntOption(argv, '--rate', 20),
    exclusivePercent: positiveIntOption(argv, '--exclusive-percent', 10),
    holdMs: positiveIntOption(argv, '--hold-ms', 30),
    settleS: positiveIntOption(argv, '--settle-s', 5),
    json: argv.includes('--json'),
  };
  if (o.repositories > o.hosts) throw new Error('--repositories must not exceed --hosts');
  if (o.exclusivePercent > 100) throw new Error('--exclusive-percent must be at most 100');
  return o;
}

const percentile = (values: readonly number[], p: number): number => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const ms = (v: number): number => Math.round(v * 100) / 100;

interface BenchJob {
  readonly id: string;
  readonly repository: string;
  readonly lock: Exclude<RepositoryLock, 'none'>;
  readonly requestedAt: number;
  /** The repository had no job requested or running when this one was requested. */
  readonly free: boolean;
  /** requestJob resolved: JobRequested stored and applied to FleetState. */
  storedAt?: number;
  dispatchedAt?: number;
  finished: boolean;
}

/** What the agents run right now, per repository, as restic would see its locks. */
class LockLedger {
  private readonly held = new Map<string, { shared: number; exclusive: number }>();
  conflicts = 0;

  take(repository: string, lock: 'shared' | 'exclusive'): void {
    let h = this.held.get(repository);
    if (!h) this.held.set(repository, (h = { shared: 0, exclusive: 0 }));
    if (h.exclusive > 0 || (lock === 'exclusive' && h.shared > 0)) this.conflicts++;
    h[lock]++;
  }

  release(repository: string, lock: 'shared' | 'exclusive'): void {
    const h = this.held.get(repository);
    if (h) h[lock]--;
  }
}

/** One simulated host: hello, then for each command.run accept → start → finish after the hold time. */
class SimAgent {
  private ws: WebSocket | undefined;
  private helloId = '';
  private helloAcked: (() => void) | undefined;

  constructor(
    private readonly wsUrl: string,
    readonly identity: AgentIdentity,
    private readonly onRun: (jobId: string, kind: string, agent: SimAgent) => void,
  ) {}

  async connect(): Promise<void> {
    const ws = new WebSocket(`${this.wsUrl}/agent`, {
      headers: { authorization: `Bearer ${this.identity.agentId}.${this.identity.agentSecret}` },
      perMessageDeflate: false,
      handshakeTimeout: 30_000,
    });
    this.ws = ws;
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('message', (data: Buffer) => this.onMessage(data));
    const acked = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('hello not acked within 30 s')), 30_000);
      this.helloAcked = () => (clearTimeout(timer), resolve());
    });
    this.helloId = this.send('hello', {
      protocol_version: 1,
      agent_version: 'bench',
      restic_version: '0.19.1',
      hostname: this.identity.hostname,
      os: 'linux',
      arch: 'amd64',
      capabilities: ['repositories'],
    });
    await acked;
  }

  send(type: string, payload: Record<string, unknown>, jobId?: string): string {
    const id = randomUUID();
    const ts = new Date().toISOString();
    this.ws!.send(JSON.stringify({ v: 1, id, type, ts, ...(jobId ? { job_id: jobId } : {}), payload }));
    return id;
  }

  close(): void {
    this.ws?.terminate();
  }

  private onMessage(data: Buffer): void {
    const msg = JSON.parse(data.toString('utf8')) as { type: string; payload: Record<string, unknown> };
    if (msg.type === 'ack') {
      if (this.helloAcked && (msg.payload.ids as string[] | undefined)?.includes(this.helloId)) {
        this.helloAcked();
        this.helloAcked = undefined;
      }
    } else if (msg.type === 'command.run') {
      this.onRun(String(msg.payload.job_id), String(msg.payload.kind), this);
    }
  }
}

async function rawAppendLatency(store: EventStore, count: number): Promise<number[]> {
  const out: number[] = [];
  const stream = `benchraw-${randomUUID()}`;
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await store.append(stream, [{ id: randomUUID(), type: 'BenchProbe', data: { i }, metadata: {} }], {
      expectedRevision: 'any',
    });
    out.push(performance.now() - t0);
  }
  return out;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-bench-dispatch-'));
  const adminPassword = `bench-${randomUUID()}`;
  const config = AppConfig.fromEnv({
    RF_DATA_DIR: dataDir,
    RF_LISTEN: '127.0.0.1:0',
    RF_ADMIN_USER: 'admin',
    RF_ADMIN_PASSWORD: adminPassword,
    RF_LOG_LEVEL: 'error',
  });
  let server: RunningServer | undefined;
  const agents: SimAgent[] = [];
  try {
    server = await startServer(config);
    const app = server.app;
    const store = app.get<EventStore>(EVENT_STORE);
    const raw = await rawAppendLatency(store, 500);

    const admin = await RestClient.login(server.url, 'admin', adminPassword);
    const wsUrl = server.url.replace(/^http/, 'ws');
    log(`enrolling ${o.hosts} hosts…`);
    const identities: AgentIdentity[] = [];
    for (let i = 0; i < o.hosts; i++) identities.push(await enrolHost(admin, `bench-${i}`));

    const writer = app.get(FleetEventWriter);
    const box = app.get(SecretBox);
    const repositories: string[] = [];
    const repositoryOfHost = new Map<string, string>();
    for (let r = 0; r < o.repositories; r++) {
      const id = randomUUID();
      repositories.push(id);
      const hosts = identities.filter((_, i) => i % o.repositories === r);
      await writer.append(
        repositoryStream(id),
        [
          {
            type: 'RepositoryRegistered',
            data: { repository_id: id, name: `shared-${r}`, url: `/srv/r${r}` },
          },
          { type: 'RepositorySecretsSet', data: { repository_id: id, password: box.seal('bench') } },
          ...hosts.map((h) => ({
            type: 'RepositoryAttached' as const,
            data: { repository_id: id, host_id: h.agentId },
          })),
        ],
        systemContext(),
        { expectedRevision: 'no_stream' },
      );
      for (const h of hosts) repositoryOfHost.set(h.agentId, id);
    }

    const jobs = new Map<string, BenchJob>();
    const outstanding = new Map<string, number>();
    const ledger = new LockLedger();
    let unknownRuns = 0;
    let doubleRuns = 0;
    let finishedCount = 0;
    const onRun = (jobId: string, _kind: string, agent: SimAgent): void => {
      const job = jobs.get(jobId);
      if (!job) {
        unknownRuns++;
        return;
      }
      if (job.dispatchedAt !== undefined) {
        doubleRuns++;
        return;
      }
      job.dispatchedAt = performance.now();
      ledger.take(job.repository, job.lock);
      agent.send('command.result', { job_id: jobId, accepted: true }, jobId);
      agent.send('job.started', { job_id: jobId, kind: _kind, started_at: new Date().toISOString() }, jobId);
      const hold = o.holdMs / 2 + Math.random() * o.holdMs;
      setTimeout(() => {
        ledger.release(job.repository, job.lock);
        job.finished = true;
        finishedCount++;
        outstanding.set(job.repository, (outstanding.get(job.repository) ?? 1) - 1);
        agent.send(
          'job.finished',
          { job_id: jobId, status: 'succeeded', exit_code: 0, finished_at: new Date().toISOString() },
          jobId,
        );
      }, hold);
    };

    log(`connecting ${o.hosts} agents…`);
    for (const identity of identities) {
      const agent = new SimAgent(wsUrl, identity, onRun);
      await agent.connect();
      agents.push(agent);
    }

    // 1,000 hellos just went into the log (config pushes, read models, states): let them settle first.
    await new Promise((r) => setTimeout(r, o.settleS * 1000));
    const service = app.get(JobCommandsService);
    const fleet = app.get(FleetStateService);
    log(`requesting ${o.jobs} jobs at ${o.rate}/s…`);
    const requests: Promise<unknown>[] = [];
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const started = performance.now();
    let requestErrors = 0;
    for (let i = 0; i < o.jobs; i++) {
      const due = started + (i * 1000) / o.rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const identity = identities[Math.floor(Math.random() * identities.length)]!;
      const repository = repositoryOfHost.get(identity.agentId)!;
      const exclusive = Math.random() * 100 < o.exclusivePercent;
      const kind: JobKind = exclusive ? (i % 2 === 0 ? 'prune' : 'check') : 'backup';
      const args = kind === 'backup' ? { paths: ['/srv/data'] } : {};
      const [claim] = jobLockClaims({ kind, repository_id: repository, args });
      const id = randomUUID();
      const busy = outstanding.get(repository) ?? 0;
      jobs.set(id, {
        id,
        repository,
        lock: claim!.lock,
        requestedAt: performance.now(),
        free: busy === 0,
        finished: false,
      });
      outstanding.set(repository, busy + 1);
      requests.push(
        service
          .requestJob(identity.agentId, kind, args, systemContext(), { jobId: id, repositoryId: repository })
          .then(() => {
            jobs.get(id)!.storedAt = performance.now();
          })
          .catch((err: unknown) => {
            requestErrors++;
            log(`request failed: ${err instanceof Error ? err.message : String(err)}`);
          }),
      );
    }
    await Promise.all(requests);
    const deadline = Date.now() + 120_000;
    while ((finishedCount < o.jobs - requestErrors || fleet.state.openJobs.size > 0) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const elapsedS = (performance.now() - started) / 1000;
    loopDelay.disable();

    const all = [...jobs.values()].filter((j) => j.dispatchedAt !== undefined);
    const latency = (js: BenchJob[]) => js.map((j) => j.dispatchedAt! - j.requestedAt);
    const free = all.filter((j) => j.free);
    const stuck = o.jobs - requestErrors - finishedCount;
    const result = {
      hosts: o.hosts,
      repositories: o.repositories,
      jobs: o.jobs,
      exclusive_jobs: [...jobs.values()].filter((j) => j.lock === 'exclusive').length,
      lock_conflicts: ledger.conflicts,
      double_dispatches: doubleRuns,
      unknown_dispatches: unknownRuns,
      not_finished: stuck,
      request_errors: requestErrors,
      free_samples: free.length,
      dispatch_p50_ms: ms(percentile(latency(free), 50)),
      dispatch_p99_ms: ms(percentile(latency(free), 99)),
      queued_dispatch_p99_ms: ms(percentile(latency(all), 99)),
      stored_to_run_p99_ms: ms(
        percentile(
          free.filter((j) => j.storedAt !== undefined).map((j) => Math.max(0, j.dispatchedAt! - j.storedAt!)),
          99,
        ),
      ),
      request_stored_p99_ms: ms(
        percentile(
          free.filter((j) => j.storedAt !== undefined).map((j) => j.storedAt! - j.requestedAt),
          99,
        ),
      ),
      jobs_per_s: Math.round(finishedCount / elapsedS),
      event_loop_delay_p99_ms: ms(loopDelay.percentile(99) / 1e6),
      raw_append_p50_ms: ms(percentile(raw, 50)),
      raw_append_p99_ms: ms(percentile(raw, 99)),
    };
    const rows: Array<[string, string]> = [
      ['hosts / repositories', `${result.hosts} / ${result.repositories}`],
      ['jobs (exclusive)', `${result.jobs} (${result.exclusive_jobs})`],
      ['lock conflicts dispatched', String(result.lock_conflicts)],
      ['double / unknown dispatches', `${result.double_dispatches} / ${result.unknown_dispatches}`],
      ['jobs not finished', String(result.not_finished)],
      [
        'request → command.run, repository free p50 / p99',
        `${result.dispatch_p50_ms} / ${result.dispatch_p99_ms} ms (${result.free_samples} jobs)`,
      ],
      ['request → command.run, all jobs p99 (incl. waiting)', `${result.queued_dispatch_p99_ms} ms`],
      ['  request stored and applied, p99 (free)', `${result.request_stored_p99_ms} ms`],
      ['  stored → command.run, p99 (free)', `${result.stored_to_run_p99_ms} ms`],
      ['jobs finished per second', String(result.jobs_per_s)],
      ['event loop delay p99 (one loop for all)', `${result.event_loop_delay_p99_ms} ms`],
      ['raw limit: bare append p50 / p99', `${result.raw_append_p50_ms} / ${result.raw_append_p99_ms} ms`],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
    if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    if (result.lock_conflicts > 0 || result.double_dispatches > 0 || stuck > 0) process.exitCode = 1;
  } finally {
    for (const a of agents) a.close();
    await server?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
