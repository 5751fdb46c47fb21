/**
 * "Add host" end to end: a host with nothing but Node.js and restic — an empty
 * directory with no node_modules anywhere above it — runs the install.sh the
 * real control plane serves (--prefix/--no-service), starts the agent with the
 * command the script prints, comes online and completes a backup with real
 * restic. A second run updates the file and never enrols again.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess, repoRoot } from '../support/control-plane.process';
import { eventually, freePort, writeRandomFiles, type CliResult } from '../support/fleet';
import { InstalledAgent, memoryOf, nodeModulesAbove, sha256File } from '../support/installed-agent';
import { RestClient } from '../support/rest-client';

const STEP = 90_000;

interface HostBody {
  id: string;
  hostname: string | null;
  status: string;
  agent_version: string | null;
  restic_version: string | null;
}

/** `curl -fsSL <cp>/agent/install.sh | sh -s -- <args>` as an operator pastes it (minus sudo: the test runs as root or uses --no-service). */
function pipeInstaller(cpUrl: string, args: string[], cwd: string): Promise<CliResult> {
  const line = `curl -fsSL ${cpUrl}/agent/install.sh | sh -s -- ${args.map((a) => `'${a}'`).join(' ')}`;
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', line], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: cwd },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), STEP);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('install.sh from the control plane onto an empty host', { timeout: 600_000 }, () => {
  let cp: ControlPlaneProcess;
  let admin: RestClient;
  let host: string;
  let agent: InstalledAgent | undefined;
  let hostId = '';
  let token = '';

  before(async () => {
    const port = await freePort();
    cp = await ControlPlaneProcess.start({ port, env: { RF_PUBLIC_URL: `http://127.0.0.1:${port}` } });
    admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
    host = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-host-'));
  });

  after(async () => {
    await agent?.stop();
    await cp?.stop();
    cp?.removeDataDir();
    if (host) fs.rmSync(host, { recursive: true, force: true });
  });

  it('Add host gives a one-time token and the install one-liner for this control plane', async () => {
    const res = await admin.post<{
      token: string;
      expires_at: string;
      command: string;
      windows_command: string;
    }>('/api/enrolment-tokens', {});
    assert.equal(res.status, 201, JSON.stringify(res.body));
    token = res.body.token;
    assert.equal(res.body.command, `curl -fsSL ${cp.url}/agent/install.sh | sudo sh -s -- --token ${token}`);
    assert.ok(Date.parse(res.body.expires_at) > Date.now());
    assert.equal(
      res.body.windows_command,
      `& ([scriptblock]::Create((irm '${cp.url}/agent/install.ps1'))) -Token '${token}'`,
    );
    // Both scripts are served with this control plane's URL as their default server.
    const sh = await fetch(`${cp.url}/agent/install.sh`).then((r) => r.text());
    const ps1 = await fetch(`${cp.url}/agent/install.ps1`).then((r) => r.text());
    assert.ok(sh.includes(`RF_SERVER_DEFAULT='${cp.url}'`));
    assert.ok(ps1.includes(`[string]$Server = '${cp.url}'`));
  });

  it('installs into an empty directory with no node_modules above it and prints the run command', async () => {
    const dir = path.join(host, 'agent');
    fs.mkdirSync(dir);
    assert.deepEqual(fs.readdirSync(dir), [], 'the host directory starts empty');
    assert.deepEqual(nodeModulesAbove(dir), [], 'no node_modules anywhere above the host directory');

    const r = await pipeInstaller(cp.url, ['--token', token, '--prefix', dir, '--no-service'], host);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['agent.yaml', 'restic-fleet-agent.js']);
    const file = path.join(dir, 'restic-fleet-agent.js');
    const config = path.join(dir, 'agent.yaml');
    const printed = r.stdout.trim().split('\n').at(-1);
    assert.equal(printed, `node ${file} run --config ${config}`);
    assert.match(r.stdout, /enrolled with http:\/\/127\.0\.0\.1:\d+; config .*agent\.yaml \(mode 0600\)/);
    assert.equal(fs.statSync(config).mode & 0o777, 0o600);
    const served = await fetch(`${cp.url}/agent/restic-fleet-agent.js.sha256`).then((x) => x.text());
    assert.equal(sha256File(file), served.split(' ')[0], 'the installed file is the one served');
    assert.ok(!r.stdout.includes(token) && !r.stderr.includes(token), 'the token is never printed');

    // Exactly the printed command, from the host directory, with nothing but PATH and HOME.
    const [node, script, run, flag, configArg] = printed!.split(' ');
    assert.deepEqual([node, run, flag], ['node', 'run', '--config']);
    agent = new InstalledAgent(script!, configArg!, { HOME: host });
    agent.start();
    const online = await eventually(
      'the installed agent to come online',
      async () => {
        const hosts = (await admin.get<{ hosts: HostBody[] }>('/api/hosts')).body.hosts;
        return hosts.length === 1 && hosts[0]!.status === 'online' ? hosts[0] : undefined;
      },
      STEP,
    );
    hostId = online.id;
    assert.equal(online.hostname, os.hostname());
    const version = (
      JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as { version: string }
    ).version;
    assert.equal(online.agent_version, version);
    assert.match(online.restic_version ?? '', /^\d+\.\d+\.\d+$/, 'it found restic on its own');
  });

  it('completes a backup with real restic; the agent RSS afterwards goes in the note', async () => {
    const data = path.join(host, 'data');
    writeRandomFiles(path.join(data, 'docs'), 200, 16 * 1024);
    const repo = await admin.put(`/api/hosts/${hostId}/repository`, {
      url: path.join(host, 'repo'),
      password: 'install-e2e-password',
    });
    assert.equal(repo.status, 200, JSON.stringify(repo.body));
    for (const body of [{ kind: 'init' }, { kind: 'backup', paths: [data] }]) {
      const res = await admin.post<{ job_id: string }>(`/api/hosts/${hostId}/jobs`, body);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      const job = await eventually(
        `${body.kind} to finish`,
        async () => {
          const j = (await admin.get<{ status: string }>(`/api/jobs/${res.body.job_id}`)).body;
          return ['succeeded', 'warning', 'failed', 'cancelled', 'lost'].includes(j.status) ? j : undefined;
        },
        STEP,
      );
      assert.equal(
        job.status,
        'succeeded',
        `${body.kind}: ${JSON.stringify(job)}\n${agent!.logLines.slice(-20).join('\n')}`,
      );
    }
    const snapshots = await eventually(
      'the backup snapshot to be reported',
      async () => {
        const s = (await admin.get<{ snapshots: unknown[] }>(`/api/hosts/${hostId}/snapshots`)).body
          .snapshots;
        return s.length === 1 ? s : undefined;
      },
      STEP,
    );
    assert.equal(snapshots.length, 1);
    const mem = memoryOf(agent!.pid);
    process.stdout.write(
      `# installed agent (single file) after the backup: RSS ${mem.rssMb.toFixed(1)} MB, peak ${mem.peakMb.toFixed(1)} MB (target <= 60 MB)\n`,
    );
    assert.ok(Number.isFinite(mem.rssMb) && mem.rssMb > 0);
  });

  it('a second run updates the agent file, keeps the enrolment and never adds a host', async () => {
    const dir = path.join(host, 'agent');
    const before = fs.readFileSync(path.join(dir, 'agent.yaml'), 'utf8');
    const r = await pipeInstaller(cp.url, ['--prefix', dir, '--no-service'], host);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /already enrolled; kept/);
    assert.match(r.stdout, /restart the running agent to use the new file/);
    assert.equal(fs.readFileSync(path.join(dir, 'agent.yaml'), 'utf8'), before, 'config untouched');
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => !['agent.yaml', 'restic-fleet-agent.js', 'state'].includes(f)),
      [],
      'no temporary files left behind',
    );
    const hosts = (await admin.get<{ hosts: HostBody[] }>('/api/hosts')).body.hosts;
    assert.deepEqual(
      hosts.map((h) => h.id),
      [hostId],
    );
    assert.ok(agent!.running, 'the running agent was left alone');
  });
});
