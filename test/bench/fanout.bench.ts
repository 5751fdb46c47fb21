import * as os from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { cpuSeconds } from '../support/fleet';
import { RestClient } from '../support/rest-client';
import { apiToken, LineStreamer, onlineAgent, percentile, startedJob } from '../e2e/live-tail.helpers';

/*
 * Live-tail fan-out benchmark: one job streams log lines from a scripted agent
 * into a control plane process (embedded store) while N WebSocket
 * subscribers watch it on /api/jobs/{id}/stream. A fraction of them are
 * deliberately slow: they stop reading, so once the kernel's socket buffers
 * are full (several MB on loopback) their bounded queues overflow and they
 * get `dropped` markers. A prefill of large lines fills those buffers first;
 * then the measured lines flow at an offered rate. The fast subscribers
 * should get every line. Latency is agent send → subscriber receive, measured
 * in this process from a timestamp in each measured line's payload.
 *
 *   npm run bench:fanout -- [--subscribers 1000] [--slow-fraction 0.1] [--lines 1000] [--rate 25]
 *                           [--prefill-mb 4] [--json]
 */

interface Options {
  subscribers: number;
  slowFraction: number;
  lines: number;
  rate: number;
  prefillMb: number;
  json: boolean;
}

function parseArgs(argv: string[]): Options {
  const opt = (name: string, fallback: number): number => {
    const i = argv.indexOf(name);
    if (i < 0) return fallback;
    const v = Number(argv[i + 1]);
    if (!Number.isFinite(v) || v < 0) throw new Error(`${name} needs a non-negative number`);
    return v;
  };
  const o = {
    subscribers: Math.round(opt('--subscribers', 1000)),
    slowFraction: opt('--slow-fraction', 0.1),
    lines: Math.round(opt('--lines', 1000)),
    rate: opt('--rate', 25),
    prefillMb: opt('--prefill-mb', 4),
    json: argv.includes('--json'),
  };
  if (o.slowFraction > 1) throw new Error('--slow-fraction must be between 0 and 1');
  if (o.subscribers < 1 || o.lines < 1 || o.rate <= 0)
    throw new Error('--subscribers, --lines and --rate must be positive');
  return o;
}

/** A minimal watcher: counts lines and drop markers, samples latency; no full JSON parse per frame. */
class BenchSubscriber {
  lines = 0;
  /** Lines of the measured phase (timestamped), for the delivery rate. */
  measuredLines = 0;
  lastSeq = 0;
  outOfOrder = 0;
  dropMarkers = 0;
  droppedLines = 0;
  ended = false;
  readonly latencies: number[] = [];
  private ws: WebSocket | undefined;

