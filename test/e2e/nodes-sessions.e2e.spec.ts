import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { eventually } from '../support/fleet';
import { RestClient } from '../support/rest-client';

/*
 * Two control-plane processes on one embedded log, sharing only the log and
 * the secret key (docs/architecture.md, "Several nodes"): a browser session
 * made on one works on the other, ends on both, and the login failure budget
 * holds across them.
 */
describe('sessions and login limits across two nodes on one log (e2e)', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-nodes-'));
  const shared = {
    RF_EVENTSTORE: `sqlite://${path.join(root, 'log', 'events.db')}`,
    RF_SECRET_KEY_FILE: path.join(root, 'secret.key'),
  };
  let a: ControlPlaneProcess;
  let b: ControlPlaneProcess;

  const nodeDir = (name: string): string => {
    const dir = path.join(root, name);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  };

  before(async () => {
    a = await ControlPlaneProcess.start({ dataDir: nodeDir('a'), env: { ...shared, RF_NODE_ID: 'node-a' } });
    b = await ControlPlaneProcess.start({ dataDir: nodeDir('b'), env: { ...shared, RF_NODE_ID: 'node-b' } });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('a session made on A works on B at once, its CSRF token too, and a logout on either ends it on both', async () => {
    const onA = await RestClient.login(a.url, ADMIN_USER, ADMIN_PASSWORD);
    const onB = onA.at(b.url);
    const me = await onB.get<{ name: string; csrf_token: string }>('/api/auth/me');
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal(me.body.name, ADMIN_USER);
    // A write on B with the CSRF token A handed out.
    const created = await onB.post('/api/users', {
      username: 'ops',
      role: 'operator',
      password: 'operator-password-1',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));

    const ops = await RestClient.login(b.url, 'ops', 'operator-password-1');
    assert.equal((await ops.at(a.url).get('/api/hosts')).status, 200, 'made on B, works on A');
    assert.equal((await ops.at(a.url).post('/api/auth/logout')).status, 204);
    assert.equal((await ops.get('/api/hosts')).status, 401, 'logged out on A, refused on B');

    // Disabling a user on one node ends their sessions on every node.
    const again = await RestClient.login(a.url, 'ops', 'operator-password-1');
    assert.equal((await again.at(b.url).get('/api/hosts')).status, 200);
    const users = await onA.get<{ id: string; username: string }[]>('/api/users');
    const opsId = users.body.find((u) => u.username === 'ops')!.id;
    assert.equal((await onB.request('PATCH', `/api/users/${opsId}`, { disabled: true })).status, 200);
    // Other nodes learn of it as they follow the log: within the embedded store's poll of other writers.
    await eventually(
      'A to refuse the disabled user',
      async () => (await again.get('/api/hosts')).status === 401,
      2000,
      20,
    );
    assert.equal((await again.at(b.url).get('/api/hosts')).status, 401);
  });

  it('the failed-login budget of one username holds across nodes', async () => {
    // The default budget is 5 failures per username per minute: spread them over both nodes.
    for (let i = 0; i < 5; i++) {
      const node = i % 2 === 0 ? a : b;
      const res = await new RestClient(node.url).post('/api/auth/login', {
        username: ADMIN_USER,
        password: `wrong-${i}`,
      });
      assert.equal(res.status, 401);
    }
    for (const node of [a, b]) {
      const limited = await new RestClient(node.url).post('/api/auth/login', {
        username: ADMIN_USER,
        password: ADMIN_PASSWORD,
      });
      assert.equal(limited.status, 429, `node ${node.url}: ${JSON.stringify(limited.body)}`);
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    }
  });
});
