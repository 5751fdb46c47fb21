import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { legacyRepositoryId } from '@rf/events';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { readStream, typesOf } from '../support/event-log.reader';
import { RestClient, type RestResponse } from '../support/rest-client';
import { enrolHost, ScriptedAgent, type AgentIdentity, type WireEnvelope } from '../support/scripted-agent';

/*
 * The repository aggregate's routes (docs/repositories.md) against the real
 * control plane process, with scripted agents on real WebSockets: validation,
 * roles, exact-revision appends, config.update listing every attached
 * repository, jobs naming their repository, removal refused while a job is
 * unfinished, snapshots per repository, the per-repository metrics — and no
 * secret in any answer or log line.
 */

const SECRET = `pw-${randomUUID()}`;
const CREDENTIAL = `cred-${randomUUID()}`;
const OTHER_SECRET = `pw2-${randomUUID()}`;

interface RepoAnswer {
  id: string;
  name: string;
  url: string;
  username: string | null;
  password_set: boolean;
  credential_set: boolean;
  legacy_host_id: string | null;
  hosts: Array<{ id: string; hostname: string | null }>;
}
interface ErrorAnswer {
  error: { code: string; message: string; field?: string };
}
interface RepositoryAccess {
  repository_id: string;
  url: string;
  password: string;
  username?: string;
  credential?: string;
}

const ts = (): string => new Date().toISOString();
const err = (r: RestResponse<unknown>): ErrorAnswer['error'] => (r.body as ErrorAnswer).error;

