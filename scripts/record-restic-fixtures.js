#!/usr/bin/env node
// Records real restic output for the parser tests: for each restic binary it
// creates throw-away repositories under /tmp/rf-fixtures-<version>/ (fixed
// paths keep the recordings comparable) and runs every scenario, saving
// libs/restic/fixtures/<version>/<scenario>.{stdout,stderr,json}.
// Secrets reach restic only through its environment; the .json meta lists the
// variable names, never their values.
//   node scripts/record-restic-fixtures.js [--bin /path/to/restic]... [--only scenario,scenario]
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const fixturesRoot = path.join(root, 'libs', 'restic', 'fixtures');
const PASSWORD = 'fixture-password-7f3a';
const WRONG_PASSWORD = 'not-the-password';
const REST_USER = 'alice';
const REST_PASS = 'rest-secret-91c2';
const SECRETS = [PASSWORD, WRONG_PASSWORD, REST_PASS];
const NOBODY = 65534;
const STEP_TIMEOUT_MS = 120_000;
const log = (msg) => console.log(`record: ${msg}`);

const argv = process.argv.slice(2);
const argValues = (name) => argv.flatMap((a, i) => (argv[i - 1] === name ? [a] : []));
const only = new Set(argValues('--only').flatMap((s) => s.split(',')));

function defaultBinaries() {
  const bins = [];
  if (fs.existsSync('/usr/bin/restic')) bins.push('/usr/bin/restic');
  const cache = path.join(root, '.cache', 'restic');
  if (fs.existsSync(cache)) {
    for (const v of fs.readdirSync(cache).sort()) {
      const bin = path.join(cache, v, 'usr', 'bin', 'restic');
      if (fs.existsSync(bin)) bins.push(bin);
    }
  }
  return bins;
}

function versionOf(bin) {
  const res = spawnSync(bin, ['version'], { encoding: 'utf8' });
  const m = /restic (\d+)\.(\d+)\.(\d+)/.exec(res.stdout ?? '');
  if (!m) throw new Error(`${bin}: \`restic version\` failed`);
  return { major: +m[1], minor: +m[2], patch: +m[3], text: `${m[1]}.${m[2]}.${m[3]}` };
}

function redact(text) {
  let out = text;
  let redacted = false;
  for (const s of SECRETS) {
    if (out.includes(s)) {
      out = out.split(s).join('<redacted>');
      redacted = true;
    }
  }
  return { out, redacted };
}

