import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { eventually } from '../support/fleet';
import { RestClient } from '../support/rest-client';
import { enrolHost, ScriptedAgent } from '../support/scripted-agent';

/*
 * A repository's maintenance that stops succeeding raises maintenance_overdue
 * through the real scheduler, dispatcher and rules process (docs/alerts.md,
 * docs/repositories.md): a forget schedule every 5 s whose jobs reach the host
 * but never finish is overdue after two intervals; the next success resolves it.
 */
interface AlertBody {
  id: string;
  rule: string;
  state: string;
  summary: string;
  repository_id?: string | null;
}
interface JobBody {
  id: string;
  schedule_id?: string | null;
  status: string;
}

describe('maintenance_overdue from a real repository schedule (e2e)', () => {
  let cp: ControlPlaneProcess;
  let agent: ScriptedAgent | undefined;

  before(async () => {
    cp = await ControlPlaneProcess.start({ env: { RF_ALERTS_EVALUATE_MS: '500' } });
  });
  after(async () => {
    agent?.close();
    await cp?.stop();
    cp?.removeDataDir();
  });

  it('raises it after two intervals without a successful forget, and a success resolves it', async () => {
    const admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
    const identity = await enrolHost(admin);
    agent = new ScriptedAgent(cp.wsUrl, identity);
    await agent.connect();
    await agent.waitForAcks([agent.hello().id]);

    const repo = await admin.post<{ id: string }>('/api/repositories', {
      name: 'shared',
      url: '/srv/restic/shared',
    });
    assert.equal(repo.status, 201, JSON.stringify(repo.body));
    const repositoryId = repo.body.id;
    assert.equal(
      (await admin.put(`/api/repositories/${repositoryId}/secrets`, { password: 'shared-repo-password' }))
        .status,
      200,
    );
    const attach = await admin.post(`/api/repositories/${repositoryId}/hosts`, { host_id: identity.agentId });
    assert.equal(attach.status, 200, JSON.stringify(attach.body));
    const schedules = await admin.put(`/api/repositories/${repositoryId}/schedules`, {
      schedules: [
        {
          id: 'weekly-forget',
          kind: 'forget',
          cron: '*/5 * * * * *',
          retention: { keep_last: 3 },
          enabled: true,
        },
      ],
    });
    assert.equal(schedules.status, 200, JSON.stringify(schedules.body));

    // The first fire reaches the host, which never finishes it.
    const fired = await eventually(
      'the forget schedule to fire',
      async () => {
        const res = await admin.get<{ jobs: JobBody[] }>('/api/jobs?limit=100');
        return res.body.jobs.find((j) => j.schedule_id === 'weekly-forget');
      },
      30_000,
    );
    const open = await eventually(
      'maintenance_overdue to be raised',
      async () => {
        const res = await admin.get<{ alerts: AlertBody[] }>(
          '/api/alerts?state=open&rule=maintenance_overdue',
        );
        return res.body.alerts[0];
      },
      60_000,
      250,
    );
    assert.equal(open.repository_id, repositoryId);
    assert.match(open.summary, /forget/);

    // The fired job now succeeds: the schedule's maintenance is no longer overdue.
    await agent.acceptJob(fired.id, 20_000);
    await agent.waitForAcks([
      agent.send(
        'job.finished',
        {
          job_id: fired.id,
          status: 'succeeded',
          exit_code: 0,
          finished_at: new Date().toISOString(),
          stats: {},
        },
        fired.id,
      ).id,
    ]);
    const resolved = await eventually(
      'maintenance_overdue to be resolved',
      async () => {
        const res = await admin.get<{ alerts: AlertBody[] }>(
          '/api/alerts?state=resolved&rule=maintenance_overdue',
        );
        return res.body.alerts.find((a) => a.id === open.id);
      },
      30_000,
      250,
    );
    assert.equal(resolved.state, 'resolved');
  });
});
