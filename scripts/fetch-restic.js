#!/usr/bin/env node
// Provides newer restic builds for the cross-version tests without touching the
// machine's apt state: a private sources list, lists and cache directory per
// suite, `apt-get download restic`, then `dpkg -x` into .cache/restic/<version>/.
//   node scripts/fetch-restic.js [--suite sid|trixie]...   (default: sid)
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const cacheRoot = path.join(root, '.cache', 'restic');
const log = (msg) => console.log(`fetch-restic: ${msg}`);
const args = process.argv.slice(2);
const suites = args.flatMap((a, i) => (args[i - 1] === '--suite' ? [a] : []));
if (suites.length === 0) suites.push('sid');

function fail(msg) {
  console.error(`fetch-restic: ${msg}`);
  process.exit(1);
}

function run(cmd, argv, opts = {}) {
  const res = spawnSync(cmd, argv, { encoding: 'utf8', ...opts });
  if (res.error) return { status: 1, stdout: '', stderr: String(res.error.message) };
  return { status: res.status ?? 1, stdout: res.stdout ?? '', stderr: res.stderr ?? '' };
}

function resticVersion(bin) {
  const res = run(bin, ['version']);
  const m = /restic (\d+\.\d+\.\d+)/.exec(res.stdout);
  return res.status === 0 && m ? m[1] : null;
}

function markerFor(suite) {
  return path.join(cacheRoot, `.${suite}.json`);
}

function cachedFor(suite) {
  try {
    const info = JSON.parse(fs.readFileSync(markerFor(suite), 'utf8'));
    if (!fs.existsSync(info.bin) || resticVersion(info.bin) !== info.version) return null;
    return info;
  } catch {
    return null;
  }
}

function fetchSuite(suite) {
  if (!/^[a-z][a-z0-9-]*$/.test(suite))
    fail(`--suite must be a Debian suite name such as sid or trixie, not "${suite}"`);
  const cached = cachedFor(suite);
  if (cached) {
    log(`restic ${cached.version} (${suite}) already in ${path.relative(root, cached.bin)}`);
    return;
  }
  if (!fs.existsSync('/usr/bin/apt-get') || !fs.existsSync('/usr/bin/dpkg')) {
    fail(
      'apt-get and dpkg are needed to fetch restic from Debian; on other systems set RF_RESTIC_BIN instead.',
    );
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `rf-apt-${suite}-`));
  try {
    const lists = path.join(work, 'lists');
    const cache = path.join(work, 'cache');
    fs.mkdirSync(path.join(lists, 'partial'), { recursive: true });
    fs.mkdirSync(path.join(cache, 'archives', 'partial'), { recursive: true });
    const sources = path.join(work, 'sources.list');
    fs.writeFileSync(sources, `deb http://deb.debian.org/debian ${suite} main\n`);
    const aptOpts = [
      '-o',
      `Dir::Etc::sourcelist=${sources}`,
      '-o',
      'Dir::Etc::sourceparts=-',
      '-o',
      `Dir::State::Lists=${lists}`,
      '-o',
      `Dir::Cache=${cache}`,
      '-o',
      'Dir::State::status=/var/lib/dpkg/status',
      '-o',
      'APT::Get::List-Cleanup=0',
      '-o',
      'Debug::NoLocking=1',
      '-qq',
    ];
    log(`updating a private package list for Debian ${suite}`);
    const upd = run('apt-get', [...aptOpts, 'update']);
    if (upd.status !== 0) fail(`apt-get update for ${suite} failed:\n${upd.stderr || upd.stdout}`);
    const dl = run('apt-get', [...aptOpts, 'download', 'restic'], { cwd: work });
    if (dl.status !== 0) fail(`apt-get download restic (${suite}) failed:\n${dl.stderr || dl.stdout}`);
    const deb = fs.readdirSync(work).find((f) => /^restic_.*\.deb$/.test(f));
    if (!deb) fail(`apt-get download restic (${suite}) produced no .deb`);
    const extract = path.join(work, 'x');
    const x = run('dpkg', ['-x', path.join(work, deb), extract]);
    if (x.status !== 0) fail(`dpkg -x ${deb} failed:\n${x.stderr}`);
    const version = resticVersion(path.join(extract, 'usr', 'bin', 'restic'));
    if (!version) fail(`the restic from ${deb} does not run (\`restic version\` failed)`);
    const dest = path.join(cacheRoot, version);
    fs.rmSync(dest, { recursive: true, force: true });
    fs.mkdirSync(cacheRoot, { recursive: true });
    fs.cpSync(extract, dest, { recursive: true });
    const bin = path.join(dest, 'usr', 'bin', 'restic');
    if (resticVersion(bin) !== version) fail(`restic copied to ${dest} does not run`);
    fs.writeFileSync(
      markerFor(suite),
      JSON.stringify({ suite, version, bin, fetchedAt: Date.now() }, null, 2) + '\n',
    );
    log(`restic ${version} (${suite}) ready in ${path.relative(root, bin)}`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

for (const suite of suites) fetchSuite(suite);
