/**
 * `servers: [url, …]` in agent.yaml: the single-file agent uses the first
 * control plane that answers and fails over between them with its usual
 * backoff — against the real control plane with the first URL down, and
 * between two scripted control planes that go away in turn.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { agentBundlePath, ScriptedServer, waitUntil, writeAgentConfig } from './agent-scripted-server';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { eventually, freePort, runNode } from '../support/fleet';
import { InstalledAgent } from '../support/installed-agent';
import { RestClient } from '../support/rest-client';

describe('several control-plane URLs', { timeout: 300_000 }, () => {
  let work: string;
  const agents: InstalledAgent[] = [];

  before(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-failover-'));
  });
  after(async () => {
    for (const a of agents) await a.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  /** The single-file agent copied into its own host directory. */
  const hostDir = (name: string): { dir: string; file: string } => {
    const dir = path.join(work, name);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'restic-fleet-agent.js');
    fs.copyFileSync(agentBundlePath(), file);
    return { dir, file };
  };

  it('with the first URL down, the agent comes online through the second (real control plane)', async () => {
    const port = await freePort();
    const cp = await ControlPlaneProcess.start({ port, env: { RF_PUBLIC_URL: `http://127.0.0.1:${port}` } });
    try {
      const admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
      const { dir, file } = hostDir('real');
      const config = path.join(dir, 'agent.yaml');
      const tok = await admin.post<{ token: string }>('/api/enrolment-tokens', {});
      const enrol = await runNode(file, ['enrol', '--server', cp.url, '--config', config], {
        PATH: process.env.PATH ?? '',
        RF_ENROL_TOKEN: tok.body.token,
      });
      assert.equal(enrol.code, 0, enrol.stderr);
      const down = `http://127.0.0.1:${await freePort()}`;
      const doc = YAML.parse(fs.readFileSync(config, 'utf8')) as Record<string, unknown>;
      delete doc.server;
      Object.assign(doc, { servers: [down, cp.url], reconnect_initial_ms: 200, reconnect_max_ms: 1000 });
      fs.writeFileSync(config, YAML.stringify(doc), { mode: 0o600 });

      const agent = new InstalledAgent(file, config, { HOME: work });
      agents.push(agent);
      agent.start();
      const hostId = String(doc.agent_id);
      await eventually(
        'the agent to come online through the second URL',
        async () => (await admin.get<{ status: string }>(`/api/hosts/${hostId}`)).body.status === 'online',
        60_000,
      );
      const downPort = new URL(down).port;
      const lines = (needle: string, url: string): boolean =>
        agent.logLines.some((l) => l.includes(needle) && l.includes(url));
      assert.ok(lines('agent: connection error', `127.0.0.1:${downPort}/agent`), 'it tried the first URL');
      assert.ok(lines('agent: connected to control plane', `127.0.0.1:${port}/agent`), 'then used the second');
      await agent.stop();
    } finally {
      await cp.stop();
      cp.removeDataDir();
    }
  });

  it('fails over when its control plane goes away, and back again (two scripted control planes)', async () => {
    const a = new ScriptedServer();
    await a.start();
    const b = new ScriptedServer({ agentId: a.agentId, agentSecret: a.agentSecret });
    await b.start();
    try {
      const { dir, file } = hostDir('scripted');
      const config = writeAgentConfig({ dir, server: a, config: { servers: [a.url, b.url] } });
      const agent = new InstalledAgent(file, config, { HOME: work });
      agents.push(agent);
      agent.start();
      await waitUntil(
        'the agent on the first control plane',
        () => (a.connected && a.hellos.length === 1) || undefined,
        30_000,
      );
      assert.equal(b.hellos.length, 0, 'the second is not used while the first answers');

      await a.stop();
      await waitUntil(
        'the agent on the second control plane',
        () => (b.connected && b.hellos.length === 1) || undefined,
        30_000,
      );
      // Durable messages flow through the second one: a schedule is applied and acknowledged there.
      b.send('schedule.set', { version: 1, schedules: [] });
      const ack = await b.waitFor('schedule.ack', (m) => m.payload.version === 1, 30_000);
      assert.equal(ack.payload.version, 1);

      await a.start();
      await b.stop();
      await waitUntil(
        'the agent back on the first control plane',
        () => (a.connected && a.hellos.length === 2) || undefined,
        30_000,
      );
      await agent.stop();
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
