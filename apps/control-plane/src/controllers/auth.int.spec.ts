import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import {
  errorOf,
  field,
  probeWebSocket,
  startAuthTestServer,
  TestClient,
  type AuthTestServer,
} from './auth.test-harness';

const ADMIN = { RF_ADMIN_USER: 'root', RF_ADMIN_PASSWORD: 'correct horse battery' };

async function loggedIn(server: AuthTestServer, username: string, password: string): Promise<TestClient> {
  const client = new TestClient(server.url);
  const res = await client.login(username, password);
  assert.equal(res.status, 200, `login of ${username}: ${JSON.stringify(res.body)}`);
  return client;
}

async function addUser(
  admin: TestClient,
  username: string,
  role: string,
  password = 'password-123',
): Promise<string> {
  const res = await admin.request('POST', '/api/users', {
    json: { username, role, password },
    csrf: 'header',
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return String(field(res.body, 'id'));
}

describe('auth: login, sessions, CSRF and roles (real app, real SQLite log)', () => {
  let server: AuthTestServer;
  let admin: TestClient;

  before(async () => {
    server = await startAuthTestServer({ env: ADMIN });
    admin = await loggedIn(server, 'root', ADMIN.RF_ADMIN_PASSWORD);
  });
  after(async () => {
    await server.close();
    fs.rmSync(server.dataDir, { recursive: true, force: true });
  });

  it('bootstraps the admin from RF_ADMIN_USER/RF_ADMIN_PASSWORD without printing a password', async () => {
    assert.deepEqual(server.banners, []);
    const me = await admin.request('GET', '/api/auth/me');
    assert.equal(me.status, 200);
    assert.equal(field(me.body, 'name'), 'root');
    assert.equal(field(me.body, 'role'), 'admin');
    assert.equal(typeof field(me.body, 'csrf_token'), 'string');
  });

  it('sets an HttpOnly SameSite=Strict session cookie, not Secure over plain http', () => {
    const session = admin.setCookieLines.find((l) => l.startsWith('rf_session='));
    assert.ok(session, 'session cookie set');
    assert.match(session, /; HttpOnly/i);
    assert.match(session, /; SameSite=Strict/i);
    assert.match(session, /; Path=\//i);
    assert.doesNotMatch(session, /; Secure/i);
    const csrf = admin.setCookieLines.find((l) => l.startsWith('rf_csrf='));
    assert.ok(csrf);
    assert.doesNotMatch(csrf, /HttpOnly/i);
  });

  it('rejects a wrong password with 401 and records UserLoginFailed and UserLoggedIn in the log', async () => {
    const client = new TestClient(server.url);
    const res = await client.login('root', 'not the password');
    assert.equal(res.status, 401);
    assert.equal(errorOf(res.body).code, 'invalid_credentials');
    assert.equal(client.cookies.has('rf_session'), false);
    const types: string[] = [];
    for await (const e of server.store.readAll()) if (e.streamId.startsWith('user-')) types.push(e.type);
    assert.ok(types.includes('UserLoginFailed'));
    assert.ok(types.includes('UserLoggedIn'));
    const raw = JSON.stringify(await collectAll(server));
    assert.doesNotMatch(raw, /not the password|correct horse battery/, 'no password in the log');
  });

  it('refuses a login posted from a foreign page (login CSRF) but accepts our own origin', async () => {
    const client = new TestClient(server.url);
    const json = { username: 'root', password: ADMIN.RF_ADMIN_PASSWORD };
    const foreign = await client.request('POST', '/api/auth/login', {
      json,
      headers: { origin: 'https://evil.example' },
    });
    assert.equal(foreign.status, 403);
    assert.equal(errorOf(foreign.body).field, 'origin');
    assert.equal(client.cookies.has('rf_session'), false);
    const own = await client.request('POST', '/api/auth/login', { json, headers: { origin: server.url } });
    assert.equal(own.status, 200);
  });

  it('answers 401 with a JSON body when no credentials are sent, and lets @Public routes through', async () => {
    const anon = new TestClient(server.url);
    const res = await anon.request('GET', '/api/probe');
    assert.equal(res.status, 401);
    assert.equal(errorOf(res.body).code, 'unauthenticated');
    assert.equal((await anon.request('GET', '/api/probe/public')).status, 200);
    assert.equal((await anon.request('GET', '/api/users')).status, 401);
    assert.equal((await anon.request('GET', '/api/probe', { bearer: 'rf_not-a-real-token' })).status, 401);
  });

  it('enforces CSRF on cookie-authenticated writes: header or _csrf form field', async () => {
    const without = await admin.request('POST', '/api/probe', { json: {} });
    assert.equal(without.status, 403);
    assert.equal(errorOf(without.body).code, 'forbidden');
    assert.match(String(errorOf(without.body).message), /CSRF/);
    assert.equal(errorOf(without.body).field, 'x-csrf-token');
    const wrong = await admin.request('POST', '/api/probe', {
      json: {},
      headers: { 'x-csrf-token': 'nope' },
    });
    assert.equal(wrong.status, 403);
    const withHeader = await admin.request('POST', '/api/probe', { json: {}, csrf: 'header' });
    assert.equal(withHeader.status, 200);
    // The form field is removed before validation, so DTOs that forbid unknown fields accept the post.
    const withForm = await admin.request('POST', '/api/probe', {
      form: { _csrf: admin.cookies.get('rf_csrf')!, note: 'from a form' },
    });
    assert.equal(withForm.status, 200, JSON.stringify(withForm.body));
    assert.equal(field(withForm.body, 'note'), 'from a form');
  });

  it('applies the roles matrix: viewer reads only, operator writes, admin-only routes', async () => {
    await addUser(admin, 'vera', 'viewer');
    await addUser(admin, 'otto', 'operator');
    const viewer = await loggedIn(server, 'vera', 'password-123');
    const operator = await loggedIn(server, 'otto', 'password-123');

    assert.equal((await viewer.request('GET', '/api/probe')).status, 200);
    const viewerWrite = await viewer.request('POST', '/api/probe', { json: {}, csrf: 'header' });
    assert.equal(viewerWrite.status, 403);
    assert.equal(errorOf(viewerWrite.body).code, 'forbidden');
    assert.match(String(errorOf(viewerWrite.body).message), /requires the operator role; you have viewer/);

    assert.equal((await operator.request('POST', '/api/probe', { json: {}, csrf: 'header' })).status, 200);
    const opAdmin = await operator.request('GET', '/api/probe/admin');
    assert.equal(opAdmin.status, 403);
    assert.match(String(errorOf(opAdmin.body).message), /requires the admin role/);
    assert.equal((await operator.request('GET', '/api/users')).status, 403);
    assert.equal((await operator.request('GET', '/api/tokens')).status, 403);
    assert.equal(
      (await viewer.request('POST', '/api/enrolment-tokens', { json: {}, csrf: 'header' })).status,
      403,
    );
    assert.equal(
      (await operator.request('POST', '/api/enrolment-tokens', { json: {}, csrf: 'header' })).status,
      201,
    );

    assert.equal((await admin.request('GET', '/api/probe/admin')).status, 200);
    const users = await admin.request('GET', '/api/users');
    assert.equal(users.status, 200);
    assert.deepEqual(
      (users.body as { username: string; role: string }[]).map((u) => `${u.username}:${u.role}`),
      ['otto:operator', 'root:admin', 'vera:viewer'],
    );
    assert.doesNotMatch(JSON.stringify(users.body), /argon2|password/);
  });

  it('validates user input and names the field', async () => {
    const res = await admin.request('POST', '/api/users', {
      json: { username: 'x y', role: 'viewer', password: 'password-123' },
      csrf: 'header',
    });
    assert.equal(res.status, 400);
    assert.match(JSON.stringify(res.body), /username/);
    const badRole = await admin.request('POST', '/api/users', {
      json: { username: 'ok', role: 'root', password: 'password-123' },
      csrf: 'header',
    });
    assert.equal(badRole.status, 400);
    assert.match(JSON.stringify(badRole.body), /role/);
    const dup = await admin.request('POST', '/api/users', {
      json: { username: 'ROOT', role: 'viewer', password: 'password-123' },
      csrf: 'header',
    });
    assert.equal(dup.status, 409);
    assert.equal(errorOf(dup.body).field, 'username');
  });

  it('PATCH changes role, password and disabled; a disabled user loses the session and cannot log in', async () => {
    const id = await addUser(admin, 'pat', 'viewer');
    const pat = await loggedIn(server, 'pat', 'password-123');
    const promote = await admin.request('PATCH', `/api/users/${id}`, {
      json: { role: 'operator' },
      csrf: 'header',
    });
    assert.equal(promote.status, 200);
    assert.equal(field(promote.body, 'role'), 'operator');
    assert.equal((await pat.request('POST', '/api/probe', { json: {}, csrf: 'header' })).status, 200);

    const pw = await admin.request('PATCH', `/api/users/${id}`, {
      json: { password: 'new-password-1' },
      csrf: 'header',
    });
    assert.equal(pw.status, 200);
    assert.equal((await pat.request('GET', '/api/probe')).status, 401, 'password change ends sessions');
    const again = await loggedIn(server, 'pat', 'new-password-1');

    const disable = await admin.request('PATCH', `/api/users/${id}`, {
      json: { disabled: true },
      csrf: 'header',
    });
    assert.equal(field(disable.body, 'disabled'), true);
    assert.equal((await again.request('GET', '/api/probe')).status, 401);
    assert.equal((await new TestClient(server.url).login('pat', 'new-password-1')).status, 401);

    const enable = await admin.request('PATCH', `/api/users/${id}`, {
      json: { disabled: false },
      csrf: 'header',
    });
    assert.equal(field(enable.body, 'disabled'), false);
    await loggedIn(server, 'pat', 'new-password-1');
  });

  it('refuses to demote or disable the last active admin', async () => {
    const users = (await admin.request('GET', '/api/users')).body as { id: string; username: string }[];
    const root = users.find((u) => u.username === 'root')!;
    const res = await admin.request('PATCH', `/api/users/${root.id}`, {
      json: { role: 'viewer' },
      csrf: 'header',
    });
    assert.equal(res.status, 409);
  });

  it('authenticates browser WebSocket upgrades by session cookie only from our origin, and by API token', async () => {
    const cookie = [...admin.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const host = new URL(server.url).host;
    const ok = await probeWebSocket(server.url, { cookie, origin: `http://${host}` });
    assert.deepEqual(ok.message, { actor: 'root', via: 'session' });
    const crossSite = await probeWebSocket(server.url, { cookie, origin: 'https://evil.example' });
    assert.equal(crossSite.status, 401);
    const noOrigin = await probeWebSocket(server.url, { cookie });
    assert.equal(noOrigin.status, 401);
    assert.equal((await probeWebSocket(server.url, {})).status, 401);
    const token = await admin.request('POST', '/api/tokens', {
      json: { name: 'ws', role: 'viewer' },
      csrf: 'header',
    });
    const viaToken = await probeWebSocket(server.url, {
      authorization: `Bearer ${String(field(token.body, 'token'))}`,
    });
    assert.deepEqual(viaToken.message, { actor: 'ws', via: 'api_token' });
  });

  it('logout (with CSRF) ends the session', async () => {
    const client = await loggedIn(server, 'root', ADMIN.RF_ADMIN_PASSWORD);
    assert.equal(
      (await client.request('POST', '/api/auth/logout')).status,
      403,
      'logout needs the CSRF token',
    );
    assert.equal((await client.request('POST', '/api/auth/logout', { csrf: 'header' })).status, 204);
    assert.equal(client.cookies.has('rf_session'), false);
    assert.equal((await client.request('GET', '/api/auth/me')).status, 401);
  });
});

describe('auth: login rate limit', () => {
  let server: AuthTestServer;
  before(async () => {
    server = await startAuthTestServer({ env: ADMIN });
  });
  after(async () => {
    await server.close();
    fs.rmSync(server.dataDir, { recursive: true, force: true });
  });

  it('after 5 failures for one username answers 429 with Retry-After, even for the right password', async () => {
    const client = new TestClient(server.url);
    for (let i = 0; i < 5; i++) assert.equal((await client.login('root', `wrong-${i}`)).status, 401);
    const limited = await client.login('root', ADMIN.RF_ADMIN_PASSWORD);
    assert.equal(limited.status, 429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    server.clock.offsetMs += 61_000;
    assert.equal((await client.login('root', ADMIN.RF_ADMIN_PASSWORD)).status, 200, 'window moved on');
  });

  it('after 10 failures from one address answers 429 whatever the username', async () => {
    const client = new TestClient(server.url);
    for (let i = 0; i < 10; i++) assert.equal((await client.login(`nobody${i}`, 'whatever-pw')).status, 401);
    const limited = await client.login('someone-else', 'whatever-pw');
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  });
});

describe('auth: session expiry, persistence and Secure cookies', () => {
  it('expires idle sessions and sessions past their absolute lifetime', async () => {
    const server = await startAuthTestServer({
      env: ADMIN,
      settings: { sessionIdleMs: 10 * 60_000, sessionAbsoluteMs: 30 * 60_000, sessionTouchIntervalMs: 0 },
    });
    try {
      const client = await loggedIn(server, 'root', ADMIN.RF_ADMIN_PASSWORD);
      server.clock.offsetMs += 9 * 60_000;
      assert.equal(
        (await client.request('GET', '/api/auth/me')).status,
        200,
        'active within the idle window',
      );
      server.clock.offsetMs += 9 * 60_000;
      assert.equal((await client.request('GET', '/api/auth/me')).status, 200, 'each request refreshes it');
      server.clock.offsetMs += 11 * 60_000;
      assert.equal((await client.request('GET', '/api/auth/me')).status, 401, 'idle too long');

      const busy = await loggedIn(server, 'root', ADMIN.RF_ADMIN_PASSWORD);
      for (let i = 0; i < 3; i++) {
        server.clock.offsetMs += 9 * 60_000;
        assert.equal((await busy.request('GET', '/api/auth/me')).status, 200);
      }
      server.clock.offsetMs += 4 * 60_000;
      assert.equal((await busy.request('GET', '/api/auth/me')).status, 401, 'absolute lifetime over');
    } finally {
      await server.close();
      fs.rmSync(server.dataDir, { recursive: true, force: true });
    }
  });

  it('keeps sessions and users across a restart on the same data dir, storing only a hash of the session id in the log', async () => {
    const first = await startAuthTestServer({ env: ADMIN });
    const client = await loggedIn(first, 'root', ADMIN.RF_ADMIN_PASSWORD);
    await first.close();
    // Sessions live in the log (as the hash of the cookie value) and the identity snapshot: never the value.
    const cookie = Buffer.from(client.cookies.get('rf_session')!);
    for (const file of fs.readdirSync(first.dataDir).filter((f) => /\.db(-wal)?$/.test(f))) {
      assert.equal(fs.readFileSync(`${first.dataDir}/${file}`).includes(cookie), false, file);
    }
    assert.equal(fs.existsSync(`${first.dataDir}/sessions.db`), false, 'no sessions file of its own');
    const second = await startAuthTestServer({ dataDir: first.dataDir, env: ADMIN });
    try {
      const resumed = new TestClient(second.url);
      for (const [k, v] of client.cookies) resumed.cookies.set(k, v);
      const me = await resumed.request('GET', '/api/auth/me');
      assert.equal(me.status, 200);
      assert.equal(field(me.body, 'name'), 'root');
      const users = await resumed.request('GET', '/api/users');
      assert.equal((users.body as unknown[]).length, 1, 'no second bootstrap admin');
    } finally {
      await second.close();
      fs.rmSync(first.dataDir, { recursive: true, force: true });
    }
  });

  it('marks cookies Secure when RF_PUBLIC_URL is https', async () => {
    const server = await startAuthTestServer({
      env: { ...ADMIN, RF_PUBLIC_URL: 'https://fleet.example.org' },
    });
    try {
      const client = await loggedIn(server, 'root', ADMIN.RF_ADMIN_PASSWORD);
      const session = client.setCookieLines.find((l) => l.startsWith('rf_session='))!;
      assert.match(session, /; Secure/i);
      assert.match(session, /; HttpOnly/i);
    } finally {
      await server.close();
      fs.rmSync(server.dataDir, { recursive: true, force: true });
    }
  });
});

describe('auth: random bootstrap admin', () => {
  it('creates "admin" with a random password shown once in the banner, and not again on restart', async () => {
    const server = await startAuthTestServer();
    let dataDir = server.dataDir;
    try {
      assert.equal(server.banners.length, 1);
      const m = /username: (\S+)\n\s+password: (\S+)/.exec(server.banners[0]!);
      assert.ok(m, server.banners[0]);
      assert.equal(m[1], 'admin');
      assert.ok(m[2]!.length >= 20);
      await loggedIn(server, 'admin', m[2]!);
      const raw = JSON.stringify(await collectAll(server));
      assert.equal(raw.includes(m[2]!), false, 'the password is not in the log');
      await server.close();
      const again = await startAuthTestServer({ dataDir });
      dataDir = again.dataDir;
      assert.deepEqual(again.banners, []);
      await again.close();
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

async function collectAll(server: AuthTestServer): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const e of server.store.readAll())
    out.push({ type: e.type, data: e.data, metadata: e.metadata });
  return out;
}
