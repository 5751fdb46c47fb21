/**
 * The real agent process against a scripted control plane and real restic
 * (Debian 0.14 and 0.19.1 when fetched), on a local repository and on one
 * served by `rclone serve restic`.
 */
import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { WireMessage } from '@rf/events';
import {
  AgentProcess,
  resticBinaries,
  ScriptedServer,
  tempDir,
  waitUntil,
  writeAgentConfig,
} from './agent-scripted-server';

const JOB_TIMEOUT = 90_000;
const PASSWORD = 'correct horse battery staple';

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function startRclone(storeDir: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn('rclone', ['serve', 'restic', '--addr', `127.0.0.1:${port}`, storeDir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await waitUntil(
    'rclone serve restic to listen',
    () => {
      const r = spawnSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`]);
      return r.status === 0;
    },
    15_000,
    100,
  );
  return { url: `rest:http://127.0.0.1:${port}/repo/`, child };
}

function makeDataSet(dir: string): void {
  fs.mkdirSync(path.join(dir, 'sub', 'deeper'), { recursive: true });
  for (let i = 0; i < 40; i++)
    fs.writeFileSync(path.join(dir, `file-${i}.txt`), `file ${i}\n`.repeat(100 + i));
  fs.writeFileSync(path.join(dir, 'sub', 'random.bin'), randomBytes(512 * 1024));
  fs.writeFileSync(path.join(dir, 'sub', 'deeper', 'note.txt'), 'restore me\n');
}

function logLinesOf(messages: WireMessage[]): Array<Extract<WireMessage, { type: 'log.stream' }>> {
  return messages.filter((m): m is Extract<WireMessage, { type: 'log.stream' }> => m.type === 'log.stream');
}

/** Contract checks on every job: lifecycle order, contiguous seq from 1, no restic status lines in the log. */
function assertJobStream(messages: WireMessage[]): void {
  const types = messages.map((m) => m.type);
  assert.equal(types[0], 'command.result', `first message is command.result (${types.join(',')})`);
  const started = types.indexOf('job.started');
  const finished = types.indexOf('job.finished');
  if (started >= 0) assert.ok(started < finished, 'job.started before job.finished');
  const lines = logLinesOf(messages);
  lines.forEach((l, i) => assert.equal(l.payload.seq, i + 1, 'log seq is contiguous from 1'));
  for (const l of lines) {
    assert.ok(
      !/"message_type"\s*:\s*"status"/.test(l.payload.payload),
      'status lines never reach log.stream',
    );
    assert.ok(!l.payload.payload.includes(PASSWORD), 'the repository password never appears in the log');
  }
  const progress = messages.filter((m) => m.type === 'job.progress');
  for (let i = 1; i < progress.length; i++) {
    const gap = Date.parse(progress[i].ts) - Date.parse(progress[i - 1].ts);
    assert.ok(gap >= 990, `job.progress at most once a second (gap ${gap} ms)`);
  }
}

const binaries = resticBinaries();
const backends: Array<'local' | 'rest'> = ['local', 'rest'];

for (const restic of binaries) {
  for (const backend of backends) {
    describe(`agent + restic ${restic.label} + ${backend} repository`, () => {
      let dir: string;
      let server: ScriptedServer;
      let agent: AgentProcess;
      let rclone: ChildProcess | undefined;
      let repoUrl: string;
      let data: string;

      before(async () => {
        dir = tempDir('rf-agent-e2e-');
        data = path.join(dir, 'data');
        makeDataSet(data);
        if (backend === 'rest') {
          const r = await startRclone(path.join(dir, 'rest-store'));
          rclone = r.child;
          repoUrl = r.url;
        } else {
          repoUrl = path.join(dir, 'repo');
        }
        server = new ScriptedServer();
        server.onHello = (s) => s.configureRepository({ url: repoUrl, password: PASSWORD });
        await server.start();
        const configPath = writeAgentConfig({ dir, server });
        agent = new AgentProcess(configPath, { RF_RESTIC_BIN: restic.bin });
        await waitUntil('the agent to connect', () => server.hellos.length > 0, 20_000);
      });

      after(async () => {
        const code = await agent?.stop();
        await server?.stop();
        rclone?.kill('SIGTERM');
        fs.rmSync(dir, { recursive: true, force: true });
        assert.equal(code, 0, 'the agent exits 0 on SIGTERM');
      });

      it('says hello with host facts and the restic version', () => {
        const hello = server.hellos[0];
        assert.equal(hello.type, 'hello');
        if (hello.type !== 'hello') return;
        assert.equal(hello.payload.protocol_version, 1);
        assert.equal(hello.payload.os, 'linux');
        assert.ok(['amd64', 'arm64'].includes(hello.payload.arch));
        assert.match(hello.payload.restic_version, restic.label === '0.14' ? /^0\.14\./ : /^0\.19\./);
        assert.equal(hello.payload.agent_version, '0.1.0');
        assert.ok(hello.payload.boot_time && Date.parse(hello.payload.boot_time) < Date.now());
      });

      it('init creates the repository', async () => {
        const { finished, messages } = await server.runJob('init', {}, JOB_TIMEOUT);
        assert.equal(finished.payload.status, 'succeeded', finished.payload.error);
        assert.equal(finished.payload.exit_code, 0);
        assertJobStream(messages);
        assert.ok(logLinesOf(messages).length > 0, 'init output reaches the job log');
      });

      it('backup succeeds, streams progress-free logs, reports stats and then the snapshot list', async () => {
        const { jobId, finished, messages } = await server.runJob(
          'backup',
          { paths: [data], tags: ['e2e'] },
          JOB_TIMEOUT,
        );
        assert.equal(finished.payload.status, 'succeeded', finished.payload.error);
        assertJobStream(messages);
        const stats = finished.payload.stats as Record<string, unknown>;
        assert.equal(stats.total_files_processed, 42);
        assert.match(String(stats.snapshot_id), /^[0-9a-f]{8,64}$/);
        const report = await server.waitFor(
          'snapshots.report',
          (m) => m.payload.job_id === jobId,
          JOB_TIMEOUT,
        );
        assert.equal(report.payload.snapshots.length, 1);
        assert.deepEqual(report.payload.snapshots[0].tags, ['e2e']);
        assert.deepEqual(report.payload.snapshots[0].paths, [data]);
      });

      it('snapshots lists both snapshots after a second backup', async () => {
        fs.writeFileSync(path.join(data, 'added.txt'), 'second run\n');
        const b = await server.runJob('backup', { paths: [data] }, JOB_TIMEOUT);
        assert.equal(b.finished.payload.status, 'succeeded', b.finished.payload.error);
        const { jobId, finished, messages } = await server.runJob('snapshots', {}, JOB_TIMEOUT);
        assert.equal(finished.payload.status, 'succeeded', finished.payload.error);
        assertJobStream(messages);
        const report = await server.waitFor(
          'snapshots.report',
          (m) => m.payload.job_id === jobId,
          JOB_TIMEOUT,
        );
        assert.equal(report.payload.snapshots.length, 2);
      });

      it('jobs for one repository run one at a time, first-in first-out', async () => {
        const a = server.runJob('stats', {}, JOB_TIMEOUT);
        const b = server.runJob('stats', { mode: 'raw-data' }, JOB_TIMEOUT);
        const [ra, rb] = await Promise.all([a, b]);
        const aFinished = server.received.indexOf(ra.finished);
        const bStarted = server.received.findIndex(
          (m) => m.type === 'job.started' && m.payload.job_id === rb.jobId,
        );
        assert.ok(bStarted > aFinished, 'the second job starts after the first finished');
        assert.equal(rb.finished.payload.status, 'succeeded', rb.finished.payload.error);
        const repoStats = await server.waitFor(
          'repo.stats',
          (m) => m.payload.job_id === rb.jobId,
          JOB_TIMEOUT,
        );
        assert.equal(repoStats.payload.snapshot_count, 2);
        assert.ok(repoStats.payload.total_size_bytes > 0);
      });

      it('forget with prune keeps the newest snapshot and reports the shorter list', async () => {
        const { jobId, finished, messages } = await server.runJob(
          'forget',
          { policy: { keep_last: 1 }, prune: true },
          JOB_TIMEOUT,
        );
        assert.equal(finished.payload.status, 'succeeded', finished.payload.error);
        assertJobStream(messages);
        const report = await server.waitFor(
          'snapshots.report',
          (m) => m.payload.job_id === jobId,
          JOB_TIMEOUT,
        );
        assert.equal(report.payload.snapshots.length, 1);
      });

      it('prune on its own succeeds', async () => {
        const { finished } = await server.runJob('prune', {}, JOB_TIMEOUT);
        assert.equal(finished.payload.status, 'succeeded', finished.payload.error);
      });

      it('check succeeds and reports repo stats with the check result', async () => {
        const { jobId, finished, messages } = await server.runJob('check', {}, JOB_TIMEOUT);
        assert.equal(finished.payload.status, 'succeeded', finished.payload.error);
        assertJobStream(messages);
        const stats = await server.waitFor('repo.stats', (m) => m.payload.job_id === jobId, JOB_TIMEOUT);
        assert.equal(stats.payload.last_check_status, 'succeeded');
        assert.equal(stats.payload.snapshot_count, 1);
      });

      it('restore writes the files back', async () => {
        const target = path.join(dir, 'restored');
        const { finished, messages } = await server.runJob(
          'restore',
          { snapshot_id: 'latest', target },
          JOB_TIMEOUT,
        );
        assert.equal(finished.payload.status, 'succeeded', finished.payload.error);
        assertJobStream(messages);
        const restored = path.join(target, data, 'sub', 'deeper', 'note.txt');
        assert.equal(fs.readFileSync(restored, 'utf8'), 'restore me\n');
        assert.equal(fs.readFileSync(path.join(target, data, 'added.txt'), 'utf8'), 'second run\n');
      });

      it('cancel mid-backup stops restic with SIGINT and finishes cancelled; the repository stays usable', async () => {
        const big = path.join(dir, 'big');
        fs.mkdirSync(big);
        for (let i = 0; i < 12; i++)
          fs.writeFileSync(path.join(big, `blob-${i}.bin`), randomBytes(2 * 1024 * 1024));
        const started = server.runJob('backup', { paths: [big], limit_upload_kib: 512 }, JOB_TIMEOUT);
        const jobStarted = await server.waitFor(
          'job.started',
          (m) => server.of('job.finished', m.payload.job_id).length === 0 && m.payload.kind === 'backup',
          JOB_TIMEOUT,
        );
        await new Promise((r) => setTimeout(r, 1500));
        server.send('command.cancel', { job_id: jobStarted.payload.job_id });
        const { finished } = await started;
        assert.equal(finished.payload.status, 'cancelled');
        const after = await server.runJob('snapshots', {}, JOB_TIMEOUT);
        assert.equal(after.finished.payload.status, 'succeeded', 'no stale lock left behind');
      });

      it('unlock runs', async () => {
        const { finished } = await server.runJob('unlock', {}, JOB_TIMEOUT);
        assert.equal(finished.payload.status, 'succeeded', finished.payload.error);
      });

      it('a locked repository fails with a message that says so', async () => {
        // A live `backup --stdin` holds a lock while it waits for input; prune needs an exclusive one.
        const env = { ...process.env, RESTIC_PASSWORD: PASSWORD, RESTIC_REPOSITORY: repoUrl };
        const holder = spawn(restic.bin, ['backup', '--stdin', '--stdin-filename', 'hold'], {
          env,
          stdio: ['pipe', 'ignore', 'ignore'],
        });
        try {
          await new Promise((r) => setTimeout(r, 2500));
          const { finished } = await server.runJob('prune', {}, JOB_TIMEOUT);
          assert.equal(finished.payload.status, 'failed');
          assert.equal(finished.payload.error_code, 'locked');
          assert.match(finished.payload.error ?? '', /lock/i);
        } finally {
          // 0.19 ignores SIGINT while blocked on stdin: end the input, and bound the wait.
          const exited = new Promise((r) => holder.once('exit', r));
          holder.stdin?.end();
          holder.kill('SIGINT');
          const t = setTimeout(() => holder.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(t);
        }
      });

      it("a backup of a missing path fails with restic's reason", async () => {
        const { finished } = await server.runJob('backup', { paths: [path.join(dir, 'nope')] }, JOB_TIMEOUT);
        assert.equal(finished.payload.status, 'failed');
        assert.ok((finished.payload.error ?? '').length > 0);
      });

      it('a wrong password fails with a clear message and the password appears nowhere', async () => {
        server.configureRepository({ url: repoUrl, password: 'not the password' });
        try {
          const { finished, messages } = await server.runJob('snapshots', {}, JOB_TIMEOUT);
          assert.equal(finished.payload.status, 'failed');
          assert.equal(finished.payload.error_code, 'wrong_password');
          assert.match(finished.payload.error ?? '', /password is wrong/);
          assert.ok(!JSON.stringify(messages).includes('not the password'));
          assert.ok(!agent.logLines.join('\n').includes('not the password'), 'not in the agent log');
          assert.ok(!agent.logLines.join('\n').includes(PASSWORD), 'not in the agent log');
        } finally {
          server.configureRepository({ url: repoUrl, password: PASSWORD });
        }
      });

      it('every durable message arrived exactly once and was acknowledged', async () => {
        assert.deepEqual(server.duplicates, []);
        assert.deepEqual(server.invalid, []);
        const outbox = path.join(dir, 'state', 'outbox.log');
        await waitUntil(
          'the outbox to drain',
          () => fs.readFileSync(outbox, 'utf8').includes('"o":"a"'),
          5000,
        );
      });
    });
  }
}
