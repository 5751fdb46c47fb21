/**
 * Agent overhead: the same backup of a generated data set (≥ 20,000 files,
 * ≥ 500 MB, generated once into .cache/bench/agent-data) by bare restic and
 * through the real agent process (scripted control plane), alternated, a
 * fresh repository each round. Prints the wall-time ratio (median agent /
 * median bare) and the agent's peak RSS (VmHWM). The agent is the single-file
 * build (dist/agent/restic-fleet-agent.js) copied into an empty directory, as
 * install.sh leaves it on a host: no node_modules anywhere above it.
 *
 *   npm run bench:agent [-- --rounds 4] [-- --json]
 *   RF_RESTIC_BIN=/path/to/restic to pick the restic binary (default /usr/bin/restic).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  agentBundlePath,
  AgentProcess,
  repoRoot,
  ScriptedServer,
  tempDir,
  waitUntil,
  writeAgentConfig,
} from '../e2e/agent-scripted-server';

const FILES = 20_000;
const FILE_BYTES = 26 * 1024; // 20,000 × 26 KiB ≈ 532 MB
const PASSWORD = 'bench-password';
const args = process.argv.slice(2);
const json = args.includes('--json');
const rounds = Number(args[args.indexOf('--rounds') + 1]) || 4;
const restic = process.env.RF_RESTIC_BIN ?? '/usr/bin/restic';

function say(line: string): void {
  if (!json) process.stdout.write(line + '\n');
  else process.stderr.write(line + '\n');
}

function ensureDataSet(): string {
  const dir = path.join(repoRoot(), '.cache', 'bench', 'agent-data');
  const marker = path.join(dir, '.complete');
  if (fs.existsSync(marker)) return dir;
  say(`generating ${FILES} files of ${FILE_BYTES} bytes into ${dir} (once)…`);
  fs.rmSync(dir, { recursive: true, force: true });
  for (let d = 0; d < FILES / 1000; d++) {
    const sub = path.join(dir, `d${String(d).padStart(2, '0')}`);
    fs.mkdirSync(sub, { recursive: true });
    for (let f = 0; f < 1000; f++) fs.writeFileSync(path.join(sub, `f${f}.bin`), randomBytes(FILE_BYTES));
  }
  fs.writeFileSync(marker, `${FILES} ${FILE_BYTES}\n`);
  return dir;
}

function runRestic(argv: string[], repo: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(restic, argv, {
      env: { ...process.env, RESTIC_PASSWORD: PASSWORD, RESTIC_REPOSITORY: repo },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Consume the JSON stream like the agent does, so both pay for reading it.
    child.stdout.on('data', () => undefined);
    child.stderr.on('data', () => undefined);
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? -1));
  });
}

async function freshRepo(root: string, name: string): Promise<string> {
  const repo = path.join(root, name);
  const rc = await runRestic(['init'], repo);
  if (rc !== 0) throw new Error(`restic init failed (${rc})`);
  return repo;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main(): Promise<void> {
  const data = ensureDataSet();
  const work = tempDir('rf-agent-bench-');
  const server = new ScriptedServer();
  await server.start();
  const configPath = writeAgentConfig({ dir: work, server });
  const script = path.join(work, 'restic-fleet-agent.js');
  fs.copyFileSync(agentBundlePath(), script);
  const agent = new AgentProcess(configPath, { RF_RESTIC_BIN: restic }, [], script);
  const bare: number[] = [];
  const viaAgent: number[] = [];
  // request → job.started, job.started → job.finished (restic and its parsing), job.finished → received.
  const phases = { dispatch: [] as number[], run: [] as number[], report: [] as number[] };
  try {
    await waitUntil('the agent to connect', () => server.hellos.length > 0, 30_000);
    const backUpBare = async (r: number): Promise<number> => {
      const repo = await freshRepo(work, `bare-${r}`);
      const t = process.hrtime.bigint();
      const rc = await runRestic(['backup', '--json', '--', data], repo);
      const seconds = Number(process.hrtime.bigint() - t) / 1e9;
      if (rc !== 0) throw new Error(`bare backup failed (${rc})`);
      fs.rmSync(repo, { recursive: true, force: true });
      return seconds;
    };
    const backUpViaAgent = async (r: number): Promise<number> => {
      const repo = await freshRepo(work, `agent-${r}`);
      server.configureRepository({ url: repo, password: PASSWORD });
      await new Promise((res) => setTimeout(res, 200));
      const t = process.hrtime.bigint();
      const requestedAt = Date.now();
      const { finished, messages } = await server.runJob('backup', { paths: [data] }, 30 * 60_000);
      const seconds = Number(process.hrtime.bigint() - t) / 1e9;
      const receivedAt = Date.now();
      if (finished.payload.status !== 'succeeded') throw new Error(`agent backup ${finished.payload.status}`);
      // Where the agent's time goes, from its own timestamps (same machine, same clock).
      const started = messages.find((m) => m.type === 'job.started');
      const startedAt =
        started && 'started_at' in started.payload ? Date.parse(started.payload.started_at) : NaN;
      const finishedAt = Date.parse(finished.payload.finished_at);
      phases.dispatch.push(startedAt - requestedAt);
      phases.run.push(finishedAt - startedAt);
      phases.report.push(receivedAt - finishedAt);
      fs.rmSync(repo, { recursive: true, force: true });
      return seconds;
    };
    for (let r = 0; r < rounds; r++) {
      // Alternate which goes first, so a machine getting busier (or calmer) during
      // the run does not favour one side.
      let bareS: number;
      let agentS: number;
      if (r % 2 === 0) {
        bareS = await backUpBare(r);
        agentS = await backUpViaAgent(r);
      } else {
        agentS = await backUpViaAgent(r);
        bareS = await backUpBare(r);
      }
      bare.push(bareS);
      viaAgent.push(agentS);
      say(`round ${r + 1}: bare ${bareS.toFixed(2)} s, agent ${agentS.toFixed(2)} s`);
    }
    const rss = agent.peakRssMb();
    const ratio = median(viaAgent) / median(bare);
    const bytes = FILES * FILE_BYTES;
    say('');
    say(`restic      ${restic}`);
    say(`data set    ${FILES} files, ${(bytes / 1e6).toFixed(0)} MB`);
    say(`bare        ${bare.map((x) => x.toFixed(2)).join('  ')} s (median ${median(bare).toFixed(2)})`);
    say(
      `agent       ${viaAgent.map((x) => x.toFixed(2)).join('  ')} s (median ${median(viaAgent).toFixed(2)})`,
    );
    say(`agent       ${script} (the single-file build)`);
    say(`overhead    ${ratio.toFixed(3)}× (target ≤ 1.03)`);
    say(`agent RSS   ${rss.toFixed(1)} MB peak (VmHWM; target ≤ 60)`);
    say(
      `agent time  request→started ${median(phases.dispatch).toFixed(0)} ms, started→finished ${median(phases.run).toFixed(0)} ms, ` +
        `finished→received ${median(phases.report).toFixed(0)} ms (medians)`,
    );
    if (json) {
      process.stdout.write(
        JSON.stringify({
          overhead_ratio: Number(ratio.toFixed(4)),
          agent_rss_mb: Number(rss.toFixed(1)),
          bare_s: bare,
          agent_s: viaAgent,
          agent_dispatch_ms: median(phases.dispatch),
          agent_run_ms: median(phases.run),
          agent_report_ms: median(phases.report),
          files: FILES,
          bytes,
          rounds,
          restic,
          agent: 'single-file',
        }) + '\n',
      );
    }
  } finally {
    await agent.stop();
    await server.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:agent failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
