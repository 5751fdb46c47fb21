/**
 * One end-to-end flow with the log in a real EventStoreDB/KurrentDB
 * (`ESDB_TEST_URL`, e.g. the CI job .ci/esdb.sh): the real control plane with
 * RF_EVENTSTORE pointing at it, a host enrolled over REST, a scripted agent
 * over a real WebSocket that comes online, receives a job, reports it
 * finished, and the job, its log and the host's snapshots read back through
 * the REST API (read models built from the server's $all). Then the control
 * plane restarts on the same server and still shows them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { RestClient } from '../support/rest-client';
import { enrolHost, ScriptedAgent, type AgentIdentity } from '../support/scripted-agent';

const url = process.env['ESDB_TEST_URL'];

async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

if (url) {
  describe('control plane on EventStoreDB (ESDB_TEST_URL): enrol, dispatch, finish, read back, restart', () => {
    let cp: ControlPlaneProcess;
    let admin: RestClient;
    let agent: ScriptedAgent | undefined;
    let identity: AgentIdentity;
    let jobId: string;

    before(async () => {
      // A server shared with other suites holds their events too: catching up may take a while.
      cp = await ControlPlaneProcess.start({ env: { RF_EVENTSTORE: url }, startTimeoutMs: 120_000 });
      admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
    });

    after(async () => {
      agent?.terminate();
      await cp?.stop();
      cp?.removeDataDir();
    });

    it('a job requested over REST reaches the agent, and its outcome, log and snapshots read back', async () => {
      identity = await enrolHost(admin);
      agent = new ScriptedAgent(cp.wsUrl, identity);
      await agent.connect();
      await agent.waitForAcks([agent.hello().id]);
      await eventually('the host online', async () => {
        const res = await admin.get<{ status: string }>(`/api/hosts/${identity.agentId}`);
        return res.body.status === 'online' ? true : undefined;
      });
      const requested = await admin.post<{ job_id: string }>(`/api/hosts/${identity.agentId}/jobs`, {
        kind: 'backup',
        paths: ['/srv'],
      });
      assert.equal(requested.status, 202, JSON.stringify(requested.body));
      jobId = requested.body.job_id;
      await agent.waitFor(
        (e) => e.type === 'command.run' && e.payload.job_id === jobId,
        20_000,
        `command.run for ${jobId}`,
      );
      const ts = () => new Date().toISOString();
      const sent = [
        agent.send('command.result', { job_id: jobId, accepted: true }, jobId),
        agent.send(
          'job.started',
          { job_id: jobId, kind: 'backup', started_at: ts(), restic_version: '0.19.1' },
          jobId,
        ),
        agent.send(
          'log.stream',
          { job_id: jobId, seq: 1, ts: ts(), stream: 'agent', payload: 'restic backup --json -- /srv' },
          jobId,
        ),
        agent.send(
          'job.finished',
          {
            job_id: jobId,
            status: 'succeeded',
            exit_code: 0,
            finished_at: ts(),
            log_lines: 1,
            dropped_log_lines: 0,
          },
          jobId,
        ),
        agent.send('snapshots.report', {
          job_id: jobId,
          snapshots: [
            {
              id: 'e'.repeat(64),
              short_id: 'eeeeeeee',
              time: ts(),
              hostname: identity.hostname,
              paths: ['/srv'],
              tags: [],
            },
          ],
        }),
      ];
      await agent.waitForAcks(sent.map((e) => e.id));
      await eventually('the job succeeded', async () => {
        const res = await admin.get<{ status: string }>(`/api/jobs/${jobId}`);
        return res.status === 200 && res.body.status === 'succeeded' ? true : undefined;
      });
      const log = await eventually('the job log', async () => {
        const res = await admin.get<{ lines: Array<{ payload: string }> }>(`/api/jobs/${jobId}/logs`);
        return res.status === 200 && res.body.lines.length === 1 ? res.body.lines : undefined;
      });
      assert.equal(log[0]!.payload, 'restic backup --json -- /srv');
      await eventually('the snapshot', async () => {
        const res = await admin.get<{ snapshots: Array<{ id: string }> }>(
          `/api/hosts/${identity.agentId}/snapshots`,
        );
        return res.body.snapshots.some((s) => s.id === 'e'.repeat(64)) ? true : undefined;
      });
    });

    it('after a restart on the same server the job is still there, read from the log', async () => {
      agent?.terminate();
      agent = undefined;
      const dataDir = cp.dataDir;
      await cp.stop();
      cp = await ControlPlaneProcess.start({ dataDir, env: { RF_EVENTSTORE: url }, startTimeoutMs: 120_000 });
      admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
      const res = await admin.get<{ status: string }>(`/api/jobs/${jobId}`);
      assert.equal(res.status, 200);
      assert.equal(res.body.status, 'succeeded');
    });
  });
} else {
  const reason =
    'control plane on EventStoreDB: skipped — ESDB_TEST_URL is not set (the CI job .ci/esdb.sh sets it)';
  console.log(reason);
  it(reason, { skip: reason }, () => undefined);
}
