/**
 * Fleet-scale benchmark: one control plane with a large fleet and a long
 * history. The history (fleet-history.ts) is written once through the real
 * SQLite store into .cache/bench/fleet-v1/<shape>, and a first `serve` over it
 * builds the read models and snapshots a running installation has; every run
 * then works on a copy. Each figure stands next to a raw one measured in the
 * same run on the same data:
 *   - start-up (spawn `restic-fleet serve` → /readyz 200) and RSS when ready,
 *     next to a bare node HTTP server;
 *   - `restic-fleet projections rebuild` events/s next to a bare readAll scan;
 *   - p95 of five UI pages for a logged-in user (real HTTP), next to /healthz;
 *   - N agents at once over real WebSockets from several client processes,
 *     heartbeats on the real interval, 5 % streaming log lines and progress:
 *     RSS per connected agent, ack p99, heartbeat CPU — next to the same load
 *     against a bare ack server (raw-ack-server.ts).
 *
 *   npm run bench:fleet -- [--json] [--hosts 1000] [--agents 10000] [--days 365] [--events N]
 *                          [--clients 4] [--page-runs 40] [--heartbeat-s 30] [--stream-s 30]
 *                          [--only rebuild|pages|agents] [--probe DIR [--probe-cpu]] [--own-phase]
 * `--events N` shortens the history to about N events (quick runs while developing).
 * `--only rebuild` measures only the rebuild next to its raw scan (no serve, pages or agents),
 * and `--runs N` repeats that pair N times on fresh copies (one JSON line per run).
 * `--only pages` rebuilds the read models with this build, then measures only the pages.
 * `--only agents` measures start-up and the agents (raw, then control plane) and skips the pages
 * and the rebuild. `--probe DIR` loads serve-probe.preload.ts into serve and writes its event-loop
 * delay during the streaming window into DIR (reported as `serve_loop_delay_ms`); with
 * `--probe-cpu`, a CPU profile of that window too (DIR/serve.cpuprofile).
 * The streaming agents of a load client send in the same 100 ms tick, a worst-case burst;
 * `--own-phase` sends each agent's lines on its own phase instead, as real agents do
 * (reported as `stream_shape`).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { createSqliteEventStore } from '@rf/event-store';
import { cpuSeconds, sleep } from '../support/fleet';
import { repoRoot } from '../support/control-plane.process';
import { positiveIntOption } from '../support/bench-args';
import type { FleetAgentsCommand, FleetAgentsReport } from './fleet-agents.worker';
import {
  agentSecretOf,
  eventsPerHostDay,
  hostIdOf,
  hostnameOf,
  LONG_JOB_ID,
  OPERATOR,
  writeHistory,
  type FleetShape,
} from './fleet-history';
import { freeTcpPort, rawNodeHttp, rssMb, startServe, stopServe, type Started } from './serve-process';

const argv = process.argv.slice(2);
const asJson = argv.includes('--json');
const hosts = positiveIntOption(argv, '--hosts', 1000);
const agentCount = positiveIntOption(argv, '--agents', 10_000);
const clients = positiveIntOption(argv, '--clients', 4);
const pageRuns = positiveIntOption(argv, '--page-runs', 40);
const heartbeatS = positiveIntOption(argv, '--heartbeat-s', 30);
const streamS = positiveIntOption(argv, '--stream-s', 30);
const stringOption = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value`);
  return v;
};
const only = stringOption('--only');
if (only !== undefined && only !== 'rebuild' && only !== 'pages' && only !== 'agents')
  throw new Error('--only takes one value: rebuild, pages or agents');
const rebuildRuns = positiveIntOption(argv, '--runs', 1);
const probeDir = stringOption('--probe');
const probeCpu = argv.includes('--probe-cpu');
const lockstep = !argv.includes('--own-phase');
const LINES_PER_BACKUP = 16;
const PROGRESS_PER_BACKUP = 4;
const baseShape = {
  hosts,
  enrolled: Math.max(hosts, agentCount),
  linesPerBackup: LINES_PER_BACKUP,
  progressPerBackup: PROGRESS_PER_BACKUP,
  longJobLines: 10_000,
};
const eventsWanted = argv.includes('--events') ? positiveIntOption(argv, '--events', 1) : undefined;
const days =
  eventsWanted !== undefined
    ? Math.max(
        7,
        Math.min(365, Math.ceil(eventsWanted / (hosts * eventsPerHostDay({ ...baseShape, days: 1 })))),
      )
    : positiveIntOption(argv, '--days', 365);
const shape: FleetShape = { ...baseShape, days };

const TARGETS = {
  startup_ms: 5000,
  rebuild_vs_raw_scan: 0.5,
  page_p95_ms: 150,
  kb_per_agent: 50,
  ack_p99_ms: 100,
};
const ADMIN = { username: 'admin', password: 'admin-password-for-bench-1' };

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
const round = (v: number, digits = 1): number => Number(v.toFixed(digits));

// --- the cached history --------------------------------------------------------

const cacheDir = (): string =>
  path.join(
    repoRoot(),
    '.cache',
    'bench',
    'fleet-v1',
    `h${shape.hosts}-a${shape.enrolled}-d${shape.days}-l${shape.linesPerBackup}-p${shape.progressPerBackup}`,
  );

async function ensureHistory(): Promise<{ dir: string; generatedMs: number }> {
  const dir = cacheDir();
  const done = path.join(dir, '.complete');
  if (fs.existsSync(done)) {
    log(`bench: reusing the history in ${dir}`);
    return { dir, generatedMs: 0 };
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const expected = Math.round(shape.hosts * shape.days * eventsPerHostDay(shape));
  log(
    `bench: writing a history of ~${expected} events (${shape.hosts} hosts × ${shape.days} days) into ${dir}`,
  );
  const t0 = Date.now();
  const store = createSqliteEventStore({ path: path.join(dir, 'events.db'), synchronous: 'NORMAL' });
  let written: number;
  try {
    written = await writeHistory(store, shape, (n) =>
      log(
        `bench:   ${n} events (${Math.round((100 * n) / expected)} %), ${Math.round(n / ((Date.now() - t0) / 1000))}/s`,
      ),
    );
  } finally {
    await store.close();
  }
  log(
    `bench: wrote ${written} events in ${Math.round((Date.now() - t0) / 1000)} s; first serve builds the read models…`,
  );
  const port = await freeTcpPort();
  const t1 = Date.now();
  const progress = setInterval(
    () => log(`bench:   first start still running (${Math.round((Date.now() - t1) / 1000)} s)`),
    15_000,
  );
  try {
    const first = await startServe(dir, port, 4 * 3600_000);
    await stopServe(first);
  } finally {
    clearInterval(progress);
  }
  log(`bench: read models and snapshots built in ${Math.round((Date.now() - t1) / 1000)} s`);
  fs.writeFileSync(done, `${written}\n`);
  return { dir, generatedMs: Date.now() - t0 };
}

function copyDataDir(from: string): string {
  const to = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-bench-fleet-'));
  for (const name of fs.readdirSync(from)) {
    if (name === '.complete') continue;
    fs.cpSync(path.join(from, name), path.join(to, name), { recursive: true });
  }
  return to;
}

function countEvents(dataDir: string): number {
  const db = new Database(path.join(dataDir, 'events.db'), { readonly: true });
  try {
    return (db.prepare('SELECT SUM(count) AS n FROM events WHERE system = 0').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

// --- pages ----------------------------------------------------------------------

class Browser {
  private cookie = '';
  constructor(private readonly base: string) {}

  async login(): Promise<void> {
    const res = await fetch(`${this.base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(ADMIN),
      signal: AbortSignal.timeout(30_000),
    });
    if (res.status >= 300) throw new Error(`login failed: HTTP ${res.status} ${await res.text()}`);
    this.cookie = res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0]!)
      .join('; ');
    await res.arrayBuffer();
  }

  /** GET as a browser would; returns ms until the whole body arrived. */
  async time(pathAndQuery: string, expect: string): Promise<number> {
    const t = performance.now();
    const res = await fetch(`${this.base}${pathAndQuery}`, {
      headers: { cookie: this.cookie, accept: 'text/html' },
      signal: AbortSignal.timeout(60_000),
    });
    const body = await res.text();
    const ms = performance.now() - t;
    if (res.status !== 200) throw new Error(`GET ${pathAndQuery}: HTTP ${res.status} ${body.slice(0, 300)}`);
    if (!body.includes(expect)) throw new Error(`GET ${pathAndQuery}: the page does not show "${expect}"`);
    return ms;
  }

  async post(pathAndQuery: string, body: unknown): Promise<unknown> {
    const csrf = /rf_csrf=([^;]+)/.exec(this.cookie)?.[1] ?? '';
    const res = await fetch(`${this.base}${pathAndQuery}`, {
      method: 'POST',
      headers: {
        cookie: this.cookie,
        'content-type': 'application/json',
        'x-csrf-token': csrf,
        accept: 'application/json',
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`POST ${pathAndQuery}: HTTP ${res.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : undefined;
  }
}

const p95 = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)] ?? 0;
};

async function measurePages(base: string): Promise<{ pages: Record<string, number>; raw: number }> {
  const browser = new Browser(base);
  await browser.login();
  const host = hostIdOf(1);
  const pages: Array<[string, string, string]> = [
    ['dashboard', '/', 'Dashboard'],
    ['host', `/hosts/${host}`, hostnameOf(1)],
    ['jobs_filtered', `/jobs?status=failed&kind=backup`, 'failed'],
    ['job_10k_lines', `/jobs/${LONG_JOB_ID}`, LONG_JOB_ID.slice(0, 8)],
    ['audit_filtered', `/audit?actor=${OPERATOR.name}`, OPERATOR.name],
  ];
  const out: Record<string, number> = {};
  for (const [name, url, expect] of pages) {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) await browser.time(url, expect);
    for (let i = 0; i < pageRuns; i++) times.push(await browser.time(url, expect));
    out[name] = round(p95(times));
    log(`bench:   ${name.padEnd(15)} p95 ${out[name]} ms`);
  }
  const raw: number[] = [];
  for (let i = 0; i < pageRuns; i++) raw.push(await browser.time('/healthz', ''));
  return { pages: out, raw: round(p95(raw)) };
}

// --- agents ---------------------------------------------------------------------

interface AgentFigures {
  connected: number;
  /** Agents connected at first whose socket was closed by the end. */
  dropped: number;
  connectS: number;
  kbPerAgent: number;
  heartbeatCpuPercent: number;
  heartbeatCpuUsPerBeat: number;
  heartbeats: number;
  streaming: number;
  ackP99: number;
  ackP50: number;
  acked: number;
  serverCpuPercentStreaming: number;
  clientsLoopDelayP99: number;
  clientsCpuPercent: number;
}

class Clients {
  private readonly procs: ChildProcess[] = [];
  private readonly waiting = new Map<ChildProcess, (m: FleetAgentsReport) => void>();

  constructor(n: number) {
    for (let i = 0; i < n; i++) {
      const child = fork(path.join(__dirname, 'fleet-agents.worker.js'), [], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        execArgv: ['--max-old-space-size=2048'],
      });
      child.on('message', (m: FleetAgentsReport) => {
        const w = this.waiting.get(child);
        this.waiting.delete(child);
        w?.(m);
      });
      this.procs.push(child);
    }
  }

  get pids(): number[] {
    return this.procs.map((p) => p.pid!);
  }

  /** Sends one command to every client; resolves with each one's answer. */
  ask(
    command: FleetAgentsCommand | ((i: number) => FleetAgentsCommand),
    timeoutMs: number,
  ): Promise<FleetAgentsReport[]> {
    return Promise.all(
      this.procs.map(
        (p, i) =>
          new Promise<FleetAgentsReport>((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`a load client did not answer within ${timeoutMs} ms`)),
              timeoutMs,
            );
            this.waiting.set(p, (m) => (clearTimeout(timer), resolve(m)));
            p.send(typeof command === 'function' ? command(i) : command);
          }),
      ),
    );
  }

  tell(command: FleetAgentsCommand): void {
    for (const p of this.procs) p.send(command);
  }

  async close(): Promise<void> {
    await this.ask({ cmd: 'close' }, 30_000).catch(() => undefined);
    for (const p of this.procs) if (p.exitCode === null) p.kill('SIGKILL');
  }
}

/**
 * Connects the agents to `wsUrl` (the server process `pid`), lets heartbeats run for two
 * intervals, then starts streaming on the jobs `orderJobs` has the server dispatch.
 */
async function measureAgents(
  wsUrl: string,
  pid: number,
  orderJobs: (hostNumbers: number[]) => Promise<void>,
  raw: boolean,
  /** Called as the streaming window opens and again as it closes. */
  streamingWindow: () => Promise<void> = async () => undefined,
): Promise<AgentFigures> {
  const cl = new Clients(clients);
  try {
    const rssBefore = rssMb(pid);
    const t0 = performance.now();
    const answers = await cl.ask(
      (i) => ({
        cmd: 'connect',
        url: wsUrl,
        agents: Array.from({ length: agentCount }, (_, h) => h)
          .filter((h) => h % clients === i)
          .map((h) => ({ hostId: hostIdOf(h), secret: agentSecretOf(h), hostname: hostnameOf(h) })),
        heartbeatS,
        concurrency: 50,
      }),
      15 * 60_000,
    );
    const connectS = (performance.now() - t0) / 1000;
    let connected = 0;
    for (const a of answers) {
      if (a.evt !== 'connected') continue;
      connected += a.connected;
      if (a.failed > 0) log(`bench:   ${a.failed} agents failed to connect: ${a.firstError}`);
    }
    log(
      `bench:   ${connected}/${agentCount} agents connected in ${round(connectS)} s; heartbeats for ${2 * heartbeatS} s`,
    );
    await sleep(5000); // hellos appended and acked
    cl.tell({ cmd: 'measure' });
    const cpu0 = cpuSeconds(pid);
    const hb0 = performance.now();
    await sleep(2 * heartbeatS * 1000);
    const idleS = (performance.now() - hb0) / 1000;
    const idleCpu = cpuSeconds(pid) - cpu0;
    const idle = await cl.ask({ cmd: 'report' }, 60_000);
    const rssConnected = rssMb(pid);
    const beats = idle.reduce((n, r) => n + (r.evt === 'report' ? r.heartbeats : 0), 0);
    const streamingHosts = Array.from({ length: agentCount }, (_, h) => h).filter((h) => h % 20 === 0);
    log(`bench:   ${streamingHosts.length} agents stream for ${streamS} s`);
    if (!raw) await orderJobs(streamingHosts);
    cl.tell({
      cmd: 'stream',
      linesPerS: 2,
      progressEveryS: 2,
      lockstep,
      ...(raw ? { selfAssignEvery: 20 } : {}),
    });
    await sleep(5000);
    cl.tell({ cmd: 'measure' });
    await streamingWindow();
    const cpu1 = cpuSeconds(pid);
    const s0 = performance.now();
    await sleep(streamS * 1000);
    const streamCpu = cpuSeconds(pid) - cpu1;
    await streamingWindow();
    const elapsed = (performance.now() - s0) / 1000;
    const reports = (await cl.ask({ cmd: 'report' }, 60_000)).filter((r) => r.evt === 'report');
    const latencies = Float64Array.from(reports.flatMap((r) => r.latencies)).sort();
    const pct = (p: number): number =>
      latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
    const streaming = reports.reduce((n, r) => n + r.streaming, 0);
    const open = reports.reduce((n, r) => n + r.open, 0);
    if (open < connected) log(`bench:   ${connected - open} agent sockets closed during the run`);
    const errors = reports.reduce((n, r) => n + r.errors, 0);
    if (errors > 0) log(`bench:   the server sent ${errors} error envelopes`);
    return {
      connected: open,
      dropped: connected - open,
      connectS: round(connectS),
      kbPerAgent: round(((rssConnected - rssBefore) * 1024) / Math.max(1, connected)),
      heartbeatCpuPercent: round((100 * idleCpu) / idleS),
      heartbeatCpuUsPerBeat: round((idleCpu * 1e6) / Math.max(1, beats)),
      heartbeats: beats,
      streaming,
      ackP50: round(pct(0.5)),
      ackP99: round(pct(0.99)),
      acked: latencies.length,
      serverCpuPercentStreaming: round((100 * streamCpu) / elapsed),
      clientsLoopDelayP99: round(Math.max(...reports.map((r) => r.loopDelayP99Ms))),
      clientsCpuPercent: round((100 * reports.reduce((n, r) => n + r.cpuS, 0)) / elapsed),
    };
  } finally {
    await cl.close();
  }
}

async function rawAckServer(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [path.join(__dirname, 'raw-ack-server.js')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('raw ack server did not start within 10 s')), 10_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      const m = /listening (ws:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
  return { child, url };
}

/** The control plane's own ack latency histogram (read off the socket → ack sent): cumulative bucket counts by bound. */
async function scrapeAckBuckets(base: string): Promise<Map<number, number>> {
  const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  const out = new Map<number, number>();
  for (const m of text.matchAll(/^rf_agent_ack_latency_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\} (\S+)$/gm)) {
    out.set(m[1] === '+Inf' ? Infinity : Number(m[1]) * 1000, Number(m[2]));
  }
  return out;
}

/** p50 and p99 of the server-side ack latency in the window, as the upper bound of the bucket that holds them. */
function serverAckLatency(
  windows: ReadonlyArray<Map<number, number>>,
): { p50_le_ms: number; p99_le_ms: number } | undefined {
  const [before, after] = windows;
  if (!before || !after || after.size === 0) return undefined;
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  const at = (q: number): number =>
    bounds.find((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0) >= q * total) ?? Infinity;
  return { p50_le_ms: at(0.5), p99_le_ms: at(0.99) };
}

/** The loop delay serve-probe.preload.ts wrote as the streaming window closed (it may take a moment). */
async function probedLoopDelay(dir: string): Promise<unknown> {
  const file = path.join(dir, 'loop-delay.json');
  for (let i = 0; i < 100; i++) {
    if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    await sleep(100);
  }
  throw new Error(`the serve probe wrote no ${file}`);
}

// --- rebuild vs raw scan ---------------------------------------------------------

function runCli(
  args: string[],
  dataDir: string,
): Promise<{ code: number | null; ms: number; output: string }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(repoRoot(), 'bin', 'restic-fleet.js'), ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dataDir, RF_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.on('exit', (code) => resolve({ code, ms: performance.now() - t0, output }));
  });
}

async function rawScan(dataDir: string): Promise<{ events: number; ms: number }> {
  const store = createSqliteEventStore({ path: path.join(dataDir, 'events.db'), readonly: true });
  const t0 = performance.now();
  let events = 0;
  try {
    for await (const e of store.readAll()) if (e.type) events++;
  } finally {
    await store.close();
  }
  return { events, ms: performance.now() - t0 };
}

/** Raw scan then rebuild on a fresh copy of the data dir: the pair every rebuild figure comes from. */
async function measureRebuild(
  work: string,
): Promise<{ rebuild_events_per_s: number; raw_scan_events_per_s: number; rebuild_vs_raw_scan: number }> {
  log('bench: raw scan of the log');
  const scan = await rawScan(work);
  log(`bench: projections rebuild (${scan.events} events)`);
  const rebuilt = await runCli(['projections', 'rebuild'], work);
  if (rebuilt.code !== 0)
    throw new Error(`projections rebuild failed (${rebuilt.code}):\n${rebuilt.output.slice(-3000)}`);
  const rebuildPerS = Math.round(scan.events / (rebuilt.ms / 1000));
  const rawScanPerS = Math.round(scan.events / (scan.ms / 1000));
  return {
    rebuild_events_per_s: rebuildPerS,
    raw_scan_events_per_s: rawScanPerS,
    rebuild_vs_raw_scan: round(rebuildPerS / Math.max(1, rawScanPerS), 2),
  };
}

/** `--only rebuild`: the rebuild pair alone, `--runs` times, each on its own copy. */
async function mainRebuildOnly(): Promise<void> {
  const { dir: cached } = await ensureHistory();
  for (let run = 1; run <= rebuildRuns; run++) {
    log(`bench: copying the data dir for run ${run}`);
    const work = copyDataDir(cached);
    try {
      const events = countEvents(work);
      const figures = await measureRebuild(work);
      const result = {
        only: 'rebuild',
        run,
        events,
        hosts: shape.hosts,
        enrolled_hosts: shape.enrolled,
        days: shape.days,
        ...figures,
        target: TARGETS.rebuild_vs_raw_scan,
        met: figures.rebuild_vs_raw_scan >= TARGETS.rebuild_vs_raw_scan,
        events_db_mb: round(fs.statSync(path.join(work, 'events.db')).size / 1e6),
        readmodels_db_mb: round(fs.statSync(path.join(work, 'readmodels.db')).size / 1e6),
        cpu_cores: os.cpus().length,
        load_average_1m: round(os.loadavg()[0]!),
      };
      process.stdout.write(
        `fleet rebuild: ${events} events, rebuild ${figures.rebuild_events_per_s} ev/s, raw scan ${figures.raw_scan_events_per_s} ev/s, ` +
          `ratio ${figures.rebuild_vs_raw_scan} (target ≥ ${TARGETS.rebuild_vs_raw_scan}), load average ${result.load_average_1m}\n`,
      );
      if (asJson) process.stdout.write(`${JSON.stringify(result)}\n`);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
}

/** `--only pages`: read models rebuilt by this build (their schema may differ from the cached ones), then the pages. */
async function mainPagesOnly(): Promise<void> {
  const { dir: cached } = await ensureHistory();
  const work = copyDataDir(cached);
  let serve: Started | undefined;
  try {
    const rebuilt = await runCli(['projections', 'rebuild'], work);
    if (rebuilt.code !== 0)
      throw new Error(`projections rebuild failed (${rebuilt.code}):\n${rebuilt.output.slice(-3000)}`);
    const port = await freeTcpPort();
    serve = await startServe(work, port, 30 * 60_000, { RF_HEARTBEAT_INTERVAL_S: String(heartbeatS) });
    log(`bench: pages (${pageRuns} runs each)`);
    const pages = await measurePages(`http://127.0.0.1:${port}`);
    const result = {
      only: 'pages',
      events: countEvents(work),
      hosts: shape.hosts,
      days: shape.days,
      page_p95_ms: pages.pages,
      raw_healthz_p95_ms: pages.raw,
      cpu_cores: os.cpus().length,
      load_average_1m: round(os.loadavg()[0]!),
    };
    process.stdout.write(
      `fleet pages: ${Object.entries(pages.pages)
        .map(([k, v]) => `${k} ${v} ms`)
        .join(', ')} (p95; /healthz ${pages.raw} ms), load average ${result.load_average_1m}\n`,
    );
    if (asJson) process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    if (serve) await stopServe(serve);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

// --- main -----------------------------------------------------------------------

async function main(): Promise<void> {
  if (only === 'rebuild') return mainRebuildOnly();
  if (only === 'pages') return mainPagesOnly();
  const benchStart = Date.now();
  const { dir: cached, generatedMs } = await ensureHistory();
  log('bench: copying the data dir for this run');
  const work = copyDataDir(cached);
  let serve: Started | undefined;
  try {
    const events = countEvents(work);
    const port = await freeTcpPort();
    const base = `http://127.0.0.1:${port}`;
    log(`bench: ${events} events; starting serve`);
    if (probeDir !== undefined) {
      fs.mkdirSync(probeDir, { recursive: true });
      fs.rmSync(path.join(probeDir, 'loop-delay.json'), { force: true });
    }
    serve = await startServe(
      work,
      port,
      30 * 60_000,
      {
        RF_HEARTBEAT_INTERVAL_S: String(heartbeatS),
        ...(probeDir !== undefined
          ? { RF_BENCH_PROBE_DIR: path.resolve(probeDir), RF_BENCH_PROBE_CPU: probeCpu ? '1' : '0' }
          : {}),
      },
      probeDir !== undefined ? ['--require', path.join(__dirname, 'serve-probe.preload.js')] : [],
    );
    const startupMs = Math.round(serve.readyMs);
    const readyRss = round(rssMb(serve.child.pid!));
    const rawStartMs = Math.round(await rawNodeHttp(await freeTcpPort()));
    log(`bench: ready in ${startupMs} ms, RSS ${readyRss} MB`);
    const pages = only === undefined ? await measurePages(base) : undefined;

    log(`bench: raw limit — ${agentCount} agents against a bare ack server`);
    const rawAck = await rawAckServer();
    let rawAgents: AgentFigures;
    try {
      rawAgents = await measureAgents(rawAck.url, rawAck.child.pid!, async () => undefined, true);
    } finally {
      rawAck.child.kill('SIGTERM');
    }
    log(`bench: ${agentCount} agents against the control plane`);
    const browser = new Browser(base);
    await browser.login();
    const servePid = serve.child.pid!;
    const ackBuckets: Array<Map<number, number>> = [];
    const cpAgents = await measureAgents(
      base.replace(/^http/, 'ws'),
      servePid,
      async (hostNumbers) => {
        for (const h of hostNumbers)
          await browser.post(`/api/hosts/${hostIdOf(h)}/jobs`, { kind: 'backup', paths: ['/srv'] });
      },
      false,
      async () => {
        if (probeDir !== undefined) process.kill(servePid, 'SIGUSR2');
        ackBuckets.push(await scrapeAckBuckets(base));
      },
    );
    const serveAck = serverAckLatency(ackBuckets);
    const loopDelay = probeDir !== undefined ? await probedLoopDelay(probeDir) : undefined;
    await stopServe(serve);
    serve = undefined;
    const agentsResult = {
      agents: cpAgents.connected,
      agents_connect_s: cpAgents.connectS,
      raw_agents_connect_s: rawAgents.connectS,
      agents_dropped: cpAgents.dropped,
      kb_per_agent: cpAgents.kbPerAgent,
      raw_kb_per_agent: rawAgents.kbPerAgent,
      streaming_agents: cpAgents.streaming,
      stream_shape: lockstep ? 'lockstep' : 'own_phase',
      ack_p50_ms: cpAgents.ackP50,
      ack_p99_ms: cpAgents.ackP99,
      raw_ack_p99_ms: rawAgents.ackP99,
      acks_measured: cpAgents.acked,
      heartbeats_measured: cpAgents.heartbeats,
      heartbeat_cpu_percent: cpAgents.heartbeatCpuPercent,
      heartbeat_cpu_us_per_beat: cpAgents.heartbeatCpuUsPerBeat,
      raw_heartbeat_cpu_percent: rawAgents.heartbeatCpuPercent,
      raw_heartbeat_cpu_us_per_beat: rawAgents.heartbeatCpuUsPerBeat,
      streaming_cpu_percent: cpAgents.serverCpuPercentStreaming,
      raw_streaming_cpu_percent: rawAgents.serverCpuPercentStreaming,
      ...(loopDelay !== undefined ? { serve_loop_delay_ms: loopDelay } : {}),
      serve_ack_latency_ms: serveAck,
      clients: clients,
      clients_cpu_percent: cpAgents.clientsCpuPercent,
      clients_loop_delay_p99_ms: cpAgents.clientsLoopDelayP99,
    };
    if (pages === undefined) {
      const result = {
        only,
        events,
        hosts: shape.hosts,
        enrolled_hosts: shape.enrolled,
        days: shape.days,
        startup_ms: startupMs,
        rss_mb: readyRss,
        ...agentsResult,
        targets: { kb_per_agent: TARGETS.kb_per_agent, ack_p99_ms: TARGETS.ack_p99_ms },
        met: {
          kb_per_agent: cpAgents.kbPerAgent <= TARGETS.kb_per_agent,
          ack_p99_ms: cpAgents.ackP99 <= TARGETS.ack_p99_ms,
        },
        bench_s: Math.round((Date.now() - benchStart) / 1000),
        cpu_cores: os.cpus().length,
        load_average_1m: round(os.loadavg()[0]!),
      };
      log(
        `bench: ack p50 ${result.ack_p50_ms} ms, p99 ${result.ack_p99_ms} ms (raw ${result.raw_ack_p99_ms} ms); ` +
          `streaming CPU ${result.streaming_cpu_percent} % (raw ${result.raw_streaming_cpu_percent} %)`,
      );
      if (asJson) process.stdout.write(`${JSON.stringify(result)}\n`);
      return;
    }

    const rebuild = await measureRebuild(work);
    const rebuildPerS = rebuild.rebuild_events_per_s;
    const rawScanPerS = rebuild.raw_scan_events_per_s;
    const pageValues = Object.values(pages.pages);
    const result = {
      events,
      hosts: shape.hosts,
      enrolled_hosts: shape.enrolled,
      days: shape.days,
      startup_ms: startupMs,
      raw_node_startup_ms: rawStartMs,
      rss_mb: readyRss,
      ...rebuild,
      page_p95_ms: pages.pages,
      raw_healthz_p95_ms: pages.raw,
      ...agentsResult,
      targets: TARGETS,
      met: {
        startup_ms: startupMs <= TARGETS.startup_ms,
        rebuild_events_per_s: rebuildPerS >= TARGETS.rebuild_vs_raw_scan * rawScanPerS,
        page_p95_ms: pageValues.every((v) => v <= TARGETS.page_p95_ms),
        kb_per_agent: cpAgents.kbPerAgent <= TARGETS.kb_per_agent,
        ack_p99_ms: cpAgents.ackP99 <= TARGETS.ack_p99_ms,
      },
      generate_s: Math.round(generatedMs / 1000),
      bench_s: Math.round((Date.now() - benchStart) / 1000),
      events_db_mb: round(fs.statSync(path.join(work, 'events.db')).size / 1e6),
      readmodels_db_mb: round(fs.statSync(path.join(work, 'readmodels.db')).size / 1e6),
      cpu_cores: os.cpus().length,
      load_average_1m: round(os.loadavg()[0]!),
    };
    printTable(result);
    if (asJson) process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    if (serve) serve.child.kill('SIGKILL');
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function printTable(r: {
  events: number;
  hosts: number;
  days: number;
  startup_ms: number;
  raw_node_startup_ms: number;
  rss_mb: number;
  rebuild_events_per_s: number;
  raw_scan_events_per_s: number;
  page_p95_ms: Record<string, number>;
  raw_healthz_p95_ms: number;
  agents: number;
  kb_per_agent: number;
  raw_kb_per_agent: number;
  ack_p99_ms: number;
  raw_ack_p99_ms: number;
  heartbeat_cpu_percent: number;
  raw_heartbeat_cpu_percent: number;
  heartbeat_cpu_us_per_beat: number;
  raw_heartbeat_cpu_us_per_beat: number;
  load_average_1m: number;
}): void {
  const rows: Array<[string, string, string, string]> = [
    [
      'start-up to ready',
      `${r.startup_ms} ms`,
      `${r.raw_node_startup_ms} ms (bare node)`,
      `≤ ${TARGETS.startup_ms} ms`,
    ],
    ['RSS when ready', `${r.rss_mb} MB`, '–', '–'],
    [
      'rebuild rate',
      `${r.rebuild_events_per_s} ev/s`,
      `${r.raw_scan_events_per_s} ev/s (readAll)`,
      `≥ ${TARGETS.rebuild_vs_raw_scan} × raw`,
    ],
    ...Object.entries(r.page_p95_ms).map(([k, v]): [string, string, string, string] => [
      `page p95 ${k}`,
      `${v} ms`,
      `${r.raw_healthz_p95_ms} ms (/healthz)`,
      `≤ ${TARGETS.page_p95_ms} ms`,
    ]),
    [
      'RSS per connected agent',
      `${r.kb_per_agent} KB`,
      `${r.raw_kb_per_agent} KB`,
      `≤ ${TARGETS.kb_per_agent} KB`,
    ],
    [
      'ack p99 (streaming agents)',
      `${r.ack_p99_ms} ms`,
      `${r.raw_ack_p99_ms} ms`,
      `≤ ${TARGETS.ack_p99_ms} ms`,
    ],
    ['heartbeat CPU (% of a core)', `${r.heartbeat_cpu_percent} %`, `${r.raw_heartbeat_cpu_percent} %`, '–'],
    ['CPU per heartbeat', `${r.heartbeat_cpu_us_per_beat} µs`, `${r.raw_heartbeat_cpu_us_per_beat} µs`, '–'],
  ];
  const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length), 14));
  const out = (row: string[]): void => {
    process.stdout.write(`  ${row.map((c, i) => c.padEnd(w[i]!)).join('  ')}\n`);
  };
  process.stdout.write(
    `fleet benchmark: ${r.events} events, ${r.hosts} hosts × ${r.days} days, ${r.agents} agents, load average ${r.load_average_1m}\n`,
  );
  out(['', 'control plane', 'raw', 'target']);
  for (const row of rows) out(row);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench:fleet failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