  constructor(
    private readonly url: string,
    private readonly token: string,
    readonly slow: boolean,
  ) {}

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url, {
        headers: { authorization: `Bearer ${this.token}` },
        perMessageDeflate: false,
        handshakeTimeout: 30_000,
      });
      this.ws = ws;
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode ?? 0}`)));
      ws.on('message', (data: Buffer) => this.onFrame(data.toString('utf8')));
    });
  }

  startSlow(): void {
    if (this.slow) this.ws?.pause();
  }

  /** Reads whatever is left (bounded by the caller) so the end arrives. */
  stopSlow(): void {
    this.ws?.resume();
  }

  close(): void {
    this.stopSlow();
    this.ws?.terminate();
  }

  private onFrame(text: string): void {
    if (text.startsWith('{"type":"log"')) {
      const seq = Number(/"seq":(\d+)/.exec(text)?.[1] ?? -1);
      if (seq <= this.lastSeq) this.outOfOrder++;
      this.lastSeq = seq;
      this.lines++;
      const t = /"payload":"t=([\d.]+) /.exec(text);
      if (t) {
        this.measuredLines++;
        if (!this.slow) this.latencies.push(performance.now() - Number(t[1]));
      }
    } else if (text.startsWith('{"type":"dropped"')) {
      const m = /"from_seq":(\d+),"to_seq":(\d+)/.exec(text);
      this.dropMarkers++;
      if (m) {
        this.droppedLines += Number(m[2]) - Number(m[1]) + 1;
        this.lastSeq = Number(m[2]);
      }
    } else if (text.startsWith('{"type":"end"')) {
      this.ended = true;
    }
  }
}

async function waitUntil(pred: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const log = (s: string) => process.stderr.write(`${s}\n`);
  // Stalled readers cannot answer pings; a long interval keeps them connected for the whole run.
  const cp = await ControlPlaneProcess.start({ env: { LOG_LEVEL: 'warn', RF_LIVE_PING_S: '3600' } });
  const subs: BenchSubscriber[] = [];
  try {
    const admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
    const token = await apiToken(admin, 'viewer');
    const { agent, identity } = await onlineAgent(cp.url, admin);
    const jobId = await startedJob(admin, agent, identity.agentId);
    const url = `${cp.wsUrl}/api/jobs/${jobId}/stream`;
    const slowCount = Math.round(o.subscribers * o.slowFraction);
    log(`bench: connecting ${o.subscribers} subscribers (${slowCount} slow)…`);
    for (let i = 0; i < o.subscribers; i++) subs.push(new BenchSubscriber(url, token, i < slowCount));
    for (let i = 0; i < subs.length; i += 50)
      await Promise.all(subs.slice(i, i + 50).map((s) => s.connect()));
    for (const s of subs) s.startSlow();
    const fast = subs.filter((s) => !s.slow);
    const slow = subs.filter((s) => s.slow);

    const prefillLines = Math.ceil((o.prefillMb * 1024 * 1024) / 16_384);
    log(`bench: prefill ${prefillLines} lines of 16 KiB (fills the slow subscribers' socket buffers)…`);
    const prefill = new LineStreamer(agent, jobId, 32, 'p'.repeat(16_384), 1, false);
    await prefill.run(prefillLines, 300_000);
    const total = prefillLines + o.lines;
    await waitUntil(() => fast.every((s) => s.lines + s.droppedLines >= prefillLines), 300_000);
    log(`bench: streaming ${o.lines} lines at ${o.rate} lines/s…`);
    const streamer = new LineStreamer(agent, jobId, 256, 'x'.repeat(80), prefill.nextSeq);
    const cpuBefore = cpuSeconds(cp.child.pid!);
    const benchCpuBefore = process.cpuUsage();
    // The subscribers and the agent share this process: its own stalls show up as latency too.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const started = performance.now();
    await streamer.run(o.lines, Math.max(120_000, (o.lines / o.rate) * 4000), o.rate);
    const allFast = await waitUntil(() => fast.every((s) => s.lines + s.droppedLines >= total), 120_000);
    const elapsedS = (performance.now() - started) / 1000;
    const cpuPercent = (100 * (cpuSeconds(cp.child.pid!) - cpuBefore)) / elapsedS;
    loopDelay.disable();
    const benchCpu = process.cpuUsage(benchCpuBefore);
    const benchCpuPercent = (100 * (benchCpu.user + benchCpu.system)) / 1e6 / elapsedS;
    const finished = agent.send(
      'job.finished',
      { job_id: jobId, status: 'succeeded', exit_code: 0, finished_at: new Date().toISOString() },
      jobId,
    );
    await agent.waitForAcks([finished.id], 30_000);
    for (const s of slow) s.stopSlow();
    const allEnded = await waitUntil(() => subs.every((s) => s.ended), 60_000);

    const delivered = subs.reduce((n, s) => n + s.measuredLines, 0);
    const fastLatencies = fast.flatMap((s) => s.latencies);
    const result = {
      subscribers: o.subscribers,
      slow_subscribers: slow.length,
      lines: o.lines,
      prefill_lines: prefillLines,
      offered_rate_lines_per_s: o.rate,
      seconds: Number(elapsedS.toFixed(2)),
      fanout_lines_per_s: Math.round(delivered / elapsedS),
      p50_ms: Number(percentile(fastLatencies, 50).toFixed(2)),
      p99_ms: Number(percentile(fastLatencies, 99).toFixed(2)),
      max_ms: Number(percentile(fastLatencies, 100).toFixed(2)),
      fast_drops: fast.reduce((n, s) => n + s.droppedLines, 0),
      fast_missing_lines: fast.reduce((n, s) => n + Math.max(0, total - s.lines - s.droppedLines), 0),
      fast_out_of_order: fast.reduce((n, s) => n + s.outOfOrder, 0),
      slow_drops: slow.reduce((n, s) => n + s.droppedLines, 0),
      slow_drop_markers: slow.reduce((n, s) => n + s.dropMarkers, 0),
      slow_received_lines: slow.reduce((n, s) => n + s.lines, 0),
      ack_p50_ms: Number(percentile(streamer.ackLatencies, 50).toFixed(2)),
      ack_p99_ms: Number(percentile(streamer.ackLatencies, 99).toFixed(2)),
      all_fast_complete: allFast,
      all_ended: allEnded,
      control_plane_cpu_percent: Math.round(cpuPercent),
      bench_process_cpu_percent: Math.round(benchCpuPercent),
      bench_loop_delay_p99_ms: Number((loopDelay.percentile(99) / 1e6).toFixed(1)),
      load_average_1m: Number(os.loadavg()[0]!.toFixed(2)),
    };
    const rows: Array<[string, string]> = [
      ['subscribers (slow)', `${result.subscribers} (${result.slow_subscribers})`],
      [
        'lines × offered rate',
        `${result.lines} × ${result.offered_rate_lines_per_s}/s in ${result.seconds} s`,
      ],
      ['delivered lines/s (all subscribers)', String(result.fanout_lines_per_s)],
      ['agent→browser p50 / p99 / max (fast)', `${result.p50_ms} / ${result.p99_ms} / ${result.max_ms} ms`],
      ['drops on fast subscribers', String(result.fast_drops)],
      ['fast: missing / out of order', `${result.fast_missing_lines} / ${result.fast_out_of_order}`],
      ['drops on slow subscribers (markers)', `${result.slow_drops} (${result.slow_drop_markers})`],
      ['agent ack p50 / p99', `${result.ack_p50_ms} / ${result.ack_p99_ms} ms`],
      ['control plane CPU', `${result.control_plane_cpu_percent} %`],
      [
        'bench process CPU / loop delay p99',
        `${result.bench_process_cpu_percent} % / ${result.bench_loop_delay_p99_ms} ms`,
      ],
      ['load average (1 min)', String(result.load_average_1m)],
      ['every subscriber got end', String(result.all_ended)],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    process.stdout.write('live-tail fan-out benchmark (embedded SQLite store)\n');
    for (const [k, v] of rows) process.stdout.write(`  ${k.padEnd(width)}  ${v}\n`);
    if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    agent.terminate();
  } finally {
    for (const s of subs) s.close();
    await cp.stop();
    cp.removeDataDir();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench:fanout failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
