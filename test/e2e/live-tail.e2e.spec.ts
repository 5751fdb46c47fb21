import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { RestClient } from '../support/rest-client';
import type { ScriptedAgent } from '../support/scripted-agent';
import {
  apiToken,
  LineStreamer,
  onlineAgent,
  percentile,
  startedJob,
  TailWatcher,
} from './live-tail.helpers';

/*
 * The live job tail against the real control plane (child process, SQLite
 * store) with a scripted agent and real WebSocket watchers.
 */

const LINES = 50_000;

function assertStrictlyIncreasing(seqs: readonly number[], what: string): void {
  for (let i = 1; i < seqs.length; i++)
    if (seqs[i]! <= seqs[i - 1]!) assert.fail(`${what}: seq ${seqs[i]} after ${seqs[i - 1]} at index ${i}`);
}

describe('live job tail /api/jobs/{id}/stream (e2e)', () => {
  let cp: ControlPlaneProcess;
  let admin: RestClient;
  let viewerToken: string;
  const agents: ScriptedAgent[] = [];
  const watchers: TailWatcher[] = [];

  before(async () => {
    cp = await ControlPlaneProcess.start();
    admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
    viewerToken = await apiToken(admin, 'viewer');
  });

  after(async () => {
    for (const w of watchers) w.close();
    for (const a of agents) a.terminate();
    await cp?.stop();
    cp?.removeDataDir();
  });

  function watcher(jobId: string, headers: Record<string, string>, latency = false): TailWatcher {
    const w = new TailWatcher(cp.wsUrl, jobId, headers, latency);
    watchers.push(w);
    return w;
  }

  const asViewer = (): Record<string, string> => ({ authorization: `Bearer ${viewerToken}` });

  async function runningJob(): Promise<{ agent: ScriptedAgent; jobId: string }> {
    const { agent, identity } = await onlineAgent(cp.url, admin);
    agents.push(agent);
    return { agent, jobId: await startedJob(admin, agent, identity.agentId) };
  }

  async function finish(agent: ScriptedAgent, jobId: string, status = 'succeeded'): Promise<void> {
    const env = agent.send(
      'job.finished',
      {
        job_id: jobId,
        status,
        exit_code: status === 'succeeded' ? 0 : 1,
        finished_at: new Date().toISOString(),
        stats: { files_new: 3 },
      },
      jobId,
    );
    await agent.waitForAcks([env.id], 15_000);
  }

  it('refuses watchers without credentials (401), with a bad token (401), and for unknown jobs (404)', async () => {
    const { jobId } = await runningJob();
    await assert.rejects(watcher(jobId, {}).connect(), /HTTP 401/);
    await assert.rejects(watcher(jobId, { authorization: 'Bearer rf_nope' }).connect(), /HTTP 401/);
    await assert.rejects(watcher('no-such-job', asViewer()).connect(), /HTTP 404/);
    // A session cookie from another site's page does not count (cross-site WebSocket hijacking).
    const cookie = await sessionCookie();
    await assert.rejects(watcher(jobId, { cookie, origin: 'http://evil.example' }).connect(), /HTTP 401/);
    const same = watcher(jobId, { cookie, origin: cp.url });
    await same.connect();
    await same.until(
      () => same.others.some((f) => f.type === 'status'),
      10_000,
      'status for a session watcher',
    );
  });

  it('sends the persisted lines, then live ones, de-duplicated, with progress, status and end', async () => {
    const { agent, jobId } = await runningJob();
    const streamer = new LineStreamer(agent, jobId);
    await streamer.run(300, 30_000);
    const progress = agent.send(
      'job.progress',
      {
        job_id: jobId,
        percent_done: 0.4,
        files_done: 4,
        total_files: 10,
        bytes_done: 400,
        total_bytes: 1000,
        throughput_bps: 100,
      },
      jobId,
    );
    await agent.waitForAcks([progress.id]);
    const w = watcher(jobId, asViewer());
    await w.connect();
    await w.until(() => w.seqs.length >= 300, 15_000, 'catch-up of 300 lines');
    // Live lines while the catch-up may still be finishing: the seam must neither repeat nor skip.
    await streamer.run(700, 30_000);
    await finish(agent, jobId);
    await w.until(() => w.ended !== null && w.closeCode !== null, 15_000, 'end and close');
    assert.deepEqual(
      w.seqs,
      Array.from({ length: 1000 }, (_, i) => i + 1),
    );
    assert.equal(w.drops.length, 0);
    const firstProgress = w.others.find((f) => f.type === 'progress');
    assert.equal(firstProgress?.percent_done, 0.4);
    const statuses = w.others.filter((f) => f.type === 'status').map((f) => f.status);
    assert.equal(statuses[0], 'running');
    assert.equal(statuses[statuses.length - 1], 'succeeded');
    assert.equal(w.ended?.status, 'succeeded');
    assert.equal(w.closeCode, 1000);

    // A finished job replays from the log alone and ends at once.
    const late = watcher(jobId, asViewer());
    await late.connect();
    await late.until(() => late.ended !== null, 15_000, 'end for a finished job');
    assert.equal(late.seqs.length, 1000);
    assert.equal(late.ended?.status, 'succeeded');
  });

  it('delivers lines that arrive in the same batch as job.finished before the end', async () => {
    const { agent, jobId } = await runningJob();
    const w = watcher(jobId, asViewer());
    await w.connect();
    await w.until(() => w.others.some((f) => f.type === 'status'), 10_000, 'live');
    const ts = new Date().toISOString();
    const sent = [1, 2, 3, 4, 5].map((seq) =>
      agent.send('log.stream', { job_id: jobId, seq, ts, stream: 'stdout', payload: `last ${seq}` }, jobId),
    );
    sent.push(
      agent.send(
        'job.finished',
        {
          job_id: jobId,
          status: 'warning',
          exit_code: 3,
          finished_at: ts,
          error: 'some files unreadable',
          error_code: 'partial_read',
        },
        jobId,
      ),
    );
    await agent.waitForAcks(sent.map((e) => e.id));
    await w.until(() => w.ended !== null, 15_000, 'end');
    assert.deepEqual(w.seqs, [1, 2, 3, 4, 5]);
    assert.equal(w.ended?.status, 'warning');
    const last = w.others.filter((f) => f.type === 'status').pop();
    assert.equal(last?.error_code, 'partial_read');
    assert.equal(last?.exit_code, 3);
  });

  it(
    `a stalled watcher gets drop markers while a fast one gets all ${LINES} lines in order, and the agent's acks do not slow down`,
    { timeout: 300_000 },
    async () => {
      // Baseline: the same stream with one fast watcher.
      const base = await runningJob();
      const baseFast = watcher(base.jobId, asViewer());
      await baseFast.connect();
      const baseStreamer = new LineStreamer(base.agent, base.jobId);
      const t0 = Date.now();
      await baseStreamer.run(LINES, 180_000);
      const baseMs = Date.now() - t0;
      await finish(base.agent, base.jobId);
      await baseFast.until(() => baseFast.ended !== null, 60_000, 'baseline end');
      assert.equal(baseFast.seqs.length, LINES);

      // With a stalled watcher next to the fast one.
      const { agent, jobId } = await runningJob();
      const fast = watcher(jobId, asViewer());
      const stalled = watcher(jobId, asViewer());
      await fast.connect();
      await stalled.connect();
      await stalled.until(
        () => stalled.others.some((f) => f.type === 'status'),
        10_000,
        'stalled watcher joined',
      );
      stalled.pause();
      const streamer = new LineStreamer(agent, jobId);
      const t1 = Date.now();
      await streamer.run(LINES, 180_000);
      const stalledMs = Date.now() - t1;
      await finish(agent, jobId);
      await fast.until(() => fast.ended !== null, 60_000, 'fast watcher end');

      assert.equal(fast.seqs.length, LINES, 'the fast watcher got every line');
      assertStrictlyIncreasing(fast.seqs, 'fast watcher');
      assert.equal(fast.drops.length, 0, 'the fast watcher got no drop markers');

      stalled.resume();
      await stalled.until(() => stalled.ended !== null, 60_000, 'stalled watcher end after resuming');
      assert.ok(stalled.drops.length >= 1, 'the stalled watcher got at least one drop marker');
      // Lines and drop markers together cover 1..LINES exactly once, in order.
      const covered: number[] = [];
      let li = 0;
      let di = 0;
      let expected = 1;
      while (expected <= LINES) {
        if (li < stalled.seqs.length && stalled.seqs[li] === expected) {
          covered.push(expected++);
          li++;
        } else if (di < stalled.drops.length && stalled.drops[di]!.from === expected) {
          expected = stalled.drops[di]!.to + 1;
          di++;
        } else {
          assert.fail(`stalled watcher: seq ${expected} neither received nor in a drop marker`);
        }
      }
      assert.equal(li, stalled.seqs.length);
      assert.equal(di, stalled.drops.length);
      const droppedLines = stalled.drops.reduce((n, d) => n + d.to - d.from + 1, 0);

      // The gap can be fetched from the REST log (what the job page does).
      const gap = stalled.drops[0]!;
      let fetched: Array<{ seq: number }> = [];
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const res = await admin.get<{ lines: Array<{ seq: number }> }>(
          `/api/jobs/${jobId}/logs?after_seq=${gap.from - 1}&limit=${Math.min(10_000, gap.to - gap.from + 1)}`,
        );
        fetched = res.body.lines ?? [];
        if (fetched.length > 0 && fetched[fetched.length - 1]!.seq >= Math.min(gap.to, gap.from + 9_999))
          break;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(fetched[0]?.seq, gap.from, 'the first dropped line is in the REST log');

      const baseP99 = percentile(baseStreamer.ackLatencies, 99);
      const stalledP99 = percentile(streamer.ackLatencies, 99);
      const report = {
        lines: LINES,
        baseline: {
          ack_p50_ms: percentile(baseStreamer.ackLatencies, 50),
          ack_p99_ms: baseP99,
          wall_ms: baseMs,
        },
        with_stalled: {
          ack_p50_ms: percentile(streamer.ackLatencies, 50),
          ack_p99_ms: stalledP99,
          wall_ms: stalledMs,
        },
        stalled_received_lines: stalled.seqs.length,
        stalled_drop_markers: stalled.drops.length,
        stalled_dropped_lines: droppedLines,
      };
      process.stdout.write(`live-tail backpressure: ${JSON.stringify(report)}\n`);
      // Generous, relative to the baseline measured on this machine a moment ago.
      assert.ok(
        stalledP99 <= baseP99 * 3 + 25,
        `p99 ack latency with a stalled watcher ${stalledP99.toFixed(1)} ms vs baseline ${baseP99.toFixed(1)} ms`,
      );
    },
  );

  async function sessionCookie(): Promise<string> {
    const res = await fetch(`${cp.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: ADMIN_USER, password: ADMIN_PASSWORD }),
      signal: AbortSignal.timeout(10_000),
    });
    const cookies = res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0]!)
      .filter((c) => c.startsWith('rf_session='));
    assert.equal(cookies.length, 1, 'login sets the session cookie');
    return cookies[0]!;
  }
});
