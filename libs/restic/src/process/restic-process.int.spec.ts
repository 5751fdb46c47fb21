// The runner against real restic builds (Debian's 0.14 and the cached 0.18/0.19):
// init → backup → snapshots, SIGINT cancel mid-backup, timeout, a REST repository
// with credentials, and /proc/<pid>/cmdline inspected while restic runs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { backupArgs, checkArgs, initArgs, snapshotsArgs } from '../args/restic-args';
import { parseBackupOutput, parseBackupLine, BackupSummary } from '../parsers/restic-backup.parser';
import { parseInitOutput } from '../parsers/restic-init.parser';
import { ResticLine } from '../parsers/restic-line.parser';
import { parseSnapshots } from '../parsers/restic-snapshots.parser';
import { sameSnapshotId } from '../parsers/json-fields';
import { ResticError } from '../restic.errors';
import { locateRestic, readResticVersion } from '../restic-locator';
import { classifyOutcome } from '../restic-outcome';
import { resticBinariesForTests } from '../restic.testing';
import { ResticVersion } from '../restic-version';
import { ResticRepository } from './restic-environment';
import { ResticProcessRepository, ResticRunOptions, ResticRunResult } from './restic-process.repository';

const PASSWORD = 'int-test-password-5d1e';
const REST_USER = 'fleet-agent';
const REST_SECRET = 'rest-int-secret-c0ffee';
const RUN_TIMEOUT_MS = 120_000;

const runner = new ResticProcessRepository();
const binaries = resticBinariesForTests();
let work: string;
let small: string;
let big: string;

function procText(pid: number, file: 'cmdline' | 'environ'): string {
  return fs.readFileSync(`/proc/${pid}/${file}`).toString('utf8').split('\0').join(' ');
}

interface Collected {
  result: ResticRunResult;
  stdout: string[];
  stderr: string[];
}

async function run(opts: Omit<ResticRunOptions, 'timeoutMs'> & { timeoutMs?: number }): Promise<Collected> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const onLine = opts.onLine;
  const result = await runner.run({
    timeoutMs: RUN_TIMEOUT_MS,
    extraEnv: { RESTIC_CACHE_DIR: path.join(work, 'cache') },
    ...opts,
    onLine: (stream, line, parsed) => {
      (stream === 'stdout' ? stdout : stderr).push(line);
      onLine?.(stream, line, parsed);
    },
  });
  return { result, stdout, stderr };
}

function writeRandomFiles(dir: string, count: number, bytes: number): void {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) fs.writeFileSync(path.join(dir, `f${i}.bin`), crypto.randomBytes(bytes));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
    srv.on('error', reject);
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => {
        sock.destroy();
        resolve(false);
      });
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`port ${port} did not open within ${timeoutMs} ms`);
}

before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-restic-int-'));
  small = path.join(work, 'small');
  fs.mkdirSync(small);
  fs.writeFileSync(path.join(small, 'a.txt'), 'alpha\n');
  fs.writeFileSync(path.join(small, 'b.txt'), 'bravo\n');
  // Large enough that restic is still reading when the first status line arrives.
  big = path.join(work, 'big');
  writeRandomFiles(big, 8, 16 * 1024 * 1024);
});

