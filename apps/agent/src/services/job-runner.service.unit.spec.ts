import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResticProcessRepository, ResticRunOptions, ResticRunResult } from '@rf/restic';
import pino from 'pino';
import type { HookProcessRepository, HookResult } from '../repositories/hook-process.repository';
import type { StoredSchedule } from '../repositories/schedule-state.repository';
import { JobRunnerService } from './job-runner.service';

interface Sent {
  type: string;
  jobId: string | undefined;
  payload: Record<string, unknown>;
}

/** A stand-in for restic: each run waits until the test releases it. */
class FakeProcesses {
  readonly runs: Array<{ opts: ResticRunOptions; release: (r: Partial<ResticRunResult>) => void }> = [];
  run(opts: ResticRunOptions): Promise<ResticRunResult> {
    return new Promise((resolve) => {
      const release = (r: Partial<ResticRunResult>): void =>
        resolve({
          exitCode: 0,
          signal: null,
          durationMs: 1,
          stdoutTail: [],
          stderrTail: [],
          stdoutLines: opts.captureStdout ? ['[]'] : undefined,
          cancelled: false,
          timedOut: false,
          killed: false,
          pid: 1,
          ...r,
        });
      this.runs.push({ opts, release });
      opts.signal?.addEventListener('abort', () => release({ exitCode: 130, cancelled: true }));
    });
  }
}

/** Records the hooks it is asked to run; they all succeed. */
class FakeHooks {
  readonly commands: string[] = [];
  run(command: string): Promise<HookResult> {
    this.commands.push(command);
    return Promise.resolve({ exitCode: 0, timedOut: false, cancelled: false });
  }
}

const HOOKED: StoredSchedule = {
  id: 'nightly',
  cron_expr: '0 2 * * *',
  enabled: true,
  pre_hook: 'pg_dump app > /var/backups/app.sql',
  post_hook: 'rm /var/backups/app.sql',
  raw: {},
};

function setup(
  repo: { url: string; password: string } | null = { url: '/r', password: 'pw' },
  byId: ReadonlyMap<string, { url: string; password: string }> = new Map(),
  hooks: { allowHooks: boolean; schedule?: StoredSchedule } = { allowHooks: false },
  logger: pino.Logger = pino({ level: 'silent' }),
) {
  const sent: Sent[] = [];
  const processes = new FakeProcesses();
  const hookRuns = new FakeHooks();
  const runner = new JobRunnerService({
    emit: (type, jobId, payload) =>
      void sent.push({ type, jobId, payload: payload as Record<string, unknown> }),
    takeDropped: () => 0,
    repository: () => repo ?? undefined,
    repositoryById: (id) => byId.get(id),
    restic: () =>
      Promise.resolve({ bin: '/usr/bin/restic', version: { major: 0, minor: 14, patch: 0, raw: '' } }),
    schedule: (id) => (hooks.schedule?.id === id ? hooks.schedule : undefined),
    allowHooks: hooks.allowHooks,
    configPath: '/etc/restic-fleet/agent.yaml',
    logger,
    processes: processes as unknown as ResticProcessRepository,
    hooks: hookRuns as unknown as HookProcessRepository,
  });
  return { sent, processes, runner, hookRuns };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
async function until(what: string, f: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (f()) return;
    await tick();
  }
  throw new Error(`never happened: ${what}`);
}

