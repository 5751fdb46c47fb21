import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runTokens } from './tokens.command';
import { runUsers } from './users.command';
import {
  eventually,
  field,
  startAuthTestServer,
  tempDataDir,
  TestClient,
} from '../controllers/auth.test-harness';
import type { CliIo } from './identity-cli';

function captureIo(dataDir: string, stdin = ''): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    readStdin: async () => stdin,
    env: { RF_DATA_DIR: dataDir },
  };
}

function repoRoot(): string {
  if (process.env.RF_REPO_ROOT) return process.env.RF_REPO_ROOT;
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

/** Runs the real `restic-fleet` binary; bounded by a kill timer. */
function runBin(
  args: string[],
  env: Record<string, string>,
  stdin: string,
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot(), 'bin', 'restic-fleet.js'), ...args], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out, err });
    });
    child.stdin.end(stdin);
  });
}

describe('CLI users add / tokens create against a real data dir', () => {
  it('users add with a generated password prints it once; the server then accepts it and skips the bootstrap admin', async () => {
    const dataDir = tempDataDir();
    try {
      const io = captureIo(dataDir);
      assert.equal(await runUsers(['add', 'alice', '--role', 'admin'], io), 0, io.err.join(''));
      const text = io.out.join('');
      assert.match(text, /created user alice \(role admin, id [0-9a-f-]{36}\)/);
      const password = /password: (\S+)/.exec(text)?.[1];
      assert.ok(password && password.length >= 20);

      const server = await startAuthTestServer({ dataDir });
      try {
        assert.deepEqual(server.banners, [], 'users exist: no bootstrap admin');
        const client = new TestClient(server.url);
        const res = await client.login('alice', password);
        assert.equal(res.status, 200);
        assert.equal(field(field(res.body, 'user'), 'role'), 'admin');
      } finally {
        await server.close();
      }
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('users add --password-stdin takes the password from stdin and prints no password', async () => {
    const dataDir = tempDataDir();
    try {
      const io = captureIo(dataDir, 'from-stdin-pw\n');
      assert.equal(
        await runUsers(['add', 'bob', '--role', 'viewer', '--password-stdin'], io),
        0,
        io.err.join(''),
      );
      assert.doesNotMatch(io.out.join(''), /password/);
      const server = await startAuthTestServer({ dataDir });
      try {
        assert.equal((await new TestClient(server.url).login('bob', 'from-stdin-pw')).status, 200);
      } finally {
        await server.close();
      }
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('reports bad input clearly: usage errors exit 2, rejected values exit 1, naming the field', async () => {
    const dataDir = tempDataDir();
    try {
      const badRole = captureIo(dataDir);
      assert.equal(await runUsers(['add', 'carol', '--role', 'root'], badRole), 2);
      assert.match(badRole.err.join(''), /--role must be admin, operator or viewer/);
      assert.equal(fs.existsSync(path.join(dataDir, 'events.db')), false, 'a usage error touches no data');
      const noName = captureIo(dataDir);
      assert.equal(await runUsers(['add', '--role', 'viewer'], noName), 2);
      assert.match(noName.err.join(''), /missing NAME/);
      const shortPw = captureIo(dataDir, 'short\n');
      assert.equal(await runUsers(['add', 'carol', '--role', 'viewer', '--password-stdin'], shortPw), 1);
      assert.match(shortPw.err.join(''), /password: password must be at least 8 characters/);
      assert.equal(await runUsers(['add', 'carol', '--role', 'viewer'], captureIo(dataDir)), 0);
      const dup = captureIo(dataDir);
      assert.equal(await runUsers(['add', 'Carol', '--role', 'viewer'], dup), 1);
      assert.match(dup.err.join(''), /username: user "Carol" already exists/);
      const noTokenRole = captureIo(dataDir);
      assert.equal(await runTokens(['create', '--name', 'x'], noTokenRole), 2);
      assert.match(noTokenRole.err.join(''), /--role is required/);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('tokens create prints only the token on stdout; it authenticates with its role', async () => {
    const dataDir = tempDataDir();
    try {
      const io = captureIo(dataDir);
      assert.equal(
        await runTokens(['create', '--name', 'backup-bot', '--role', 'operator'], io),
        0,
        io.err.join(''),
      );
      const token = io.out.join('').trim();
      assert.match(token, /^rf_[A-Za-z0-9_-]{43}$/);
      assert.match(
        io.err.join(''),
        /created API token "backup-bot" \(role operator, id [0-9a-f-]{36}, expires \d{4}-/,
      );
      const server = await startAuthTestServer({ dataDir });
      try {
        const bot = new TestClient(server.url);
        const me = await bot.request('GET', '/api/auth/me', { bearer: token });
        assert.equal(me.status, 200);
        assert.equal(field(me.body, 'role'), 'operator');
        assert.equal((await bot.request('POST', '/api/probe', { json: {}, bearer: token })).status, 200);
      } finally {
        await server.close();
      }
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('the real binary adds a user and a token while a server runs on the same data dir; the server picks them up live', async () => {
    const server = await startAuthTestServer({
      env: { RF_ADMIN_USER: 'root', RF_ADMIN_PASSWORD: 'root-password' },
    });
    try {
      const env = { RF_DATA_DIR: server.dataDir };
      const user = await runBin(
        ['users', 'add', 'late', '--role', 'operator', '--password-stdin'],
        env,
        'late-password\n',
      );
      assert.equal(user.code, 0, user.err);
      const token = await runBin(['tokens', 'create', '--name', 'late-bot', '--role', 'viewer'], env, '');
      assert.equal(token.code, 0, token.err);
      const apiToken = token.out.trim();
      const client = new TestClient(server.url);
      await eventually(
        async () => (await client.request('GET', '/api/auth/me', { bearer: apiToken })).status === 200,
        10_000,
      );
      await eventually(
        async () => (await new TestClient(server.url).login('late', 'late-password')).status === 200,
        10_000,
      );
    } finally {
      await server.close();
      fs.rmSync(server.dataDir, { recursive: true, force: true });
    }
  });
});