describe('repositories REST API, commands (e2e, real control plane, scripted agents)', () => {
  let cp: ControlPlaneProcess;
  let admin: RestClient;
  let operator: RestClient;
  let viewer: RestClient;
  const agents: ScriptedAgent[] = [];

  async function userWithRole(role: 'operator' | 'viewer'): Promise<RestClient> {
    const username = `${role}-${randomUUID().slice(0, 8)}`;
    const created = await admin.post('/api/users', { username, role, password: `${role}-password-123` });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return RestClient.login(cp.url, username, `${role}-password-123`);
  }

  /** An enrolled host online on a scripted agent that announces the `repositories` capability. */
  async function onlineHost(capabilities: string[] = ['repositories']): Promise<{
    agent: ScriptedAgent;
    host: AgentIdentity;
  }> {
    const host = await enrolHost(admin);
    const agent = new ScriptedAgent(cp.wsUrl, host);
    agents.push(agent);
    await agent.connect();
    await agent.waitForAcks([agent.hello({ capabilities }).id]);
    return { agent, host };
  }

  async function register(name: string, url: string, client = operator): Promise<RepoAnswer> {
    const res = await client.post<RepoAnswer>('/api/repositories', { name, url });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body;
  }

  /** The next config.update the agent receives after `since` envelopes. */
  async function configAfter(agent: ScriptedAgent, since: number): Promise<WireEnvelope> {
    return agent.waitFor(
      (e) => e.type === 'config.update' && agent.received.indexOf(e) >= since,
      10_000,
      'config.update',
    );
  }

  const repositoriesIn = (e: WireEnvelope): RepositoryAccess[] =>
    (e.payload.repositories as RepositoryAccess[] | undefined) ?? [];

  async function finishJob(agent: ScriptedAgent, jobId: string, kind: string): Promise<void> {
    await agent.acceptJob(jobId);
    const sent = [
      agent.send('job.started', { job_id: jobId, kind, started_at: ts(), restic_version: '0.14.0' }, jobId),
      agent.send(
        'job.finished',
        { job_id: jobId, status: 'succeeded', exit_code: 0, finished_at: ts(), stats: {} },
        jobId,
      ),
    ];
    await agent.waitForAcks(sent.map((e) => e.id));
  }

  before(async () => {
    cp = await ControlPlaneProcess.start();
    admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
    operator = await userWithRole('operator');
    viewer = await userWithRole('viewer');
  });

  after(async () => {
    for (const a of agents) a.close();
    await cp?.stop();
    cp?.removeDataDir();
  });

  it('registers a repository (operator) and answers it without secrets; a viewer may not', async () => {
    const repo = await register('offsite-a', 'rest:https://rest.example:8000/a');
    assert.match(repo.id, /^[0-9a-f-]{36}$/);
    assert.deepEqual(
      { ...repo, id: '' },
      {
        id: '',
        name: 'offsite-a',
        url: 'rest:https://rest.example:8000/a',
        username: null,
        password_set: false,
        credential_set: false,
        legacy_host_id: null,
        hosts: [],
      },
    );
    const read = await viewer.get<{ id: string; name: string }>(`/api/repositories/${repo.id}`);
    assert.equal(read.status, 200, 'read-your-writes through the read model');
    assert.equal(read.body.name, 'offsite-a');
    assert.deepEqual(typesOf(await readStream(cp.dataDir, `repository-${repo.id}`)), [
      'RepositoryRegistered',
    ]);

    const denied = await viewer.post('/api/repositories', { name: 'x', url: '/srv/x' });
    assert.equal(denied.status, 403);
    assert.equal(
      (await new RestClient(cp.url).post('/api/repositories', { name: 'x', url: '/srv/x' })).status,
      401,
    );
  });

  it('rejects a URL with embedded credentials, a bad URL, a missing name and a URL already registered', async () => {
    const withPassword = await operator.post('/api/repositories', {
      name: 'leaky',
      url: `rest:https://backup:${SECRET}@rest.example:8000/leaky`,
    });
    assert.equal(withPassword.status, 400);
    assert.equal(err(withPassword).field, 'url');
    assert.match(err(withPassword).message, /must not embed a password/);
    assert.ok(!JSON.stringify(withPassword.body).includes(SECRET));

    const badUrl = await operator.post('/api/repositories', { name: 'bad', url: '/srv/a\nb' });
    assert.equal(badUrl.status, 400);
    assert.equal(err(badUrl).field, 'url');

    const noName = await operator.post('/api/repositories', { url: '/srv/no-name' });
    assert.equal(noName.status, 400);
    assert.equal(err(noName).field, 'name');

    const extra = await operator.post('/api/repositories', { name: 'n', url: '/srv/n2', password: 'x' });
    assert.equal(extra.status, 400, 'secrets go through PUT …/secrets, not the registration');

    await register('dup-1', '/srv/restic/dup');
    const dup = await operator.post('/api/repositories', { name: 'dup-2', url: '/srv/restic/dup' });
    assert.equal(dup.status, 409);
    assert.equal(err(dup).field, 'url');
    assert.match(err(dup).message, /already has this URL/);
  });

  it('renames and moves a repository with PUT; 404 for an unknown one', async () => {
    const repo = await register('to-rename', '/srv/restic/rename-1');
    const put = await operator.put<RepoAnswer>(`/api/repositories/${repo.id}`, {
      name: 'renamed',
      url: '/srv/restic/rename-2',
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.name, 'renamed');
    assert.equal(put.body.url, '/srv/restic/rename-2');
    const same = await operator.put(`/api/repositories/${repo.id}`, {
      name: 'renamed',
      url: '/srv/restic/rename-2',
    });
    assert.equal(same.status, 200);
    assert.deepEqual(typesOf(await readStream(cp.dataDir, `repository-${repo.id}`)), [
      'RepositoryRegistered',
      'RepositoryChanged',
    ]);
    const missing = await operator.put(`/api/repositories/${randomUUID()}`, { name: 'n', url: '/srv/none' });
    assert.equal(missing.status, 404);
    assert.equal(err(missing).code, 'not_found');
    const leaky = await operator.put(`/api/repositories/${repo.id}`, {
      name: 'renamed',
      url: `s3:https://key:${SECRET}@s3.example/b`,
    });
    assert.equal(leaky.status, 400);
    assert.equal(err(leaky).field, 'url');
  });

  it('seals secrets, answers only set / not set, and sends them to attached hosts in config.update', async () => {
    const { agent, host } = await onlineHost();
    const repo = await register('sealed', '/srv/restic/sealed');
    const noPassword = await operator.put(`/api/repositories/${repo.id}/secrets`, { username: 'u' });
    assert.equal(noPassword.status, 400);
    assert.equal(err(noPassword).field, 'password');

    const attached = await operator.post<RepoAnswer>(`/api/repositories/${repo.id}/hosts`, {
      host_id: host.agentId,
    });
    assert.equal(attached.status, 200, JSON.stringify(attached.body));
    assert.deepEqual(attached.body.hosts, [{ id: host.agentId, hostname: host.hostname }]);

    const since = agent.received.length;
    const set = await operator.put<RepoAnswer>(`/api/repositories/${repo.id}/secrets`, {
      password: SECRET,
      username: 'backup',
      credential: CREDENTIAL,
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.equal(set.body.password_set, true);
    assert.equal(set.body.credential_set, true);
    assert.equal(set.body.username, 'backup');
    const config = await configAfter(agent, since);
    assert.equal(config.payload.repository_id, repo.id, 'its only usable repository is its default');
    assert.equal(config.payload.repo_password, SECRET);
    assert.deepEqual(repositoriesIn(config), [
      {
        repository_id: repo.id,
        url: '/srv/restic/sealed',
        password: SECRET,
        username: 'backup',
        credential: CREDENTIAL,
      },
    ]);

    const stored = JSON.stringify((await readStream(cp.dataDir, `repository-${repo.id}`)).map((e) => e.data));
    assert.ok(!stored.includes(SECRET) && !stored.includes(CREDENTIAL), 'secrets are sealed in the log');
    for (const path of [
      `/api/repositories/${repo.id}`,
      '/api/repositories',
      `/api/audit?stream=repository-${repo.id}`,
    ]) {
      const res = await admin.get(path);
      assert.equal(res.status, 200, path);
      assert.ok(!JSON.stringify(res.body).includes(SECRET), `${path} shows the password`);
      assert.ok(!JSON.stringify(res.body).includes(CREDENTIAL), `${path} shows the credential`);
    }
  });

  it('attaches and detaches hosts; config.update lists every attached repository, the host’s own one as default', async () => {
    const { agent, host } = await onlineHost();
    const own = await operator.put(`/api/hosts/${host.agentId}/repository`, {
      url: '/srv/restic/own',
      password: SECRET,
    });
    assert.equal(own.status, 200, JSON.stringify(own.body));
    const ownId = legacyRepositoryId(host.agentId);

    const offsite = await register('offsite-b', 'rest:http://127.0.0.1:9/b');
    assert.equal(
      (await operator.put(`/api/repositories/${offsite.id}/secrets`, { password: OTHER_SECRET })).status,
      200,
    );
    let since = agent.received.length;
    const attach = await operator.post<RepoAnswer>(`/api/repositories/${offsite.id}/hosts`, {
      host_id: host.agentId,
    });
    assert.equal(attach.status, 200, JSON.stringify(attach.body));
    let config = await configAfter(agent, since);
    assert.equal(config.payload.repository_id, ownId);
    assert.equal(config.payload.repo_url, '/srv/restic/own');
    assert.deepEqual(
      repositoriesIn(config).map((r) => [r.repository_id, r.url, r.password]),
      [
        [ownId, '/srv/restic/own', SECRET],
        [offsite.id, 'rest:http://127.0.0.1:9/b', OTHER_SECRET],
      ],
    );
    const again = await operator.post(`/api/repositories/${offsite.id}/hosts`, { host_id: host.agentId });
    assert.equal(again.status, 200, 'attaching twice is harmless');
    assert.deepEqual(typesOf(await readStream(cp.dataDir, `repository-${offsite.id}`)), [
      'RepositoryRegistered',
      'RepositorySecretsSet',
      'RepositoryAttached',
    ]);

    const unknown = await operator.post(`/api/repositories/${offsite.id}/hosts`, { host_id: randomUUID() });
    assert.equal(unknown.status, 404);
    assert.equal(err(unknown).field, 'host_id');
    const badId = await operator.post(`/api/repositories/${offsite.id}/hosts`, { host_id: 'not an id' });
    assert.equal(badId.status, 400);
    assert.equal(err(badId).field, 'host_id');

    since = agent.received.length;
    const detach = await operator.delete<RepoAnswer>(`/api/repositories/${offsite.id}/hosts/${host.agentId}`);
    assert.equal(detach.status, 200, JSON.stringify(detach.body));
    assert.deepEqual(detach.body.hosts, []);
    config = await configAfter(agent, since);
    assert.deepEqual(
      repositoriesIn(config).map((r) => r.repository_id),
      [ownId],
    );
    const notAttached = await operator.delete(`/api/repositories/${offsite.id}/hosts/${host.agentId}`);
    assert.equal(notAttached.status, 404);
    assert.ok(
      !cp.logText().includes(SECRET) && !cp.logText().includes(OTHER_SECRET),
      'a secret reached the logs',
    );
  });

  it('jobs name their repository: required when a host has two, written on JobRequested and command.run', async () => {
    const { agent, host } = await onlineHost();
    assert.equal(
      (
        await operator.put(`/api/hosts/${host.agentId}/repository`, {
          url: '/srv/restic/j1',
          password: SECRET,
        })
      ).status,
      200,
    );
    const ownId = legacyRepositoryId(host.agentId);
    const single = await operator.post<{ job_id: string }>(`/api/hosts/${host.agentId}/jobs`, {
      kind: 'snapshots',
    });
    assert.equal(single.status, 202, 'one repository: repository_id may be left out');
    let run = await agent.waitFor((e) => e.type === 'command.run' && e.payload.job_id === single.body.job_id);
    assert.equal(run.payload.repository_id, ownId);
    await finishJob(agent, single.body.job_id, 'snapshots');

    const second = await register('second', '/srv/restic/j2');
    await operator.put(`/api/repositories/${second.id}/secrets`, { password: OTHER_SECRET });
    await operator.post(`/api/repositories/${second.id}/hosts`, { host_id: host.agentId });

    const ambiguous = await operator.post(`/api/hosts/${host.agentId}/jobs`, { kind: 'check' });
    assert.equal(ambiguous.status, 400);
    assert.equal(err(ambiguous).field, 'repository_id');
    assert.match(err(ambiguous).message, /has 2 repositories; name one in repository_id/);

    const unknown = await operator.post(`/api/hosts/${host.agentId}/jobs`, {
      kind: 'check',
      repository_id: randomUUID(),
    });
    assert.equal(unknown.status, 400);
    assert.equal(err(unknown).field, 'repository_id');

    const other = await register('not-attached', '/srv/restic/j3');
    const notAttached = await operator.post(`/api/hosts/${host.agentId}/jobs`, {
      kind: 'check',
      repository_id: other.id,
    });
    assert.equal(notAttached.status, 409);
    assert.match(err(notAttached).message, /not attached/);

    const named = await operator.post<{ job_id: string }>(`/api/hosts/${host.agentId}/jobs`, {
      kind: 'check',
      repository_id: second.id,
    });
    assert.equal(named.status, 202, JSON.stringify(named.body));
    run = await agent.waitFor((e) => e.type === 'command.run' && e.payload.job_id === named.body.job_id);
    assert.equal(run.payload.repository_id, second.id);
    const [requested] = await readStream(cp.dataDir, `job-${named.body.job_id}`);
    assert.equal((requested?.data as { repository_id?: string }).repository_id, second.id);
    const shown = await viewer.get<{ repository_id: string | null }>(`/api/jobs/${named.body.job_id}`);
    assert.equal(shown.body.repository_id, second.id);
    const onRepo = await viewer.get<{ jobs: Array<{ id: string }> }>(`/api/jobs?repository=${second.id}`);
    assert.deepEqual(
      onRepo.body.jobs.map((j) => j.id),
      [named.body.job_id],
    );
    await finishJob(agent, named.body.job_id, 'check');

    const viaRepo = await operator.post<{ job_id: string }>(`/api/repositories/${second.id}/jobs`, {
      kind: 'stats',
    });
    assert.equal(viaRepo.status, 202, JSON.stringify(viaRepo.body));
    run = await agent.waitFor((e) => e.type === 'command.run' && e.payload.job_id === viaRepo.body.job_id);
    assert.equal(run.payload.repository_id, second.id, 'the only online attached host runs it');
    await finishJob(agent, viaRepo.body.job_id, 'stats');

    const copy = await operator.post<{ job_id: string }>(`/api/repositories/${ownId}/jobs`, {
      kind: 'copy',
      to_repository_id: second.id,
      snapshots: ['latest'],
    });
    assert.equal(copy.status, 202, JSON.stringify(copy.body));
    run = await agent.waitFor((e) => e.type === 'command.run' && e.payload.job_id === copy.body.job_id);
    assert.deepEqual(
      { repository_id: run.payload.repository_id, args: run.payload.args },
      { repository_id: ownId, args: { to_repository_id: second.id, snapshots: ['latest'] } },
    );
    await finishJob(agent, copy.body.job_id, 'copy');

    const copyNowhere = await operator.post(`/api/repositories/${ownId}/jobs`, {
      kind: 'copy',
      to_repository_id: other.id,
    });
    assert.equal(copyNowhere.status, 409, 'no online host is attached to both');
    const copySelf = await operator.post(`/api/repositories/${ownId}/jobs`, {
      kind: 'copy',
      to_repository_id: ownId,
      host_id: host.agentId,
    });
    assert.equal(copySelf.status, 400);
    assert.equal(err(copySelf).field, 'to_repository_id');
    const badArgs = await operator.post(`/api/repositories/${ownId}/jobs`, { kind: 'copy' });
    assert.equal(badArgs.status, 400, 'a copy needs its destination');
    assert.equal(err(badArgs).field, 'args.to_repository_id');
    const badHost = await operator.post(`/api/repositories/${ownId}/jobs`, {
      kind: 'check',
      host_id: randomUUID(),
    });
    assert.equal(badHost.status, 404);
    assert.equal(err(badHost).field, 'host_id');
    const noHost = await operator.post(`/api/repositories/${other.id}/jobs`, { kind: 'check' });
    assert.equal(noHost.status, 409);
    assert.match(err(noHost).message, /no attached host/);
    assert.equal((await viewer.post(`/api/repositories/${second.id}/jobs`, { kind: 'check' })).status, 403);
  });

  it('host schedules name their repository: written in for a host with one, required for a host with two', async () => {
    const { host } = await onlineHost();
    const schedule = { id: 'nightly', kind: 'backup', cron: '0 2 * * *', enabled: true, paths: ['/srv'] };
    assert.equal(
      (
        await operator.put(`/api/hosts/${host.agentId}/repository`, {
          url: '/srv/restic/s1',
          password: SECRET,
        })
      ).status,
      200,
    );
    const one = await operator.put(`/api/hosts/${host.agentId}/schedules`, { schedules: [schedule] });
    assert.equal(one.status, 200, JSON.stringify(one.body));
    const listed = await viewer.get<{ schedules: Array<{ repository_id?: string }> }>(
      `/api/hosts/${host.agentId}/schedules`,
    );
    assert.equal(listed.body.schedules[0]?.repository_id, legacyRepositoryId(host.agentId));

    const second = await register('sched-second', '/srv/restic/s2');
    await operator.post(`/api/repositories/${second.id}/hosts`, { host_id: host.agentId });
    const ambiguous = await operator.put(`/api/hosts/${host.agentId}/schedules`, { schedules: [schedule] });
    assert.equal(ambiguous.status, 400);
    assert.equal(err(ambiguous).field, 'schedules.0.repository_id');
    const foreign = await operator.put(`/api/hosts/${host.agentId}/schedules`, {
      schedules: [{ ...schedule, repository_id: randomUUID() }],
    });
    assert.equal(foreign.status, 400);
    assert.equal(err(foreign).field, 'schedules.0.repository_id');
    const named = await operator.put(`/api/hosts/${host.agentId}/schedules`, {
      schedules: [{ ...schedule, repository_id: second.id }],
    });
    assert.equal(named.status, 200, JSON.stringify(named.body));

    const detach = await operator.delete(`/api/repositories/${second.id}/hosts/${host.agentId}`);
    assert.equal(detach.status, 409, 'a schedule would fire into a repository the host no longer has');
    assert.match(
      err(detach).message,
      new RegExp(`schedules name repository sched-second .*${host.agentId}/nightly`),
    );
    assert.equal((await admin.delete(`/api/repositories/${second.id}`)).status, 409);
    const moved = await operator.put(`/api/hosts/${host.agentId}/schedules`, {
      schedules: [{ ...schedule, repository_id: legacyRepositoryId(host.agentId) }],
    });
    assert.equal(moved.status, 200);
    assert.equal((await operator.delete(`/api/repositories/${second.id}/hosts/${host.agentId}`)).status, 200);
  });

  it('an agent without the repositories capability gets no job for a repository other than its default', async () => {
    const { host } = await onlineHost([]);
    assert.equal(
      (
        await operator.put(`/api/hosts/${host.agentId}/repository`, {
          url: '/srv/restic/old',
          password: SECRET,
        })
      ).status,
      200,
    );
    const extra = await register('old-agent-extra', '/srv/restic/old-extra');
    await operator.put(`/api/repositories/${extra.id}/secrets`, { password: OTHER_SECRET });
    await operator.post(`/api/repositories/${extra.id}/hosts`, { host_id: host.agentId });
    const refused = await operator.post(`/api/hosts/${host.agentId}/jobs`, {
      kind: 'check',
      repository_id: extra.id,
    });
    assert.equal(refused.status, 409);
    assert.match(err(refused).message, /knows only its default repository/);
    const own = await operator.post(`/api/hosts/${host.agentId}/jobs`, {
      kind: 'check',
      repository_id: legacyRepositoryId(host.agentId),
    });
    assert.equal(own.status, 202);
  });

  it('refuses to remove a repository while a job on it is queued or running (409), then removes it (admin only)', async () => {
    const { agent, host } = await onlineHost();
    const repo = await register('busy', '/srv/restic/busy');
    await operator.put(`/api/repositories/${repo.id}/secrets`, { password: SECRET });
    await operator.post(`/api/repositories/${repo.id}/hosts`, { host_id: host.agentId });
    const job = await operator.post<{ job_id: string }>(`/api/repositories/${repo.id}/jobs`, {
      kind: 'prune',
    });
    assert.equal(job.status, 202);

    assert.equal(
      (await operator.delete(`/api/repositories/${repo.id}`)).status,
      403,
      'only an admin removes',
    );
    const busy = await admin.delete(`/api/repositories/${repo.id}`);
    assert.equal(busy.status, 409);
    assert.match(err(busy).message, /has 1 unfinished job: prune .* \((queued|dispatched)\); wait for them/);
    const detachBusy = await operator.delete(`/api/repositories/${repo.id}/hosts/${host.agentId}`);
    assert.equal(detachBusy.status, 409);

    await agent.acceptJob(job.body.job_id);
    agent.send(
      'job.started',
      { job_id: job.body.job_id, kind: 'prune', started_at: ts(), restic_version: '0.14.0' },
      job.body.job_id,
    );
    await agent.waitForAcks([...agent.unacked.keys()]);
    const running = await admin.delete(`/api/repositories/${repo.id}`);
    assert.equal(running.status, 409);
    assert.match(err(running).message, /running/);
    await agent.waitForAcks([
      agent.send(
        'job.finished',
        { job_id: job.body.job_id, status: 'succeeded', exit_code: 0, finished_at: ts(), stats: {} },
        job.body.job_id,
      ).id,
    ]);

    const since = agent.received.length;
    const removed = await admin.delete(`/api/repositories/${repo.id}`);
    assert.equal(removed.status, 204, JSON.stringify(removed.body));
    assert.equal((await admin.get(`/api/repositories/${repo.id}`)).status, 404);
    assert.equal((await admin.delete(`/api/repositories/${repo.id}`)).status, 404);
    assert.deepEqual(typesOf(await readStream(cp.dataDir, `repository-${repo.id}`)).slice(-1), [
      'RepositoryRemoved',
    ]);
    // The host is left with no repository it can use: no config.update can say so (repo_* are required), so none is sent.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(agent.received.slice(since).filter((e) => e.type === 'config.update').length, 0);
  });

  it('lists a repository’s snapshots as last reported, per host with ?host=, and exposes size and maintenance age', async () => {
    const { agent: a1, host: h1 } = await onlineHost();
    const { agent: a2, host: h2 } = await onlineHost();
    const repo = await register('shared', '/srv/restic/shared');
    await operator.put(`/api/repositories/${repo.id}/secrets`, { password: SECRET });
    for (const h of [h1, h2])
      await operator.post(`/api/repositories/${repo.id}/hosts`, { host_id: h.agentId });
    const snap = (id: string, hostname: string) => ({
      id: id.repeat(64),
      short_id: id.repeat(8),
      time: ts(),
      hostname,
      paths: ['/srv'],
      tags: [],
    });
    await a1.waitForAcks([
      a1.send('snapshots.report', { repository_id: repo.id, snapshots: [snap('a', h1.hostname)] }).id,
    ]);
    await a2.waitForAcks([
      a2.send('snapshots.report', {
        repository_id: repo.id,
        snapshots: [snap('a', h1.hostname), snap('b', h2.hostname)],
      }).id,
      a2.send('repo.stats', { repository_id: repo.id, total_size_bytes: 123_456, snapshot_count: 2 }).id,
    ]);
    const all = await viewer.get<{
      repository_id: string;
      snapshots: Array<{ id: string; repository_id: string }>;
    }>(`/api/repositories/${repo.id}/snapshots`);
    assert.equal(all.status, 200, JSON.stringify(all.body));
    assert.deepEqual(all.body.snapshots.map((s) => s.id).sort(), ['a'.repeat(64), 'b'.repeat(64)]);
    assert.ok(all.body.snapshots.every((s) => s.repository_id === repo.id));
    const onlyH2 = await viewer.get<{ snapshots: Array<{ id: string }> }>(
      `/api/repositories/${repo.id}/snapshots?host=${h2.agentId}`,
    );
    assert.deepEqual(
      onlyH2.body.snapshots.map((s) => s.id),
      ['b'.repeat(64)],
    );
    assert.equal(
      (await viewer.get(`/api/repositories/${repo.id}/snapshots?host=${randomUUID()}`)).status,
      404,
    );
    assert.equal((await viewer.get(`/api/repositories/${randomUUID()}/snapshots`)).status, 404);
    assert.equal((await viewer.get(`/api/repositories/${repo.id}/snapshots?host=a%20b`)).status, 400);

    const prune = await operator.post<{ job_id: string }>(`/api/repositories/${repo.id}/jobs`, {
      kind: 'prune',
      host_id: h1.agentId,
    });
    assert.equal(prune.status, 202);
    await finishJob(a1, prune.body.job_id, 'prune');
    const metrics = (await new RestClient(cp.url).get<string>('/metrics')).body;
    assert.match(
      metrics,
      new RegExp(
        `^rf_repository_size_bytes\\{[^}]*repository_id="${repo.id}",repository="shared"[^}]*\\} 123456$`,
        'm',
      ),
    );
    const age = new RegExp(
      `^rf_repository_last_maintenance_age_seconds\\{[^}]*repository_id="${repo.id}"[^}]*\\} ([0-9.e+-]+)$`,
      'm',
    ).exec(metrics);
    assert.ok(age, 'the prune counts as maintenance');
    assert.ok(Number(age[1]) >= 0 && Number(age[1]) < 600);
  });

  it('publishes the routes in the OpenAPI document', async () => {
    const doc = await new RestClient(cp.url).get<{ paths: Record<string, Record<string, unknown>> }>(
      '/api/docs/openapi.json',
    );
    const expect: Array<[string, string[]]> = [
      ['/api/repositories', ['get', 'post']],
      ['/api/repositories/{id}', ['get', 'put', 'delete']],
      ['/api/repositories/{id}/secrets', ['put']],
      ['/api/repositories/{id}/hosts', ['post']],
      ['/api/repositories/{id}/hosts/{hostId}', ['delete']],
      ['/api/repositories/{id}/jobs', ['post']],
      ['/api/repositories/{id}/snapshots', ['get']],
    ];
    for (const [p, methods] of expect)
      for (const m of methods) assert.ok(doc.body.paths[p]?.[m], `${m.toUpperCase()} ${p} missing`);
  });
});
