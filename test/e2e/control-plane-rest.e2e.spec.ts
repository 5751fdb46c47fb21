import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { readStream, typesOf } from '../support/event-log.reader';
import { RestClient } from '../support/rest-client';
import { enrolHost, ScriptedAgent } from '../support/scripted-agent';

/*
 * The REST surface of the core (docs/architecture.md, "External contract") against the real control plane
 * process: read models with read-your-writes, secrets never returned,
 * validation naming fields, health/readiness/metrics/OpenAPI, graceful
 * shutdown.
 */

const SECRET = `s3cr3t-${randomUUID()}`;

describe('control plane REST API (e2e)', () => {
  let cp: ControlPlaneProcess;
  let admin: RestClient;

  before(async () => {
    cp = await ControlPlaneProcess.start();
    admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
  });

  after(async () => {
    await cp?.stop();
    cp?.removeDataDir();
  });

  it('serves /healthz, /readyz and Prometheus /metrics without a session', async () => {
    const anon = new RestClient(cp.url);
    assert.deepEqual((await anon.get('/healthz')).body, { status: 'ok' });
    const ready = await anon.get('/readyz');
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    assert.deepEqual(ready.body, { status: 'ready' }, 'the public gets no internals');
    const detail = await admin.get<{ status: string; checks: Array<{ name: string; ok: boolean }> }>(
      '/readyz',
    );
    assert.deepEqual(detail.body.checks.map((c) => c.name).sort(), ['event_store', 'projections']);
    const metrics = await anon.get<string>('/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /text\/plain/);
    for (const name of [
      'rf_agents_connected',
      'rf_envelopes_acked_total',
      'rf_events_appended_total',
      'rf_projection_lag_events',
      'rf_jobs',
    ]) {
      assert.match(metrics.body, new RegExp(`^# TYPE ${name} `, 'm'));
    }
  });

  it('publishes the OpenAPI document', async () => {
    const doc = await new RestClient(cp.url).get<{ openapi: string; paths: Record<string, unknown> }>(
      '/api/docs/openapi.json',
    );
    assert.equal(doc.status, 200);
    for (const p of [
      '/api/hosts',
      '/api/hosts/{id}/jobs',
      '/api/jobs/{id}/logs',
      '/api/audit',
      '/api/hosts/{id}/repository',
    ]) {
      assert.ok(p in doc.body.paths, `${p} missing from OpenAPI`);
    }
  });

  it('requires authentication for the API', async () => {
    assert.equal((await new RestClient(cp.url).get('/api/hosts')).status, 401);
  });

  it('never returns repository secrets: URL without userinfo and password_set only', async () => {
    const identity = await enrolHost(admin);
    const put = await admin.put(`/api/hosts/${identity.agentId}/repository`, {
      url: 'rest:https://backup@rest.example:8000/web-1',
      password: SECRET,
      credential: `cred-${SECRET}`,
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const host = await admin.get<{ id: string; repository: { url: string; password_set: boolean } }>(
      `/api/hosts/${identity.agentId}`,
    );
    assert.equal(host.status, 200);
    assert.equal(host.body.repository.url, 'rest:https://rest.example:8000/web-1');
    assert.equal(host.body.repository.password_set, true);
    const list = await admin.get<{ hosts: unknown[] }>('/api/hosts');
    for (const body of [JSON.stringify(host.body), JSON.stringify(list.body)])
      assert.ok(!body.includes(SECRET));
    // A password embedded in the URL is refused, naming the field.
    const embedded = await admin.put<{ error: { field: string } }>(
      `/api/hosts/${identity.agentId}/repository`,
      {
        url: 's3:https://key:topsecret@s3.example/bucket',
        password: 'x',
      },
    );
    assert.equal(embedded.status, 400);
    assert.equal(embedded.body.error.field, 'url');
    assert.ok(!cp.logText().includes(SECRET), 'a repository secret reached the logs');
  });

  it('answers 400 naming the failing fields, and 404 for unknown ids', async () => {
    const identity = await enrolHost(admin);
    const missing = await admin.put<{ error: { code: string; fields: Record<string, string[]> } }>(
      `/api/hosts/${identity.agentId}/repository`,
      { url: 'local:/x' },
    );
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error.code, 'invalid_input');
    assert.ok('password' in missing.body.error.fields);
    const extra = await admin.put<{ error: { fields: Record<string, string[]> } }>(
      `/api/hosts/${identity.agentId}/repository`,
      { url: 'local:/x', password: 'p', colour: 'red' },
    );
    assert.equal(extra.status, 400);
    assert.ok('colour' in extra.body.error.fields);
    const unknownArg = await admin.post<{ error: { field: string } }>(`/api/hosts/${identity.agentId}/jobs`, {
      kind: 'prune',
      paths: ['/x'],
    });
    assert.equal(unknownArg.status, 400);
    assert.match(unknownArg.body.error.field, /^args\.paths/);
    assert.equal((await admin.get(`/api/hosts/${randomUUID()}`)).status, 404);
    assert.equal((await admin.get(`/api/jobs/${randomUUID()}`)).status, 404);
    assert.equal((await admin.post(`/api/hosts/${randomUUID()}/jobs`, { kind: 'check' })).status, 404);
    assert.equal((await admin.get('/api/jobs?status=exploded')).status, 400);
  });

  it('reads its own writes: a job is listed and filterable right after it is requested', async () => {
    const identity = await enrolHost(admin);
    const created = await admin.post<{ job_id: string }>(`/api/hosts/${identity.agentId}/jobs`, {
      kind: 'forget',
      policy: { keep_daily: 7 },
    });
    assert.equal(created.status, 202);
    const job = await admin.get<{
      id: string;
      status: string;
      kind: string;
      args: unknown;
      actor: { kind: string; name: string | null };
    }>(`/api/jobs/${created.body.job_id}`);
    assert.equal(job.status, 200);
    assert.equal(job.body.status, 'queued');
    assert.equal(job.body.kind, 'forget');
    assert.deepEqual(job.body.args, { policy: { keep_daily: 7 } });
    assert.equal(job.body.actor.kind, 'user');
    const list = await admin.get<{ jobs: Array<{ id: string }> }>(
      `/api/jobs?host=${identity.agentId}&status=queued&kind=forget`,
    );
    assert.deepEqual(
      list.body.jobs.map((j) => j.id),
      [created.body.job_id],
    );
    const none = await admin.get<{ jobs: unknown[] }>(`/api/jobs?host=${identity.agentId}&status=running`);
    assert.equal(none.body.jobs.length, 0);
    const sched = await admin.put(`/api/hosts/${identity.agentId}/schedules`, {
      schedules: [{ id: 'daily', kind: 'check', cron: '@daily', enabled: true }],
    });
    assert.equal(sched.status, 200);
    const got = await admin.get<{ version: number; schedules: Array<{ id: string }>; in_sync: boolean }>(
      `/api/hosts/${identity.agentId}/schedules`,
    );
    assert.equal(got.body.version, 1);
    assert.deepEqual(
      got.body.schedules.map((s) => s.id),
      ['daily'],
    );
    assert.equal(got.body.in_sync, false);
  });

  it('serves a job log page by page, and the host snapshots an agent reported', async () => {
    const identity = await enrolHost(admin);
    const agent = new ScriptedAgent(cp.wsUrl, identity);
    await agent.connect();
    try {
      await agent.waitForAcks([agent.hello().id]);
      const created = await admin.post<{ job_id: string }>(`/api/hosts/${identity.agentId}/jobs`, {
        kind: 'backup',
        paths: ['/srv'],
      });
      const jobId = created.body.job_id;
      await agent.waitFor((e) => e.type === 'command.run' && e.payload.job_id === jobId);
      const ids = [agent.send('command.result', { job_id: jobId, accepted: true }, jobId).id];
      for (let seq = 1; seq <= 25; seq++) {
        ids.push(
          agent.send(
            'log.stream',
            { job_id: jobId, seq, ts: new Date().toISOString(), stream: 'stdout', payload: `line ${seq}` },
            jobId,
          ).id,
        );
      }
      ids.push(
        agent.send('snapshots.report', {
          snapshots: [
            {
              id: 'b'.repeat(64),
              short_id: 'bbbbbbbb',
              time: new Date().toISOString(),
              hostname: identity.hostname,
              paths: ['/srv'],
            },
          ],
        }).id,
      );
      await agent.waitForAcks(ids);
      const page1 = await admin.get<{
        lines: Array<{ seq: number }>;
        next_after_seq: number;
        log_expired: boolean;
      }>(`/api/jobs/${jobId}/logs?limit=10`);
      assert.equal(page1.status, 200);
      assert.deepEqual(
        page1.body.lines.map((l) => l.seq),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      );
      assert.equal(page1.body.log_expired, false);
      const page3 = await admin.get<{ lines: Array<{ seq: number }> }>(
        `/api/jobs/${jobId}/logs?after_seq=20&limit=10`,
      );
      assert.deepEqual(
        page3.body.lines.map((l) => l.seq),
        [21, 22, 23, 24, 25],
      );
      assert.equal((await admin.get(`/api/jobs/${jobId}/logs?after_seq=abc`)).status, 400);
      const snaps = await admin.get<{ snapshots: Array<{ short_id: string }> }>(
        `/api/hosts/${identity.agentId}/snapshots`,
      );
      assert.deepEqual(
        snaps.body.snapshots.map((s) => s.short_id),
        ['bbbbbbbb'],
      );
      const host = await admin.get<{ online: boolean; status: string; last_seen: string | null }>(
        `/api/hosts/${identity.agentId}`,
      );
      assert.equal(host.body.online, true);
      assert.equal(host.body.status, 'online');
      assert.ok(host.body.last_seen);
    } finally {
      agent.terminate();
    }
  });

  it('shows the audit trail of operator actions', async () => {
    const identity = await enrolHost(admin);
    await admin.post(`/api/hosts/${identity.agentId}/jobs`, { kind: 'check' });
    const audit = await admin.get<{ lines: Array<{ action: string; actor: string; stream: string }> }>(
      `/api/audit?stream=job&actor=${ADMIN_USER}&since=1h`,
    );
    assert.equal(audit.status, 200, JSON.stringify(audit.body));
    assert.ok(audit.body.lines.some((l) => l.action === 'JobRequested'));
    assert.ok(audit.body.lines.every((l) => l.stream.startsWith('job-')));
    assert.equal((await admin.get('/api/audit?since=yesterday-ish')).status, 400);
  });

  it('shuts down gracefully on SIGTERM, recording connected agents as disconnected', async () => {
    const own = await ControlPlaneProcess.start();
    try {
      const client = await RestClient.login(own.url, ADMIN_USER, ADMIN_PASSWORD);
      const identity = await enrolHost(client);
      const agent = new ScriptedAgent(own.wsUrl, identity);
      await agent.connect();
      await agent.waitForAcks([agent.hello().id]);
      const code = await own.stop();
      assert.equal(code, 0);
      const closed = await agent.waitForClose();
      assert.equal(closed.code, 1001);
      const host = await readStream(own.dataDir, `host-${identity.agentId}`);
      assert.equal(typesOf(host).at(-1), 'AgentDisconnected');
      assert.equal((host.at(-1)!.data as { reason: string }).reason, 'server_shutdown');
    } finally {
      await own.stop();
      own.removeDataDir();
    }
  });
});
