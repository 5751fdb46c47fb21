import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { readStream, typesOf, waitForStream } from '../support/event-log.reader';
import { RestClient } from '../support/rest-client';
import { onlineAgentWithJob, type ScriptedAgent } from '../support/scripted-agent';

/*
 * Crash safety of the ingest path: the control plane is SIGKILLed while an
 * agent streams 10,000 log lines. The agent, like the real one's outbox,
 * keeps every unacked envelope and resends them after reconnecting to the
 * restarted control plane. The job's log must then hold every seq exactly once.
 */

const LINES = 10_000;

describe('control plane SIGKILL during log streaming (e2e)', () => {
  let cp: ControlPlaneProcess | undefined;
  let agent: ScriptedAgent | undefined;

  after(async () => {
    agent?.terminate();
    await cp?.stop();
    cp?.removeDataDir();
  });

  it('loses nothing and duplicates nothing across a SIGKILL and a resend', async () => {
    cp = await ControlPlaneProcess.start();
    const dataDir = cp.dataDir;
    const admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
    const online = await onlineAgentWithJob(admin, cp.wsUrl);
    agent = online.agent;
    const { jobId } = online;

    // Stream in slices so the kill lands mid-stream; kill once a few thousand are acked.
    let killedAtAcks = -1;
    const killed = new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (agent!.acked.size >= 1500 && killedAtAcks < 0) {
          killedAtAcks = agent!.acked.size;
          clearInterval(timer);
          void cp!.kill().then(resolve);
        }
      }, 5);
    });
    for (let seq = 1; seq <= LINES; seq++) {
      agent.send(
        'log.stream',
        {
          job_id: jobId,
          seq,
          ts: new Date().toISOString(),
          stream: 'stdout',
          payload: `line ${seq} ${'x'.repeat(60)}`,
        },
        jobId,
      );
      if (seq % 250 === 0) await new Promise((r) => setTimeout(r, 2));
    }
    await Promise.race([
      killed,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('never reached 1500 acks before the kill')), 120_000),
      ),
    ]);
    await agent.waitForClose();
    const unackedAtKill = agent.unacked.size;
    assert.ok(killedAtAcks > 0 && killedAtAcks < LINES + 2, `killed after ${killedAtAcks} acks`);
    assert.ok(unackedAtKill > 0, 'the kill should leave envelopes unacked');

    cp = await ControlPlaneProcess.start({ dataDir });
    agent.wsUrl = cp.wsUrl;
    await agent.connect();
    await agent.waitForAcks([agent.hello().id]);
    const resent = agent.resendUnacked();
    assert.equal(resent, unackedAtKill);
    const allIds = [...agent.acked, ...agent.unacked.keys()];
    await agent.waitForAcks(allIds, 180_000).catch((err: unknown) => {
      const problems = cp!
        .logText()
        .split('\n')
        .filter((l) => /"level":(40|50|60)/.test(l));
      throw new Error(
        `${(err as Error).message}\ncontrol plane warnings/errors:\n${problems.slice(-10).join('\n')}`,
      );
    });
    assert.equal(agent.unacked.size, 0);

    const lines = (await readStream(dataDir, `joblog-${jobId}`)).filter((e) => e.type === 'LogStreamLine');
    const seqs = lines.map((e) => (e.data as { seq: number }).seq);
    assert.equal(seqs.length, LINES, `expected ${LINES} lines, found ${seqs.length}`);
    assert.equal(new Set(seqs).size, LINES, 'a seq was stored twice');
    assert.deepEqual(
      [...seqs].sort((a, b) => a - b),
      Array.from({ length: LINES }, (_, i) => i + 1),
    );
    // The job log via REST agrees once the read models catch up.
    const admin2 = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
    const deadline = Date.now() + 90_000;
    let count = 0;
    while (Date.now() < deadline) {
      const res = await admin2.get<{ log_line_count: number }>(`/api/jobs/${jobId}`);
      count = res.body.log_line_count;
      if (count === LINES) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(count, LINES);
  });

  it('still declares a job lost after a SIGKILL: the away-since time comes from the log', async () => {
    const own = await ControlPlaneProcess.start({ env: { RF_JOB_LOST_GRACE_S: '2' } });
    let restarted: ControlPlaneProcess | undefined;
    const scripted: ScriptedAgent[] = [];
    try {
      const admin = await RestClient.login(own.url, ADMIN_USER, ADMIN_PASSWORD);
      const { agent: a, identity, jobId } = await onlineAgentWithJob(admin, own.wsUrl, { kind: 'check' });
      scripted.push(a);
      // The control plane dies while the agent is connected and the job runs; the agent never comes back.
      await own.kill();
      a.terminate();
      restarted = await ControlPlaneProcess.start({
        dataDir: own.dataDir,
        env: { RF_JOB_LOST_GRACE_S: '2' },
      });
      const events = await waitForStream(
        own.dataDir,
        `job-${jobId}`,
        (ev) => typesOf(ev).includes('JobLost'),
        20_000,
      );
      assert.equal(typesOf(events).at(-1), 'JobLost');
      const host = await readStream(own.dataDir, `host-${identity.agentId}`);
      assert.equal((host.at(-1)!.data as { reason: string }).reason, 'server_shutdown');
    } finally {
      for (const x of scripted) x.terminate();
      await restarted?.stop();
      await own.stop();
      own.removeDataDir();
    }
  });
});
