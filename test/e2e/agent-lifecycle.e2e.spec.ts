/**
 * The agent CLI and daemon around the jobs: enrol, config file, refused
 * credentials, server errors, rejected commands, hooks, scheduled fires.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import {
  AgentProcess,
  jobLogLines,
  repoRoot,
  ScriptedServer,
  tempDir,
  waitUntil,
  writeAgentConfig,
} from './agent-scripted-server';

const CLI = (): string => path.join(repoRoot(), 'dist', 'apps', 'agent', 'src', 'cli.js');
const TIMEOUT = 60_000;

/** Runs the CLI without blocking the event loop (the scripted server lives in this process). */
function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('close', (status) => {
      clearTimeout(t);
      resolve({ status, stdout, stderr });
    });
  });
}

describe('restic-fleet-agent CLI', () => {
  let dir: string;
  let server: ScriptedServer;

  before(async () => {
    dir = tempDir('rf-agent-cli-');
    server = new ScriptedServer();
    await server.start();
  });
  after(async () => {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('--help explains the commands', async () => {
    const r = await cli(['--help']);
    assert.equal(r.status, 0);
    for (const word of [
      'enrol --server URL --token TOKEN',
      'run [--config PATH]',
      'service install',
      '/etc/restic-fleet/agent.yaml',
    ]) {
      assert.ok(r.stdout.includes(word), word);
    }
  });

  it('enrol posts host facts and writes the config atomically with mode 0600', async () => {
    const configPath = path.join(dir, 'etc', 'agent.yaml');
    const r = await cli([
      'enrol',
      '--server',
      server.url,
      '--token',
      server.enrolToken,
      '--config',
      configPath,
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`enrolled as agent ${server.agentId}`));
    assert.ok(!r.stdout.includes(server.agentSecret), 'the secret is not printed');
    assert.equal(fs.statSync(configPath).mode & 0o777, 0o600);
    const doc = YAML.parse(fs.readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    assert.equal(doc.schema_version, 1);
    assert.equal(doc.agent_id, server.agentId);
    assert.equal(doc.agent_secret, server.agentSecret);
    assert.equal(doc.server, server.url);
    assert.equal(server.enrolled?.os, 'linux');
    assert.ok(typeof server.enrolled?.hostname === 'string');
    assert.ok(['amd64', 'arm64'].includes(String(server.enrolled?.arch)));
  });

  it('a rejected or expired token says to create a new token in the UI', async () => {
    const r = await cli([
      'enrol',
      '--server',
      server.url,
      '--token',
      'wrong',
      '--config',
      path.join(dir, 'x.yaml'),
    ]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /rejected the enrolment token/);
    assert.match(r.stderr, /Create a new token in the UI/);
    assert.ok(!fs.existsSync(path.join(dir, 'x.yaml')));
  });

  it('an unreachable server is named clearly', async () => {
    const r = await cli([
      'enrol',
      '--server',
      'http://127.0.0.1:9',
      '--token',
      't',
      '--config',
      path.join(dir, 'y.yaml'),
    ]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cannot reach the control plane at http:\/\/127\.0\.0\.1:9/);
  });

  it('refuses plain http:// to another machine, at enrol and at run, saying why', async () => {
    // 192.0.2.0/24 is reserved for documentation: nothing is ever sent there, the refusal comes first.
    const configPath = path.join(dir, 'insecure.yaml');
    const r = await cli([
      'enrol',
      '--server',
      'http://192.0.2.10:8080',
      '--token',
      't',
      '--config',
      configPath,
    ]);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /uses plain http:\/\/ to another machine, so the agent secret and repository passwords would cross the network unencrypted/,
    );
    assert.match(r.stderr, /add --allow-insecure/);
    assert.ok(!fs.existsSync(configPath), 'nothing written');

    fs.writeFileSync(
      configPath,
      YAML.stringify({
        schema_version: 1,
        server: 'http://192.0.2.10:8080',
        agent_id: 'a',
        agent_secret: 's',
      }),
      { mode: 0o600 },
    );
    const run = await cli(['run', '--config', configPath]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /would cross the network unencrypted.*set allow_insecure: true/);
    assert.match(run.stderr, /\[server\]/);
  });

  it('bad input names the field', async () => {
    assert.match((await cli(['enrol', '--token', 't'])).stderr, /--server URL is required/);
    assert.match(
      (await cli(['enrol', '--server', 'ftp://x', '--token', 't'])).stderr,
      /--server must be an http\(s\) URL/,
    );
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(
      bad,
      'schema_version: 1\nserver: http://127.0.0.1:1\nagent_id: a\nagent_secret: s\nheartbeat_interval_s: -4\n',
    );
    const r = await cli(['run', '--config', bad]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /heartbeat_interval_s must be a number/);
    assert.match(r.stderr, /\[heartbeat_interval_s\]/);
  });

  it('a config file that is not YAML is moved aside, not silently replaced', async () => {
    const broken = path.join(dir, 'broken.yaml');
    fs.writeFileSync(broken, 'server: [unclosed\n  - : :\n');
    const r = await cli(['run', '--config', broken]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /moved aside/);
    assert.equal(fs.readdirSync(dir).filter((f) => f.startsWith('broken.yaml.corrupt-')).length, 1);
  });
});

describe('agent daemon behaviour (real agent process, restic 0.14)', () => {
  let dir: string;
  let server: ScriptedServer;
  let agent: AgentProcess;
  let repo: string;

  before(async () => {
    dir = tempDir('rf-agent-life-');
    repo = path.join(dir, 'repo');
    server = new ScriptedServer();
    await server.start();
    agent = new AgentProcess(writeAgentConfig({ dir, server, config: { allow_hooks: true } }), {
      RF_RESTIC_BIN: '/usr/bin/restic',
    });
    await waitUntil('the agent to connect', () => server.hellos.length > 0, 20_000);
  });

  it('says in its hello that this host allows hooks', () => {
    const hello = server.hellos[0];
    assert.ok(hello?.type === 'hello' && hello.payload.allow_hooks === true);
  });
  after(async () => {
    await agent?.stop();
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('rejects a job while no repository is configured', async () => {
    const { finished } = await server.runJob('snapshots', {}, 2000).catch(() => ({ finished: undefined }));
    assert.equal(finished, undefined, 'no job.finished: the job never ran');
    const result = await server.waitFor('command.result', (m) => !m.payload.accepted, TIMEOUT);
    assert.match(result.payload.error ?? '', /no repository is configured/);
  });

  it('rejects bad args naming the field, and keeps the connection', async () => {
    server.configureRepository({ url: repo, password: 'life-password' });
    server.sendRaw(
      JSON.stringify({
        v: 1,
        id: '6f1c1f49-5d1a-4a57-9d7e-5b1b8c3f0a11',
        type: 'command.run',
        ts: new Date().toISOString(),
        payload: { job_id: 'bad-args-1', kind: 'backup', args: { paths: ['-rf'] } },
      }),
    );
    const r = await server.waitFor('command.result', (m) => m.payload.job_id === 'bad-args-1', TIMEOUT);
    assert.equal(r.payload.accepted, false);
    assert.match(r.payload.error ?? '', /paths/);
    const init = await server.runJob('init', {}, TIMEOUT);
    assert.equal(init.finished.payload.status, 'succeeded', init.finished.payload.error);
  });

  it('runs schedule hooks: output goes to the log as stream hook; a failing pre-hook fails the job without restic', async () => {
    server.send('schedule.set', {
      version: 5,
      schedules: [
        {
          id: 'good',
          kind: 'snapshots',
          cron: '0 0 1 1 *',
          enabled: true,
          pre_hook: 'echo preparing',
          post_hook: 'echo cleaned up',
        },
        {
          id: 'badpre',
          kind: 'snapshots',
          cron: '0 0 1 1 *',
          enabled: true,
          pre_hook: 'echo no database; exit 4',
        },
        {
          id: 'slowpre',
          kind: 'snapshots',
          cron: '0 0 1 1 *',
          enabled: true,
          pre_hook: 'sleep 30',
          hook_timeout_s: 1,
        },
        { id: 'badpost', kind: 'snapshots', cron: '0 0 1 1 *', enabled: true, post_hook: 'exit 2' },
      ],
    });
    await server.waitFor('schedule.ack', (m) => m.payload.version === 5, TIMEOUT);

    const good = await server.runJob('snapshots', {}, TIMEOUT, { schedule_id: 'good' });
    assert.equal(good.finished.payload.status, 'succeeded');
    const gl = jobLogLines(good.messages);
    assert.ok(gl.includes('hook: preparing') && gl.includes('hook: cleaned up'), gl.join('\n'));
    assert.ok(
      gl.indexOf('hook: preparing') < gl.findIndex((l) => l.startsWith('stdout:')),
      'pre-hook before restic',
    );

    const bad = await server.runJob('snapshots', {}, TIMEOUT, { schedule_id: 'badpre' });
    assert.equal(bad.finished.payload.status, 'failed');
    assert.equal(bad.finished.payload.error_code, 'pre_hook_failed');
    assert.match(bad.finished.payload.error ?? '', /pre-hook failed: exited with code 4; restic was not run/);
    assert.ok(jobLogLines(bad.messages).includes('hook: no database'));
    assert.ok(!jobLogLines(bad.messages).some((l) => l.startsWith('stdout:')), 'restic did not run');
    assert.equal(bad.messages.filter((m) => m.type === 'snapshots.report').length, 0);

    const slow = await server.runJob('snapshots', {}, TIMEOUT, { schedule_id: 'slowpre' });
    assert.equal(slow.finished.payload.status, 'failed');
    assert.match(slow.finished.payload.error ?? '', /timed out after 1 s/);

    const post = await server.runJob('snapshots', {}, TIMEOUT, { schedule_id: 'badpost' });
    assert.equal(post.finished.payload.status, 'warning');
    assert.match(post.finished.payload.error ?? '', /post-hook failed/);
  });

  it('a schedule tick sends a durable schedule.fire', async () => {
    server.send('schedule.set', {
      version: 6,
      schedules: [{ id: 'every-sec', kind: 'snapshots', cron: '* * * * * *', enabled: true }],
    });
    await server.waitFor('schedule.ack', (m) => m.payload.version === 6, TIMEOUT);
    const fire = await server.waitFor('schedule.fire', (m) => m.payload.schedule_id === 'every-sec', TIMEOUT);
    assert.ok(Date.parse(fire.payload.scheduled_at) <= Date.now());
    server.send('schedule.set', { version: 7, schedules: [] });
    await server.waitFor('schedule.ack', (m) => m.payload.version === 7, TIMEOUT);
  });

  it('a server error about the protocol version is logged clearly and the agent backs off', async () => {
    const hellos = server.hellos.length;
    server.send('error', { code: 'unsupported_version', message: 'protocol version 1 is not supported' });
    await waitUntil(
      'the agent log line',
      () => agent.logged(/does not speak this agent's protocol version/),
      TIMEOUT,
    );
    await waitUntil('the disconnect', () => !server.connected, TIMEOUT);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(server.hellos.length, hellos, 'no quick reconnect after a protocol mismatch');
  });
});

describe('agent with a refused credential', () => {
  it('logs that the credential was refused and retries only slowly', async () => {
    const dir = tempDir('rf-agent-401-');
    const server = new ScriptedServer();
    server.rejectAuth = true;
    await server.start();
    const agent = new AgentProcess(
      writeAgentConfig({ dir, server, config: { reconnect_unauthorized_ms: 60_000 } }),
      { RF_RESTIC_BIN: '/usr/bin/restic' },
    );
    try {
      await waitUntil('the refusal log line', () => agent.logged(/refused this agent's credential/), TIMEOUT);
      await new Promise((r) => setTimeout(r, 2000));
      assert.equal(server.authFailures.length, 1, 'one attempt, then the slow retry period');
      assert.ok(agent.logged(/new token from the UI/));
      assert.ok(!agent.logLines.join('\n').includes(server.agentSecret), 'the secret is not logged');
    } finally {
      await agent.stop();
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
