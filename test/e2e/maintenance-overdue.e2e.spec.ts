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
 * The success lands at an arbitrary point of the 5 s interval, so a run covers
 * the last second before a fire too (an interval of 0 once, see
 * libs/alerts/src/rules/backup-interval.ts).
 */
interface AlertBody {
  id: string;
  rule: string;
  state: string;
  summary: string;
  repository_id: string | null;
  schedule_id: string | null;
  resolved_at: string | null;
  resolution: string | null;
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

    // The first fire reaches the host, which never finishes it; later ticks queue behind its exclusive lock.
    const fired = await eventually(
      'the forget schedule to fire and its job to be dispatched',
      async () => {
        const res = await admin.get<{ jobs: JobBody[] }>('/api/jobs?limit=100');
        return res.body.jobs.find((j) => j.schedule_id === 'weekly-forget' && j.status === 'dispatched');
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
    assert.equal(open.state, 'open');
    assert.equal(open.repository_id, repositoryId);
    assert.equal(open.schedule_id, 'weekly-forget');
    assert.match(
      open.summary,
      /^No successful forget of repository shared \(schedule weekly-forget\) since the schedule was set up at .*; it runs every 5 s$/,
    );

    // The fired job now succeeds, in the last second before a fire (the 5 s ticks fall on multiples
    // of 5 s since the epoch): the case that once got an interval of 0 and never resolved.
    await agent.acceptJob(fired.id, 20_000);
    await eventually(
      'the last second before a fire',
      () => {
        const phase = Date.now() % 5_000;
        return phase >= 4_100 && phase < 4_700;
      },
      30_000,
      20,
    );
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
    assert.ok(resolved.resolved_at !== null);
    assert.match(resolved.resolution ?? '', /^the forget of schedule weekly-forget succeeded at /);
  });
});
