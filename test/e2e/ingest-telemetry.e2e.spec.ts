import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import type { RecordedEvent } from '@rf/events';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { readStream } from '../support/event-log.reader';
import { RestClient } from '../support/rest-client';
import { enrolHost, ScriptedAgent, type AgentIdentity, type WireEnvelope } from '../support/scripted-agent';

/*
 * Job telemetry over a real WebSocket into the control plane process: each
 * job's joblog stream holds what the agent sent, in order, exactly once —
 * across resends after a reconnect and after a control-plane restart.
 */

describe('agent telemetry ingest (e2e)', () => {
  let cp: ControlPlaneProcess;
  let admin: RestClient;
  let identity: AgentIdentity;
  let agent: ScriptedAgent;
  const jobs: string[] = [];

  const connect = async () => {
    agent = new ScriptedAgent(cp.wsUrl, identity);
    await agent.connect();
    await agent.waitForAcks([agent.hello().id]);
  };

  before(async () => {
    cp = await ControlPlaneProcess.start();
    admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
    identity = await enrolHost(admin);
    await connect();
    for (let i = 0; i < 2; i++) {
      const res = await admin.post<{ job_id: string }>(`/api/hosts/${identity.agentId}/jobs`, {
        kind: 'backup',
        paths: ['/srv'],
      });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      jobs.push(res.body.job_id);
      await agent.acceptJob(res.body.job_id);
    }
  });

  after(async () => {
    agent?.terminate();
    await cp?.stop();
    cp?.removeDataDir();
  });

  const line = (jobId: string, seq: number) =>
    agent.envelope(
      'log.stream',
      { job_id: jobId, seq, ts: new Date().toISOString(), stream: 'stdout', payload: `line ${seq}` },
      jobId,
    );
  const progress = (jobId: string, files: number) =>
    agent.envelope(
      'job.progress',
      {
        job_id: jobId,
        percent_done: files / 10,
        files_done: files,
        total_files: 10,
        bytes_done: files,
        total_bytes: 10,
        throughput_bps: 1,
      },
      jobId,
    );
  const dropped = (jobId: string, from: number, to: number) =>
    agent.envelope('log.dropped', { job_id: jobId, from_seq: from, to_seq: to, count: to - from + 1 }, jobId);

  /** Sends the envelopes back to back (one burst, as an outbox flush) and waits for every ack. */
  const sendAll = async (envelopes: readonly WireEnvelope[]) => {
    for (const e of envelopes) agent.sendEnvelope(e);
    await agent.waitForAcks(envelopes.map((e) => e.id));
  };
  const envelopeIdsIn = async (jobId: string) =>
    (await readStream(cp.dataDir, `joblog-${jobId}`)).map(
      (e: RecordedEvent) => (e.metadata as { envelope_id?: string }).envelope_id,
    );
  const idsFor = (jobId: string, envelopes: readonly WireEnvelope[]) =>
    envelopes.filter((e) => e.job_id === jobId).map((e) => e.id);

  it('stores lines, progress and drop markers of two jobs in order, once, across resends and a restart', async () => {
    const [a, b] = jobs as [string, string];
    const first = [
      line(a, 1),
      line(b, 1),
      line(a, 2),
      progress(a, 1),
      line(b, 2),
      line(a, 3),
      dropped(a, 4, 5),
      progress(b, 1),
      line(a, 6),
      line(b, 3),
    ];
    await sendAll(first);
    assert.deepEqual(await envelopeIdsIn(a), idsFor(a, first));
    assert.deepEqual(await envelopeIdsIn(b), idsFor(b, first));

    // A reconnect: the same batch again, then the tail of it followed by new envelopes.
    agent.terminate();
    await connect();
    await sendAll(first);
    const next = [line(a, 7), progress(a, 2), line(b, 4), dropped(b, 5, 6), line(a, 8), line(b, 7)];
    const overlapping = [...first.slice(5), ...next];
    await sendAll(overlapping);
    assert.deepEqual(await envelopeIdsIn(a), [...idsFor(a, first), ...idsFor(a, next)]);
    assert.deepEqual(await envelopeIdsIn(b), [...idsFor(b, first), ...idsFor(b, next)]);

    // A control-plane restart forgets everything but the log.
    agent.terminate();
    await cp.stop();
    cp = await ControlPlaneProcess.start({ dataDir: cp.dataDir });
    await connect();
    await sendAll([...first, ...next]);
    assert.deepEqual(await envelopeIdsIn(a), [...idsFor(a, first), ...idsFor(a, next)]);
    assert.deepEqual(await envelopeIdsIn(b), [...idsFor(b, first), ...idsFor(b, next)]);
  });

  it('while another process holds the event log locked: nothing is acked, the agent is told to reconnect, its resend lands once', async () => {
    const [a] = jobs as [string, string];
    const before = await envelopeIdsIn(a);
    const seq0 = before.length + 100;
    // A real lock on the real file (as a backup tool or a stuck CLI could hold it): the control
    // plane's writer waits its busy timeout, then the append fails as unavailable.
    const locker = new Database(path.join(cp.dataDir, 'events.db'));
    locker.pragma('busy_timeout = 10000');
    locker.exec('BEGIN IMMEDIATE');
    const batch = [line(a, seq0 + 1), progress(a, 9), line(a, seq0 + 2)];
    let closed: { code: number; reason: string };
    try {
      for (const e of batch) agent.sendEnvelope(e);
      closed = await agent.waitForClose(20_000);
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
    }
    assert.equal(closed.code, 1013, `closed with "try again later": ${JSON.stringify(closed)}`);
    assert.ok(
      batch.every((e) => !agent.acked.has(e.id)),
      'nothing was acked',
    );
    assert.deepEqual(await envelopeIdsIn(a), before, 'nothing was stored');
    // The same agent (same outbox) dials again, says hello and resends what was never acked.
    await agent.connect();
    await agent.waitForAcks([agent.hello().id]);
    assert.equal(agent.resendUnacked(), batch.length);
    await agent.waitForAcks(batch.map((e) => e.id));
    assert.deepEqual(await envelopeIdsIn(a), [...before, ...batch.map((e) => e.id)]);
    const log = cp.logText();
    assert.match(log, /could not append agent message/);
  });
});
