// The job runner's `copy` against real restic builds (Debian's 0.14 and the cached
// newer ones): from a local repository into one served by `rclone serve restic`
// with HTTP credentials, the destination initialised on first use with the
// source's chunker parameters, both snapshot lists reported, no secret in argv.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  argsForJob,
  catConfigArgs,
  readResticVersion,
  type ResticRepository,
  ResticProcessRepository,
  type ResticRunOptions,
  type ResticRunResult,
} from '@rf/restic';
import { resticBinariesForTests } from '@rf/restic/testing';
import pino from 'pino';
import { eventually, RcloneRestServer, writeRandomFiles } from '../../../../test/support/fleet';
import { JobRunnerService } from './job-runner.service';

const SRC_PASSWORD = 'copy-src-password-71c2';
const DST_PASSWORD = 'copy-dst-password-9e04';
const REST_USER = 'fleet-copy';
const REST_SECRET = 'rest-copy-secret-4b1d';
const SECRETS = [SRC_PASSWORD, DST_PASSWORD, REST_SECRET];

interface Sent {
  type: string;
  payload: Record<string, unknown>;
}

/** The real runner, recording every command line it starts. */
class RecordingProcesses extends ResticProcessRepository {
  readonly commandLines: string[] = [];
  override run(opts: ResticRunOptions): Promise<ResticRunResult> {
    this.commandLines.push([opts.command, ...opts.args].join(' '));
    return super.run(opts);
  }
}

const processes = new ResticProcessRepository();

async function restic(bin: string, repo: ResticRepository, inv: { command: string; args: string[] }) {
  const version = await readResticVersion(bin);
  const r = await processes.run({ bin, version, repo, ...inv, timeoutMs: 120_000, captureStdout: true });
  assert.equal(r.exitCode, 0, `restic ${inv.command}: ${r.stderrTail.join('\n')}`);
  return r.stdoutLines ?? [];
}

const chunkerPolynomial = async (bin: string, repo: ResticRepository): Promise<string> =>
  String(
    (JSON.parse((await restic(bin, repo, catConfigArgs())).join('')) as { chunker_polynomial: string })
      .chunker_polynomial,
  );

