/**
 * The Windows service path, run on Linux: everything but WinSW and Windows.
 *
 * `restic-fleet-agent service install` hands node-windows a configuration;
 * node-windows turns it into WinSW's XML (executable, arguments, environment)
 * and WinSW starts node-windows' wrapper, which forks the agent. This test
 * takes that very XML from node-windows, starts what WinSW would start, with
 * the config file in a folder whose path has spaces, runs a slow backup, and
 * stops the service the way WinSW does with `stopparentprocessfirst`: Ctrl+C to
 * the wrapper (SIGINT here). The wrapper asks the agent to stop over IPC; the
 * agent must cancel the backup so that restic removes its lock, report the job
 * and exit, leaving no restic behind.
 *
 * Not covered here (Windows only, unit-tested): raising Ctrl+C on restic's
 * console (the PowerShell helper) and `taskkill /T /F`.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeEnvelope, makeEnvelope } from '@rf/events';
import { windowsServiceConfig } from '../../apps/agent/src/services/service-installer.service';
import { hasExited, resticPidsInGroup, writeRandomFiles } from '../support/fleet';
import { repoRoot, ScriptedServer, tempDir, waitUntil, writeAgentConfig } from './agent-scripted-server';

const RESTIC = '/usr/bin/restic';
const PASSWORD = 'windows-service-e2e';
const TIMEOUT = 90_000;

interface WinswService {
  executable: string;
  args: string[];
  env: Record<string, string>;
  workingDirectory: string;
  stopTimeoutS: number;
  stopParentFirst: boolean;
}

const unescapeXml = (s: string): string =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** What WinSW would run for this node-windows service configuration (node-windows' own XML). */
function winswService(config: Record<string, unknown>): WinswService {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- node-windows' XML generator, not its Windows-only entry
  const Daemon = require('node-windows/lib/daemon') as new (c: Record<string, unknown>) => { _xml: string };
  const quiet = console.log;
  console.log = () => undefined; // node-windows prints its config while generating the XML
  let xml: string;
  try {
    xml = new Daemon(config)._xml;
  } finally {
    console.log = quiet;
  }
  const all = (tag: string): string[] =>
    [...xml.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => unescapeXml(m[1]!));
  const env: Record<string, string> = {};
  for (const m of xml.matchAll(/<env name="([^"]*)" value="([^"]*)"\/>/g))
    env[unescapeXml(m[1]!)] = unescapeXml(m[2]!);
  return {
    executable: all('executable')[0]!,
    args: all('argument'),
    env,
    workingDirectory: all('workingdirectory')[0]!,
    stopTimeoutS: Number.parseInt(all('stoptimeout')[0] ?? '0', 10),
    stopParentFirst: all('stopparentprocessfirst')[0] === 'true',
  };
}

/** Direct children of `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

describe('the Windows service wrapper stops the agent gracefully (node-windows on Linux, WinSW emulated)', () => {
  let root: string;
  let configPath: string;
  let server: ScriptedServer;
  let service: WinswService;
  let wrapper: ChildProcess | undefined;
  let wrapperExit: Promise<number | null>;
  const output: string[] = [];
  let agentPid = 0;
  let repo: string;

  before(async () => {
    root = tempDir('rf-winsvc-');
    const configDir = path.join(root, 'Program Data', 'restic fleet');
    fs.mkdirSync(configDir, { recursive: true });
    repo = path.join(root, 'repo');
    const data = path.join(root, 'data');
    writeRandomFiles(data, 4, 1024 * 1024);
    server = new ScriptedServer();
    server.onHello = (s) => s.configureRepository({ url: repo, password: PASSWORD });
    await server.start();
    configPath = writeAgentConfig({ dir: configDir, server }); // cancel_grace_s: 10
    assert.ok(configPath.includes(' '), 'the config path has spaces');

    service = winswService(
      windowsServiceConfig({
        agentBin: path.join(repoRoot(), 'bin', 'restic-fleet-agent.js'),
        configPath,
        cancelGraceS: 10,
      }),
    );
    wrapper = spawn(service.executable, service.args, {
      cwd: service.workingDirectory,
      env: { PATH: process.env.PATH ?? '', HOME: root, RF_RESTIC_BIN: RESTIC, ...service.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    wrapper.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
    wrapper.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
    wrapperExit = new Promise((resolve) => wrapper!.once('exit', (code) => resolve(code)));
    await waitUntil(
      'the agent, started by the wrapper, to say hello',
      () => server.hellos.length > 0,
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; wrapper output:\n${output.join('')}`);
    });
    agentPid = await waitUntil(
      'the agent process under the wrapper',
      () => childrenOf(wrapper!.pid!)[0],
      10_000,
    );
    const init = await server.runJob('init', {}, TIMEOUT);
    assert.equal(init.finished.payload.status, 'succeeded', init.finished.payload.error);
  });

  after(async () => {
    if (wrapper && wrapper.exitCode === null && wrapper.signalCode === null) wrapper.kill('SIGKILL');
    if (agentPid > 0 && !hasExited(agentPid)) process.kill(agentPid, 'SIGKILL');
    await server?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('the config path reaches the agent whole, through the service environment', () => {
    assert.equal(service.env.RF_AGENT_CONFIG, configPath);
    assert.ok(!service.args.some((a) => a.includes(configPath) || a.includes('"')), service.args.join(' | '));
    assert.ok(service.stopParentFirst, 'WinSW stops the wrapper first, which asks the agent');
    assert.ok(
      service.stopTimeoutS >= 10 + 20,
      `stoptimeout ${service.stopTimeoutS} s outlasts the agent's own stop`,
    );
  });

  it('a service stop during a backup cancels it, restic removes its lock, and nothing is left running', async () => {
    const jobId = `job-${randomUUID()}`;
    const data = path.join(root, 'data');
    server.sendRaw(
      encodeEnvelope(
        makeEnvelope('command.run', {
          job_id: jobId,
          kind: 'backup',
          args: { paths: [data], limit_upload_kib: 256 },
        }),
      ),
    );
    await server.waitFor('job.progress', (m) => m.payload.job_id === jobId, TIMEOUT);
    const resticPids = resticPidsInGroup(agentPid);
    assert.equal(resticPids.length, 1, 'restic is running the backup');

    // WinSW with stopparentprocessfirst: Ctrl+C to the wrapper only.
    process.kill(wrapper!.pid!, 'SIGINT');
    const finished = await server.waitFor('job.finished', (m) => m.payload.job_id === jobId, TIMEOUT);
    assert.equal(finished.payload.status, 'cancelled', finished.payload.error);
    const code = await Promise.race([
      wrapperExit,
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), service.stopTimeoutS * 1000)),
    ]);
    assert.notEqual(code, 'timeout', `the wrapper exits within WinSW's stoptimeout:\n${output.join('')}`);
    assert.ok(hasExited(agentPid), 'the agent exited');
    assert.ok(
      resticPids.every((p) => hasExited(p)),
      'no orphaned restic',
    );
    assert.match(output.join(''), /"reason":"service stop \(shutdown message\)"/);

    const locks = spawnSync(RESTIC, ['-r', repo, 'list', 'locks', '--no-lock'], {
      env: { PATH: process.env.PATH ?? '', HOME: root, RESTIC_PASSWORD: PASSWORD },
      encoding: 'utf8',
    });
    assert.equal(locks.status, 0, locks.stderr);
    assert.equal(locks.stdout.trim(), '', 'restic removed its lock: none is left in the repository');
  });
});
