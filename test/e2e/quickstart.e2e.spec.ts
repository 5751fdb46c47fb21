/**
 * `npm run quickstart` (scripts/quickstart.js, after its build step) with the
 * admin login given in RF_ADMIN_USER / RF_ADMIN_PASSWORD: the control plane,
 * a local agent, a demo repository and a first backup, then the login the
 * banner names must be the one asked for, and its password must not be
 * printed or stored.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../support/control-plane.process';
import { eventually, freePort } from '../support/fleet';

const USER = 'ops-lead';
const PASSWORD = `quickstart-${process.pid}-password`;

describe('npm run quickstart honours RF_ADMIN_USER / RF_ADMIN_PASSWORD (real processes)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-quickstart-'));
  let child: ChildProcess;
  let output = '';
  let baseUrl = '';
  let exited: Promise<number | null>;

  before(async () => {
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [path.join(repoRoot(), 'scripts', 'quickstart.js')], {
      cwd: repoRoot(),
      env: {
        PATH: process.env.PATH ?? '',
        HOME: dataDir,
        RF_DATA_DIR: dataDir,
        RF_LISTEN: `127.0.0.1:${port}`,
        RF_ADMIN_USER: USER,
        RF_ADMIN_PASSWORD: PASSWORD,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    await eventually(
      'the quickstart banner',
      () => {
        if (child.exitCode !== null) throw new Error(`quickstart exited ${child.exitCode}:\n${output}`);
        return output.includes('restic-fleet is running.');
      },
      180_000,
      250,
    );
  });

  after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('names the requested admin in the banner without printing the password', () => {
    assert.match(output, new RegExp(`login: +${USER} / \\(the password in RF_ADMIN_PASSWORD\\)`));
    assert.ok(!output.includes(PASSWORD), 'the password is not echoed');
    assert.ok(!/already has its first admin/.test(output));
  });

  it('that login works, and no other admin was invented', async () => {
    const login = async (username: string, password: string) =>
      (
        await fetch(`${baseUrl}/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username, password }),
        })
      ).status;
    assert.equal(await login(USER, PASSWORD), 200);
    const state = JSON.parse(fs.readFileSync(path.join(dataDir, 'quickstart.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    assert.equal(state.admin_user, USER);
    assert.equal(state.admin_password, undefined, 'a password the user chose is not written to disk');
    assert.ok(!fs.readFileSync(path.join(dataDir, 'quickstart.json'), 'utf8').includes(PASSWORD));
    assert.equal(await login('admin', String(state.admin_password ?? 'x')), 401);
  });

  it('stops both processes on Ctrl-C', async () => {
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    assert.match(output, /stopped\. Run `npm run quickstart` again/);
  });
});