/** Runs restic to completion (or until `controller` stops it) and captures everything. */
function runRestic(ctx, { args, env = {}, asNobody = false, cwd, onStart }) {
  return new Promise((resolve, reject) => {
    const cmd = asNobody ? 'setpriv' : ctx.bin;
    const fullArgs = asNobody
      ? [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ctx.bin, ...args]
      : args;
    const started = Date.now();
    const child = spawn(cmd, fullArgs, {
      cwd: cwd ?? ctx.work,
      env: {
        PATH: process.env.PATH,
        HOME: ctx.home,
        RESTIC_CACHE_DIR: ctx.cacheDir,
        LANG: 'C.UTF-8',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = [];
    const err = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), STEP_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        exitCode: code,
        signal,
        durationMs: Date.now() - started,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    if (onStart) onStart(child);
  });
}

function save(ctx, scenario, res, meta) {
  const dir = path.join(fixturesRoot, ctx.version.text);
  fs.mkdirSync(dir, { recursive: true });
  const so = redact(res.stdout);
  const se = redact(res.stderr);
  fs.writeFileSync(path.join(dir, `${scenario}.stdout`), so.out);
  fs.writeFileSync(path.join(dir, `${scenario}.stderr`), se.out);
  const record = {
    scenario,
    restic_version: ctx.version.text,
    argv: ['restic', ...meta.args],
    env: Object.keys(meta.env ?? {}).sort(),
    as_user: meta.asNobody ? 'nobody (setpriv --reuid=65534 --regid=65534 --clear-groups)' : 'root',
    exit_code: res.exitCode,
    signal: res.signal,
    duration_ms: res.durationMs,
    redacted_secrets: so.redacted || se.redacted,
    note: meta.note ?? '',
  };
  if (record.argv.some((a) => SECRETS.some((s) => a.includes(s))))
    throw new Error(`${scenario}: a secret reached argv`);
  fs.writeFileSync(path.join(dir, `${scenario}.json`), JSON.stringify(record, null, 2) + '\n');
  log(`${ctx.version.text} ${scenario}: exit ${res.exitCode}${res.signal ? ` signal ${res.signal}` : ''}`);
}

async function scenario(ctx, name, spec) {
  if (only.size && !only.has(name)) return undefined;
  const env = spec.env ?? ctx.localEnv(spec.repo);
  const res = await runRestic(ctx, { ...spec, env });
  save(ctx, name, res, { ...spec, env });
  if (spec.expectExit !== undefined && res.exitCode !== spec.expectExit && !spec.expectExitAny) {
    log(`  note: ${name} expected exit ${spec.expectExit}, got ${res.exitCode}`);
  }
  return res;
}

/** Setup steps whose output we do not keep. */
async function setup(ctx, args, env, opts = {}) {
  const res = await runRestic(ctx, { args, env, ...opts });
  if (res.exitCode !== 0) throw new Error(`setup ${args.join(' ')} failed (${res.exitCode}): ${res.stderr}`);
  return res;
}

function writeFile(file, content, mode) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  if (mode !== undefined) fs.chmodSync(file, mode);
}

function waitFor(predicate, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (predicate()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 50);
    };
    tick();
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function waitForPort(port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`port ${port} did not open`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

/** Holds a repository lock: a `backup --stdin` whose stdin stays open. */
async function holdLock(ctx, repo) {
  const child = spawn(ctx.bin, ['backup', '--stdin', '--stdin-filename', 'held.txt'], {
    env: { PATH: process.env.PATH, HOME: ctx.home, RESTIC_CACHE_DIR: ctx.cacheDir, ...ctx.localEnv(repo) },
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  child.stdin.write('lock holder\n');
  const locks = path.join(repo, 'locks');
  await waitFor(() => fs.existsSync(locks) && fs.readdirSync(locks).length > 0, 20_000, 'the lock file');
  return async () => {
    const done = new Promise((resolve) => child.on('close', resolve));
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await done;
    clearTimeout(timer);
  };
}

async function recordVersion(bin) {
  const version = versionOf(bin);
  const work = `/tmp/rf-fixtures-${version.text}`;
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  fs.chmodSync(work, 0o755);
  const ctx = {
    bin,
    version,
    work,
    home: path.join(work, 'home'),
    cacheDir: path.join(work, 'cache'),
    localEnv: (repo) => ({ RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: PASSWORD }),
  };
  fs.mkdirSync(ctx.home, { recursive: true });
  fs.mkdirSync(ctx.cacheDir, { recursive: true });
  // The unprivileged scenarios need their own writable home and cache.
  for (const d of [ctx.home, ctx.cacheDir]) fs.chownSync(d, NOBODY, NOBODY);
  const atLeast = (maj, min) => version.major > maj || (version.major === maj && version.minor >= min);
  log(`restic ${version.text} (${bin}) in ${work}`);

  const src = path.join(work, 'src');
  writeFile(path.join(src, 'docs', 'readme.txt'), 'restic-fleet fixture data\n');
  writeFile(path.join(src, 'docs', 'notes.md'), '# notes\n\nsmall file\n');
  writeFile(
    path.join(src, 'data', 'numbers.csv'),
    Array.from({ length: 200 }, (_, i) => `${i},${i * i}`).join('\n'),
  );
  writeFile(path.join(src, 'data', 'blob.bin'), crypto.randomBytes(64 * 1024));
  const repo = path.join(work, 'repo');

  // version
  await scenario(ctx, 'version', { args: ['version'], env: {} });
  if (atLeast(0, 17)) await scenario(ctx, 'version-json', { args: ['version', '--json'], env: {} });

  // init
  await scenario(ctx, 'init-new', { args: ['init', '--json'], repo });
  await scenario(ctx, 'init-exists', { args: ['init', '--json'], repo });

  // backups
  await scenario(ctx, 'backup-success', { args: ['backup', '--json', '--tag', 'daily', '--', src], repo });
  writeFile(path.join(src, 'docs', 'changed.txt'), 'a change\n');
  await scenario(ctx, 'backup-verbose', {
    args: ['backup', '--json', '-vv', '--', path.join(src, 'docs')],
    repo,
  });
  await scenario(ctx, 'backup-missing-one', {
    args: ['backup', '--json', '--', path.join(src, 'docs'), path.join(work, 'missing-path')],
    repo,
  });
  await scenario(ctx, 'backup-missing-all', {
    args: ['backup', '--json', '--', path.join(work, 'missing-a'), path.join(work, 'missing-b')],
    repo,
  });

  // unreadable file: root reads mode-000 files, so restic runs as nobody on a repo nobody owns.
  const usrc = path.join(work, 'usrc');
  writeFile(path.join(usrc, 'readable.txt'), 'fine\n', 0o644);
  writeFile(path.join(usrc, 'unreadable.txt'), 'secret\n', 0o000);
  const urepo = path.join(work, 'urepo');
  fs.mkdirSync(urepo);
  fs.chownSync(urepo, NOBODY, NOBODY);
  await setup(ctx, ['init'], ctx.localEnv(urepo), { asNobody: true });
  await scenario(ctx, 'backup-unreadable', {
    args: ['backup', '--json', '--', usrc],
    repo: urepo,
    asNobody: true,
  });

  // listing and inspection
  await scenario(ctx, 'snapshots', { args: ['snapshots', '--json'], repo });
  await scenario(ctx, 'snapshots-group-by', {
    args: ['snapshots', '--json', '--group-by', 'host,paths'],
    repo,
  });
  const emptyRepo = path.join(work, 'empty-repo');
  await setup(ctx, ['init'], ctx.localEnv(emptyRepo));
  await scenario(ctx, 'snapshots-empty', { args: ['snapshots', '--json'], repo: emptyRepo });
  await scenario(ctx, 'stats-restore-size', { args: ['stats', '--json', '--mode', 'restore-size'], repo });
  await scenario(ctx, 'stats-raw-data', { args: ['stats', '--json', '--mode', 'raw-data'], repo });
  await scenario(ctx, 'ls', { args: ['ls', '--json', 'latest'], repo });
  await scenario(ctx, 'check-ok', { args: ['check', '--json'], repo });
  const target = path.join(work, 'restored');
  await scenario(ctx, 'restore', { args: ['restore', '--json', '--target', target, 'latest'], repo });

  // retention on its own repository: three snapshots, two tags
  const frepo = path.join(work, 'frepo');
  await setup(ctx, ['init'], ctx.localEnv(frepo));
  for (const tag of ['daily', 'daily', 'keep']) {
    writeFile(path.join(src, 'docs', 'changed.txt'), `change for ${tag} ${Date.now()}\n`);
    await setup(ctx, ['backup', '--tag', tag, '--', src], ctx.localEnv(frepo));
  }
  await scenario(ctx, 'forget-policy', {
    args: ['forget', '--json', '--keep-last', '1', '--keep-tag', 'keep'],
    repo: frepo,
  });
  await setup(ctx, ['backup', '--tag', 'daily', '--', src], ctx.localEnv(frepo));
  await scenario(ctx, 'forget-prune', {
    args: ['forget', '--json', '--keep-last', '1', '--prune'],
    repo: frepo,
  });
  await scenario(ctx, 'prune', { args: ['prune'], repo: frepo });

  // a damaged pack file: check reports errors (text in 0.14, error/summary JSON from 0.18)
  if (!only.size || only.has('check-corrupt')) {
    const crepo = path.join(work, 'crepo');
    await setup(ctx, ['init'], ctx.localEnv(crepo));
    await setup(ctx, ['backup', '--', path.join(src, 'data')], ctx.localEnv(crepo));
    const packs = [];
    const walk = (d) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else packs.push(p);
      }
    };
    walk(path.join(crepo, 'data'));
    const biggest = packs.sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0];
    const bytes = fs.readFileSync(biggest);
    for (let i = 100; i < 400; i++) bytes[i] ^= 0xff;
    fs.chmodSync(biggest, 0o644);
    fs.writeFileSync(biggest, bytes);
    await scenario(ctx, 'check-corrupt', {
      args: ['check', '--json', '--read-data'],
      repo: crepo,
      note: 'bytes 100-399 of the largest pack file inverted',
    });
  }

  // restore that cannot write: restic as nobody into a folder only root may write
  if (!only.size || only.has('restore-errors')) {
    const rsrc = path.join(work, 'rsrc');
    writeFile(path.join(rsrc, 'one.txt'), 'one\n', 0o644);
    writeFile(path.join(rsrc, 'two.txt'), 'two\n', 0o644);
    const rrepo = path.join(work, 'rrepo');
    fs.mkdirSync(rrepo);
    fs.chownSync(rrepo, NOBODY, NOBODY);
    await setup(ctx, ['init'], ctx.localEnv(rrepo), { asNobody: true });
    await setup(ctx, ['backup', '--', rsrc], ctx.localEnv(rrepo), { asNobody: true });
    const rtarget = path.join(work, 'rtarget');
    fs.mkdirSync(path.join(rtarget, rsrc), { recursive: true });
    await scenario(ctx, 'restore-errors', {
      args: ['restore', '--json', '--target', rtarget, 'latest'],
      repo: rrepo,
      asNobody: true,
      note: 'target folders exist and belong to root; restic runs as nobody',
    });
  }

  // failures
  await scenario(ctx, 'wrong-password', {
    args: ['snapshots', '--json'],
    env: { RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: WRONG_PASSWORD },
  });
  await scenario(ctx, 'repo-missing', {
    args: ['snapshots', '--json'],
    repo: path.join(work, 'no-such-repo'),
  });

  // locks: a live `backup --stdin` holds a shared lock; exclusive commands then fail
  if (!only.size || only.has('locked') || only.has('check-locked')) {
    const lrepo = path.join(work, 'lrepo');
    await setup(ctx, ['init'], ctx.localEnv(lrepo));
    await setup(ctx, ['backup', '--', path.join(src, 'docs')], ctx.localEnv(lrepo));
    const release = await holdLock(ctx, lrepo);
    try {
      await scenario(ctx, 'locked', {
        args: ['forget', '--json', '--keep-last', '1'],
        repo: lrepo,
        note: 'another restic (backup --stdin) holds a lock',
      });
      await scenario(ctx, 'check-locked', {
        args: ['check', '--json'],
        repo: lrepo,
        note: 'another restic (backup --stdin) holds a lock',
      });
    } finally {
      await release();
    }
  }

  // signals: a dataset large enough to be mid-backup when the signal lands
  if (!only.size || only.has('backup-sigint') || only.has('backup-sigterm') || only.has('unlock')) {
    const big = path.join(work, 'big');
    for (let i = 0; i < 6; i++) writeFile(path.join(big, `f${i}.bin`), crypto.randomBytes(48 * 1024 * 1024));
    const brepo = path.join(work, 'brepo');
    await setup(ctx, ['init'], ctx.localEnv(brepo));
    for (const [name, sig] of [
      ['backup-sigint', 'SIGINT'],
      ['backup-sigterm', 'SIGTERM'],
    ]) {
      await scenario(ctx, name, {
        args: ['backup', '--json', '--', big],
        repo: brepo,
        note: `${sig} sent once the first status line arrived and 1.5 s passed`,
        onStart: (child) => {
          let sent = false;
          child.stdout.on('data', (c) => {
            if (sent || !c.toString().includes('"status"')) return;
            sent = true;
            setTimeout(() => child.kill(sig), 1500);
          });
        },
      });
    }
    await scenario(ctx, 'unlock', { args: ['unlock'], repo: brepo, note: 'after the SIGTERM run' });
  }

  // REST backend through rclone, with HTTP basic auth
  if (!only.size || [...only].some((s) => s.startsWith('rest-'))) {
    const store = path.join(work, 'rest-store');
    fs.mkdirSync(store);
    const port = await freePort();
    const rclone = spawn(
      'rclone',
      ['serve', 'restic', '--addr', `127.0.0.1:${port}`, '--user', REST_USER, '--pass', REST_PASS, store],
      { stdio: 'ignore' },
    );
    try {
      await waitForPort(port, 15_000);
      const base = `rest:http://127.0.0.1:${port}/`;
      // 0.17+ reads REST credentials from the environment; older versions only from the URL.
      const restEnv = (pass) =>
        atLeast(0, 17)
          ? {
              RESTIC_REPOSITORY: base,
              RESTIC_PASSWORD: PASSWORD,
              RESTIC_REST_USERNAME: REST_USER,
              RESTIC_REST_PASSWORD: pass,
            }
          : {
              RESTIC_REPOSITORY: `rest:http://${REST_USER}:${pass}@127.0.0.1:${port}/`,
              RESTIC_PASSWORD: PASSWORD,
            };
      await scenario(ctx, 'rest-init', { args: ['init', '--json'], env: restEnv(REST_PASS) });
      await scenario(ctx, 'rest-backup', {
        args: ['backup', '--json', '--', path.join(src, 'docs')],
        env: restEnv(REST_PASS),
      });
      await scenario(ctx, 'rest-auth-failed', {
        args: ['snapshots', '--json'],
        env: restEnv(WRONG_PASSWORD),
      });
    } finally {
      rclone.kill('SIGINT');
    }
  }
}

async function main() {
  const bins = argValues('--bin').map((b) => path.resolve(b));
  for (const bin of bins.length ? bins : defaultBinaries()) await recordVersion(bin);
}

main().catch((err) => {
  console.error(`record: ${err.stack ?? err}`);
  process.exit(1);
});
