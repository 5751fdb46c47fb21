import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { AgentCredentialsService } from '../services/agent-credentials.service';
import {
  errorOf,
  eventually,
  field,
  startAuthTestServer,
  TestClient,
  type AuthTestServer,
} from './auth.test-harness';

const ADMIN = {
  RF_ADMIN_USER: 'root',
  RF_ADMIN_PASSWORD: 'correct horse battery',
  RF_PUBLIC_URL: 'https://fleet.example.org',
};

describe('enrolment tokens, agent enrolment and agent credentials (real app, real SQLite log)', () => {
  let server: AuthTestServer;
  let operator: TestClient;
  let agents: AgentCredentialsService;

  before(async () => {
    server = await startAuthTestServer({ env: ADMIN });
    const admin = new TestClient(server.url);
    assert.equal((await admin.login('root', ADMIN.RF_ADMIN_PASSWORD)).status, 200);
    const created = await admin.request('POST', '/api/users', {
      json: { username: 'ops', role: 'operator', password: 'password-123' },
      csrf: 'header',
    });
    assert.equal(created.status, 201);
    operator = new TestClient(server.url);
    assert.equal((await operator.login('ops', 'password-123')).status, 200);
    agents = server.app.get(AgentCredentialsService);
  });
  after(async () => {
    await server.close();
    fs.rmSync(server.dataDir, { recursive: true, force: true });
  });

  const newToken = async (json: Record<string, unknown> = {}) => {
    const res = await operator.request('POST', '/api/enrolment-tokens', { json, csrf: 'header' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as {
      id: string;
      token: string;
      expires_at: string;
      command: string;
      windows_command: string;
    };
  };
  const enrol = (token: string, hostname = 'web-1') =>
    new TestClient(server.url).request('POST', '/api/agents/enrol', {
      json: { token, hostname, os: 'linux', arch: 'amd64' },
    });

  it('creates a one-time token with an expiry and copyable install commands using RF_PUBLIC_URL', async () => {
    const before = Date.now();
    const t = await newToken({ expires_in_minutes: 30 });
    assert.match(t.token, /^rfe_[A-Za-z0-9_-]{43}$/);
    const expires = Date.parse(t.expires_at);
    assert.ok(expires >= before + 30 * 60_000 - 1000 && expires <= Date.now() + 30 * 60_000 + 1000);
    assert.equal(
      t.command,
      `curl -fsSL https://fleet.example.org/agent/install.sh | sudo sh -s -- --token ${t.token}`,
    );
    assert.equal(
      t.windows_command,
      `& ([scriptblock]::Create((irm 'https://fleet.example.org/agent/install.ps1'))) -Token '${t.token}'`,
    );
    const stored = JSON.stringify(await all(server));
    assert.equal(stored.includes(t.token), false, 'only the hash is stored');
  });

  it('exchanges a token for agent credentials once; the secret verifies, is stored hashed, and the token cannot be reused', async () => {
    const t = await newToken();
    const res = await enrol(t.token, 'db-1');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const agentId = String(field(res.body, 'agent_id'));
    const secret = String(field(res.body, 'agent_secret'));
    assert.ok(secret.length >= 43);
    assert.deepEqual(await agents.verifyBearer(`Bearer ${agentId}.${secret}`), { hostId: agentId });

    const events = await all(server);
    const enrolled = events.find((e) => e.type === 'HostEnrolled' && e.stream === `host-${agentId}`);
    assert.ok(enrolled);
    assert.equal((enrolled.data as Record<string, unknown>).hostname, 'db-1');
    assert.equal(JSON.stringify(events).includes(secret), false, 'the secret is not in the log');
    assert.ok(events.some((e) => e.type === 'EnrolmentTokenUsed'));

    const reuse = await enrol(t.token, 'db-2');
    assert.equal(reuse.status, 401);
    assert.equal(errorOf(reuse.body).code, 'invalid_enrolment_token');
    assert.equal(errorOf(reuse.body).field, 'token');
  });

  it('of concurrent enrolments with one token exactly one wins', async () => {
    const t = await newToken();
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => enrol(t.token, `race-${i}`)));
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 401, 401, 401, 401, 401, 401, 401]);
    const events = await all(server);
    const used = events.filter((e) => e.type === 'EnrolmentTokenUsed' && e.stream === `enrolment-${t.id}`);
    assert.equal(used.length, 1);
    const raced = events.filter(
      (e) =>
        e.type === 'HostEnrolled' && String((e.data as Record<string, unknown>).hostname).startsWith('race-'),
    );
    assert.equal(raced.length, 1);
  });

  it('refuses an expired token', async () => {
    const t = await newToken({ expires_in_minutes: 5 });
    server.clock.offsetMs += 6 * 60_000;
    try {
      const res = await enrol(t.token);
      assert.equal(res.status, 401);
      assert.equal(errorOf(res.body).code, 'invalid_enrolment_token');
    } finally {
      server.clock.offsetMs -= 6 * 60_000;
    }
  });

  it('lists tokens by status without the secret, and refuses a revoked token', async () => {
    const t = await newToken();
    const statusOf = async (id: string) => {
      const list = await operator.request('GET', '/api/enrolment-tokens');
      assert.equal(list.status, 200);
      assert.equal(JSON.stringify(list.body).includes('rfe_'), false);
      return (list.body as { id: string; status: string }[]).find((x) => x.id === id)?.status;
    };
    assert.equal(await statusOf(t.id), 'pending');
    const revoke = await operator.request('DELETE', `/api/enrolment-tokens/${t.id}`, { csrf: 'header' });
    assert.equal(revoke.status, 204);
    assert.equal(await statusOf(t.id), 'revoked');
    assert.equal((await enrol(t.token)).status, 401);
    const used = await newToken();
    assert.equal((await enrol(used.token, 'listed')).status, 200);
    assert.equal(await statusOf(used.id), 'used');
  });

  it('validates enrolment input, naming the field, and lower-cases the platform names', async () => {
    const t = await newToken();
    const bad = await new TestClient(server.url).request('POST', '/api/agents/enrol', {
      json: { token: t.token, hostname: 'bad host!', os: 'linux', arch: 'amd64' },
    });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /hostname/);
    const ok = await new TestClient(server.url).request('POST', '/api/agents/enrol', {
      json: { token: t.token, hostname: 'Mixed-Case', os: 'Linux', arch: 'ARM64' },
    });
    assert.equal(ok.status, 200);
    const events = await all(server);
    const e = events.find((x) => x.stream === `host-${String(field(ok.body, 'agent_id'))}`)!;
    assert.equal((e.data as Record<string, unknown>).os, 'linux');
    assert.equal((e.data as Record<string, unknown>).arch, 'arm64');
  });

  it('verifyBearer answers null for unknown, malformed, wrong and revoked credentials', async () => {
    const t = await newToken();
    const res = await enrol(t.token, 'to-revoke');
    const agentId = String(field(res.body, 'agent_id'));
    const secret = String(field(res.body, 'agent_secret'));
    assert.equal(await agents.verifyBearer(undefined), null);
    assert.equal(await agents.verifyBearer(''), null);
    assert.equal(await agents.verifyBearer(`Basic ${agentId}.${secret}`), null);
    assert.equal(await agents.verifyBearer(`Bearer ${agentId}`), null);
    assert.equal(await agents.verifyBearer(`Bearer ${randomUUID()}.${secret}`), null);
    assert.equal(await agents.verifyBearer(`Bearer ${agentId}.${secret.slice(0, -1)}x`), null);
    assert.deepEqual(await agents.verifyBearer(`bearer  ${agentId}.${secret}`), { hostId: agentId });

    // The core's DELETE /api/hosts/{id} appends HostRevoked; the subscription must pick it up.
    await server.store.append(`host-${agentId}`, [
      {
        id: randomUUID(),
        type: 'HostRevoked',
        data: { host_id: agentId, revoked_at: new Date().toISOString() },
        metadata: { actor: { kind: 'user', id: 'someone' } },
      },
    ]);
    await eventually(async () => (await agents.verifyBearer(`Bearer ${agentId}.${secret}`)) === null);
  });

  it('rate-limits failed enrolments per address with 429 and Retry-After', async () => {
    const limited = await startAuthTestServer({ env: ADMIN, settings: { enrolFailuresPerIp: 3 } });
    try {
      const client = new TestClient(limited.url);
      const body = { token: 'rfe_guess', hostname: 'h', os: 'linux', arch: 'amd64' };
      for (let i = 0; i < 3; i++) {
        assert.equal((await client.request('POST', '/api/agents/enrol', { json: body })).status, 401);
      }
      const res = await client.request('POST', '/api/agents/enrol', { json: body });
      assert.equal(res.status, 429);
      assert.ok(Number(res.headers.get('retry-after')) >= 1);
    } finally {
      await limited.close();
      fs.rmSync(limited.dataDir, { recursive: true, force: true });
    }
  });
});

