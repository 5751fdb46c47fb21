// Flow control of a large download through an agent (docs/browse.md, "Flow control"). Usage:
//   node dist/test/bench/browse-flow.bench.js [--mb 1024] [--rate 16] [--seconds 30] [--lines 200] [--json]
//
// Too slow for the suite (it backs up --mb MiB of incompressible data once), so
// it is a script with assertions. A real control plane and a real agent
// (restic 0.14) back up one file of --mb MiB, then:
// - another host's job streams log lines at --lines per second (a scripted agent
//   on its own socket) and the envelope→ack latency is measured, first alone
//   (the reference in the same run), then while
// - a slow browser downloads the file at --rate MiB/s for --seconds, while the
//   control plane's and the agent's RSS (VmRSS) are sampled every 250 ms;
// - then the browser goes away mid-download, and the restic process of that
//   query must be gone.
// Asserted: peak RSS growth of both processes < 64 MiB; the download is still
// mid-file when closed; restic stops. Timings (ingest latency with and without
// the download, how long restic took to stop) are figures, not assertions.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { createCipheriv, createHash } from 'node:crypto';
import { legacyRepositoryId } from '@rf/events';
import { resticBinariesForTests } from '@rf/restic/testing';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { eventually, FleetAgent, resticPidsInGroup, sleep } from '../support/fleet';
import { RestClient } from '../support/rest-client';
import { firstSnapshotOf, runHostJob } from '../support/host-jobs';
import { onlineAgentWithJob, type ScriptedAgent } from '../support/scripted-agent';
import { positiveIntOption } from '../support/bench-args';

const args = process.argv.slice(2);
const asJson = args.includes('--json');
const mib = positiveIntOption(args, '--mb', 1024);
const rateMib = positiveIntOption(args, '--rate', 16);
const seconds = positiveIntOption(args, '--seconds', 30);
const linesPerS = positiveIntOption(args, '--lines', 200);
const PASSWORD = 'bench-browse-flow-password';
/** Peak RSS growth allowed for either process while the download runs. */
const RSS_SLACK_MIB = 64;
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const MiB = 1024 * 1024;
const round = (v: number, digits = 1): number => Math.round(v * 10 ** digits) / 10 ** digits;