describe('JobRunnerService', () => {
  it('rejects when no repository is configured, naming the field', () => {
    const { sent, runner } = setup(null);
    runner.submit({ job_id: 'j1', kind: 'snapshots', args: {} });
    assert.deepEqual(sent, [
      {
        type: 'command.result',
        jobId: 'j1',
        payload: {
          job_id: 'j1',
          accepted: false,
          error: 'no repository is configured for this host; set one in the host settings first',
          field: 'repository',
        },
      },
    ]);
  });

  it('rejects an unknown kind and bad args', () => {
    const { sent, runner } = setup();
    runner.submit({ job_id: 'j1', kind: 'format-disk', args: {} });
    runner.submit({ job_id: 'j2', kind: 'backup', args: { paths: [] } });
    assert.equal(sent[0].payload.field, 'kind');
    assert.equal(sent[1].payload.accepted, false);
    assert.equal(sent[1].payload.field, 'args.paths');
  });

  it('runs one restic per repository at a time, first-in first-out', async () => {
    const { sent, processes, runner } = setup();
    runner.submit({ job_id: 'a', kind: 'unlock', args: {} });
    runner.submit({ job_id: 'b', kind: 'unlock', args: {} });
    await until('first run', () => processes.runs.length === 1);
    for (let i = 0; i < 20; i++) await tick();
    assert.equal(processes.runs.length, 1, 'b waits while a runs');
    processes.runs[0].release({});
    await until('second run', () => processes.runs.length === 2);
    processes.runs[1].release({});
    await until('both finished', () => sent.filter((s) => s.type === 'job.finished').length === 2);
    assert.deepEqual(
      sent.filter((s) => s.type.startsWith('job.')).map((s) => `${s.type}:${s.jobId}`),
      ['job.started:a', 'job.finished:a', 'job.started:b', 'job.finished:b'],
    );
  });

  it('answers a resent command.run without running the job twice', async () => {
    const { sent, processes, runner } = setup();
    runner.submit({ job_id: 'a', kind: 'unlock', args: {} });
    runner.submit({ job_id: 'a', kind: 'unlock', args: {} });
    await until('run', () => processes.runs.length === 1);
    processes.runs[0].release({});
    await until('finished', () => sent.some((s) => s.type === 'job.finished'));
    assert.equal(sent.filter((s) => s.type === 'command.result' && s.payload.accepted).length, 2);
    assert.equal(processes.runs.length, 1);
  });

  it('cancels a queued job without running it, and a running one through the abort signal', async () => {
    const { sent, processes, runner } = setup();
    runner.submit({ job_id: 'a', kind: 'unlock', args: {} });
    runner.submit({ job_id: 'b', kind: 'unlock', args: {} });
    await until('a runs', () => processes.runs.length === 1);
    runner.cancel('b');
    const bFinished = sent.find((s) => s.type === 'job.finished' && s.jobId === 'b');
    assert.equal(bFinished?.payload.status, 'cancelled');
    runner.cancel('a');
    await until('a finished', () => sent.some((s) => s.type === 'job.finished' && s.jobId === 'a'));
    const aFinished = sent.find((s) => s.type === 'job.finished' && s.jobId === 'a');
    assert.equal(aFinished?.payload.status, 'cancelled');
    assert.equal(aFinished?.payload.exit_code, 130);
    assert.equal(processes.runs.length, 1, 'b never started restic');
  });

  it('maps exit 3 to warning and never passes the password on the command line', async () => {
    const { sent, processes, runner } = setup();
    runner.submit({ job_id: 'w', kind: 'backup', args: { paths: ['/data'] } });
    await until('run', () => processes.runs.length === 1);
    const opts = processes.runs[0].opts;
    assert.ok(!opts.args.includes('pw') && opts.command === 'backup');
    assert.deepEqual(opts.repo, { url: '/r', password: 'pw' });
    processes.runs[0].release({
      exitCode: 3,
      stderrTail: ['Warning: at least one source file could not be read'],
    });
    await until('finished', () => sent.some((s) => s.type === 'job.finished'));
    const fin = sent.find((s) => s.type === 'job.finished');
    assert.equal(fin?.payload.status, 'warning');
    assert.equal(fin?.payload.exit_code, 3);
    await until('snapshots follow-up', () => processes.runs.length === 2);
    processes.runs[1].release({});
    await until('report', () => sent.some((s) => s.type === 'snapshots.report'));
  });

  it('sends job.finished when restic ends, then lists snapshots lock-free while holding the repository queue', async () => {
    const { sent, processes, runner } = setup();
    runner.submit({ job_id: 'a', kind: 'backup', args: { paths: ['/data'] } });
    runner.submit({ job_id: 'b', kind: 'forget', args: { policy: { keep_last: 1 } } });
    await until('backup runs', () => processes.runs.length === 1);
    processes.runs[0].release({});
    // job.finished does not wait for the listing: the control plane may hand the repository on at once.
    await until('a finished', () => sent.some((s) => s.type === 'job.finished' && s.jobId === 'a'));
    await until('snapshots follow-up', () => processes.runs.length === 2);
    const listing = processes.runs[1].opts;
    assert.equal(listing.command, 'snapshots');
    // Without a lock it can neither collide with nor hold up another host's exclusive job on the repository.
    assert.equal(listing.args[0], '--no-lock');
    assert.equal(
      sent.some((s) => s.type === 'snapshots.report'),
      false,
    );
    // This host's next job on the repository still waits for the listing.
    for (let i = 0; i < 20; i++) await tick();
    assert.equal(processes.runs.length, 2, 'forget waits for the listing');
    assert.equal(runner.activeJobs, 2, 'the reporting job still counts, so an update waits for it');
    processes.runs[1].release({ stdoutLines: ['[]'] });
    await until('forget runs', () => processes.runs.length === 3);
    assert.equal(processes.runs[2].opts.command, 'forget');
    const types = sent.filter((s) => s.jobId === 'a').map((s) => s.type);
    assert.ok(types.indexOf('job.finished') < types.indexOf('snapshots.report'), types.join(','));
    processes.runs[2].release({});
    await until('forget finished', () => sent.some((s) => s.type === 'job.finished' && s.jobId === 'b'));
    await until('forget listing', () => processes.runs.length === 4);
    assert.deepEqual(processes.runs[3].opts.args, ['--no-lock', '--json']);
    processes.runs[3].release({});
  });

  it('a lock-free listing that fails (the repository changed under it) only logs: the job stays succeeded', async () => {
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
    const { sent, processes, runner } = setup(undefined, undefined, undefined, logger);
    runner.submit({ job_id: 'p', kind: 'prune', args: {} });
    await until('prune runs', () => processes.runs.length === 1);
    processes.runs[0].release({});
    await until('listing', () => processes.runs.length === 2);
    processes.runs[1].release({
      exitCode: 1,
      stderrTail: ['Fatal: load snapshot 1a2b3c4d: file does not exist'],
    });
    await until('idle', () => runner.activeJobs === 0);
    assert.equal(sent.find((s) => s.type === 'job.finished')?.payload.status, 'succeeded');
    assert.equal(
      sent.some((s) => s.type === 'snapshots.report'),
      false,
    );
    assert.ok(
      warnings.some((w) => /snapshots.report failed/.test(w) && /file does not exist/.test(w)),
      warnings.join('\n'),
    );
  });

  it('check: job.finished first, then lock-free raw-data stats carrying the check outcome', async () => {
    const { sent, processes, runner } = setup();
    runner.submit({ job_id: 'c', kind: 'check', args: {} });
    await until('check runs', () => processes.runs.length === 1);
    processes.runs[0].release({});
    await until('finished', () => sent.some((s) => s.type === 'job.finished'));
    await until('stats follow-up', () => processes.runs.length === 2);
    assert.deepEqual(processes.runs[1].opts.args, ['--no-lock', '--json', '--mode=raw-data']);
    processes.runs[1].release({
      stdoutLines: ['{"total_size":100,"total_file_count":0,"snapshots_count":1}'],
    });
    await until('repo.stats', () => sent.some((s) => s.type === 'repo.stats'));
    const rs = sent.find((s) => s.type === 'repo.stats')!.payload;
    assert.equal(rs.last_check_status, 'succeeded');
    const types = sent.map((s) => s.type);
    assert.ok(types.indexOf('job.finished') < types.indexOf('repo.stats'), types.join(','));
  });

  it('shutdown stops a lock-free report that is still reading, and waits for it', async () => {
    const { sent, processes, runner } = setup();
    runner.submit({ job_id: 'a', kind: 'backup', args: { paths: ['/data'] } });
    await until('backup runs', () => processes.runs.length === 1);
    processes.runs[0].release({});
    await until('listing', () => processes.runs.length === 2);
    assert.ok(processes.runs[1].opts.signal, 'the listing can be stopped');
    await runner.shutdown();
    assert.equal(runner.activeJobs, 0);
    assert.equal(sent.find((s) => s.type === 'job.finished')?.payload.status, 'succeeded');
  });

  it('runs a job on the repository it names, and refuses one this host is not attached to', async () => {
    const repos = new Map([
      ['r-local', { url: '/local', password: 'pw-local' }],
      ['r-offsite', { url: 'rest:http://127.0.0.1:9/offsite/', password: 'pw-offsite' }],
    ]);
    const { sent, processes, runner } = setup({ url: '/local', password: 'pw-local' }, repos);
    runner.submit({ job_id: 'a', kind: 'check', args: {}, repository_id: 'r-offsite' });
    await until('run', () => processes.runs.length === 1);
    assert.deepEqual(processes.runs[0].opts.repo, repos.get('r-offsite'));
    runner.submit({ job_id: 'b', kind: 'check', args: {}, repository_id: 'r-gone' });
    assert.deepEqual(sent.find((s) => s.jobId === 'b')?.payload, {
      job_id: 'b',
      accepted: false,
      error: 'repository r-gone is not configured on this host',
      field: 'repository_id',
    });
    runner.submit({
      job_id: 'c',
      kind: 'copy',
      args: { to_repository_id: 'r-gone' },
      repository_id: 'r-local',
    });
    assert.equal(sent.find((s) => s.jobId === 'c')?.payload.field, 'args.to_repository_id');
    runner.submit({
      job_id: 'd',
      kind: 'copy',
      args: { to_repository_id: 'r-local' },
      repository_id: 'r-local',
    });
    assert.equal(sent.find((s) => s.jobId === 'd')?.payload.field, 'args.to_repository_id');
    processes.runs[0].release({});
  });

  it('fails a job whose schedule has hooks on a host that does not allow them, running neither hooks nor restic', async () => {
    const { sent, processes, runner, hookRuns } = setup(undefined, undefined, {
      allowHooks: false,
      schedule: HOOKED,
    });
    runner.submit({ job_id: 'h', kind: 'unlock', args: {}, schedule_id: 'nightly' });
    await until('finished', () => sent.some((s) => s.type === 'job.finished'));
    const fin = sent.find((s) => s.type === 'job.finished')!;
    assert.equal(fin.payload.status, 'failed');
    assert.equal(fin.payload.error_code, 'hooks_not_allowed');
    assert.match(
      String(fin.payload.error),
      /has a pre-hook and a post-hook, but this host does not allow hooks.*set allow_hooks: true in \/etc\/restic-fleet\/agent\.yaml on this host and restart the agent/,
    );
    assert.deepEqual(hookRuns.commands, [], 'no hook ran');
    assert.equal(processes.runs.length, 0, 'restic did not run');
    const logged = sent.filter((s) => s.type === 'log.stream').map((s) => s.payload.payload);
    assert.ok(
      logged.some((l) => /does not allow hooks/.test(String(l))),
      'the job log says why',
    );
  });

  it('runs the hooks around restic on a host that allows them', async () => {
    const { sent, processes, runner, hookRuns } = setup(undefined, undefined, {
      allowHooks: true,
      schedule: HOOKED,
    });
    runner.submit({ job_id: 'h', kind: 'unlock', args: {}, schedule_id: 'nightly' });
    await until('restic runs', () => processes.runs.length === 1);
    assert.deepEqual(hookRuns.commands, [HOOKED.pre_hook]);
    processes.runs[0].release({});
    await until('finished', () => sent.some((s) => s.type === 'job.finished'));
    assert.deepEqual(hookRuns.commands, [HOOKED.pre_hook, HOOKED.post_hook]);
    assert.equal(sent.find((s) => s.type === 'job.finished')?.payload.status, 'succeeded');
  });

  it('runs restic unlock after restic had to be killed, so no stale lock is left behind', async () => {
    const { sent, processes, runner } = setup();
    runner.submit({ job_id: 'k', kind: 'backup', args: { paths: ['/data'] } });
    await until('backup runs', () => processes.runs.length === 1);
    processes.runs[0].release({ exitCode: null, signal: 'SIGKILL', cancelled: true, killed: true });
    await until('unlock runs', () => processes.runs.length === 2);
    assert.equal(processes.runs[1].opts.command, 'unlock');
    assert.ok(!processes.runs[1].opts.args.includes('--remove-all'), 'only stale locks, never a live one');
    processes.runs[1].release({});
    await until('finished', () => sent.some((s) => s.type === 'job.finished'));
    const logged = sent.filter((s) => s.type === 'log.stream').map((s) => String(s.payload.payload));
    assert.ok(
      logged.some((l) => /was killed; removing the lock it left/.test(l)),
      logged.join('\n'),
    );
    assert.ok(logged.includes('stale lock removed'));
  });

  it('starts the log with the restic command it runs: arguments only, never the repository or its password', async () => {
    const { sent, processes, runner } = setup();
    runner.submit({ job_id: 'c', kind: 'backup', args: { paths: ['/srv/my data'], tags: ['nightly'] } });
    await until('backup runs', () => processes.runs.length === 1);
    const first = sent.find((s) => s.type === 'log.stream')!;
    assert.equal(first.payload.stream, 'agent');
    assert.equal(first.payload.seq, 1);
    const text = String(first.payload.payload);
    assert.match(text, /^restic backup --json --tag=nightly -- '\/srv\/my data'$/);
    assert.ok(!text.includes('pw') && !text.includes('/r '), text);
    // The backup, then the snapshots listing that follows it.
    await until('finished', () => {
      for (const run of processes.runs) run.release({});
      return sent.some((s) => s.type === 'job.finished');
    });
  });
});
