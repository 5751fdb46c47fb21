/**
 * Durable outbox, end to end: the control plane goes away mid-backup and
 * comes back; the agent is killed with unacknowledged messages and restarted.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { WireMessage } from '@rf/events';
import { AgentProcess, ScriptedServer, tempDir, waitUntil, writeAgentConfig } from './agent-scripted-server';

const PASSWORD = 'outbox-test-password';
const TIMEOUT = 120_000;

describe('agent outbox across control-plane outages and agent restarts (real agent, restic 0.14)', () => {
  let dir: string;
  let server: ScriptedServer;
  let agent: AgentProcess;
  let configPath: string;
  let repo: string;

  before(async () => {
    dir = tempDir('rf-agent-outbox-');
    repo = path.join(dir, 'repo');
    server = new ScriptedServer();
    server.onHello = (s) => s.configureRepository({ url: repo, password: PASSWORD });
    await server.start();
    configPath = writeAgentConfig({ dir, server, config: { heartbeat_interval_s: 1, allow_hooks: true } });
    agent = new AgentProcess(configPath, { RF_RESTIC_BIN: '/usr/bin/restic' });
    await waitUntil('the agent to connect', () => server.hellos.length > 0, 20_000);
    const init = await server.runJob('init', {}, TIMEOUT);
    assert.equal(init.finished.payload.status, 'succeeded', init.finished.payload.error);
  });

  after(async () => {
    await agent?.stop();
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every message of a backup exactly once and in order although the server was down mid-run', async () => {
    const data = path.join(dir, 'data');
    fs.mkdirSync(data);
    for (let i = 0; i < 8; i++) fs.writeFileSync(path.join(data, `f${i}.bin`), randomBytes(1024 * 1024));
    server.send('schedule.set', {
      version: 1,
      schedules: [
        {
          id: 'nightly',
          kind: 'backup',
          cron: '0 3 * * *',
          enabled: true,
          paths: [data],
          pre_hook: 'i=0; while [ $i -lt 3000 ]; do i=$((i+1)); echo "pre-hook line $i"; done',
          post_hook: 'echo post-hook done',
        },
      ],
    });
    await server.waitFor('schedule.ack', (m) => m.payload.version === 1, TIMEOUT);

    const run = server.runJob('backup', { paths: [data], limit_upload_kib: 1024 }, TIMEOUT, {
      schedule_id: 'nightly',
    });
    await server.waitFor('job.progress', () => true, TIMEOUT);
    const beforeOutage = server.received.length;
    await server.stop();
    const downAt = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(agent.child.exitCode, null, 'the agent keeps running (and restic with it)');
    const upAt = Date.now();
    await server.start();
    const { jobId, finished, messages } = await run;

    assert.equal(finished.payload.status, 'succeeded', finished.payload.error);
    assert.ok(server.connections >= 2, 'the agent reconnected');
    assert.ok(server.received.length > beforeOutage);
    assert.ok(agent.logged(/disconnected from control plane/));
    const duringOutage = messages.filter((m) => Date.parse(m.ts) > downAt && Date.parse(m.ts) < upAt);
    assert.ok(
      duringOutage.some((m) => m.type === 'job.progress'),
      'restic kept running while the server was down and its progress was kept for later',
    );

    // Exactly once: the recorder de-duplicates by envelope id; every id is unique and nothing is missing.
    const ids = messages.map((m) => m.id);
    assert.equal(new Set(ids).size, ids.length);
    const lines = messages.filter(
      (m): m is Extract<WireMessage, { type: 'log.stream' }> => m.type === 'log.stream',
    );
    assert.deepEqual(
      lines.map((l) => l.payload.seq),
      lines.map((_, i) => i + 1),
      'log lines arrive in order, seq contiguous from 1, none lost',
    );
    const hookLines = lines.filter((l) => l.payload.stream === 'hook').map((l) => l.payload.payload);
    assert.ok(hookLines.includes('pre-hook line 1') && hookLines.includes('pre-hook line 3000'));
    assert.ok(hookLines.includes('post-hook done'));
    // In order: arrival order equals the agent's emission order (envelope timestamps never go back).
    for (let i = 1; i < messages.length; i++) {
      assert.ok(Date.parse(messages[i].ts) >= Date.parse(messages[i - 1].ts), 'FIFO across the outage');
    }
    assert.equal(messages[0].type, 'command.result');
    assert.equal(messages[1].type, 'job.started');
    const last = messages.findIndex((m) => m.type === 'job.finished');
    assert.ok(messages.slice(last + 1).every((m) => m.type === 'snapshots.report'));
    await server.waitFor('snapshots.report', (m) => m.payload.job_id === jobId, TIMEOUT);
    assert.deepEqual(server.invalid, []);
    assert.ok(
      server.heartbeats >= 3,
      `heartbeats every second (${server.heartbeats}), never through the outbox`,
    );
  });

  it('resends unacknowledged messages with their original ids after the agent is killed and restarted', async () => {
    server.autoAck = false;
    const before = server.received.length;
    const { jobId } = await server.runJob('snapshots', {}, TIMEOUT);
    const sent = server.forJob(jobId).map((m) => m.id);
    assert.ok(sent.length >= 3, 'command.result, job.started, job.finished at least');
    await agent.kill();
    const dupesBefore = server.duplicates.length;
    agent = new AgentProcess(configPath, { RF_RESTIC_BIN: '/usr/bin/restic' });
    await waitUntil('the resend', () => sent.every((id) => server.duplicates.includes(id)), 30_000);
    assert.ok(server.duplicates.length - dupesBefore >= sent.length);
    assert.equal(server.received.length - before, server.received.slice(before).length);
    // Once acked, they are gone from the outbox: a further restart resends nothing of that job.
    server.ack(server.received.slice(before).map((m) => m.id));
    server.autoAck = true;
    await new Promise((r) => setTimeout(r, 500));
    await agent.stop();
    const dupes = server.duplicates.length;
    agent = new AgentProcess(configPath, { RF_RESTIC_BIN: '/usr/bin/restic' });
    const hellos = server.hellos.length;
    await waitUntil('the agent to reconnect', () => server.hellos.length > hellos, 20_000);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(server.duplicates.length, dupes, 'nothing acknowledged is resent');
  });
});