describe('API tokens (real app, real SQLite log)', () => {
  let server: AuthTestServer;
  let admin: TestClient;
  before(async () => {
    server = await startAuthTestServer({ env: ADMIN });
    admin = new TestClient(server.url);
    assert.equal((await admin.login('root', ADMIN.RF_ADMIN_PASSWORD)).status, 200);
  });
  after(async () => {
    await server.close();
    fs.rmSync(server.dataDir, { recursive: true, force: true });
  });

  it('creates a token shown once, authenticates with it without CSRF, lists it without secrets, and revokes it', async () => {
    const created = await admin.request('POST', '/api/tokens', {
      json: { name: 'ci', role: 'operator', expires_in_days: 30 },
      csrf: 'header',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const token = String(field(created.body, 'token'));
    const id = String(field(created.body, 'id'));
    assert.match(token, /^rf_[A-Za-z0-9_-]{43}$/);

    const bot = new TestClient(server.url);
    const me = await bot.request('GET', '/api/auth/me', { bearer: token });
    assert.equal(field(me.body, 'role'), 'operator');
    assert.equal(
      (await bot.request('POST', '/api/probe', { json: {}, bearer: token })).status,
      200,
      'no CSRF for bearer',
    );
    assert.equal((await bot.request('GET', '/api/probe/admin', { bearer: token })).status, 403);

    const list = await admin.request('GET', '/api/tokens');
    assert.equal(list.status, 200);
    assert.equal(JSON.stringify(list.body).includes(token), false);
    assert.doesNotMatch(JSON.stringify(list.body), /hash/);
    assert.equal((list.body as { name: string }[])[0]!.name, 'ci');
    assert.equal(JSON.stringify(await all(server)).includes(token), false, 'only the hash is in the log');

    assert.equal((await admin.request('DELETE', `/api/tokens/${id}`, { csrf: 'header' })).status, 204);
    assert.equal((await bot.request('GET', '/api/probe', { bearer: token })).status, 401);
    const after = await admin.request('GET', '/api/tokens');
    assert.equal((after.body as { revoked: boolean }[])[0]!.revoked, true);
  });

  it('viewer tokens are read-only and expired tokens are refused', async () => {
    const created = await admin.request('POST', '/api/tokens', {
      json: { name: 'dash', role: 'viewer', expires_in_days: 1 },
      csrf: 'header',
    });
    const token = String(field(created.body, 'token'));
    const bot = new TestClient(server.url);
    assert.equal((await bot.request('GET', '/api/probe', { bearer: token })).status, 200);
    const write = await bot.request('POST', '/api/probe', { json: {}, bearer: token });
    assert.equal(write.status, 403);
    assert.match(String(errorOf(write.body).message), /requires the operator role/);
    server.clock.offsetMs += 25 * 60 * 60_000;
    try {
      const expired = await bot.request('GET', '/api/probe', { bearer: token });
      assert.equal(expired.status, 401);
    } finally {
      server.clock.offsetMs -= 25 * 60 * 60_000;
    }
    assert.equal((await bot.request('GET', '/api/probe', { bearer: token })).status, 200);
  });

  it("stops accepting a user's tokens while that user is disabled", async () => {
    const second = await admin.request('POST', '/api/users', {
      json: { username: 'admin2', role: 'admin', password: 'password-123' },
      csrf: 'header',
    });
    const admin2 = new TestClient(server.url);
    assert.equal((await admin2.login('admin2', 'password-123')).status, 200);
    const created = await admin2.request('POST', '/api/tokens', {
      json: { name: 'a2', role: 'viewer' },
      csrf: 'header',
    });
    const token = String(field(created.body, 'token'));
    const bot = new TestClient(server.url);
    assert.equal((await bot.request('GET', '/api/probe', { bearer: token })).status, 200);
    const id = String(field(second.body, 'id'));
    await admin.request('PATCH', `/api/users/${id}`, { json: { disabled: true }, csrf: 'header' });
    assert.equal((await bot.request('GET', '/api/probe', { bearer: token })).status, 401);
    await admin.request('PATCH', `/api/users/${id}`, { json: { disabled: false }, csrf: 'header' });
    assert.equal((await bot.request('GET', '/api/probe', { bearer: token })).status, 200);
  });

  it('a token made without an expiry expires after a year, which the list shows; it is refused after that', async () => {
    const created = await admin.request('POST', '/api/tokens', {
      json: { name: 'yearly', role: 'viewer' },
      csrf: 'header',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const expiresAt = Date.parse(String(field(created.body, 'expires_at')));
    const inAYear = Date.now() + 365 * 86_400_000;
    assert.ok(
      Math.abs(expiresAt - inAYear) < 60_000,
      `expires_at ${String(field(created.body, 'expires_at'))}`,
    );
    const listed = (
      (await admin.request('GET', '/api/tokens')).body as Array<{ name: string; expires_at: string }>
    ).find((t) => t.name === 'yearly');
    assert.equal(listed?.expires_at, field(created.body, 'expires_at'));
    const token = String(field(created.body, 'token'));
    const bot = new TestClient(server.url);
    assert.equal((await bot.request('GET', '/api/probe', { bearer: token })).status, 200);
    server.clock.offsetMs += 366 * 86_400_000;
    try {
      assert.equal((await bot.request('GET', '/api/probe', { bearer: token })).status, 401);
    } finally {
      server.clock.offsetMs -= 366 * 86_400_000;
    }
  });

  it("acts with at most its creator's current role: demoting the creator caps it, disabling refuses it", async () => {
    const user = await admin.request('POST', '/api/users', {
      json: { username: 'admin3', role: 'admin', password: 'password-123' },
      csrf: 'header',
    });
    const userId = String(field(user.body, 'id'));
    const admin3 = new TestClient(server.url);
    assert.equal((await admin3.login('admin3', 'password-123')).status, 200);
    const created = await admin3.request('POST', '/api/tokens', {
      json: { name: 'automation', role: 'admin' },
      csrf: 'header',
    });
    const token = String(field(created.body, 'token'));
    const bot = new TestClient(server.url);
    assert.equal((await bot.request('GET', '/api/probe/admin', { bearer: token })).status, 200);

    await admin.request('PATCH', `/api/users/${userId}`, { json: { role: 'viewer' }, csrf: 'header' });
    assert.equal((await bot.request('GET', '/api/probe/admin', { bearer: token })).status, 403);
    assert.equal((await bot.request('POST', '/api/probe', { json: {}, bearer: token })).status, 403);
    assert.equal((await bot.request('GET', '/api/probe', { bearer: token })).status, 200);
    assert.equal(field((await bot.request('GET', '/api/auth/me', { bearer: token })).body, 'role'), 'viewer');
    const listed = (
      (await admin.request('GET', '/api/tokens')).body as Array<{
        name: string;
        role: string;
        effective_role: string | null;
      }>
    ).find((t) => t.name === 'automation');
    assert.deepEqual([listed?.role, listed?.effective_role], ['admin', 'viewer'], 'the list shows the cap');

    await admin.request('PATCH', `/api/users/${userId}`, { json: { role: 'operator' }, csrf: 'header' });
    assert.equal((await bot.request('POST', '/api/probe', { json: {}, bearer: token })).status, 200);
    assert.equal((await bot.request('GET', '/api/probe/admin', { bearer: token })).status, 403);

    await admin.request('PATCH', `/api/users/${userId}`, { json: { disabled: true }, csrf: 'header' });
    assert.equal((await bot.request('GET', '/api/probe', { bearer: token })).status, 401);
  });

  it('a token made by a token is capped by it, and stops when it is revoked', async () => {
    const parent = await admin.request('POST', '/api/tokens', {
      json: { name: 'parent', role: 'admin' },
      csrf: 'header',
    });
    const parentToken = String(field(parent.body, 'token'));
    const bot = new TestClient(server.url);
    const child = await bot.request('POST', '/api/tokens', {
      json: { name: 'child', role: 'admin' },
      bearer: parentToken,
    });
    assert.equal(child.status, 201, JSON.stringify(child.body));
    const childToken = String(field(child.body, 'token'));
    assert.equal((await bot.request('GET', '/api/probe/admin', { bearer: childToken })).status, 200);
    await admin.request('DELETE', `/api/tokens/${String(field(parent.body, 'id'))}`, { csrf: 'header' });
    assert.equal((await bot.request('GET', '/api/probe', { bearer: childToken })).status, 401);
  });

  it('only admins manage tokens; bad input names the field', async () => {
    const created = await admin.request('POST', '/api/tokens', {
      json: { name: 'op', role: 'operator' },
      csrf: 'header',
    });
    const opToken = String(field(created.body, 'token'));
    const bot = new TestClient(server.url);
    assert.equal((await bot.request('GET', '/api/tokens', { bearer: opToken })).status, 403);
    assert.equal(
      (await bot.request('POST', '/api/tokens', { json: { name: 'x', role: 'admin' }, bearer: opToken }))
        .status,
      403,
    );
    const bad = await admin.request('POST', '/api/tokens', {
      json: { name: 'x', role: 'admin', expires_in_days: 0 },
      csrf: 'header',
    });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /expires_in_days/);
  });
});

interface Stored {
  stream: string;
  type: string;
  data: unknown;
  metadata: unknown;
}

async function all(server: AuthTestServer): Promise<Stored[]> {
  const out: Stored[] = [];
  for await (const e of server.store.readAll())
    out.push({ stream: e.streamId, type: e.type, data: e.data, metadata: e.metadata });
  return out;
}
