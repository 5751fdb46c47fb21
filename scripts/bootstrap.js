#!/usr/bin/env node
// Makes a fresh machine ready: npm dependencies, then the Debian packages the
// project drives (restic, rclone, chromium for browser tests, shellcheck for
// the install script in `npm run lint`). Runs first in
// `npm test` and `npm run quickstart`; cheap when everything is already there.
//   node scripts/bootstrap.js [--for test|quickstart]
'use strict';
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const purpose = process.argv.includes('--for') ? process.argv[process.argv.indexOf('--for') + 1] : 'test';
const log = (msg) => console.log(`bootstrap: ${msg}`);

function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (res.error) throw res.error;
  return res.status ?? 1;
}
function which(bin) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, bin);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* keep looking */
    }
  }
  return null;
}

// 1. npm dependencies: install when node_modules is missing or older than the lockfile.
function ensureNodeModules() {
  const lock = path.join(root, 'package-lock.json');
  const stamp = path.join(root, 'node_modules', '.rf-lock-sha256');
  const want = crypto.createHash('sha256').update(fs.readFileSync(lock)).digest('hex');
  const have = fs.existsSync(stamp) ? fs.readFileSync(stamp, 'utf8').trim() : '';
  if (have === want) return;
  log(
    fs.existsSync(path.join(root, 'node_modules'))
      ? 'package-lock.json changed; running npm ci'
      : 'node_modules missing; running npm ci',
  );
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  if (run(npm, ['ci', '--no-audit', '--no-fund']) !== 0) {
    console.error(
      'bootstrap: `npm ci` failed (output above). Check your network access to the npm registry and run it again.',
    );
    process.exit(1);
  }
  fs.writeFileSync(stamp, want + '\n');
}

// 2. Debian packages, keyed by the binary each provides.
function ensureDebianPackages() {
  const wanted = [{ bin: 'restic', pkg: 'restic' }];
  if (purpose === 'test')
    wanted.push(
      { bin: 'rclone', pkg: 'rclone' },
      { bin: 'chromium', pkg: 'chromium' },
      { bin: 'shellcheck', pkg: 'shellcheck' },
      // promtool lints the /metrics exposition in test/e2e/metrics-exposition.e2e.spec.ts
      { bin: 'promtool', pkg: 'prometheus' },
    );
  const missing = wanted.filter((w) => !which(w.bin));
  if (missing.length === 0) return;
  const pkgs = missing.map((m) => m.pkg);
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !which('apt-get')) {
    console.error(
      `bootstrap: missing ${pkgs.join(', ')}. Install ${pkgs.length > 1 ? 'them' : 'it'} with your package manager, ` +
        `e.g. \`sudo apt-get install -y ${pkgs.join(' ')}\`, then run this command again.`,
    );
    process.exit(1);
  }
  log(`installing Debian packages: ${pkgs.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (
    run('apt-get', ['update', '-qq'], { env }) !== 0 ||
    run('apt-get', ['install', '-y', '-qq', ...pkgs], { env }) !== 0
  ) {
    console.error(`bootstrap: apt-get could not install ${pkgs.join(' ')} (output above).`);
    process.exit(1);
  }
}

// 3. Extra restic builds for the cross-version tests (see scripts/fetch-restic.js).
function ensureExtraRestic() {
  if (purpose !== 'test') return;
  const fetcher = path.join(root, 'scripts', 'fetch-restic.js');
  if (!fs.existsSync(fetcher)) return;
  if (run(process.execPath, [fetcher]) !== 0) {
    console.error(
      'bootstrap: could not provide the newer restic build used by the cross-version tests (output above).',
    );
    process.exit(1);
  }
}

ensureNodeModules();
ensureDebianPackages();
ensureExtraRestic();
