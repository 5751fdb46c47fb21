import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { legacyRepositoryId } from '@rf/events';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { RestClient } from '../support/rest-client';
import { enrolHost } from '../support/scripted-agent';

/*
 * The repositories read routes (docs/repositories.md) against the real control
 * plane process: a host's repository set with PUT /api/hosts/{id}/repository
 * reads as a repository named after the host and attached to it, with
 * read-your-writes and never a secret.
 */

const SECRET = `s3cr3t-${randomUUID()}`;

interface RepositoryBody {
  id: string;
  name: string;
  url: string;
  password_set: boolean;
  legacy_host_id: string | null;
  hosts: Array<{ id: string; hostname: string | null }>;
  registered_at: string;
  updated_at: string;
}

describe('repositories REST API, reads (e2e)', () => {
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

  it('a host’s repository reads as a repository named after the host, attached to it, without its secrets', async () => {
    const host = await enrolHost(admin, `web-${randomUUID().slice(0, 6)}`);
    const put = await admin.put(`/api/hosts/${host.agentId}/repository`, {
      url: 'rest:https://backup@rest.example:8000/web',
      password: SECRET,
      credential: `cred-${SECRET}`,
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));

    const id = legacyRepositoryId(host.agentId);
    const one = await admin.get<RepositoryBody>(`/api/repositories/${id}`);
    assert.equal(one.status, 200, JSON.stringify(one.body));
    assert.equal(one.body.id, id);
    assert.equal(one.body.name, host.hostname);
    assert.equal(one.body.url, 'rest:https://rest.example:8000/web');
    assert.equal(one.body.password_set, true);
    assert.equal(one.body.legacy_host_id, host.agentId);
    assert.deepEqual(one.body.hosts, [{ id: host.agentId, hostname: host.hostname }]);
    assert.match(one.body.registered_at, /^\d{4}-\d{2}-\d{2}T/);

    const moved = await admin.put(`/api/hosts/${host.agentId}/repository`, {
      url: 'sftp:backup@nas.example:/srv/web',
      password: SECRET,
    });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    const list = await admin.get<{ repositories: RepositoryBody[] }>('/api/repositories');
    assert.equal(list.status, 200);
    const listed = list.body.repositories.filter((r) => r.legacy_host_id === host.agentId);
    assert.equal(listed.length, 1, 'a host moved to another URL keeps one repository');
    assert.equal(listed[0]?.url, 'sftp:backup@nas.example:/srv/web');
    assert.deepEqual(listed[0]?.hosts, [{ id: host.agentId, hostname: host.hostname }]);

    for (const body of [JSON.stringify(one.body), JSON.stringify(list.body)])
      assert.ok(!body.includes(SECRET));
    assert.ok(!cp.logText().includes(SECRET), 'a repository secret reached the logs');
  });

  it('a revoked host is no longer listed on its repository', async () => {
    const host = await enrolHost(admin);
    assert.equal(
      (await admin.put(`/api/hosts/${host.agentId}/repository`, { url: '/srv/restic/x', password: SECRET }))
        .status,
      200,
    );
    assert.equal((await admin.delete(`/api/hosts/${host.agentId}`)).status, 204);
    const repo = await admin.get<RepositoryBody>(`/api/repositories/${legacyRepositoryId(host.agentId)}`);
    assert.equal(repo.status, 200);
    assert.deepEqual(repo.body.hosts, []);
  });

  it('answers 404 for an unknown repository and 400 naming the id for a malformed one', async () => {
    const missing = await admin.get<{ error: { code: string; field: string } }>(
      `/api/repositories/${randomUUID()}`,
    );
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'not_found');
    const bad = await admin.get<{ error: { code: string; field: string } }>(
      '/api/repositories/not%20an%20id',
    );
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.field, 'id');
  });

  it('needs a session, and a viewer may read', async () => {
    assert.equal((await new RestClient(cp.url).get('/api/repositories')).status, 401);
    const username = `viewer-${randomUUID().slice(0, 8)}`;
    const created = await admin.post('/api/users', {
      username,
      role: 'viewer',
      password: 'viewer-password-123',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const viewer = await RestClient.login(cp.url, username, 'viewer-password-123');
    const list = await viewer.get<{ repositories: RepositoryBody[] }>('/api/repositories');
    assert.equal(list.status, 200);
    assert.ok(list.body.repositories.length >= 1);
  });

  it('publishes the routes in the OpenAPI document', async () => {
    const doc = await new RestClient(cp.url).get<{ paths: Record<string, unknown> }>(
      '/api/docs/openapi.json',
    );
    for (const p of ['/api/repositories', '/api/repositories/{id}'])
      assert.ok(p in doc.body.paths, `${p} missing`);
  });
});