for (const b of resticBinariesForTests()) {
  describe(`copy job with restic ${b.version}`, () => {
    let work: string;
    let rest: RcloneRestServer;
    let source: ResticRepository;
    let destination: ResticRepository;
    const sourceSnapshots: string[] = [];

    before(async () => {
      work = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-copy-'));
      rest = await RcloneRestServer.start(path.join(work, 'rest'), 15_000, {
        user: REST_USER,
        pass: REST_SECRET,
      });
      source = { url: path.join(work, 'src'), password: SRC_PASSWORD };
      destination = {
        url: rest.repoUrl('offsite'),
        password: DST_PASSWORD,
        username: REST_USER,
        credential: REST_SECRET,
      };
      await restic(b.bin, source, argsForJob({ kind: 'init' }));
      const data = path.join(work, 'data');
      writeRandomFiles(data, 20, 64 * 1024);
      await restic(b.bin, source, argsForJob({ kind: 'backup', paths: [data], tags: ['one'] }));
      writeRandomFiles(data, 5, 64 * 1024, 'g');
      await restic(b.bin, source, argsForJob({ kind: 'backup', paths: [data], tags: ['two'] }));
      const list = JSON.parse((await restic(b.bin, source, argsForJob({ kind: 'snapshots' }))).join('')) as {
        id: string;
      }[];
      sourceSnapshots.push(...list.map((s) => s.id));
    });

    after(async () => {
      await rest?.stop();
      fs.rmSync(work, { recursive: true, force: true });
    });

    function runner(repositories: ReadonlyMap<string, ResticRepository>) {
      const sent: Sent[] = [];
      const recording = new RecordingProcesses();
      const jobs = new JobRunnerService({
        emit: (type, _jobId, payload) =>
          void sent.push({ type, payload: payload as Record<string, unknown> }),
        takeDropped: () => 0,
        repository: () => undefined,
        repositoryById: (id) => repositories.get(id),
        restic: async () => ({ bin: b.bin, version: await readResticVersion(b.bin) }),
        schedule: () => undefined,
        allowHooks: false,
        logger: pino({ level: 'silent' }),
        processes: recording,
        progressIntervalMs: 0,
      });
      const finished = (jobId: string) =>
        eventually(
          `job.finished of ${jobId}`,
          () => sent.find((s) => s.type === 'job.finished' && s.payload.job_id === jobId)?.payload,
          120_000,
          100,
        );
      return { sent, recording, jobs, finished };
    }
    const both = () =>
      new Map([
        ['r-src', source],
        ['r-offsite', destination],
      ]);

    it('initialises a new destination with the source’s chunker parameters, copies every snapshot, reports both lists', async () => {
      const { sent, recording, jobs, finished } = runner(both());
      jobs.submit({
        job_id: 'copy-1',
        kind: 'copy',
        args: { to_repository_id: 'r-offsite' },
        repository_id: 'r-src',
      });
      const fin = await finished('copy-1');
      assert.equal(fin.status, 'succeeded', JSON.stringify(fin));
      const stats = fin.stats as {
        copied: number;
        skipped: number;
        to_repository_id: string;
        snapshots: unknown[];
      };
      assert.equal(stats.to_repository_id, 'r-offsite');
      assert.equal(stats.copied, sourceSnapshots.length);
      assert.equal(stats.snapshots.length, sourceSnapshots.length);

      const logs = sent.filter((s) => s.type === 'log.stream').map((s) => String(s.payload.payload));
      assert.ok(
        logs.some((l) => /not initialised; initialising it with the source's chunker parameters/.test(l)),
        logs.join('\n'),
      );
      assert.equal(await chunkerPolynomial(b.bin, destination), await chunkerPolynomial(b.bin, source));

      // restic's text progress ("[0:00] 100.00%  2 / 2 packs copied") becomes job.progress, never a log line.
      const progress = sent.filter((s) => s.type === 'job.progress').map((s) => s.payload);
      assert.ok(
        progress.some((p) => p.percent_done === 1 && Number(p.files_done) > 0),
        JSON.stringify(progress),
      );
      assert.equal(
        logs.some((l) => /packs copied/.test(l)),
        false,
      );

      // Both lists follow job.finished, read without a lock (docs/repositories.md, "Reports after a job").
      const reports = await eventually(
        'both snapshot lists',
        () => {
          const r = sent.filter((s) => s.type === 'snapshots.report');
          return r.length === 2 ? r : undefined;
        },
        120_000,
        100,
      );
      assert.deepEqual(
        reports.map((r) => [r.payload.repository_id, (r.payload.snapshots as unknown[]).length]),
        [
          ['r-src', sourceSnapshots.length],
          ['r-offsite', sourceSnapshots.length],
        ],
      );
      const types = sent.map((s) => s.type);
      assert.ok(types.indexOf('job.finished') < types.indexOf('snapshots.report'), types.join(','));
      for (const line of recording.commandLines)
        for (const secret of SECRETS) assert.equal(line.includes(secret), false, `secret in argv: ${line}`);
      assert.deepEqual(
        recording.commandLines.map((l) => l.split(' ')[0]),
        ['cat', 'init', 'copy', 'snapshots', 'snapshots'],
      );
      assert.deepEqual(recording.commandLines.slice(3), [
        'snapshots --no-lock --json',
        'snapshots --no-lock --json',
      ]);
    });

    it('a second copy adds nothing; a copy of named snapshots copies only those', async () => {
      const { jobs, finished } = runner(both());
      jobs.submit({
        job_id: 'copy-2',
        kind: 'copy',
        args: { to_repository_id: 'r-offsite' },
        repository_id: 'r-src',
      });
      const again = await finished('copy-2');
      assert.equal(again.status, 'succeeded', JSON.stringify(again));
      assert.equal((again.stats as { copied: number }).copied, 0);

      // Back the other way, out of the REST repository into a third one, picking one snapshot by prefix.
      const third: ResticRepository = { url: path.join(work, 'third'), password: SRC_PASSWORD };
      const list = JSON.parse(
        (await restic(b.bin, destination, argsForJob({ kind: 'snapshots' }))).join(''),
      ) as {
        id: string;
      }[];
      const back = runner(
        new Map([
          ['r-offsite', destination],
          ['r-third', third],
        ]),
      );
      back.jobs.submit({
        job_id: 'copy-3',
        kind: 'copy',
        args: { to_repository_id: 'r-third', snapshots: [list[0].id.slice(0, 8)] },
        repository_id: 'r-offsite',
      });
      const one = await back.finished('copy-3');
      assert.equal(one.status, 'succeeded', JSON.stringify(one));
      assert.equal((one.stats as { copied: number }).copied, 1);
      const inThird = JSON.parse(
        (await restic(b.bin, third, argsForJob({ kind: 'snapshots' }))).join(''),
      ) as unknown[];
      assert.equal(inThird.length, 1);
    });

    it('a wrong source password fails the job with restic’s reason and reports no snapshot list', async () => {
      const { sent, jobs, finished } = runner(
        new Map([
          ['r-src', { ...source, password: 'not-the-password' }],
          ['r-offsite', destination],
        ]),
      );
      jobs.submit({
        job_id: 'copy-4',
        kind: 'copy',
        args: { to_repository_id: 'r-offsite' },
        repository_id: 'r-src',
      });
      const fin = await finished('copy-4');
      assert.equal(fin.status, 'failed');
      assert.equal(fin.error_code, 'wrong_password', JSON.stringify(fin));
      assert.equal(
        sent.some((s) => s.type === 'snapshots.report'),
        false,
      );
    });
  });
}
