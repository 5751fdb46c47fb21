import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { installSystemdService, uninstallSystemdService, unitPath } from './service-installer.service';

function repoRoot(): string {
  return process.env.RF_REPO_ROOT ?? path.resolve(__dirname, '..', '..', '..', '..', '..');
}

describe('systemd service install into a temporary root', () => {
  let root: string;
  let calls: string[];
  let printed: string[];
  const run = (cmd: string, args: string[]): { status: number; output: string } => {
    calls.push(`${cmd} ${args.join(' ')}`);
    return { status: 0, output: '' };
  };

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-svc-'));
    calls = [];
    printed = [];
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('writes the unit and, with systemd present, reloads, enables and (re)starts it', () => {
    const target = installSystemdService({
      root,
      nodePath: '/usr/bin/node',
      agentBin: '/opt/rf/bin/restic-fleet-agent.js',
      configPath: '/etc/restic-fleet/agent.yaml',
      run,
      print: (l) => printed.push(l),
      systemdPresent: true,
    });
    assert.equal(target, path.join(root, 'etc', 'systemd', 'system', 'restic-fleet-agent.service'));
    assert.equal(fs.statSync(target).mode & 0o777, 0o644);
    assert.match(
      fs.readFileSync(target, 'utf8'),
      /ExecStart=\/usr\/bin\/node \/opt\/rf\/bin\/restic-fleet-agent\.js run --config/,
    );
    assert.deepEqual(calls, [
      'systemctl daemon-reload',
      'systemctl enable restic-fleet-agent.service',
      'systemctl restart restic-fleet-agent.service',
    ]);
    assert.match(fs.readFileSync(target, 'utf8'), /^Environment=RF_AGENT_SUPERVISOR=systemd$/m);

    uninstallSystemdService({ root, run, print: (l) => printed.push(l), systemdPresent: true });
    assert.ok(!fs.existsSync(target));
    assert.deepEqual(calls.slice(3), [
      'systemctl disable --now restic-fleet-agent.service',
      'systemctl daemon-reload',
    ]);
  });

  it('without systemd it says so and prints what it wrote', () => {
    installSystemdService({
      root,
      nodePath: '/n',
      agentBin: '/b',
      configPath: '/c',
      run,
      print: (l) => printed.push(l),
    });
    assert.deepEqual(calls, []);
    assert.ok(printed.some((l) => /systemd is not running/.test(l)));
    assert.ok(printed.some((l) => l.includes('ExecStart=/n /b run --config /c')));
    assert.ok(fs.existsSync(unitPath(root)));
  });

  it('the CLI installs and uninstalls under --root', () => {
    const cli = path.join(repoRoot(), 'dist', 'apps', 'agent', 'src', 'cli.js');
    const config = path.join(root, 'agent.yaml');
    const inst = spawnSync(
      process.execPath,
      [cli, 'service', 'install', '--root', root, '--config', config],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    assert.equal(inst.status, 0, inst.stderr);
    const unit = fs.readFileSync(unitPath(root), 'utf8');
    assert.ok(
      unit.includes(
        `ExecStart=${process.execPath} ${path.join(repoRoot(), 'bin', 'restic-fleet-agent.js')} run --config ${config}`,
      ),
      unit,
    );
    const un = spawnSync(process.execPath, [cli, 'service', 'uninstall', '--root', root], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(un.status, 0, un.stderr);
    assert.ok(!fs.existsSync(unitPath(root)));
  });
});
