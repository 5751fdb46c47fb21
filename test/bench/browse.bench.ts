// Snapshot browsing through an agent (docs/browse.md). Usage:
//   node dist/test/bench/browse.bench.js [--entries N] [--mb M] [--runs R] [--restic 0.14|0.19]
//     [--reader curl|node] [--json] [--cpu-prof]
// (--cpu-prof: the control plane and the agent write .cpuprofile files into the current directory)
// --reader: what reads the download, standing in for the browser. Default curl (`curl -s -o /dev/null`,
// the URL and the session cookie given on its stdin, never in its argv): a browser runs on another
// machine, and curl takes the least of the two cores the pipeline needs here (as /dev/null does for the
// raw dump); `node` reads it with node:http in this process, which costs several times curl's CPU.
//
// A real control plane and a real agent back up a folder of N entries (default
// 10,000) and one file of M MiB (default 256) to a local repository, then:
// - tree_first_ms: the first page (all N entries) of that folder, cold: the agent runs `restic ls`
//   and the answer streams into the cache;
// - tree_cached_ms: the same page again (median of R), from the cache without the agent;
// - download_mb_per_s: the file downloaded through agent and control plane to nowhere (median of R);
// - raw_dump_mb_per_s: `restic dump` of the same file to /dev/null on the same repository, the raw limit
//   (run before each download, so both see the same machine load);
// - CPU seconds per GiB of each part of the download: control plane, agent, the agent's restic, the
//   reader (curl, or this process), and restic alone in the raw dump; with 2 cores, a download is bound by
//   CPU when (cp + agent + restic + client) / 2 approaches its wall time per GiB.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { legacyRepositoryId } from '@rf/events';
import { resticBinariesForTests } from '@rf/restic/testing';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { childrenCpuSeconds, cpuSeconds, eventually, FleetAgent } from '../support/fleet';
import { RestClient } from '../support/rest-client';
import { firstSnapshotOf, runHostJob } from '../support/host-jobs';
import { positiveIntOption } from '../support/bench-args';

const args = process.argv.slice(2);
const asJson = args.includes('--json');
const profile = args.includes('--cpu-prof') ? ['--cpu-prof', '--cpu-prof-dir', process.cwd()] : [];
const entries = positiveIntOption(args, '--entries', 10_000);
const mib = positiveIntOption(args, '--mb', 256);
const runs = positiveIntOption(args, '--runs', 3);
const resticLabel = args.includes('--restic') ? args[args.indexOf('--restic') + 1] : '0.14';
const readerName = args.includes('--reader') ? args[args.indexOf('--reader') + 1] : 'curl';
if (readerName !== 'curl' && readerName !== 'node') throw new Error('--reader needs curl or node');
const reader: 'curl' | 'node' = readerName;
const PASSWORD = 'bench-browse-password';
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (v: number, digits = 1): number => Math.round(v * 10 ** digits) / 10 ** digits;

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** `restic dump` of the file to /dev/null: the raw limit on this machine and repository. */
function rawDump(bin: string, repo: string, snapshot: string, file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(bin, ['dump', '--', snapshot, file], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: os.tmpdir(),
        RESTIC_REPOSITORY: repo,
        RESTIC_PASSWORD: PASSWORD,
      },
      stdio: ['ignore', fs.openSync('/dev/null', 'w'), 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.once('close', (code) =>
      code === 0 ? resolve(performance.now() - t0) : reject(new Error(`restic dump: ${code} ${err}`)),
    );
  });
}

/** curl reads the download to /dev/null; the URL and cookie go on its stdin (a config), never in its argv. */
function readWithCurl(url: string, cookie: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'curl',
      ['--config', '-', '--noproxy', '*', '--silent', '--show-error', '--fail', '--max-time', '600'],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', (e) => reject(new Error(`curl: ${e.message} (install curl, or pass --reader node)`)));
    child.once('close', (code) =>
      code === 0 ? resolve(Number(out.trim())) : reject(new Error(`curl: ${code} ${err}`)),
    );
    const quote = (v: string): string => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
    child.stdin.end(
      [
        `url = ${quote(url)}`,
        `header = ${quote(`Cookie: ${cookie}`)}`,
        'output = "/dev/null"',
        'write-out = "%{size_download}"',
        '',
      ].join('\n'),
    );
  });
}

