/**
 * The real agent process with two repositories (a local one and one served by
 * `rclone serve restic`), against a scripted control plane and real restic
 * 0.14: it announces the `repositories` capability, runs each job on the
 * repository `command.run` names, copies from one to the other (initialising
 * the new destination) and lists the copied snapshot under the destination.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { WireMessage } from '@rf/events';
import { RcloneRestServer, writeRandomFiles } from '../support/fleet';
import { AgentProcess, ScriptedServer, tempDir, waitUntil, writeAgentConfig } from './agent-scripted-server';

const JOB_TIMEOUT = 90_000;
const LOCAL_PASSWORD = 'two-repos-local-password';
const OFFSITE_PASSWORD = 'two-repos-offsite-password';

type Finished = Extract<WireMessage, { type: 'job.finished' }>;

describe('agent with two repositories (e2e, real agent, restic 0.14, local + rclone REST)', () => {
  let dir: string;
  let server: ScriptedServer;
  let agent: AgentProcess;
  let rest: RcloneRestServer;
  let data: string;
  let local: { repository_id: string; url: string; password: string };
  let offsite: { repository_id: string; url: string; password: string };

  const configure = (repositories: Array<typeof local>): void => {
    server.send('config.update', {
      repo_url: local.url,
      repo_password: local.password,
      repository_id: local.repository_id,
      repositories,
    });
  };
  const ok = (f: Finished): void => assert.equal(f.payload.status, 'succeeded', f.payload.error);

  before(async () => {
    dir = tempDir('rf-agent-repos-');
    data = path.join(dir, 'data');
    writeRandomFiles(data, 10, 16 * 1024);
    rest = await RcloneRestServer.start(path.join(dir, 'rest'));
    local = { repository_id: 'r-local', url: path.join(dir, 'local'), password: LOCAL_PASSWORD };
    offsite = { repository_id: 'r-offsite', url: rest.repoUrl('offsite'), password: OFFSITE_PASSWORD };
    server = new ScriptedServer();
    server.onHello = () => configure([local, offsite]);
    await server.start();
    agent = new AgentProcess(writeAgentConfig({ dir, server }), { RF_RESTIC_BIN: '/usr/bin/restic' });
    await waitUntil('the agent to connect', () => server.hellos.length > 0, 20_000);
  });

  after(async () => {
    const code = await agent?.stop();
    await server?.stop();
    await rest?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, 'the agent exits 0 on SIGTERM');
  });

  it('announces that it understands several repositories', () => {
    const hello = server.hellos[0];
    assert.ok(hello.type === 'hello');
    if (hello.type === 'hello')
      assert.deepEqual(hello.payload.capabilities, ['repositories', 'query_raw_upload']);
  });

  it('runs a job without repository_id on the default repository, and one naming a repository on that one', async () => {
    ok((await server.runJob('init', {}, JOB_TIMEOUT)).finished);
    assert.ok(fs.existsSync(path.join(local.url, 'config')), 'the default repository was initialised');
    const backup = await server.runJob('backup', { paths: [data], tags: ['local'] }, JOB_TIMEOUT, {
      repository_id: 'r-local',
    });
    ok(backup.finished);
    const report = await server.waitFor(
      'snapshots.report',
      (m) => m.payload.job_id === backup.jobId,
      JOB_TIMEOUT,
    );
    assert.equal(report.payload.repository_id, 'r-local');
    assert.equal(report.payload.snapshots.length, 1);
  });

  it('copies into the REST repository, initialising it, and lists the copy under the destination', async () => {
    const copy = await server.runJob('copy', { to_repository_id: 'r-offsite' }, JOB_TIMEOUT, {
      repository_id: 'r-local',
    });
    ok(copy.finished);
    assert.equal((copy.finished.payload.stats as { copied: number }).copied, 1);
    // The reports follow job.finished (docs/repositories.md, "Reports after a job"): source, then destination.
    const reports = await waitUntil(
      'both snapshot lists of the copy',
      () => {
        const r = server.of('snapshots.report', copy.jobId);
        return r.length === 2 ? r : undefined;
      },
      JOB_TIMEOUT,
    );
    assert.deepEqual(
      reports.map((r) => [r.payload.repository_id, r.payload.snapshots.length]),
      [
        ['r-local', 1],
        ['r-offsite', 1],
      ],
    );
    const listed = await server.runJob('snapshots', {}, JOB_TIMEOUT, { repository_id: 'r-offsite' });
    ok(listed.finished);
    const offsiteList = await server.waitFor(
      'snapshots.report',
      (m) => m.payload.job_id === listed.jobId,
      JOB_TIMEOUT,
    );
    assert.equal(offsiteList.payload.repository_id, 'r-offsite');
    assert.deepEqual(offsiteList.payload.snapshots[0].tags, ['local']);
    assert.deepEqual(offsiteList.payload.snapshots[0].paths, [data]);
    for (const m of server.forJob(copy.jobId))
      if (m.type === 'log.stream')
        for (const secret of [LOCAL_PASSWORD, OFFSITE_PASSWORD])
          assert.equal(m.payload.payload.includes(secret), false);
  });

  it('refuses a job on a repository it is not (or no longer) attached to', async () => {
    const unknown = await refused({ repository_id: 'r-elsewhere' });
    assert.match(String(unknown.error), /r-elsewhere is not configured on this host/);
    configure([local]);
    await waitUntil(
      'the agent to apply the new set',
      async () => {
        const r = await refused({ repository_id: 'r-offsite' }).catch(() => undefined);
        return r && /r-offsite is not configured/.test(String(r.error));
      },
      10_000,
    );
  });

  async function refused(extra: Record<string, unknown>): Promise<{ accepted: boolean; error?: string }> {
    const jobId = `job-refused-${Math.random().toString(16).slice(2)}`;
    server.sendRaw(
      JSON.stringify({
        v: 1,
        id: randomUUID(),
        type: 'command.run',
        ts: new Date().toISOString(),
        job_id: jobId,
        payload: { job_id: jobId, kind: 'check', args: {}, ...extra },
      }),
    );
    const r = await server.waitFor('command.result', (m) => m.payload.job_id === jobId, 10_000);
    assert.equal(r.payload.accepted, false);
    return r.payload;
  }
});
