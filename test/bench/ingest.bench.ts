import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { cpuSeconds, sleep } from '../support/fleet';
import { RestClient } from '../support/rest-client';
import { enrolHost, ScriptedAgent, type AgentIdentity } from '../support/scripted-agent';

/*
 * Ingest benchmark: N simulated agents stream log lines over real WebSockets
 * into a control plane process on the embedded store. Each agent keeps a
 * window of unacked envelopes in flight, as the real agent's outbox does.
 *
 * By default every agent sends as fast as its window allows (saturation:
 * the sustained rate is the capacity; latency is then mostly queueing).
 * With `--rate R` each agent offers R lines/s instead, so the latency
 * percentiles describe an unsaturated control plane.
 *
 * The raw limit is measured first, in the same run: the same agents and the
 * same offered load against `raw-ack-server` (frame, JSON.parse, ack; nothing
 * stored). It shows what this machine gives any server of this protocol, and
 * what the control plane's validation, event log, projections and the load
 * generator itself leave of it. `--no-raw` skips it.
 *
 *   npm run bench:ingest -- [--agents 200] [--seconds 15] [--window 64] [--rate R] [--no-raw] [--json] [--cpu-prof]
 */

interface Options {
  agents: number;
  seconds: number;
  warmupSeconds: number;
  window: number;
  /** Lines/s per agent; 0 = as fast as the window allows. */
  rate: number;
  json: boolean;
  cpuProf: boolean;
  raw: boolean;
}

