import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../support/control-plane.process';

/* `restic-fleet` command dispatch, run as the real bin. */

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-cli-'));

function run(args: string[], env: Record<string, string> = {}) {
  const res = spawnSync(process.execPath, [path.join(repoRoot(), 'bin', 'restic-fleet.js'), ...args], {
    cwd: dataDir,
    env: { PATH: process.env.PATH ?? '', HOME: dataDir, RF_DATA_DIR: dataDir, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

describe('restic-fleet CLI dispatch (e2e)', () => {
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('prints usage for --help and exits 0', () => {
    const r = run(['--help']);
    assert.equal(r.code, 0);
    for (const cmd of ['serve', 'projections rebuild', 'audit', 'users add', 'tokens create'])
      assert.ok(r.stdout.includes(cmd), cmd);
  });

  it('exits 2 with the usage for a missing or unknown command', () => {
    assert.equal(run([]).code, 2);
    const r = run(['frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command "frobnicate"/);
    assert.match(run(['projections', 'explode']).stderr, /unknown projections subcommand/);
  });

  it('serve fails fast naming a bad variable', () => {
    const listen = run(['serve'], { RF_LISTEN: 'localhost:http' });
    assert.equal(listen.code, 2);
    assert.match(listen.stderr, /RF_LISTEN/);
    const interval = run(['serve'], { RF_HEARTBEAT_INTERVAL_S: 'soon' });
    assert.equal(interval.code, 2);
    assert.match(interval.stderr, /RF_HEARTBEAT_INTERVAL_S/);
    const store = run(['serve'], { RF_EVENTSTORE: 'postgres://x' });
    assert.equal(store.code, 2);
    assert.match(store.stderr, /RF_EVENTSTORE/);
  });

  it('dispatches to the other areas’ commands', () => {
    assert.equal(run(['audit', '--help']).code, 0);
    assert.equal(run(['projections', 'rebuild', '--help']).code, 0);
    const users = run(['users', 'add']);
    assert.notEqual(users.code, 0);
    assert.ok(!/not available/.test(users.stderr));
  });
});
