import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

function repoRoot(): string {
  return process.env.RF_REPO_ROOT ?? path.resolve(__dirname, '..', '..', '..', '..');
}

/** The single-file agent (scripts/build-agent.js, run by `npm run build`), copied where no node_modules can help it. */
describe('the single-file agent', () => {
  let dir: string;
  let file: string;
  const run = (args: string[]) =>
    spawnSync(process.execPath, [file, ...args], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 30_000,
      env: { PATH: process.env.PATH },
    });

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-single-file-'));
    file = path.join(dir, 'restic-fleet-agent.js');
    fs.copyFileSync(path.join(repoRoot(), 'dist', 'agent', 'restic-fleet-agent.js'), file);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('matches its manifest and its .sha256, and knows the package version', () => {
    const out = path.join(repoRoot(), 'dist', 'agent');
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'restic-fleet-agent.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const sha = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as {
      version: string;
    };
    assert.deepEqual(manifest, { version: pkg.version, sha256: sha, bytes: fs.statSync(file).size });
    assert.equal(
      fs.readFileSync(path.join(out, 'restic-fleet-agent.js.sha256'), 'utf8'),
      `${sha}  restic-fleet-agent.js\n`,
    );
    const v = run(['--version']);
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout.trim(), pkg.version);
    assert.match(run(['--help']).stdout, /enrol --server URL --token TOKEN/);
  });

  it('installs a systemd unit that runs the file itself, from the template baked into it', () => {
    const root = path.join(dir, 'root');
    const config = path.join(dir, 'agent.yaml');
    const r = run(['service', 'install', '--root', root, '--config', config]);
    assert.equal(r.status, 0, r.stderr);
    const unit = fs.readFileSync(
      path.join(root, 'etc', 'systemd', 'system', 'restic-fleet-agent.service'),
      'utf8',
    );
    assert.ok(unit.includes(`ExecStart=${process.execPath} ${file} run --config ${config}`), unit);
    assert.match(unit, /^Environment=RF_AGENT_SUPERVISOR=systemd$/m);
    assert.match(unit, /^Restart=on-failure$/m);
  });

  it('can be built under another version number (how the update tests make an older agent)', () => {
    const out = path.join(dir, 'older');
    const b = spawnSync(
      process.execPath,
      [path.join(repoRoot(), 'scripts', 'build-agent.js'), '--version', '0.0.2', '--outdir', out],
      {
        encoding: 'utf8',
        timeout: 120_000,
        env: { ...process.env, RF_QUIET_BUILD: '1' },
      },
    );
    assert.equal(b.status, 0, b.stderr);
    const v = spawnSync(process.execPath, [path.join(out, 'restic-fleet-agent.js'), '--version'], {
      encoding: 'utf8',
    });
    assert.equal(v.stdout.trim(), '0.0.2');
    const bad = spawnSync(
      process.execPath,
      [path.join(repoRoot(), 'scripts', 'build-agent.js'), '--version', 'latest', '--outdir', out],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--version must look like 1\.2\.3/);
  });
});
