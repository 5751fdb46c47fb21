/**
 * Schedule hooks run as the agent's user (root on most hosts), so a host runs
 * them only when its own agent.yaml says `allow_hooks: true`. With the real
 * agent: against a scripted server (the refusal itself), then in a real fleet
 * (control plane, agent, restic) where the host's choice travels through hello
 * into the API and the UI, and a scheduled job with a hook fails until the
 * host opts in.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { eventually, FleetAgent, writeRandomFiles } from '../support/fleet';
import { RestClient } from '../support/rest-client';
import {
  AgentProcess,
  jobLogLines,
  ScriptedServer,
  tempDir,
  waitUntil,
  writeAgentConfig,
} from './agent-scripted-server';

const TIMEOUT = 60_000;

describe('hooks on a host that has not allowed them (real agent, scripted server)', () => {
  let dir: string;
  let server: ScriptedServer;
  let agent: AgentProcess;
  let configPath: string;

  before(async () => {
    dir = tempDir('rf-hooks-refused-');
    server = new ScriptedServer();
    await server.start();
    configPath = writeAgentConfig({ dir, server });
    agent = new AgentProcess(configPath, { RF_RESTIC_BIN: '/usr/bin/restic' });
    await waitUntil('the agent to connect', () => server.hellos.length > 0, 20_000);
    server.configureRepository({ url: path.join(dir, 'repo'), password: 'hooks-refused-pw' });
    const init = await server.runJob('init', {}, TIMEOUT);
    assert.equal(init.finished.payload.status, 'succeeded', init.finished.payload.error);
  });
  after(async () => {
    await agent?.stop();
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('says in its hello that it does not allow hooks', () => {
    const hello = server.hellos[0];
    assert.ok(hello?.type === 'hello');
    assert.equal(hello.payload.allow_hooks, false);
  });

  it('fails a job whose schedule has a hook, saying how to allow hooks, and runs neither the hook nor restic', async () => {
    const pre = path.join(dir, 'pre-hook-ran');
    const post = path.join(dir, 'post-hook-ran');
    server.send('schedule.set', {
      version: 1,
      schedules: [
        {
          id: 'hooked',
          kind: 'snapshots',
          cron: '0 0 1 1 *',
          enabled: true,
          pre_hook: `touch ${pre}`,
          post_hook: `touch ${post}`,
        },
        { id: 'post-only', kind: 'snapshots', cron: '0 0 1 1 *', enabled: true, post_hook: `touch ${post}` },
      ],
    });
    await server.waitFor('schedule.ack', (m) => m.payload.version === 1, TIMEOUT);

    for (const scheduleId of ['hooked', 'post-only']) {
      const { finished, messages } = await server.runJob('snapshots', {}, TIMEOUT, {
        schedule_id: scheduleId,
      });
      assert.equal(finished.payload.status, 'failed', scheduleId);
      assert.equal(finished.payload.error_code, 'hooks_not_allowed');
      assert.match(finished.payload.error ?? '', /this host does not allow hooks/);
      assert.ok(
        (finished.payload.error ?? '').includes(
          `set allow_hooks: true in ${configPath} on this host and restart the agent`,
        ),
        finished.payload.error,
      );
      const lines = jobLogLines(messages);
      assert.ok(
        lines.some((l) => l.startsWith('agent: ') && /does not allow hooks/.test(l)),
        lines.join('\n'),
      );
      assert.ok(
        !lines.some((l) => l.startsWith('stdout:') || l.startsWith('hook:')),
        'neither restic nor a hook ran',
      );
      assert.equal(messages.filter((m) => m.type === 'snapshots.report').length, 0);
    }
    assert.ok(!fs.existsSync(pre) && !fs.existsSync(post), 'the hook commands never ran');

    const plain = await server.runJob('snapshots', {}, TIMEOUT);
    assert.equal(plain.finished.payload.status, 'succeeded', 'jobs without hooks still run');
  });
});

interface JobBody {
  id: string;
  status: string;
  schedule_id: string | null;
  error: string | null;
  error_code: string | null;
}

describe('hooks need the host to allow them (real control plane, real agent, real restic)', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-hooks-fleet-'));
  const data = path.join(root, 'data');
  const marker = path.join(root, 'hook-ran');
  let cp: ControlPlaneProcess;
  let admin: RestClient;
  let agent: FleetAgent;
  let hostId = '';

  const putSchedule = async (enabled: boolean): Promise<void> => {
    const res = await admin.put(`/api/hosts/${hostId}/schedules`, {
      schedules: [
        {
          id: 'hooked',
          kind: 'backup',
          cron: '*/2 * * * * *',
          enabled,
          paths: [data],
          pre_hook: `touch ${marker}`,
        },
      ],
    });
    assert.ok(res.status < 300, JSON.stringify(res.body));
  };

  /** The first scheduled job of `hooked` that ends after `since`. */
  const nextScheduledJob = (seen: ReadonlySet<string>): Promise<JobBody> =>
    eventually(
      'a scheduled job of "hooked" to finish',
      async () => {
        const res = await admin.get<{ jobs: JobBody[] }>(`/api/jobs?host=${hostId}`);
        return res.body.jobs.find(
          (j) =>
            j.schedule_id === 'hooked' &&
            !seen.has(j.id) &&
            ['succeeded', 'warning', 'failed'].includes(j.status),
        );
      },
      TIMEOUT,
      250,
    );

  const host = async (): Promise<{ allow_hooks: boolean | null; status: string }> =>
    (await admin.get<{ allow_hooks: boolean | null; status: string }>(`/api/hosts/${hostId}`)).body;

  before(async () => {
    writeRandomFiles(data, 3, 4096);
    fs.mkdirSync(path.join(root, 'cp'));
    cp = await ControlPlaneProcess.start({ dataDir: path.join(root, 'cp'), startTimeoutMs: 60_000 });
    admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
    agent = new FleetAgent({ dir: path.join(root, 'agent'), resticBin: '/usr/bin/restic' });
    hostId = await agent.enrol(admin, cp.url);
    agent.start();
    await eventually('the agent to come online', async () => (await host()).status === 'online', TIMEOUT);
    const repo = await admin.put(`/api/hosts/${hostId}/repository`, {
      url: path.join(root, 'repo'),
      password: 'hooks-fleet-pw',
    });
    assert.ok(repo.status < 300, JSON.stringify(repo.body));
    const init = await admin.post<{ job_id: string }>(`/api/hosts/${hostId}/jobs`, { kind: 'init' });
    await eventually(
      'init to succeed',
      async () => (await admin.get<JobBody>(`/api/jobs/${init.body.job_id}`)).body.status === 'succeeded',
      TIMEOUT,
    );
  });
  after(async () => {
    await agent?.stop();
    await cp?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('a host without allow_hooks is shown as such, and its hooked scheduled job fails without running the hook', async () => {
    assert.equal((await host()).allow_hooks, false, 'GET /api/hosts/{id} says the host does not allow hooks');
    const page = await admin.get<string>(`/hosts/${hostId}`);
    assert.match(page.body, /data-testid="hooks-allowed"><span class="badge ok"[^>]*>not allowed</);
    assert.match(page.body, /data-testid="hooks-policy">Hooks: <strong>not allowed<\/strong>/);
    assert.match(page.body, /set allow_hooks: true in the agent&#39;s agent.yaml on the host/);

    await putSchedule(true);
    const failed = await nextScheduledJob(new Set());
    await putSchedule(false);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error_code, 'hooks_not_allowed');
    assert.ok(failed.error?.includes(`set allow_hooks: true in ${agent.configPath}`), failed.error ?? '');
    const logs = await admin.get<{ lines: Array<{ stream: string; payload: string }> }>(
      `/api/jobs/${failed.id}/logs`,
    );
    assert.deepEqual(
      logs.body.lines.map((l) => l.stream),
      ['agent'],
      'the only log line is the refusal: no hook output, no restic',
    );
    assert.ok(!fs.existsSync(marker), 'the pre-hook never ran');
    const jobPage = await admin.get<string>(`/jobs/${failed.id}`);
    assert.match(jobPage.body, /this host does not allow hooks/);
  });

  it('once the host sets allow_hooks: true the API says so and the hook runs', async () => {
    const before = await admin.get<{ jobs: JobBody[] }>(`/api/jobs?host=${hostId}`);
    const seen = new Set(before.body.jobs.map((j) => j.id));
    await agent.stop();
    const doc = YAML.parse(fs.readFileSync(agent.configPath, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(agent.configPath, YAML.stringify({ ...doc, allow_hooks: true }), { mode: 0o600 });
    agent.start();
    await eventually(
      'the host to report allow_hooks: true',
      async () => (await host()).allow_hooks === true,
      TIMEOUT,
    );
    const page = await admin.get<string>(`/hosts/${hostId}`);
    assert.match(page.body, /data-testid="hooks-allowed"><span class="badge warn"[^>]*>allowed</);

    await putSchedule(true);
    const ran = await nextScheduledJob(seen);
    await putSchedule(false);
    assert.equal(ran.status, 'succeeded', ran.error ?? '');
    assert.ok(fs.existsSync(marker), 'the pre-hook ran');
  });
});