/** node:http reads the download in this process (fetch's web streams cost about 1.6 CPU-seconds per GiB more). */
function readWithNode(url: string, cookie: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const req = http.get(url, { headers: { cookie }, timeout: 600_000 }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`download: ${res.statusCode}`));
        return;
      }
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.once('end', () => resolve(bytes));
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(new Error('download timed out')));
    req.once('error', reject);
  });
}

async function main(): Promise<void> {
  const restic = resticBinariesForTests().find((b) => b.label === resticLabel);
  if (!restic) throw new Error(`restic ${resticLabel} is not available`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-bench-browse-'));
  let cp: ControlPlaneProcess | undefined;
  let agent: FleetAgent | undefined;
  try {
    const data = path.join(root, 'data');
    const many = path.join(data, 'many');
    fs.mkdirSync(many, { recursive: true });
    for (let i = 0; i < entries; i++)
      fs.writeFileSync(path.join(many, `entry-${String(i).padStart(6, '0')}.txt`), `${i}\n`);
    const big = path.join(data, 'big.bin');
    const fd = fs.openSync(big, 'w');
    for (let i = 0; i < mib; i++) fs.writeSync(fd, randomBytes(1024 * 1024));
    fs.closeSync(fd);

    fs.mkdirSync(path.join(root, 'cp'));
    cp = await ControlPlaneProcess.start({
      dataDir: path.join(root, 'cp'),
      startTimeoutMs: 60_000,
      ...(profile.length > 0 ? { nodeArgs: profile } : {}),
    });
    const admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
    agent = new FleetAgent({ dir: path.join(root, 'agent'), resticBin: restic.bin, nodeArgs: profile });
    await agent.enrol(admin, cp.url);
    agent.start();
    const hostId = agent.agentId;
    await eventually(
      'the agent online',
      async () => (await admin.get<{ online: boolean }>(`/api/hosts/${hostId}`)).body.online,
      30_000,
    );
    const repoPath = path.join(root, 'repo');
    await admin.put(`/api/hosts/${hostId}/repository`, { url: repoPath, password: PASSWORD });
    const job = (body: Record<string, unknown>): Promise<void> =>
      runHostJob(admin, hostId, body, 600_000, 250);
    await job({ kind: 'init' });
    await job({ kind: 'backup', paths: [data] });
    const snapshot = await firstSnapshotOf(admin, hostId);
    const repo = legacyRepositoryId(hostId);
    const treeUrl = `/api/repositories/${repo}/snapshots/${snapshot}/tree?path=${encodeURIComponent(many)}&limit=${Math.min(entries, 5000)}`;

    const first = await timed(() => admin.get<{ entries: unknown[]; cached: boolean }>(treeUrl));
    if (first.value.status !== 200 || first.value.body.cached)
      throw new Error(`cold tree: ${JSON.stringify(first.value.body).slice(0, 300)}`);
    const cachedMs: number[] = [];
    for (let i = 0; i < Math.max(runs, 5); i++) {
      const again = await timed(() => admin.get<{ cached: boolean }>(treeUrl));
      if (!again.value.body.cached) throw new Error('the second visit did not come from the cache');
      cachedMs.push(again.ms);
    }

    const cookie = admin.cookieHeader();
    const downloadUrl = `${cp.url}/api/repositories/${repo}/snapshots/${snapshot}/download?path=${encodeURIComponent(big)}`;
    const downloadMs: number[] = [];
    const rawMs: number[] = [];
    const cpu = { cp: 0, agent: 0, restic: 0, client: 0, raw: 0 };
    for (let i = 0; i < runs; i++) {
      const rawBefore = childrenCpuSeconds(process.pid);
      rawMs.push(await rawDump(restic.bin, repoPath, snapshot, big));
      cpu.raw += childrenCpuSeconds(process.pid) - rawBefore;
      const before = {
        cp: cpuSeconds(cp.child.pid!),
        agent: cpuSeconds(agent.pid!),
        restic: childrenCpuSeconds(agent.pid!),
        client: process.cpuUsage(),
        curl: childrenCpuSeconds(process.pid),
      };
      const d = await timed(async () => {
        const n =
          reader === 'curl'
            ? await readWithCurl(downloadUrl, cookie)
            : await readWithNode(downloadUrl, cookie);
        if (n !== mib * 1024 * 1024) throw new Error(`download: ${n} bytes`);
      });
      downloadMs.push(d.ms);
      cpu.cp += cpuSeconds(cp.child.pid!) - before.cp;
      cpu.agent += cpuSeconds(agent.pid!) - before.agent;
      const client = process.cpuUsage(before.client);
      cpu.client +=
        reader === 'curl'
          ? childrenCpuSeconds(process.pid) - before.curl
          : (client.user + client.system) / 1e6;
      // The query's restic has exited and been reaped once the answer ended.
      await eventually(
        "the query's restic reaped",
        () => childrenCpuSeconds(agent!.pid!) > before.restic,
        10_000,
        50,
      ).catch(() => undefined);
      cpu.restic += childrenCpuSeconds(agent.pid!) - before.restic;
    }
    const perGib = (s: number): number => round(s / runs / (mib / 1024), 2);
    const download = (mib * 1.048576) / (median(downloadMs) / 1000);
    const raw = (mib * 1.048576) / (median(rawMs) / 1000);
    const result = {
      restic: restic.version,
      reader,
      entries,
      file_mb: round(mib * 1.048576),
      tree_first_ms: Math.round(first.ms),
      tree_cached_ms: round(median(cachedMs)),
      download_mb_per_s: round(download),
      raw_dump_mb_per_s: round(raw),
      download_vs_raw: round(download / raw, 2),
      cp_cpu_s_per_gb: perGib(cpu.cp),
      agent_cpu_s_per_gb: perGib(cpu.agent),
      restic_cpu_s_per_gb: perGib(cpu.restic),
      client_cpu_s_per_gb: perGib(cpu.client),
      raw_restic_cpu_s_per_gb: perGib(cpu.raw),
      download_wall_s_per_gb: round(median(downloadMs) / 1000 / (mib / 1024), 2),
      load_average: round(os.loadavg()[0]!),
    };
    say('');
    say(`snapshot browse through an agent (restic ${result.restic}, ${os.cpus().length} CPUs)`);
    say(`  folder of ${entries} entries, first visit (agent + cache)   ${result.tree_first_ms} ms`);
    say(`  same folder again (cache, median)                   ${result.tree_cached_ms} ms`);
    say(`  download of ${result.file_mb} MB through agent + CP (median)   ${result.download_mb_per_s} MB/s`);
    say(`  raw limit: restic dump to /dev/null (median)        ${result.raw_dump_mb_per_s} MB/s`);
    say(`  download / raw                                      ${result.download_vs_raw}   (target ≥ 0.7)`);
    say(
      `  CPU per GiB downloaded: control plane / agent       ${result.cp_cpu_s_per_gb} s / ${result.agent_cpu_s_per_gb} s`,
    );
    say(
      `  CPU per GiB: restic in the download / raw restic      ${result.restic_cpu_s_per_gb} s / ${result.raw_restic_cpu_s_per_gb} s`,
    );
    say(
      `  CPU per GiB: the reader (${reader.padEnd(4)}) of the download        ${result.client_cpu_s_per_gb} s (wall ${result.download_wall_s_per_gb} s per GiB)`,
    );
    say(
      reader === 'curl'
        ? '  reader: curl to /dev/null (default: a browser runs elsewhere; --reader node reads in this process)'
        : '  reader: node:http in this process (--reader node; it shares the 2 cores with the pipeline)',
    );
    say(`  load average (1 min)                                ${result.load_average}`);
    if (asJson) say(JSON.stringify(result));
  } finally {
    await agent?.stop();
    await cp?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