after(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

describe('restic binaries for tests', () => {
  it('include Debian 0.14 and a cached 0.18+/0.19 build (scripts/fetch-restic.js)', () => {
    const labels = binaries.map((b) => b.label);
    assert.ok(labels.includes('0.14'), `have ${labels.join(', ')}`);
    assert.ok(labels.includes('0.19') || labels.includes('0.18'), `have ${labels.join(', ')}`);
  });
});

describe('locateRestic (real filesystem)', () => {
  it('finds the system restic and reads its version', async () => {
    const found = await locateRestic({ env: { PATH: '/usr/bin' }, platform: 'linux' });
    assert.equal(found.bin, '/usr/bin/restic');
    assert.equal(found.version.minor >= 14, true);
  });

  it('RF_RESTIC_BIN wins, and a wrong RF_RESTIC_BIN is an error naming it', async () => {
    const newest = binaries[binaries.length - 1];
    const found = await locateRestic({ env: { RF_RESTIC_BIN: newest.bin, PATH: '/usr/bin' } });
    assert.equal(found.bin, newest.bin);
    assert.equal(`${found.version.major}.${found.version.minor}.${found.version.patch}`, newest.version);
    await assert.rejects(
      locateRestic({ env: { RF_RESTIC_BIN: path.join(work, 'nope') } }),
      (e: unknown) => e instanceof ResticError && e.code === 'not_found' && e.field === 'RF_RESTIC_BIN',
    );
  });

  it('not found: lists what was tried and how to install', async () => {
    await assert.rejects(
      locateRestic({ env: { Path: path.join(work, 'empty') }, platform: 'win32' }),
      (e: unknown) =>
        e instanceof ResticError &&
        /Tried: .*restic\.exe/.test(e.message) &&
        /scoop install restic/.test(e.message),
    );
  });

  it('a process that ignores the interrupt is killed after the grace period, and says so', async () => {
    const stubborn = path.join(work, 'stubborn-restic');
    fs.writeFileSync(stubborn, "#!/bin/sh\ntrap '' INT\necho started\nexec sleep 30\n", { mode: 0o755 });
    const controller = new AbortController();
    const started = Date.now();
    const result = await runner.run({
      bin: stubborn,
      command: 'backup',
      args: [],
      timeoutMs: 60_000,
      graceMs: 300,
      signal: controller.signal,
      onLine: () => controller.abort(),
    });
    assert.equal(result.cancelled, true);
    assert.equal(result.killed, true);
    assert.equal(result.signal, 'SIGKILL');
    assert.ok(Date.now() - started < 20_000, 'did not wait for the sleep');
  });

  it('a missing binary passed to run() is a spawn_failed error', async () => {
    await assert.rejects(
      runner.run({ bin: path.join(work, 'no-restic'), command: 'version', args: [], timeoutMs: 5000 }),
      (e: unknown) => e instanceof ResticError && e.code === 'spawn_failed',
    );
  });
});

for (const b of binaries) {
  describe(`ResticProcessRepository with restic ${b.version}`, () => {
    let version: ResticVersion;
    let repo: ResticRepository;
    let firstSnapshot: BackupSummary | undefined;

    before(async () => {
      version = await readResticVersion(b.bin);
      repo = { url: path.join(work, `repo-${b.version}`), password: PASSWORD };
    });

    it('init → backup → snapshots, secrets only in the environment', { timeout: 180_000 }, async () => {
      const init = await run({ bin: b.bin, version, repo, ...initArgs() });
      assert.equal(
        classifyOutcome({ command: 'init', ...init.result, stderrLines: init.stderr, version }).code,
        'ok',
      );
      assert.ok(parseInitOutput(init.stdout).repositoryId);

      let cmdline = '';
      let environ = '';
      const parsedKinds = new Set<string>();
      const backup = await run({
        bin: b.bin,
        version,
        repo,
        ...backupArgs({ paths: [small], tags: ['int'] }),
        onSpawn: (pid) => {
          cmdline = procText(pid, 'cmdline');
          environ = procText(pid, 'environ');
        },
        onLine: (_s, _l, parsed: ResticLine) => {
          parsedKinds.add(parsed.kind === 'json' ? `json:${parsed.messageType}` : parsed.kind);
        },
      });
      assert.match(cmdline, /backup --json --tag=int --/);
      assert.ok(!cmdline.includes(PASSWORD) && !cmdline.includes(repo.url), `argv: ${cmdline}`);
      assert.ok(environ.includes(`RESTIC_PASSWORD=${PASSWORD}`));
      assert.ok(parsedKinds.has('json:summary'), [...parsedKinds].join(','));
      const report = parseBackupOutput(backup.stdout, backup.stderr);
      assert.equal(report.summary?.totalFilesProcessed, 2);
      firstSnapshot = report.summary;
      assert.equal(
        classifyOutcome({ command: 'backup', ...backup.result, stderrLines: backup.stderr }).status,
        'succeeded',
      );

      const list = await run({ bin: b.bin, version, repo, ...snapshotsArgs(), captureStdout: true });
      const snaps = parseSnapshots(list.result.stdoutLines ?? []);
      assert.equal(snaps.length, 1);
      assert.ok(sameSnapshotId(snaps[0].id, firstSnapshot?.snapshotId ?? ''));
      assert.deepEqual(snaps[0].tags, ['int']);
    });

    it('cancel mid-backup: SIGINT, cancelled, no snapshot, no stale lock', { timeout: 180_000 }, async () => {
      const controller = new AbortController();
      let pid = 0;
      let cmdlineWhileRunning = '';
      const cancelled = await run({
        bin: b.bin,
        version,
        repo,
        ...backupArgs({ paths: [big] }),
        signal: controller.signal,
        graceMs: 20_000,
        onSpawn: (p) => {
          pid = p;
        },
        onLine: (stream, line) => {
          if (controller.signal.aborted || stream !== 'stdout' || parseBackupLine(line).type !== 'status')
            return;
          // A status line delivered while restic still runs: the runner streams, it does not buffer.
          cmdlineWhileRunning = procText(pid, 'cmdline');
          controller.abort();
        },
      });
      assert.ok(cmdlineWhileRunning.includes('backup'), 'status line arrived while restic was running');
      assert.ok(!cmdlineWhileRunning.includes(PASSWORD) && !cmdlineWhileRunning.includes(repo.url));
      assert.equal(cancelled.result.cancelled, true);
      assert.notEqual(cancelled.result.signal, 'SIGKILL', 'restic stopped on SIGINT within the grace period');
      assert.equal(cancelled.result.killed, false);
      const outcome = classifyOutcome({
        command: 'backup',
        ...cancelled.result,
        stderrLines: cancelled.stderr,
        version,
      });
      assert.deepEqual([outcome.status, outcome.code], ['cancelled', 'interrupted']);
      assert.equal(parseBackupOutput(cancelled.stdout, cancelled.stderr).summary, undefined);

      const list = await run({ bin: b.bin, version, repo, ...snapshotsArgs(), captureStdout: true });
      assert.equal(
        parseSnapshots(list.result.stdoutLines ?? []).length,
        1,
        'no snapshot from the cancelled run',
      );
      // check takes an exclusive lock: it fails if SIGINT had left a lock behind.
      const check = await run({ bin: b.bin, version, repo, ...checkArgs() });
      assert.equal(
        classifyOutcome({ command: 'check', ...check.result, stderrLines: check.stderr }).code,
        'ok',
      );
    });

    it('overall timeout interrupts restic and classifies as timeout', { timeout: 180_000 }, async () => {
      const timed = await run({ bin: b.bin, version, repo, ...backupArgs({ paths: [big] }), timeoutMs: 400 });
      assert.equal(timed.result.timedOut, true);
      const outcome = classifyOutcome({ command: 'backup', ...timed.result, stderrLines: timed.stderr });
      assert.deepEqual([outcome.status, outcome.code], ['failed', 'timeout']);
      // A timed-out run may have been stopped at any point; leave the repository usable for the next test.
      await run({ bin: b.bin, version, repo, command: 'unlock', args: [] });
    });

    it(
      'uid/gid: as nobody an unreadable file gives exit 3, one item error, a snapshot',
      { timeout: 180_000 },
      async () => {
        const base = path.join(work, `nobody-${b.version}`);
        const src = path.join(base, 'src');
        fs.mkdirSync(src, { recursive: true });
        fs.writeFileSync(path.join(src, 'ok.txt'), 'readable\n');
        fs.writeFileSync(path.join(src, 'locked.txt'), 'hidden\n', { mode: 0o000 });
        const cache = path.join(base, 'cache');
        const repoDir = path.join(base, 'repo');
        fs.mkdirSync(cache);
        fs.mkdirSync(repoDir);
        for (const d of [base, src, cache, repoDir]) fs.chownSync(d, 65534, 65534);
        fs.chmodSync(work, 0o755);
        // nobody must reach the binary: the checkout (and its restic cache) may sit under a 0700 directory.
        const nobodyBin = path.join(base, 'restic');
        fs.copyFileSync(b.bin, nobodyBin);
        fs.chmodSync(nobodyBin, 0o755);
        const asNobody = { uid: 65534, gid: 65534, extraEnv: { RESTIC_CACHE_DIR: cache, HOME: base } };
        const nrepo: ResticRepository = { url: repoDir, password: PASSWORD };
        const init = await run({ bin: nobodyBin, version, repo: nrepo, ...initArgs(), ...asNobody });
        assert.equal(init.result.exitCode, 0, init.stderr.join('\n'));
        const backup = await run({
          bin: nobodyBin,
          version,
          repo: nrepo,
          ...backupArgs({ paths: [src] }),
          ...asNobody,
        });
        const report = parseBackupOutput(backup.stdout, backup.stderr);
        assert.deepEqual(
          report.errors.map((e) => [e.item, e.during, /permission denied/.test(e.message)]),
          [[path.join(src, 'locked.txt'), 'archival', true]],
        );
        assert.ok(report.summary?.snapshotId);
        const outcome = classifyOutcome({
          command: 'backup',
          ...backup.result,
          stderrLines: backup.stderr,
          version,
        });
        assert.deepEqual([outcome.status, outcome.code, outcome.exitCode], ['warning', 'partial', 3]);
      },
    );

    it(
      'REST repository with credentials: no credential in argv, wrong one is auth_failed',
      { timeout: 180_000 },
      async () => {
        const store = path.join(work, `rest-${b.version}`);
        fs.mkdirSync(store);
        const port = await freePort();
        const rclone: ChildProcess = spawn(
          'rclone',
          [
            'serve',
            'restic',
            '--addr',
            `127.0.0.1:${port}`,
            '--user',
            REST_USER,
            '--pass',
            REST_SECRET,
            store,
          ],
          { stdio: 'ignore' },
        );
        try {
          await waitForPort(port, 15_000);
          const rest: ResticRepository = {
            url: `rest:http://127.0.0.1:${port}/`,
            password: PASSWORD,
            username: REST_USER,
            credential: REST_SECRET,
          };
          const init = await run({ bin: b.bin, version, repo: rest, ...initArgs() });
          assert.equal(
            classifyOutcome({ command: 'init', ...init.result, stderrLines: init.stderr }).code,
            'ok',
          );
          let cmdline = '';
          const backup = await run({
            bin: b.bin,
            version,
            repo: rest,
            ...backupArgs({ paths: [small] }),
            onSpawn: (pid) => {
              cmdline = procText(pid, 'cmdline');
            },
          });
          assert.ok(cmdline.length > 0 && !cmdline.includes(REST_SECRET) && !cmdline.includes('127.0.0.1'));
          assert.ok(parseBackupOutput(backup.stdout, backup.stderr).summary?.snapshotId);
          for (const line of [...backup.stdout, ...backup.stderr, ...init.stdout, ...init.stderr]) {
            assert.ok(!line.includes(REST_SECRET) && !line.includes(PASSWORD));
          }
          const denied = await run({
            bin: b.bin,
            version,
            repo: { ...rest, credential: 'wrong' },
            ...snapshotsArgs(),
          });
          const outcome = classifyOutcome({
            command: 'snapshots',
            ...denied.result,
            stderrLines: denied.stderr,
            version,
          });
          assert.deepEqual([outcome.status, outcome.code], ['failed', 'auth_failed']);
        } finally {
          rclone.kill('SIGINT');
        }
      },
    );
  });
}