function rssMib(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** `mib` MiB of incompressible, undeduplicable bytes, fast: AES-256-CTR of zeros under a fixed key. */
function writeNoise(file: string, sizeMib: number): void {
  const key = createHash('sha256').update('browse-flow bench').digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(4 * MiB);
  const fd = fs.openSync(file, 'w');
  try {
    for (let written = 0; written < sizeMib * MiB; written += zeros.length)
      fs.writeSync(fd, cipher.update(zeros));
  } finally {
    fs.closeSync(fd);
  }
}

/** Log lines of one job at a fixed offered rate; the latency of each line's ack. */
class IngestLoad {
  private readonly sentAt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  latencies: number[] = [];
  acked = 0;

  constructor(
    private readonly agent: ScriptedAgent,
    private readonly jobId: string,
  ) {
    agent.onAck = (ids) => {
      const now = performance.now();
      for (const id of ids) {
        const t = this.sentAt.get(id);
        if (t === undefined) continue;
        this.sentAt.delete(id);
        this.acked++;
        this.latencies.push(now - t);
      }
    };
  }

  start(): void {
    const tickMs = 50;
    let owed = 0;
    this.timer = setInterval(() => {
      owed += (linesPerS * tickMs) / 1000;
      for (; owed >= 1; owed--) {
        const seq = ++this.seq;
        const env = this.agent.send(
          'log.stream',
          {
            job_id: this.jobId,
            seq,
            ts: new Date().toISOString(),
            stream: 'stdout',
            payload: `[${seq}] scanned /srv/data/file-${seq}.bin 4096 bytes`,
          },
          this.jobId,
        );
        this.sentAt.set(env.id, performance.now());
      }
    }, tickMs);
  }

  /** Latencies and acks from now on. */
  reset(): void {
    this.latencies = [];
    this.acked = 0;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  figures(elapsedS: number): { lines_per_s: number; ack_p50_ms: number; ack_p99_ms: number } {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
    return {
      lines_per_s: round(this.acked / elapsedS),
      ack_p50_ms: round(at(0.5), 2),
      ack_p99_ms: round(at(0.99), 2),
    };
  }
}

async function main(): Promise<void> {
  const restic = resticBinariesForTests().find((b) => b.label === '0.14');
  if (!restic) throw new Error('restic 0.14 is not available');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-bench-browse-flow-'));
  let cp: ControlPlaneProcess | undefined;
  let agent: FleetAgent | undefined;
  let other: ScriptedAgent | undefined;
  try {
    const data = path.join(root, 'data');
    fs.mkdirSync(data, { recursive: true });
    const big = path.join(data, 'big.bin');
    writeNoise(big, mib);

    fs.mkdirSync(path.join(root, 'cp'));
    cp = await ControlPlaneProcess.start({
      dataDir: path.join(root, 'cp'),
      env: { RF_LOG_LEVEL: 'warn' },
      startTimeoutMs: 60_000,
    });
    const admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
    agent = new FleetAgent({
      dir: path.join(root, 'agent'),
      resticBin: restic.bin,
      config: { log_level: 'info' },
    });
    await agent.enrol(admin, cp.url);
    agent.start();
    const hostId = agent.agentId;
    await eventually(
      'the agent online',
      async () => (await admin.get<{ online: boolean }>(`/api/hosts/${hostId}`)).body.online,
      30_000,
    );
    await admin.put(`/api/hosts/${hostId}/repository`, { url: path.join(root, 'repo'), password: PASSWORD });
    const job = (body: Record<string, unknown>): Promise<void> =>
      runHostJob(admin, hostId, body, 1_200_000, 500);
    await job({ kind: 'init' });
    await job({ kind: 'backup', paths: [data] });
    const snapshot = await firstSnapshotOf(admin, hostId);

    // Another host's job, streaming its log while nothing else happens: the reference.
    const o = await onlineAgentWithJob(admin, cp.wsUrl);
    other = o.agent;
    const ingest = new IngestLoad(o.agent, o.jobId);
    ingest.start();
    await sleep(3000);
    ingest.reset();
    let t0 = performance.now();
    await sleep(seconds * 1000);
    const alone = ingest.figures((performance.now() - t0) / 1000);

    const cpPid = cp.child.pid!;
    const agentPid = agent.pid!;
    const base = { cp: rssMib(cpPid), agent: rssMib(agentPid) };
    const peak = { ...base };
    /** Peaks in the first and the second half of the download: flat means the second is no higher. */
    const halves = [
      { cp: 0, agent: 0 },
      { cp: 0, agent: 0 },
    ];
    const url = new URL(
      `${cp.url}/api/repositories/${legacyRepositoryId(hostId)}/snapshots/${snapshot}/download?path=${encodeURIComponent(big)}`,
    );
    const req = http.get(url, { headers: { cookie: admin.cookieHeader() }, timeout: 60_000 });
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
    });
    if (res.statusCode !== 200) throw new Error(`download: HTTP ${res.statusCode}`);
    if (res.headers['content-length'] !== String(mib * MiB))
      throw new Error(`download: Content-Length ${res.headers['content-length']}`);
    // The slow browser: a token bucket of --rate MiB/s.
    let received = 0;
    const started = performance.now();
    res.on('data', (chunk: Buffer) => {
      received += chunk.length;
      const due = (received / (rateMib * MiB)) * 1000 - (performance.now() - started);
      if (due > 0) {
        res.pause();
        setTimeout(() => res.resume(), due);
      }
    });
    ingest.reset();
    t0 = performance.now();
    const sampler = setInterval(() => {
      const now = { cp: rssMib(cpPid), agent: rssMib(agentPid) };
      const half = halves[performance.now() - t0 < (seconds * 1000) / 2 ? 0 : 1]!;
      half.cp = Math.max(half.cp, now.cp);
      half.agent = Math.max(half.agent, now.agent);
      peak.cp = Math.max(peak.cp, now.cp);
      peak.agent = Math.max(peak.agent, now.agent);
    }, 250);
    await sleep(seconds * 1000);
    clearInterval(sampler);
    const during = ingest.figures((performance.now() - t0) / 1000);
    ingest.stop();
    const resticPids = resticPidsInGroup(agentPid);
    if (resticPids.length !== 1)
      throw new Error(`expected the query's restic to run, found ${resticPids.length}`);
    if (received >= mib * MiB) throw new Error('the download finished before it was closed; lower --rate');

    // The browser goes away mid-download.
    const closedAt = performance.now();
    req.destroy();
    await eventually(
      'restic to stop after the browser went away',
      () => resticPidsInGroup(agentPid).length === 0,
      30_000,
      20,
    );
    const resticGoneMs = performance.now() - closedAt;

    const growth = { cp: peak.cp - base.cp, agent: peak.agent - base.agent };
    const result = {
      file_mb: round(mib * 1.048576),
      read_mb: round(received / 1e6),
      read_rate_mb_per_s: round(received / 1e6 / seconds),
      cp_rss_base_mib: round(base.cp),
      cp_rss_peak_mib: round(peak.cp),
      cp_rss_peak_halves_mib: [round(halves[0]!.cp), round(halves[1]!.cp)],
      agent_rss_base_mib: round(base.agent),
      agent_rss_peak_mib: round(peak.agent),
      agent_rss_peak_halves_mib: [round(halves[0]!.agent), round(halves[1]!.agent)],
      ingest_lines_per_s_alone: alone.lines_per_s,
      ingest_lines_per_s_during: during.lines_per_s,
      ingest_ack_p50_ms_alone: alone.ack_p50_ms,
      ingest_ack_p50_ms_during: during.ack_p50_ms,
      ingest_ack_p99_ms_alone: alone.ack_p99_ms,
      ingest_ack_p99_ms_during: during.ack_p99_ms,
      restic_gone_ms: Math.round(resticGoneMs),
      load_average: round(os.loadavg()[0]!),
    };
    say('');
    say(
      `slow download of a ${result.file_mb} MB file through agent and control plane (restic ${restic.version})`,
    );
    say(
      `  browser read ${result.read_mb} MB in ${seconds} s (${result.read_rate_mb_per_s} MB/s), then closed`,
    );
    say(
      `  control plane RSS   ${result.cp_rss_base_mib} -> peak ${result.cp_rss_peak_mib} MiB (peak per half: ${result.cp_rss_peak_halves_mib.join(' / ')})`,
    );
    say(
      `  agent RSS           ${result.agent_rss_base_mib} -> peak ${result.agent_rss_peak_mib} MiB (peak per half: ${result.agent_rss_peak_halves_mib.join(' / ')})`,
    );
    say(
      `  other job's log ingest (offered ${linesPerS}/s): ${alone.lines_per_s}/s, ack p50 ${alone.ack_p50_ms} ms, p99 ${alone.ack_p99_ms} ms alone; ` +
        `${during.lines_per_s}/s, p50 ${during.ack_p50_ms} ms, p99 ${during.ack_p99_ms} ms during the download`,
    );
    say(`  restic gone ${result.restic_gone_ms} ms after the browser closed`);
    say(`  load average (1 min) ${result.load_average}`);
    if (asJson) say(JSON.stringify(result));
    if (growth.cp >= RSS_SLACK_MIB || growth.agent >= RSS_SLACK_MIB)
      throw new Error(
        `RSS not flat: control plane +${round(growth.cp)} MiB, agent +${round(growth.agent)} MiB (limit ${RSS_SLACK_MIB})`,
      );
  } finally {
    other?.close();
    await agent?.stop();
    await cp?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