function parseArgs(argv: string[]): Options {
  const opt = (name: string, fallback: number): number => {
    const i = argv.indexOf(name);
    if (i < 0) return fallback;
    const v = Number(argv[i + 1]);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number`);
    return v;
  };
  return {
    agents: opt('--agents', 200),
    seconds: opt('--seconds', 15),
    warmupSeconds: opt('--warmup', 3),
    window: opt('--window', 64),
    rate: argv.includes('--rate') ? opt('--rate', 0) : 0,
    json: argv.includes('--json'),
    cpuProf: argv.includes('--cpu-prof'),
    raw: !argv.includes('--no-raw'),
  };
}

/** A lean streaming agent: prebuilt JSON, send times by envelope id, latency per ack. */
class StreamingAgent {
  private ws: WebSocket | undefined;
  private readonly sentAt = new Map<string, number>();
  private seq = 0;
  private running = false;
  /** Lines this agent may still send under `--rate` (refilled by the shared ticker). */
  credit = Number.POSITIVE_INFINITY;
  private helloWaiter: { id: string; resolve: () => void } | undefined;
  acked = 0;

  constructor(
    private readonly wsUrl: string,
    private readonly identity: AgentIdentity,
    private readonly jobId: string,
    private readonly window: number,
    private readonly onAck: (latencyMs: number) => void,
  ) {}

  async open(): Promise<void> {
    const ws = new WebSocket(`${this.wsUrl}/agent`, {
      headers: { authorization: `Bearer ${this.identity.agentId}.${this.identity.agentSecret}` },
      perMessageDeflate: false,
    });
    this.ws = ws;
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('message', (data: Buffer) => this.onMessage(data));
  }

  /** hello on this socket; resolves when it is acked (the connection replaces the setup one). */
  sayHello(): Promise<void> {
    const id = randomUUID();
    const hello = {
      v: 1,
      id,
      type: 'hello',
      ts: new Date().toISOString(),
      payload: {
        protocol_version: 1,
        agent_version: 'bench',
        restic_version: '0.14.0',
        hostname: this.identity.hostname,
        os: 'linux',
        arch: 'amd64',
      },
    };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('hello not acked within 30 s')), 30_000);
      this.helloWaiter = { id, resolve: () => (clearTimeout(timer), resolve()) };
      this.ws!.send(JSON.stringify(hello));
    });
  }

  start(): void {
    this.running = true;
    this.fill();
  }

  stop(): void {
    this.running = false;
  }

  close(): void {
    this.ws?.terminate();
  }

  fill(): void {
    while (this.running && this.credit >= 1 && this.sentAt.size < this.window) {
      this.credit--;
      this.sendLine();
    }
  }

  private sendLine(): void {
    const id = randomUUID();
    const seq = ++this.seq;
    const ts = new Date().toISOString();
    const text =
      `{"v":1,"id":"${id}","type":"log.stream","ts":"${ts}","job_id":"${this.jobId}",` +
      `"payload":{"job_id":"${this.jobId}","seq":${seq},"ts":"${ts}","stream":"stdout","payload":"[${seq}] scanned /srv/data/file-${seq}.bin 4096 bytes"}}`;
    this.sentAt.set(id, performance.now());
    this.ws!.send(text);
  }

  private onMessage(data: Buffer): void {
    const msg = JSON.parse(data.toString('utf8')) as {
      type: string;
      payload: { ids?: string[]; code?: string; message?: string };
    };
    if (msg.type === 'ack') {
      if (this.helloWaiter && msg.payload.ids?.includes(this.helloWaiter.id)) {
        this.helloWaiter.resolve();
        this.helloWaiter = undefined;
      }
      const now = performance.now();
      for (const id of msg.payload.ids ?? []) {
        const t = this.sentAt.get(id);
        if (t === undefined) continue;
        this.sentAt.delete(id);
        this.acked++;
        this.onAck(now - t);
      }
      this.fill();
    } else if (msg.type === 'error') {
      process.stderr.write(`agent got error: ${msg.payload.code} ${msg.payload.message}\n`);
    }
  }
}

function rssMb(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Envelope→ack latencies, kept only while a phase measures. */
class LatencyRecorder {
  measuring = false;
  values: number[] = [];
  readonly record = (ms: number): void => {
    if (this.measuring) this.values.push(ms);
  };
}

/** What one server did under the offered load, measured from outside (its /proc entry and the agents' acks). */
interface PhaseResult {
  seconds: number;
  acked: number;
  envelopesPerS: number;
  p50: number;
  p99: number;
  max: number;
  serverCpuPercent: number;
  serverRssMb: number;
  agentsCpuPercent: number;
  agentsLoopDelayP99: number;
}

/** Warms up, then measures `o.seconds` of streaming from `agents` into the server process `pid`. */
async function measurePhase(
  agents: StreamingAgent[],
  recorder: LatencyRecorder,
  pid: number,
  o: Options,
): Promise<PhaseResult> {
  await Promise.all(agents.map((a) => a.sayHello()));
  let ticker: NodeJS.Timeout | undefined;
  if (o.rate > 0) {
    // Credit grows with elapsed time, not with ticks, so a late tick (this process is busy) does not
    // lower the offered rate. Each agent starts at a random phase: real hosts do not send in lockstep.
    for (const a of agents) a.credit = Math.random();
    const burst = Math.max(1, o.rate / 10);
    let last = performance.now();
    ticker = setInterval(() => {
      const now = performance.now();
      const earned = (o.rate * (now - last)) / 1000;
      last = now;
      for (const a of agents) {
        a.credit = Math.min(a.credit + earned, burst);
        a.fill();
      }
    }, 2);
  }
  for (const a of agents) a.start();
  await sleep(o.warmupSeconds * 1000);
  recorder.values = [];
  recorder.measuring = true;
  // How late this process (the simulated agents) ran its own callbacks: that delay is part of every
  // latency it measures, so it is reported next to them.
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const ackedBefore = agents.reduce((n, a) => n + a.acked, 0);
  const started = performance.now();
  const cpuBefore = cpuSeconds(pid);
  const benchCpuBefore = process.cpuUsage();
  let maxRss = 0;
  const sampler = setInterval(() => (maxRss = Math.max(maxRss, rssMb(pid))), 500);
  await sleep(o.seconds * 1000);
  const elapsedS = (performance.now() - started) / 1000;
  const cpuPercent = (100 * (cpuSeconds(pid) - cpuBefore)) / elapsedS;
  const benchCpu = process.cpuUsage(benchCpuBefore);
  const acked = agents.reduce((n, a) => n + a.acked, 0) - ackedBefore;
  recorder.measuring = false;
  loopDelay.disable();
  clearInterval(sampler);
  maxRss = Math.max(maxRss, rssMb(pid));
  if (ticker) clearInterval(ticker);
  for (const a of agents) a.stop();
  const sorted = Float64Array.from(recorder.values).sort();
  recorder.values = [];
  return {
    seconds: elapsedS,
    acked,
    envelopesPerS: Math.round(acked / elapsedS),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : 0,
    serverCpuPercent: Math.round(cpuPercent),
    serverRssMb: Math.round(maxRss),
    agentsCpuPercent: Math.round((100 * (benchCpu.user + benchCpu.system)) / 1e6 / elapsedS),
    agentsLoopDelayP99: loopDelay.percentile(99) / 1e6,
  };
}

/** The raw limit: the same agents and load against `raw-ack-server` in a child process. */
async function measureRaw(o: Options): Promise<PhaseResult> {
  const child = spawn(process.execPath, [path.join(__dirname, 'raw-ack-server.js')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const agents: StreamingAgent[] = [];
  try {
    const url = await listeningUrl(child);
    const recorder = new LatencyRecorder();
    for (let i = 0; i < o.agents; i++) {
      const identity: AgentIdentity = { agentId: `raw-${i}`, agentSecret: 'raw', hostname: `raw-${i}` };
      agents.push(new StreamingAgent(url, identity, randomUUID(), o.window, recorder.record));
    }
    for (const a of agents) await a.open();
    return await measurePhase(agents, recorder, child.pid!, o);
  } finally {
    for (const a of agents) a.close();
    child.kill('SIGTERM');
  }
}

function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('raw ack server did not start within 10 s')), 10_000);
    child.once('exit', (code) => reject(new Error(`raw ack server exited with ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const m = /listening (ws:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
}

/** The control plane on the embedded store, with one enrolled host and one running job per agent. */
async function measureControlPlane(o: Options, log: (line: string) => void): Promise<PhaseResult> {
  const cp = await ControlPlaneProcess.start({
    env: { RF_LOG_LEVEL: 'warn' },
    ...(o.cpuProf ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', process.cwd()] } : {}),
    startTimeoutMs: 60_000,
  });
  const agents: StreamingAgent[] = [];
  try {
    const admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
    log(`bench: enrolling ${o.agents} agents and dispatching one job each…`);
    const recorder = new LatencyRecorder();
    for (let i = 0; i < o.agents; i++) {
      const identity = await enrolHost(admin, `bench-${i}`);
      // The handshake (hello, job, command.run, command.result) through the ordinary scripted agent.
      const setup = new ScriptedAgent(cp.wsUrl, identity);
      await setup.connect();
      await setup.waitForAcks([setup.hello().id]);
      const job = await admin.post<{ job_id: string }>(`/api/hosts/${identity.agentId}/jobs`, {
        kind: 'backup',
        paths: ['/srv'],
      });
      await setup.acceptJob(job.body.job_id, 20_000);
      setup.close();
      await setup.waitForClose();
      agents.push(new StreamingAgent(cp.wsUrl, identity, job.body.job_id, o.window, recorder.record));
    }
    for (const a of agents) await a.open();
    log(
      `bench: ${o.agents} agents connected to the control plane; warming up ${o.warmupSeconds} s, measuring ${o.seconds} s`,
    );
    return await measurePhase(agents, recorder, cp.child.pid!, o);
  } finally {
    for (const a of agents) a.close();
    await cp.stop(30_000);
    cp.removeDataDir();
  }
}

const ms = (v: number): number => Number(v.toFixed(2));

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  let raw: PhaseResult | undefined;
  if (o.raw) {
    log(
      `bench: raw limit — ${o.agents} agents against a bare ack server; warming up ${o.warmupSeconds} s, measuring ${o.seconds} s`,
    );
    raw = await measureRaw(o);
  }
  const cp = await measureControlPlane(o, log);
  const result = {
    agents: o.agents,
    window: o.window,
    offered_per_s: o.rate > 0 ? o.rate * o.agents : null,
    seconds: ms(cp.seconds),
    envelopes_acked: cp.acked,
    envelopes_per_s: cp.envelopesPerS,
    ack_p50_ms: ms(cp.p50),
    ack_p99_ms: ms(cp.p99),
    ack_max_ms: ms(cp.max),
    rss_mb: cp.serverRssMb,
    control_plane_cpu_percent: cp.serverCpuPercent,
    envelopes_per_cpu_s:
      cp.serverCpuPercent > 0 ? Math.round(cp.envelopesPerS / (cp.serverCpuPercent / 100)) : null,
    agents_cpu_percent: cp.agentsCpuPercent,
    agents_loop_delay_p99_ms: ms(cp.agentsLoopDelayP99),
    raw_envelopes_per_s: raw?.envelopesPerS ?? null,
    raw_ack_p50_ms: raw ? ms(raw.p50) : null,
    raw_ack_p99_ms: raw ? ms(raw.p99) : null,
    raw_cpu_percent: raw?.serverCpuPercent ?? null,
    raw_agents_cpu_percent: raw?.agentsCpuPercent ?? null,
    /** The control plane's acked rate as a share of the raw server's under the same offered load. */
    throughput_vs_raw: raw && raw.envelopesPerS > 0 ? ms(cp.envelopesPerS / raw.envelopesPerS) : null,
    cpu_cores: os.cpus().length,
    load_average_1m: Number(os.loadavg()[0]!.toFixed(2)),
  };
  const rows: Array<[string, string, string]> = [
    ['sustained acked envelopes/s', String(raw?.envelopesPerS ?? '–'), String(cp.envelopesPerS)],
    ['envelope→ack p50', raw ? `${ms(raw.p50)} ms` : '–', `${result.ack_p50_ms} ms`],
    ['envelope→ack p99', raw ? `${ms(raw.p99)} ms` : '–', `${result.ack_p99_ms} ms`],
    ['envelope→ack max', raw ? `${ms(raw.max)} ms` : '–', `${result.ack_max_ms} ms`],
    ['server CPU (% of one core)', raw ? `${raw.serverCpuPercent} %` : '–', `${cp.serverCpuPercent} %`],
    ['server RSS (max)', raw ? `${raw.serverRssMb} MB` : '–', `${cp.serverRssMb} MB`],
    ['simulated agents CPU', raw ? `${raw.agentsCpuPercent} %` : '–', `${cp.agentsCpuPercent} %`],
    [
      'simulated agents event-loop delay p99',
      raw ? `${ms(raw.agentsLoopDelayP99)} ms` : '–',
      `${result.agents_loop_delay_p99_ms} ms`,
    ],
  ];
  const head: [string, string, string] = ['', 'raw ack server', 'control plane'];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(head[1].length, ...rows.map((r) => r[1].length));
  const line = (r: [string, string, string]) =>
    process.stdout.write(`  ${r[0].padEnd(w0)}  ${r[1].padStart(w1)}  ${r[2].padStart(head[2].length)}\n`);
  process.stdout.write('ingest benchmark (control plane on the embedded SQLite store)\n');
  process.stdout.write(
    `  ${o.agents} agents, in-flight window ${o.window}, offered ${result.offered_per_s === null ? 'as fast as acked (saturating)' : `${result.offered_per_s} envelopes/s`}, ` +
      `measured ${result.seconds} s, ${result.cpu_cores} CPU cores, load average ${result.load_average_1m}\n`,
  );
  line(head);
  for (const r of rows) line(r);
  if (result.throughput_vs_raw !== null)
    process.stdout.write(`  control plane throughput / raw limit: ${result.throughput_vs_raw}\n`);
  if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
