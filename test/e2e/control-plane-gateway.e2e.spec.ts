import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { readStream, streamMetadata, typesOf, waitForStream } from '../support/event-log.reader';
import { RestClient } from '../support/rest-client';
import {
  enrolHost,
  ScriptedAgent,
  UpgradeRefused,
  type AgentIdentity,
  type WireEnvelope,
} from '../support/scripted-agent';

/*
 * The real control plane as a child process on a temp data dir, and scripted
 * agents over real WebSockets. Assertions read the REST API and the event log.
 */

const REPO_PASSWORD = `pw-${randomUUID()}`;
const MAX_MESSAGE_BYTES = 64 * 1024;

describe('control plane agent gateway (e2e)', () => {
  let cp: ControlPlaneProcess;
  let admin: RestClient;
  const agents: ScriptedAgent[] = [];

  before(async () => {
    cp = await ControlPlaneProcess.start({
      env: {
        RF_HEARTBEAT_INTERVAL_S: '1',
        RF_JOB_LOST_GRACE_S: '2',
        RF_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES),
      },
    });
    admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
  });

  after(async () => {
    for (const a of agents) a.terminate();
    await cp?.stop();
    cp?.removeDataDir();
  });

  /** Enrols a host and connects a scripted agent that has said hello and seen the ack. */
  async function onlineAgent(
    identity?: AgentIdentity,
  ): Promise<{ agent: ScriptedAgent; identity: AgentIdentity }> {
    const id = identity ?? (await enrolHost(admin));
    const agent = new ScriptedAgent(cp.wsUrl, id);
    agents.push(agent);
    await agent.connect();
    const hello = agent.hello();
    await agent.waitForAcks([hello.id]);
    return { agent, identity: id };
  }

  /** A job requested over REST and received by the agent as command.run. */
  async function dispatchedJob(
    agent: ScriptedAgent,
    hostId: string,
    body: Record<string, unknown> = { kind: 'backup', paths: ['/srv'] },
  ): Promise<string> {
    const res = await admin.post<{ job_id: string }>(`/api/hosts/${hostId}/jobs`, body);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const jobId = res.body.job_id;
    await agent.waitFor(
      (e) => e.type === 'command.run' && e.payload.job_id === jobId,
      10_000,
      `command.run for ${jobId}`,
    );
    return jobId;
  }

  it('refuses the upgrade with 401 for missing or wrong credentials', async () => {
    const identity = await enrolHost(admin);
    const noAuth = new ScriptedAgent(cp.wsUrl, identity);
    await assert.rejects(
      noAuth.connect(''),
      (err: unknown) => err instanceof UpgradeRefused && err.status === 401,
    );
    const wrong = new ScriptedAgent(cp.wsUrl, { ...identity, agentSecret: 'x'.repeat(43) });
    await assert.rejects(
      wrong.connect(),
      (err: unknown) => err instanceof UpgradeRefused && err.status === 401,
    );
  });

  it('hello records AgentConnected, then pushes config.update (decrypted) and the latest schedule.set', async () => {
    const identity = await enrolHost(admin);
    const repo = await admin.put(`/api/hosts/${identity.agentId}/repository`, {
      url: 'sftp:backup@nas:/srv/restic',
      password: REPO_PASSWORD,
    });
    assert.equal(repo.status, 200, JSON.stringify(repo.body));
    assert.deepEqual(repo.body, {
      url: 'sftp:backup@nas:/srv/restic',
      username: null,
      password_set: true,
      credential_set: false,
    });
    const schedules = [{ id: 'nightly', kind: 'backup', cron: '0 3 * * *', enabled: true, paths: ['/etc'] }];
    const put = await admin.put<{ version: number }>(`/api/hosts/${identity.agentId}/schedules`, {
      schedules,
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.version, 1);

    const { agent } = await onlineAgent(identity);
    const config = await agent.waitForType('config.update');
    assert.equal(config.payload.repo_url, 'sftp:backup@nas:/srv/restic');
    assert.equal(config.payload.repo_password, REPO_PASSWORD);
    const set = await agent.waitForType('schedule.set');
    assert.equal(set.payload.version, 1);
    assert.deepEqual(
      (set.payload.schedules as Array<{ id: string }>).map((s) => s.id),
      ['nightly'],
    );

    const host = await readStream(cp.dataDir, `host-${identity.agentId}`);
    assert.deepEqual(typesOf(host), ['HostEnrolled', 'RepositoryConfigured', 'AgentConnected']);
    // Encrypted at rest: the event holds no plaintext password.
    assert.ok(!JSON.stringify(host[1]!.data).includes(REPO_PASSWORD));

    // A schedule change while online is pushed at once with the next version; the ack is recorded.
    const put2 = await admin.put<{ version: number }>(`/api/hosts/${identity.agentId}/schedules`, {
      schedules: [{ ...schedules[0], enabled: false }],
    });
    assert.equal(put2.body.version, 2);
    const set2 = await agent.waitFor((e) => e.type === 'schedule.set' && e.payload.version === 2);
    assert.equal((set2.payload.schedules as Array<{ enabled: boolean }>)[0]!.enabled, false);
    const ack = agent.send('schedule.ack', { version: 2, applied_at: new Date().toISOString() });
    await agent.waitForAcks([ack.id]);
    const sched = await readStream(cp.dataDir, `schedules-${identity.agentId}`);
    assert.deepEqual(typesOf(sched), ['SchedulesChanged', 'SchedulesChanged', 'SchedulesApplied']);
  });

  it('rejects a bad cron or bad kind args with 400 naming the field', async () => {
    const identity = await enrolHost(admin);
    const bad = await admin.put<{ error: { field: string } }>(`/api/hosts/${identity.agentId}/schedules`, {
      schedules: [{ id: 's1', kind: 'backup', cron: 'every tuesday', enabled: true, paths: ['/x'] }],
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.field, 'schedules.0.cron');
    const badArgs = await admin.post<{ error: { field: string } }>(`/api/hosts/${identity.agentId}/jobs`, {
      kind: 'backup',
      paths: [],
    });
    assert.equal(badArgs.status, 400);
    assert.equal(badArgs.body.error.field, 'args.paths');
    const badKind = await admin.post<{ error: { field: string } }>(`/api/hosts/${identity.agentId}/jobs`, {
      kind: 'format-disk',
    });
    assert.equal(badKind.status, 400);
    assert.equal(badKind.body.error.field, 'kind');
  });

  it('appends every durable envelope type before acking it, and runs the command round trip', async () => {
    const { agent, identity } = await onlineAgent();
    const hostId = identity.agentId;
    const jobId = await dispatchedJob(agent, hostId);
    const ts = () => new Date().toISOString();
    const sent: WireEnvelope[] = [
      agent.send('command.result', { job_id: jobId, accepted: true }, jobId),
      agent.send(
        'job.started',
        { job_id: jobId, kind: 'backup', started_at: ts(), restic_version: '0.14.0' },
        jobId,
      ),
      agent.send(
        'job.progress',
        {
          job_id: jobId,
          percent_done: 0.5,
          files_done: 5,
          total_files: 10,
          bytes_done: 50,
          total_bytes: 100,
          throughput_bps: 10,
        },
        jobId,
      ),
      agent.send(
        'log.stream',
        { job_id: jobId, seq: 1, ts: ts(), stream: 'stdout', payload: 'scanning' },
        jobId,
      ),
      agent.send(
        'log.stream',
        { job_id: jobId, seq: 2, ts: ts(), stream: 'stderr', payload: 'warning: x' },
        jobId,
      ),
      agent.send('log.dropped', { job_id: jobId, from_seq: 3, to_seq: 4, count: 2 }, jobId),
      agent.send(
        'job.finished',
        { job_id: jobId, status: 'succeeded', exit_code: 0, finished_at: ts(), stats: { files_new: 3 } },
        jobId,
      ),
      agent.send('snapshots.report', {
        snapshots: [
          {
            id: 'a'.repeat(64),
            short_id: 'aaaaaaaa',
            time: ts(),
            hostname: identity.hostname,
            paths: ['/srv'],
            tags: [],
          },
        ],
      }),
      agent.send('repo.stats', { total_size_bytes: 1000, snapshot_count: 1 }),
    ];
    await agent.waitForAcks(sent.map((e) => e.id));

    assert.deepEqual(typesOf(await readStream(cp.dataDir, `job-${jobId}`)), [
      'JobRequested',
      'JobDispatched',
      'JobAccepted',
      'JobStarted',
      'JobFinished',
    ]);
    assert.deepEqual(typesOf(await readStream(cp.dataDir, `joblog-${jobId}`)), [
      'JobProgress',
      'LogStreamLine',
      'LogStreamLine',
      'LogLinesDropped',
    ]);
    assert.deepEqual(typesOf(await readStream(cp.dataDir, `snapshots-${hostId}`)), ['SnapshotsReported']);
    assert.ok(typesOf(await readStream(cp.dataDir, `host-${hostId}`)).includes('RepoStatsReported'));
    // Log retention is set when the job's first telemetry is appended.
    const meta = await streamMetadata(cp.dataDir, `joblog-${jobId}`);
    assert.equal(meta.maxAge, 90 * 86_400);
    // Every agent event carries its audit metadata.
    const finished = (await readStream(cp.dataDir, `job-${jobId}`)).find((e) => e.type === 'JobFinished')!;
    assert.deepEqual((finished.metadata as { actor: unknown }).actor, { kind: 'agent', id: hostId });

    // The job's state via REST (read model, after the projections catch up).
    const deadline = Date.now() + 10_000;
    let job: { status?: string } = {};
    while (Date.now() < deadline) {
      const res = await admin.get<{ status: string }>(`/api/jobs/${jobId}`);
      if (res.status === 200 && res.body.status === 'succeeded') {
        job = res.body;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(job.status, 'succeeded');
  });

  it('answers schedule.fire with ScheduleFired, a JobRequested by the schedule and command.run on the same socket', async () => {
    const identity = await enrolHost(admin);
    await admin.put(`/api/hosts/${identity.agentId}/schedules`, {
      schedules: [
        { id: 'hourly', kind: 'backup', cron: '0 * * * *', enabled: true, paths: ['/home'], tags: ['auto'] },
        { id: 'off', kind: 'check', cron: '0 * * * *', enabled: false },
      ],
    });
    const { agent } = await onlineAgent(identity);
    const fire = agent.send('schedule.fire', {
      schedule_id: 'hourly',
      scheduled_at: new Date().toISOString(),
    });
    const run = await agent.waitFor((e) => e.type === 'command.run' && e.payload.kind === 'backup');
    assert.deepEqual(run.payload.args, { paths: ['/home'], tags: ['auto'] });
    await agent.waitForAcks([fire.id]);
    const jobId = run.payload.job_id as string;
    const job = await readStream(cp.dataDir, `job-${jobId}`);
    assert.equal(job[0]!.type, 'JobRequested');
    assert.equal((job[0]!.data as { schedule_id: string }).schedule_id, 'hourly');
    assert.deepEqual((job[0]!.metadata as { actor: unknown }).actor, { kind: 'schedule', id: 'hourly' });

    // The same fire resent (e.g. after a reconnect) starts no second job.
    agent.sendEnvelope({ ...fire });
    await new Promise((r) => setTimeout(r, 300));
    const fired = (await readStream(cp.dataDir, `schedules-${identity.agentId}`)).filter(
      (e) => e.type === 'ScheduleFired',
    );
    assert.equal(fired.length, 1);
    assert.deepEqual(typesOf(await readStream(cp.dataDir, `job-${jobId}`)), [
      'JobRequested',
      'JobDispatched',
    ]);

    // Fires for a disabled or unknown schedule are acked but start (and record) nothing.
    const off = agent.send('schedule.fire', { schedule_id: 'off', scheduled_at: new Date().toISOString() });
    const unknown = agent.send('schedule.fire', {
      schedule_id: 'nope',
      scheduled_at: new Date().toISOString(),
    });
    await agent.waitForAcks([off.id, unknown.id]);
    const runs = agent.received.filter((e) => e.type === 'command.run');
    assert.equal(runs.length, 1);
    const firedAfter = (await readStream(cp.dataDir, `schedules-${identity.agentId}`)).filter(
      (e) => e.type === 'ScheduleFired',
    );
    assert.equal(firedAfter.length, 1);
  });

  it('answers a bad envelope with an error naming the field and keeps the socket and earlier data', async () => {
    const { agent, identity } = await onlineAgent();
    const jobId = await dispatchedJob(agent, identity.agentId);
    const good = agent.send(
      'log.stream',
      { job_id: jobId, seq: 1, ts: new Date().toISOString(), stream: 'stdout', payload: 'first' },
      jobId,
    );
    await agent.waitForAcks([good.id]);

    agent.sendRaw('{not json');
    const e1 = await agent.waitForNext((e) => e.type === 'error');
    assert.equal(e1.payload.code, 'invalid_json');

    const bad = agent.envelope(
      'log.stream',
      { job_id: jobId, seq: -1, ts: new Date().toISOString(), stream: 'stdout', payload: 'x' },
      jobId,
    );
    agent.sendRaw(JSON.stringify(bad));
    const e2 = await agent.waitForNext((e) => e.type === 'error');
    assert.equal(e2.payload.field, 'payload.seq');
    assert.equal(e2.payload.ref_id, bad.id);

    agent.sendRaw(JSON.stringify({ ...agent.envelope('job.teleport', {}), type: 'job.teleport' }));
    const e3 = await agent.waitForNext((e) => e.type === 'error');
    assert.equal(e3.payload.field, 'type');

    const other = agent.envelope('log.stream', {
      job_id: 'not-my-job',
      seq: 1,
      ts: new Date().toISOString(),
      stream: 'stdout',
      payload: 'x',
    });
    agent.sendRaw(JSON.stringify(other));
    const e4 = await agent.waitForNext((e) => e.type === 'error');
    assert.equal(e4.payload.code, 'unknown_job');
    assert.equal(e4.payload.field, 'payload.job_id');

    // Over the size cap: refused with an error, socket stays up.
    const huge = agent.envelope(
      'log.stream',
      {
        job_id: jobId,
        seq: 2,
        ts: new Date().toISOString(),
        stream: 'stdout',
        payload: 'y'.repeat(MAX_MESSAGE_BYTES),
      },
      jobId,
    );
    agent.sendRaw(JSON.stringify(huge));
    const e5 = await agent.waitForNext((e) => e.type === 'error');
    assert.equal(e5.payload.code, 'too_large');
    assert.equal(e5.payload.ref_id, huge.id);

    assert.ok(agent.isOpen);
    const after = agent.send(
      'log.stream',
      { job_id: jobId, seq: 3, ts: new Date().toISOString(), stream: 'stdout', payload: 'after' },
      jobId,
    );
    await agent.waitForAcks([after.id]);
    const lines = (await readStream(cp.dataDir, `joblog-${jobId}`)).map(
      (e) => (e.data as { payload: string }).payload,
    );
    assert.deepEqual(lines, ['first', 'after']);
  });

  it('deduplicates envelopes resent after a reconnect', async () => {
    const { agent, identity } = await onlineAgent();
    const jobId = await dispatchedJob(agent, identity.agentId);
    const sent = Array.from({ length: 50 }, (_, i) =>
      agent.send(
        'log.stream',
        {
          job_id: jobId,
          seq: i + 1,
          ts: new Date().toISOString(),
          stream: 'stdout',
          payload: `line ${i + 1}`,
        },
        jobId,
      ),
    );
    await agent.waitForAcks(sent.map((e) => e.id));
    // Pretend the acks were lost: the outbox still holds everything and resends it on the next connection.
    for (const e of sent) agent.unacked.set(e.id, JSON.stringify(e));
    agent.terminate();
    await agent.waitForClose();
    await agent.connect();
    const hello = agent.hello();
    await agent.waitForAcks([hello.id]);
    for (const e of sent) agent.acked.delete(e.id);
    assert.equal(agent.resendUnacked(), 50);
    await agent.waitForAcks(sent.map((e) => e.id));
    const lines = (await readStream(cp.dataDir, `joblog-${jobId}`)).filter((e) => e.type === 'LogStreamLine');
    assert.equal(lines.length, 50);
    assert.deepEqual(
      lines.map((e) => (e.data as { seq: number }).seq),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
  });

  it('refuses an unsupported protocol with unsupported_protocol and closes', async () => {
    const identity = await enrolHost(admin);
    const agent = new ScriptedAgent(cp.wsUrl, identity);
    agents.push(agent);
    await agent.connect();
    agent.hello({ protocol_version: 99 });
    const err = await agent.waitForType('error');
    assert.equal(err.payload.code, 'unsupported_protocol');
    await agent.waitForClose();

    const v2 = new ScriptedAgent(cp.wsUrl, identity);
    agents.push(v2);
    await v2.connect();
    v2.sendRaw(JSON.stringify({ ...v2.envelope('hello', { protocol_version: 2 }), v: 2 }));
    const err2 = await v2.waitForType('error');
    assert.equal(err2.payload.code, 'unsupported_protocol');
    await v2.waitForClose();
    assert.ok(!typesOf(await readStream(cp.dataDir, `host-${identity.agentId}`)).includes('AgentConnected'));
  });

  it('requires hello before anything else', async () => {
    const identity = await enrolHost(admin);
    const agent = new ScriptedAgent(cp.wsUrl, identity);
    agents.push(agent);
    await agent.connect();
    const early = agent.send('repo.stats', { total_size_bytes: 1, snapshot_count: 0 });
    const err = await agent.waitForType('error');
    assert.equal(err.payload.code, 'hello_required');
    assert.equal(err.payload.ref_id, early.id);
    assert.ok(agent.isOpen);
  });

  it('replaces an older connection of the same host', async () => {
    const { agent: first, identity } = await onlineAgent();
    const { agent: second } = await onlineAgent(identity);
    const closed = await first.waitForClose();
    assert.equal(closed.code, 4001);
    assert.ok(second.isOpen);
    const host = await waitForStream(
      cp.dataDir,
      `host-${identity.agentId}`,
      (ev) => typesOf(ev).filter((t) => t === 'AgentConnected').length === 2,
    );
    const reasons = host
      .filter((e) => e.type === 'AgentDisconnected')
      .map((e) => (e.data as { reason: string }).reason);
    assert.deepEqual(reasons, ['replaced']);
    assert.deepEqual(typesOf(host).slice(-3), ['AgentConnected', 'AgentDisconnected', 'AgentConnected']);
  });

  it('closes a revoked host at once and refuses its reconnect with 401', async () => {
    const { agent, identity } = await onlineAgent();
    const res = await admin.delete(`/api/hosts/${identity.agentId}`);
    assert.equal(res.status, 204);
    const closed = await agent.waitForClose();
    assert.equal(closed.code, 4003);
    await assert.rejects(
      agent.connect(),
      (err: unknown) => err instanceof UpgradeRefused && err.status === 401,
    );
    const host = await readStream(cp.dataDir, `host-${identity.agentId}`);
    assert.ok(typesOf(host).includes('HostRevoked'));
    const job = await admin.post(`/api/hosts/${identity.agentId}/jobs`, { kind: 'check' });
    assert.equal(job.status, 409);
  });

  it('records heartbeat_timeout after three missed intervals', async () => {
    const { agent, identity } = await onlineAgent();
    // Heartbeats keep it alive past three intervals (3 s here)...
    for (let i = 0; i < 8; i++) {
      agent.heartbeat();
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(agent.isOpen);
    // ...silence does not.
    const closed = await agent.waitForClose(8000);
    assert.equal(closed.code, 4000);
    const host = await waitForStream(cp.dataDir, `host-${identity.agentId}`, (ev) =>
      typesOf(ev).includes('AgentDisconnected'),
    );
    assert.equal(
      (host.find((e) => e.type === 'AgentDisconnected')!.data as { reason: string }).reason,
      'heartbeat_timeout',
    );
  });

  it('queues jobs for an offline host, dispatches them in order on hello, and cancels a queued one at once', async () => {
    const identity = await enrolHost(admin);
    const a = await admin.post<{ job_id: string }>(`/api/hosts/${identity.agentId}/jobs`, { kind: 'check' });
    const b = await admin.post<{ job_id: string }>(`/api/hosts/${identity.agentId}/jobs`, { kind: 'prune' });
    const c = await admin.post<{ job_id: string }>(`/api/hosts/${identity.agentId}/jobs`, { kind: 'unlock' });
    const cancel = await admin.post<{ status: string }>(`/api/jobs/${b.body.job_id}/cancel`);
    assert.equal(cancel.status, 202);
    assert.equal(cancel.body.status, 'cancelled');
    assert.deepEqual(typesOf(await readStream(cp.dataDir, `job-${b.body.job_id}`)), [
      'JobRequested',
      'JobCancelRequested',
      'JobFinished',
    ]);
    const again = await admin.post(`/api/jobs/${b.body.job_id}/cancel`);
    assert.equal(again.status, 409);

    const { agent } = await onlineAgent(identity);
    await agent.waitFor((e) => e.type === 'command.run' && e.payload.job_id === c.body.job_id);
    const runs = agent.received.filter((e) => e.type === 'command.run').map((e) => e.payload.job_id);
    assert.deepEqual(runs, [a.body.job_id, c.body.job_id]);

    // Cancelling a dispatched job is sent to the agent.
    const cancelA = await admin.post<{ status: string }>(`/api/jobs/${a.body.job_id}/cancel`);
    assert.equal(cancelA.status, 202);
    const cmd = await agent.waitForType('command.cancel');
    assert.equal(cmd.payload.job_id, a.body.job_id);
  });

  it('marks a dispatched job lost when its agent stays away longer than the grace period', async () => {
    const { agent, identity } = await onlineAgent();
    const jobId = await dispatchedJob(agent, identity.agentId, { kind: 'check' });
    const accepted = agent.send('command.result', { job_id: jobId, accepted: true }, jobId);
    await agent.waitForAcks([accepted.id]);
    agent.terminate();
    const job = await waitForStream(
      cp.dataDir,
      `job-${jobId}`,
      (ev) => typesOf(ev).includes('JobLost'),
      15_000,
    );
    assert.equal(typesOf(job).at(-1), 'JobLost');
  });

  it('denies writes to a viewer (403) but lets it read', async () => {
    const created = await admin.post('/api/users', {
      username: `viewer-${randomUUID().slice(0, 8)}`,
      role: 'viewer',
      password: 'viewer-password-123',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const viewer = await RestClient.login(
      cp.url,
      (created.body as { username?: string; user?: { username: string } }).username ??
        (created.body as { user: { username: string } }).user.username,
      'viewer-password-123',
    );
    const identity = await enrolHost(admin);
    assert.equal((await viewer.post(`/api/hosts/${identity.agentId}/jobs`, { kind: 'check' })).status, 403);
    assert.equal((await viewer.post(`/api/jobs/${randomUUID()}/cancel`)).status, 403);
    assert.equal(
      (await viewer.put(`/api/hosts/${identity.agentId}/repository`, { url: 'local:/x', password: 'p' }))
        .status,
      403,
    );
    assert.equal(
      (await viewer.put(`/api/hosts/${identity.agentId}/schedules`, { schedules: [] })).status,
      403,
    );
    assert.equal((await viewer.delete(`/api/hosts/${identity.agentId}`)).status, 403);
    assert.equal((await viewer.get('/api/hosts')).status, 200);
  });

  it('never writes a repository password to its logs', () => {
    const text = cp.logText();
    assert.ok(text.length > 0);
    assert.ok(!text.includes(REPO_PASSWORD), 'the repository password appeared in the control plane output');
  });
});
