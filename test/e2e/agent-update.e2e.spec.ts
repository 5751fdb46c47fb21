/**
 * Agent self-update end to end, with the single-file agent built under an older
 * version number: the real control plane offers its newer file on hello, the
 * agent runs it as a trial child and swaps it in once it connected. Against a
 * scripted control plane: a corrupted download is refused and a new file that
 * crashes at load is rolled back, the old agent running on in both cases; under
 * a service manager (the test restarts the agent on exit 75, as systemd would)
 * the restarted new version confirms, and one that never connects is replaced
 * by the previous file.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ScriptedServer, waitUntil, writeAgentConfig, agentBundlePath } from './agent-scripted-server';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { eventually, freePort, runNode } from '../support/fleet';
import { buildAgentVersion, childrenOf, InstalledAgent, sha256File } from '../support/installed-agent';
import { RestClient } from '../support/rest-client';

const OLD = '0.0.1';
const STEP = 90_000;

interface HostBody {
  id: string;
  status: string;
  agent_version: string | null;
}

describe('agent self-update', { timeout: 900_000 }, () => {
  let work: string;
  let oldBuild: string;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-update-'));
    oldBuild = await buildAgentVersion(OLD, path.join(work, 'old-build'));
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  /** A host directory holding the old single-file agent. */
  const oldHost = (name: string): string => {
    const dir = path.join(work, name);
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(oldBuild, path.join(dir, 'restic-fleet-agent.js'));
    return dir;
  };

  describe('from the real control plane', () => {
    let cp: ControlPlaneProcess;
    let admin: RestClient;
    const agents: InstalledAgent[] = [];
    let served: { version: string; sha256: string };

    before(async () => {
      const port = await freePort();
      cp = await ControlPlaneProcess.start({ port, env: { RF_PUBLIC_URL: `http://127.0.0.1:${port}` } });
      admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
      const res = await fetch(`${cp.url}/agent/restic-fleet-agent.js`);
      const bytes = Buffer.from(await res.arrayBuffer());
      served = {
        version: res.headers.get('x-rf-agent-version') ?? '',
        sha256: createHash('sha256').update(bytes).digest('hex'),
      };
      assert.notEqual(served.version, OLD);
    });
    after(async () => {
      for (const a of agents) await a.stop();
      await cp?.stop();
      cp?.removeDataDir();
    });

    /** Enrols the old agent in `dir` with its own `enrol` command and extra agent.yaml settings. */
    async function enrolOld(dir: string, extra: string): Promise<{ agent: InstalledAgent; hostId: string }> {
      const tok = await admin.post<{ token: string }>('/api/enrolment-tokens', {});
      const file = path.join(dir, 'restic-fleet-agent.js');
      const config = path.join(dir, 'agent.yaml');
      const r = await runNode(file, ['enrol', '--server', cp.url, '--config', config], {
        PATH: process.env.PATH ?? '',
        RF_ENROL_TOKEN: tok.body.token,
      });
      assert.equal(r.code, 0, r.stderr);
      fs.appendFileSync(config, `reconnect_initial_ms: 200\nreconnect_max_ms: 1000\n${extra}`);
      const hostId = /agent_id: (\S+)/.exec(fs.readFileSync(config, 'utf8'))![1]!;
      const agent = new InstalledAgent(file, config, { HOME: work });
      agents.push(agent);
      agent.start();
      return { agent, hostId };
    }

    const hostBody = async (id: string): Promise<HostBody> =>
      (await admin.get<HostBody>(`/api/hosts/${id}`)).body;

    it('an older agent with auto_update is offered the new one, updates itself and reconnects with the new version', async () => {
      const dir = oldHost('auto');
      const file = path.join(dir, 'restic-fleet-agent.js');
      const oldSha = sha256File(file);
      const { agent, hostId } = await enrolOld(dir, 'auto_update: true\n');
      const updated = await eventually(
        `the host to reconnect with agent ${served.version}`,
        async () => {
          const h = await hostBody(hostId);
          return h.status === 'online' && h.agent_version === served.version ? h : undefined;
        },
        STEP,
      );
      assert.equal(updated.agent_version, served.version);
      assert.equal(sha256File(file), served.sha256, 'the new file is in place');
      assert.equal(sha256File(`${file}.prev`), oldSha, 'the old file is kept for a manual rollback');
      assert.ok(!fs.existsSync(`${file}.new`));
      assert.ok(agent.logged(/agent: downloading the offered agent/));
      assert.ok(agent.logged(/agent: updated; the new agent is connected/));
      // No service manager here: the new agent runs as the old process's only child.
      assert.ok(agent.running, 'the process started by the operator is still there');
      assert.equal(childrenOf(agent.pid).length, 1);
      const audit = await admin.get<{ lines: Array<{ action: string; summary: string }> }>(
        `/api/audit?stream=${encodeURIComponent(`host-${hostId}`)}`,
      );
      const connects = audit.body.lines.filter((e) => e.action === 'AgentConnected').map((e) => e.summary);
      assert.ok(
        connects.some((s) => s.includes(`agent ${OLD}`)) &&
          connects.some((s) => s.includes(`agent ${served.version}`)),
        connects.join('\n'),
      );
      // SIGTERM reaches the adopted agent; both exit.
      const child = childrenOf(agent.pid)[0]!;
      assert.equal(await agent.stop(), 0);
      await waitUntil(
        'the adopted agent to exit',
        () => !fs.existsSync(`/proc/${child}/stat`) || undefined,
        30_000,
      );
    });

    it('the Update button offers the file on demand and is recorded; an offline host gets a clear 409', async () => {
      const dir = oldHost('manual');
      const { agent, hostId } = await enrolOld(dir, '');
      await eventually(
        'the old agent to be online',
        async () => (await hostBody(hostId)).status === 'online',
        STEP,
      );
      const res = await admin.post<{ version: string; sha256: string }>(`/api/hosts/${hostId}/agent-update`);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.deepEqual(res.body, served);
      const audit = await admin.get<{ lines: Array<{ action: string; summary: string }> }>(
        `/api/audit?stream=${encodeURIComponent(`host-${hostId}`)}`,
      );
      const requested = audit.body.lines.find((e) => e.action === 'AgentUpdateRequested');
      assert.match(
        requested?.summary ?? '',
        new RegExp(`asked the agent of .* to update to ${served.version.replace(/\./g, '\\.')}`),
      );
      // Without auto_update the agent only says what to do, once.
      await waitUntil(
        'the agent to log the offer',
        () => agent.logged(/set auto_update: true in agent\.yaml/) || undefined,
        30_000,
      );
      assert.equal(agent.logLines.filter((l) => /set auto_update: true/.test(l)).length, 1);
      assert.equal((await hostBody(hostId)).agent_version, OLD);
      await agent.stop();
      await eventually(
        'the host to go offline',
        async () => (await hostBody(hostId)).status === 'offline',
        STEP,
      );
      const offline = await admin.post<{ error: { code: string; message: string } }>(
        `/api/hosts/${hostId}/agent-update`,
      );
      assert.equal(offline.status, 409);
      assert.match(JSON.stringify(offline.body), /offline/);
    });
  });

  describe('against a scripted control plane: refusals, rollback, service-manager restarts', () => {
    let server: ScriptedServer;
    let agent: InstalledAgent | undefined;

    before(async () => {
      server = new ScriptedServer();
      await server.start();
    });
    after(async () => {
      await agent?.stop();
      await server.stop();
    });

    async function startOld(name: string): Promise<{ file: string; agent: InstalledAgent }> {
      await agent?.stop();
      const dir = oldHost(name);
      const config = writeAgentConfig({ dir, server, config: { auto_update: true } });
      const file = path.join(dir, 'restic-fleet-agent.js');
      agent = new InstalledAgent(file, config, { HOME: work });
      const hellos = server.hellos.length;
      agent.start();
      await waitUntil('the old agent to say hello', () => server.hellos.length > hellos || undefined, 30_000);
      return { file, agent };
    }

    const offer = (
      pathName: string,
      bytes: Buffer,
      sha256 = createHash('sha256').update(bytes).digest('hex'),
      version = '9.9.9',
    ) => {
      server.files.set(pathName, bytes);
      server.send('agent.update_available', { version, sha256, url: `${server.url}${pathName}` });
    };

    it('a corrupted download is refused and the old agent keeps running', async () => {
      const { file, agent: a } = await startOld('corrupt');
      const before = sha256File(file);
      const hellos = server.hellos.length;
      const good = fs.readFileSync(agentBundlePath());
      const corrupted = Buffer.from(good);
      corrupted[corrupted.length - 2] ^= 0xff;
      offer('/agent/restic-fleet-agent.js', corrupted, createHash('sha256').update(good).digest('hex'));
      await waitUntil(
        'the refusal',
        () => a.logged(/does not match the offered sha256; keeping this agent/) || undefined,
        30_000,
      );
      assert.deepEqual(server.fetched, ['/agent/restic-fleet-agent.js']);
      assert.equal(sha256File(file), before, 'the running file is untouched');
      assert.ok(!fs.existsSync(`${file}.new`) && !fs.existsSync(`${file}.prev`));
      assert.ok(a.running && server.connected, 'still running, still connected');
      assert.equal(server.hellos.length, hellos, 'it never even disconnected');
      // It still does its work: a bad command is answered.
      server.sendRaw(
        JSON.stringify({
          v: 1,
          id: '6f0c5a34-7d0e-4b7e-9b0e-3f0d7e2a9c11',
          type: 'command.run',
          ts: new Date().toISOString(),
          job_id: 'after-refusal-1',
          payload: { job_id: 'after-refusal-1', kind: 'frobnicate', args: {} },
        }),
      );
      const answer = await server.waitFor(
        'command.result',
        (m) => m.payload.job_id === 'after-refusal-1',
        30_000,
      );
      assert.equal(answer.payload.accepted, false);
      // The same offer again is not downloaded again.
      offer('/agent/restic-fleet-agent.js', corrupted, createHash('sha256').update(good).digest('hex'));
      await waitUntil(
        'the agent to decline a retry',
        () => a.logged(/already failed here/) || undefined,
        30_000,
      );
      assert.equal(server.fetched.length, 1);
    });

    it('under a service manager: swaps, exits 75 for a restart, and the restarted new version confirms', async () => {
      await agent?.stop();
      const dir = oldHost('supervised');
      const config = writeAgentConfig({ dir, server, config: { auto_update: true } });
      const file = path.join(dir, 'restic-fleet-agent.js');
      const oldSha = sha256File(file);
      const manifest = JSON.parse(fs.readFileSync(agentBundlePath().replace(/\.js$/, '.json'), 'utf8')) as {
        version: string;
        sha256: string;
      };
      // This test plays systemd: it restarts the agent when it exits 75 (Restart=on-failure).
      const env = { HOME: work, RF_AGENT_SUPERVISOR: 'systemd' };
      const first = new InstalledAgent(file, config, env);
      agent = first;
      const hellos = server.hellos.length;
      first.start();
      await waitUntil('the old agent to say hello', () => server.hellos.length > hellos || undefined, 30_000);
      offer(
        '/agent/restic-fleet-agent.js',
        fs.readFileSync(agentBundlePath()),
        manifest.sha256,
        manifest.version,
      );
      const code = await first.exitCode(60_000);
      assert.equal(code, 75, first.logLines.slice(-10).join('\n'));
      assert.ok(first.logged(/restarting through the service manager/));
      assert.equal(sha256File(file), manifest.sha256, 'the new file is in place before the restart');
      assert.equal(sha256File(`${file}.prev`), oldSha);
      const marker = JSON.parse(fs.readFileSync(`${file}.update.json`, 'utf8')) as Record<string, unknown>;
      assert.deepEqual([marker.from_version, marker.to_version, marker.starts], [OLD, manifest.version, 0]);

      const restarted = new InstalledAgent(file, config, env);
      agent = restarted;
      const before = server.hellos.length;
      restarted.start();
      await waitUntil(
        'the new version to confirm',
        () => restarted.logged(/update confirmed/) || undefined,
        30_000,
      );
      const hello = server.hellos.slice(before).at(-1)!;
      assert.equal(hello.type === 'hello' ? hello.payload.agent_version : '', manifest.version);
      assert.ok(!fs.existsSync(`${file}.update.json`), 'the marker is cleared once it connected');
    });

    it('under a service manager: a new version that keeps failing to connect puts the previous file back', async () => {
      await agent?.stop();
      const dir = oldHost('crash-loop');
      const config = writeAgentConfig({ dir, server, config: { auto_update: true } });
      const file = path.join(dir, 'restic-fleet-agent.js');
      // The state after an update to this very file whose restarts never connected.
      fs.copyFileSync(file, `${file}.prev`);
      fs.writeFileSync(file, fs.readFileSync(agentBundlePath()));
      const manifest = JSON.parse(fs.readFileSync(agentBundlePath().replace(/\.js$/, '.json'), 'utf8')) as {
        version: string;
      };
      fs.writeFileSync(
        `${file}.update.json`,
        JSON.stringify({
          from_version: OLD,
          to_version: manifest.version,
          promoted_at: new Date().toISOString(),
          starts: 3,
        }),
      );
      const prevSha = sha256File(`${file}.prev`);
      const a = new InstalledAgent(file, config, { HOME: work, RF_AGENT_SUPERVISOR: 'systemd' });
      agent = a;
      a.start();
      assert.equal(await a.exitCode(30_000), 75);
      assert.ok(a.logged(/update rolled back: it started 3 times without connecting/));
      assert.equal(sha256File(file), prevSha, 'the previous file is back');
      assert.ok(!fs.existsSync(`${file}.prev`) && !fs.existsSync(`${file}.update.json`));
    });

    it('a new file that crashes at load is rolled back and the old agent reconnects', async () => {
      const { file, agent: a } = await startOld('crash');
      const before = sha256File(file);
      const hellos = server.hellos.length;
      offer('/agent/crashing.js', Buffer.from('throw new Error("this agent cannot even load");\n'));
      await waitUntil(
        'the rollback',
        () => a.logged(/update rolled back: the new agent failed its trial/) || undefined,
        60_000,
      );
      assert.ok(a.logged(/exited \(code 1\) before it connected/));
      await waitUntil(
        'the old agent to say hello again',
        () => server.hellos.length > hellos || undefined,
        30_000,
      );
      const hello = server.hellos.at(-1)!;
      assert.equal(hello.type === 'hello' ? hello.payload.agent_version : '', OLD);
      assert.equal(sha256File(file), before);
      assert.ok(!fs.existsSync(`${file}.new`) && !fs.existsSync(`${file}.prev`));
      assert.ok(a.running);
      assert.deepEqual(childrenOf(a.pid), [], 'no trial child left behind');
    });
  });
});
