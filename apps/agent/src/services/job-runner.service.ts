import {
  argsForJob,
  catConfigArgs,
  classifyOutcome,
  CopyReportBuilder,
  initCopyChunkerParamsArgs,
  parseCopyLine,
  ResticError,
  type CopyLine,
  type ResticInvocation,
  type ResticProgress,
  formatVersion,
  parseBackupLine,
  progressFromStatus,
  ProgressThrottle,
  ResticJob,
  ResticLine,
  ResticProcessRepository,
  ResticRepository,
  ResticRunResult,
  ResticVersion,
  type BackupSummary,
  type ResticStream,
  RESTORE_OVERWRITE_MODES,
  versionAtLeast,
  withoutLock,
} from '@rf/restic';
import { isJobKind, isSuccessful, validateJobArgs, type JobKind } from '@rf/events';
import type { AgentLogger } from '../logger';
import { HookProcessRepository } from '../repositories/hook-process.repository';
import type { StoredSchedule } from '../repositories/schedule-state.repository';
import { jsonDocument, mapSnapshots, repoStatsFrom, statsDocument } from './restic-report.mapper';

/** What the runner sends; the caller routes it through the durable outbox. */
export type Emit = (type: string, jobId: string | undefined, payload: object) => void;

export interface ResticBinary {
  bin: string;
  version: ResticVersion | undefined;
}

export interface JobRunnerDeps {
  emit: Emit;
  /** Ends drop accounting for a job; returns dropped log lines (outbox size cap). */
  takeDropped: (jobId: string) => number;
  /** The host's default repository (jobs without repository_id). */
  repository: () => ResticRepository | undefined;
  /** The repositories the host is attached to, by id (config.update `repositories`). */
  repositoryById?: (id: string) => ResticRepository | undefined;
  restic: () => Promise<ResticBinary>;
  schedule: (id: string) => StoredSchedule | undefined;
  /** The host's `allow_hooks`: without it a job whose schedule has hooks fails and nothing runs. */
  allowHooks: boolean;
  /** Named in the refusal so the operator knows which file to change. */
  configPath?: string;
  logger: AgentLogger;
  processes?: ResticProcessRepository;
  hooks?: HookProcessRepository;
  now?: () => Date;
  /** Overall limit per restic run (default 24 h). */
  jobTimeoutMs?: number;
  /** SIGINT → SIGKILL grace on cancel (default 10 s). */
  cancelGraceMs?: number;
  /** Minimum interval between job.progress envelopes (default 1 s). */
  progressIntervalMs?: number;
}

export interface CommandRun {
  job_id: string;
  kind: string;
  args?: unknown;
  schedule_id?: string;
  repository_id?: string;
}

interface Job {
  id: string;
  kind: JobKind;
  args: Record<string, unknown>;
  scheduleId?: string;
  repoKey: string;
  repo: ResticRepository;
  /** As the control plane named it; undefined for the default repository of an older control plane. */
  repositoryId?: string;
  /** A copy's destination. */
  destination?: { id: string; repo: ResticRepository };
  abort: AbortController;
  state: 'queued' | 'running' | 'done';
  logLines: number;
}

/** The `job.finished` payload; exit_code is -1 when restic did not exit by itself (never started, killed). */
export interface JobFinished {
  job_id: string;
  status: 'succeeded' | 'warning' | 'failed' | 'cancelled';
  exit_code: number;
  finished_at: string;
  stats?: Record<string, unknown>;
  error?: string;
  error_code?: string;
  log_lines: number;
  dropped_log_lines: number;
}

const MAX_LOG_LINE = 16 * 1024;
const SEEN_JOBS_KEPT = 1000;
const DEFAULT_HOOK_TIMEOUT_S = 300;

/**
 * Runs the jobs the control plane orders. One restic process per repository
 * at a time; later jobs for the same repository wait in FIFO order. Every
 * lifecycle message goes out through `emit` (the durable outbox).
 *
 * Hooks: a `command.run` whose payload (or args) carries `schedule_id` runs
 * that schedule's `pre_hook` before restic and its `post_hook` after, looked
 * up in the persisted schedule set. Hook output goes to the job log with
 * stream `hook`. A failing or timed-out pre-hook fails the job without
 * running restic; a failing post-hook turns a succeeded job into `warning`.
 * The post-hook runs whenever restic ran (RF_JOB_STATUS tells it how it went),
 * not when the job was cancelled.
 *
 * Hooks run as the agent's user (root on most hosts), so whoever can edit a
 * schedule could run anything there: the host must opt in with
 * `allow_hooks: true`. Without it a job whose schedule has a hook fails
 * before anything runs (neither hook nor restic), saying how to allow hooks.
 */
export class JobRunnerService {
  private readonly jobs = new Map<string, Job>();
  private readonly queues = new Map<string, Job[]>();
  private readonly seen: string[] = [];
  private readonly processes: ResticProcessRepository;
  private readonly hooks: HookProcessRepository;
  private readonly now: () => Date;
  private idle: Array<() => void> = [];
  /** Reports still reading after their job finished (see reportAfter). */
  private reporting = 0;
  private readonly stopping = new AbortController();

  constructor(private readonly d: JobRunnerDeps) {
    this.processes = d.processes ?? new ResticProcessRepository();
    this.hooks = d.hooks ?? new HookProcessRepository();
    this.now = d.now ?? (() => new Date());
  }

  /** Jobs queued or running, and finished jobs whose reports are still being read. */
  get activeJobs(): number {
    return this.jobs.size + this.reporting;
  }

  /** Handles `command.run`: validates, answers `command.result`, queues the job. */
  submit(cmd: CommandRun): void {
    const jobId = cmd.job_id;
    if (this.jobs.has(jobId) || this.seen.includes(jobId)) {
      // A resent command.run (server retry after reconnect) must not run twice.
      this.d.emit('command.result', jobId, { job_id: jobId, accepted: true, duplicate: true });
      return;
    }
    const reject = (error: string, field?: string): void => {
      this.d.logger.warn({ job_id: jobId, kind: cmd.kind, field, error }, 'job rejected');
      this.d.emit('command.result', jobId, {
        job_id: jobId,
        accepted: false,
        error,
        ...(field ? { field } : {}),
      });
    };
    if (!isJobKind(cmd.kind)) {
      reject(`unknown job kind "${String(cmd.kind)}"`, 'kind');
      return;
    }
    const rawArgs =
      typeof cmd.args === 'object' && cmd.args !== null && !Array.isArray(cmd.args)
        ? { ...(cmd.args as Record<string, unknown>) }
        : cmd.args;
    let scheduleId = cmd.schedule_id;
    if (rawArgs && typeof rawArgs === 'object' && 'schedule_id' in rawArgs) {
      const sid = (rawArgs as Record<string, unknown>).schedule_id;
      delete (rawArgs as Record<string, unknown>).schedule_id;
      if (typeof sid === 'string') scheduleId = scheduleId ?? sid;
    }
    const checked = validateJobArgs(cmd.kind, rawArgs);
    if (!checked.ok) {
      const issue = checked.issues[0];
      reject(checked.issues.map((i) => i.message).join('; '), issue?.field);
      return;
    }
    const repo =
      cmd.repository_id !== undefined ? this.d.repositoryById?.(cmd.repository_id) : this.d.repository();
    if (!repo) {
      if (cmd.repository_id !== undefined)
        reject(`repository ${cmd.repository_id} is not configured on this host`, 'repository_id');
      else
        reject('no repository is configured for this host; set one in the host settings first', 'repository');
      return;
    }
    let destination: Job['destination'];
    if (cmd.kind === 'copy') {
      const to = String((checked.value as { to_repository_id: unknown }).to_repository_id);
      const toRepo = this.d.repositoryById?.(to);
      if (!toRepo) {
        reject(
          `the copy's destination repository ${to} is not configured on this host`,
          'args.to_repository_id',
        );
        return;
      }
      if (toRepo.url === repo.url) {
        reject('a copy needs a destination other than its source', 'args.to_repository_id');
        return;
      }
      destination = { id: to, repo: toRepo };
    }
    const job: Job = {
      id: jobId,
      kind: cmd.kind,
      args: checked.value as Record<string, unknown>,
      scheduleId,
      repoKey: repo.url,
      repo,
      ...(cmd.repository_id !== undefined ? { repositoryId: cmd.repository_id } : {}),
      ...(destination ? { destination } : {}),
      abort: new AbortController(),
      state: 'queued',
      logLines: 0,
    };
    this.jobs.set(jobId, job);
    this.remember(jobId);
    this.d.emit('command.result', jobId, { job_id: jobId, accepted: true });
    const q = this.queues.get(job.repoKey) ?? [];
    q.push(job);
    this.queues.set(job.repoKey, q);
    this.d.logger.info({ job_id: jobId, kind: job.kind, queued_behind: q.length - 1 }, 'job accepted');
    if (q.length === 1) void this.drain(job.repoKey);
  }

  /** Handles `command.cancel`: a queued job finishes cancelled at once; a running one gets SIGINT. */
  cancel(jobId: string): void {
    const job = this.jobs.get(jobId);
    if (!job) {
      this.d.logger.info({ job_id: jobId }, 'cancel for a job that is not queued or running; ignored');
      return;
    }
    this.d.logger.info({ job_id: jobId, state: job.state }, 'cancelling job');
    job.abort.abort();
    if (job.state === 'queued') {
      const q = this.queues.get(job.repoKey) ?? [];
      const i = q.indexOf(job);
      // Index 0 is the job the drain loop is about to start; it sees the abort itself.
      if (i > 0) {
        q.splice(i, 1);
        const at = this.now();
        this.finish(job, at, {
          status: 'cancelled',
          exit_code: null,
          error: 'Cancelled before it started.',
          error_code: 'cancelled',
        });
      }
    }
  }

  /** Cancels everything (agent shutdown), stops the reports, and waits until every job has finished. */
  async shutdown(): Promise<void> {
    this.stopping.abort();
    for (const job of [...this.jobs.values()]) this.cancel(job.id);
    if (this.jobs.size === 0 && this.reporting === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private settle(): void {
    if (this.jobs.size > 0 || this.reporting > 0) return;
    const idle = this.idle;
    this.idle = [];
    for (const f of idle) f();
  }

  private remember(jobId: string): void {
    this.seen.push(jobId);
    if (this.seen.length > SEEN_JOBS_KEPT) this.seen.shift();
  }

  private async drain(repoKey: string): Promise<void> {
    const q = this.queues.get(repoKey);
    while (q && q.length > 0) {
      const job = q[0];
      try {
        await this.run(job);
      } catch (err) {
        this.d.logger.error(
          { job_id: job.id, err: (err as Error).message },
          'job runner failed unexpectedly',
        );
        if (job.state !== 'done') {
          this.finish(job, this.now(), {
            status: 'failed',
            exit_code: null,
            error: `agent error: ${(err as Error).message}`,
            error_code: 'agent_error',
          });
        }
      }
      q.shift();
    }
    this.queues.delete(repoKey);
  }

  private async run(job: Job): Promise<void> {
    const startedAt = this.now();
    if (job.abort.signal.aborted) {
      this.finish(job, startedAt, {
        status: 'cancelled',
        exit_code: null,
        error: 'Cancelled before it started.',
        error_code: 'cancelled',
      });
      return;
    }
    job.state = 'running';
    const log = this.logSink(job);
    let restic: ResticBinary;
    try {
      restic = await this.d.restic();
    } catch (err) {
      this.finish(job, startedAt, {
        status: 'failed',
        exit_code: null,
        error: (err as Error).message,
        error_code: 'restic_not_found',
      });
      return;
    }
    this.d.emit('job.started', job.id, {
      job_id: job.id,
      kind: job.kind,
      started_at: startedAt.toISOString(),
      restic_version: restic.version ? formatVersion(restic.version) : '',
    });
    const schedule = job.scheduleId ? this.d.schedule(job.scheduleId) : undefined;
    if (job.scheduleId && !schedule) {
      log('agent', `schedule ${job.scheduleId} is not in the applied schedule set; running without hooks`);
    }
    const hooks = [schedule?.pre_hook ? 'a pre-hook' : '', schedule?.post_hook ? 'a post-hook' : ''].filter(
      Boolean,
    );
    if (hooks.length > 0 && !this.d.allowHooks) {
      const error =
        `schedule ${job.scheduleId ?? ''} has ${hooks.join(' and ')}, but this host does not allow hooks ` +
        `(they run as the agent's user, often root); neither the hooks nor restic were run. To allow them, set ` +
        `allow_hooks: true in ${this.d.configPath ?? "the agent's config file (agent.yaml)"} on this host and restart the agent`;
      log('agent', error);
      this.finish(job, startedAt, {
        status: 'failed',
        exit_code: null,
        error,
        error_code: 'hooks_not_allowed',
      });
      return;
    }
    const hookTimeoutMs = (schedule?.hook_timeout_s ?? DEFAULT_HOOK_TIMEOUT_S) * 1000;
    if (schedule?.pre_hook) {
      const r = await this.runHook(job, 'pre', schedule.pre_hook, hookTimeoutMs, log, undefined);
      if (r) {
        const cancelled = job.abort.signal.aborted;
        this.finish(job, startedAt, {
          status: cancelled ? 'cancelled' : 'failed',
          exit_code: null,
          error: cancelled ? 'Cancelled during the pre-hook.' : `pre-hook ${r}; restic was not run`,
          error_code: cancelled ? 'cancelled' : 'pre_hook_failed',
        });
        return;
      }
    }
    if (job.destination) {
      const failed = await this.prepareCopyDestination(job, job.destination, restic, log);
      if (failed) {
        this.finish(job, startedAt, failed);
        return;
      }
    }
    const tooOld = job.kind === 'restore' ? restoreNeedsNewerRestic(job.args, restic.version) : undefined;
    if (tooOld) {
      log('agent', tooOld);
      this.finish(job, startedAt, {
        status: 'failed',
        exit_code: null,
        error: tooOld,
        error_code: 'restic_too_old',
      });
      return;
    }
    const inv = argsForJob(toResticJob(job.kind, job.args));
    // The log says what ran (arguments only: the repository and its secrets travel in restic's environment).
    log('agent', `restic ${[inv.command, ...inv.args].map(shellWord).join(' ')}`);
    const throttle = new ProgressThrottle(this.d.progressIntervalMs ?? 1000);
    let summary: BackupSummary | undefined;
    const copied = job.destination ? new CopyReportBuilder() : undefined;
    const runStarted = Date.now();
    const onLine = (stream: ResticStream, line: string, parsed: ResticLine): void => {
      if (copied && parsed.kind === 'text') {
        const c = parseCopyLine(line);
        copied.add(c);
        if (c.type === 'progress') {
          const sample = throttle.offer(copyProgressSample(c, Date.now()));
          if (sample) this.emitProgress(job, sample);
          return;
        }
      }
      if (parsed.kind === 'json' && parsed.messageType === 'status') {
        if (job.kind === 'backup') {
          const b = parseBackupLine(line);
          if (b.type === 'status') {
            const sample = throttle.offer(progressFromStatus(b.status, Date.now(), runStarted));
            if (sample) this.emitProgress(job, sample);
            return;
          }
        } else {
          const sample = throttle.offer(statusSample(parsed.value, runStarted));
          if (sample) this.emitProgress(job, sample);
          return;
        }
      }
      if (job.kind === 'backup' && parsed.kind === 'json' && parsed.messageType === 'summary') {
        const b = parseBackupLine(line);
        if (b.type === 'summary') {
          // It goes out as job.finished's stats (the job page's Result card), not as a raw log line.
          summary = b.summary;
          return;
        }
      }
      log(stream, line);
    };
    const singleDoc = job.kind === 'snapshots' || job.kind === 'stats' || job.kind === 'forget';
    let result: ResticRunResult;
    try {
      result = await this.processes.run({
        bin: restic.bin,
        version: restic.version,
        // A copy writes into its destination and reads its source (restic's --from-repo).
        repo: job.destination?.repo ?? job.repo,
        ...(job.destination ? { from: job.repo, extraEnv: { RESTIC_PROGRESS_FPS: '1' } } : {}),
        command: inv.command,
        args: inv.args,
        signal: job.abort.signal,
        timeoutMs: this.d.jobTimeoutMs ?? 24 * 3600_000,
        graceMs: this.d.cancelGraceMs ?? 10_000,
        onLine,
        captureStdout: singleDoc,
        tailLines: 200,
      });
    } catch (err) {
      this.finish(job, startedAt, {
        status: 'failed',
        exit_code: null,
        error: `could not run restic: ${(err as Error).message}`,
        error_code: 'spawn_failed',
      });
      return;
    }
    if (result.killed) await this.removeStaleLock(job, restic, log);
    const outcome = classifyOutcome({
      command: inv.command,
      exitCode: result.exitCode,
      signal: result.signal,
      stderrLines: result.stderrTail,
      stdoutLines: result.stdoutTail,
      version: restic.version,
      cancelled: result.cancelled,
      timedOut: result.timedOut,
    });
    let status = outcome.status;
    let error = status === 'succeeded' ? undefined : outcome.message;
    let stats: Record<string, unknown> | undefined = summary ? summaryStats(summary) : undefined;
    let statsDoc: Record<string, unknown> | undefined;
    if (job.kind === 'stats' && status === 'succeeded' && result.stdoutLines) {
      try {
        statsDoc = statsDocument(jsonDocument(result.stdoutLines));
        stats = { mode: String(job.args.mode ?? 'restore-size'), ...statsDoc };
      } catch (err) {
        log('agent', `could not read restic stats output: ${(err as Error).message}`);
      }
    }
    if (copied && job.destination) {
      const report = copied.report();
      stats = {
        to_repository_id: job.destination.id,
        copied: report.copied.length,
        skipped: report.skipped.length,
        snapshots: report.copied.slice(0, MAX_COPIED_LISTED),
      };
    }
    if (job.kind === 'snapshots' && result.stdoutLines && status === 'succeeded') {
      try {
        const snapshots = mapSnapshots(jsonDocument(result.stdoutLines));
        stats = { snapshot_count: snapshots.length };
        this.d.emit('snapshots.report', job.id, {
          job_id: job.id,
          ...repositoryIdOf(job.repositoryId),
          snapshots,
        });
      } catch (err) {
        log('agent', `could not read restic snapshots output: ${(err as Error).message}`);
      }
    }
    if (schedule?.post_hook && status !== 'cancelled') {
      const r = await this.runHook(job, 'post', schedule.post_hook, hookTimeoutMs, log, status);
      if (r && status === 'succeeded') {
        status = 'warning';
        error = `post-hook ${r}`;
      } else if (r) {
        error = `${error ?? ''} (post-hook ${r})`.trim();
      }
    }
    const finishedAt = this.now();
    this.finish(job, startedAt, {
      status,
      exit_code: result.exitCode,
      stats,
      error,
      error_code: outcome.code,
    });
    // job.finished is out as soon as the job's own restic (and its post-hook) is done, so the control
    // plane may hand the repository to the next job at once; the reports read it lock-free afterwards,
    // while this host's queue still holds the repository (docs/repositories.md, "Reports after a job").
    await this.reportAfter(job, restic, status, statsDoc, finishedAt);
  }

  /** The snapshot list and repository stats a finished job leaves behind; a failed read is only a warning. */
  private async reportAfter(
    job: Job,
    restic: ResticBinary,
    status: JobFinished['status'],
    statsDoc: Record<string, unknown> | undefined,
    finishedAt: Date,
  ): Promise<void> {
    this.reporting++;
    try {
      if (job.kind === 'check' && status !== 'cancelled') {
        await this.reportRepoStats(job, restic, undefined, {
          last_check_at: finishedAt.toISOString(),
          last_check_status: status,
        });
      }
      if (job.kind === 'stats' && statsDoc) await this.reportRepoStats(job, restic, statsDoc, {});
      const changesSnapshots =
        job.kind === 'backup' || job.kind === 'forget' || job.kind === 'prune' || job.kind === 'copy';
      if (changesSnapshots && isSuccessful(status)) {
        await this.reportSnapshots(job, restic, job.repositoryId, job.repo);
        if (job.destination)
          await this.reportSnapshots(job, restic, job.destination.id, job.destination.repo);
      }
    } finally {
      this.reporting--;
      this.settle();
    }
  }

  /**
   * A copy's destination must exist; one that was never initialised is
   * initialised with the source's chunker parameters, so the copied data
   * deduplicates with later backups made straight into it. Returns the
   * failure to finish the job with, if any.
   */
  private async prepareCopyDestination(
    job: Job,
    destination: NonNullable<Job['destination']>,
    restic: ResticBinary,
    log: (stream: string, line: string) => void,
  ): Promise<Parameters<JobRunnerService['finish']>[2] | undefined> {
    const step = async (inv: ResticInvocation, from?: ResticRepository) => {
      const r = await this.processes.run({
        bin: restic.bin,
        version: restic.version,
        repo: destination.repo,
        ...(from ? { from } : {}),
        command: inv.command,
        args: inv.args,
        signal: job.abort.signal,
        timeoutMs: 30 * 60_000,
        graceMs: this.d.cancelGraceMs ?? 10_000,
        tailLines: 50,
      });
      return {
        result: r,
        outcome: classifyOutcome({
          command: inv.command,
          exitCode: r.exitCode,
          signal: r.signal,
          stderrLines: r.stderrTail,
          stdoutLines: r.stdoutTail,
          version: restic.version,
          cancelled: r.cancelled,
          timedOut: r.timedOut,
        }),
      };
    };
    const failedWith = (
      what: string,
      r: Awaited<ReturnType<typeof step>>,
    ): Parameters<JobRunnerService['finish']>[2] => ({
      status: r.outcome.status === 'cancelled' ? 'cancelled' : 'failed',
      exit_code: r.result.exitCode,
      error: `${what}: ${r.outcome.message}`,
      error_code: r.outcome.code,
    });
    try {
      const probe = await step(catConfigArgs());
      if (probe.outcome.status === 'succeeded') return undefined;
      if (probe.outcome.code !== 'repo_missing')
        return failedWith(`cannot open the destination repository ${destination.id}`, probe);
      log(
        'agent',
        `destination repository ${destination.id} is not initialised; initialising it with the source's chunker parameters`,
      );
      const init = await step(initCopyChunkerParamsArgs(), job.repo);
      if (init.outcome.status !== 'succeeded')
        return failedWith(`could not initialise the destination repository ${destination.id}`, init);
      log('agent', `destination repository ${destination.id} initialised`);
      return undefined;
    } catch (err) {
      return {
        status: 'failed',
        exit_code: null,
        error: `could not run restic: ${(err as Error).message}`,
        error_code: err instanceof ResticError ? 'invalid_args' : 'spawn_failed',
      };
    }
  }

  /**
   * restic had to be killed (it did not stop within the grace period): it may
   * have left its lock. A plain `restic unlock` removes locks of processes that
   * no longer exist on this host and keeps any a live restic holds.
   */
  private async removeStaleLock(
    job: Job,
    restic: ResticBinary,
    log: (stream: string, line: string) => void,
  ): Promise<void> {
    log(
      'agent',
      'restic did not stop within the grace period and was killed; removing the lock it left (restic unlock)',
    );
    // A copy locks its destination too.
    for (const repo of job.destination ? [job.repo, job.destination.repo] : [job.repo]) {
      try {
        const r = await this.followUp(repo, restic, { kind: 'unlock' }, 5 * 60_000);
        log(
          'agent',
          r.exitCode === 0
            ? 'stale lock removed'
            : `restic unlock exited ${String(r.exitCode)}: ${r.stderrTail.join(' ')}`,
        );
      } catch (err) {
        log('agent', `could not run restic unlock: ${(err as Error).message}`);
      }
    }
  }

  /** A restic command the agent runs on its own around a job (its output is not the job's log). */
  private followUp(
    repo: ResticRepository,
    restic: ResticBinary,
    what: ResticJob,
    timeoutMs: number,
    read?: 'lock-free',
  ): Promise<ResticRunResult> {
    const inv = read === 'lock-free' ? withoutLock(argsForJob(what)) : argsForJob(what);
    return this.processes.run({
      bin: restic.bin,
      version: restic.version,
      repo,
      command: inv.command,
      args: inv.args,
      timeoutMs,
      captureStdout: true,
      // Reports stop with the agent; an unlock after a kill does not (it removes the lock the kill left).
      ...(read === 'lock-free' ? { signal: this.stopping.signal } : {}),
    });
  }

  private async reportSnapshots(
    job: Job,
    restic: ResticBinary,
    repositoryId: string | undefined,
    repo: ResticRepository,
  ): Promise<void> {
    try {
      const r = await this.followUp(repo, restic, { kind: 'snapshots' }, 10 * 60_000, 'lock-free');
      if (r.exitCode !== 0)
        throw new Error(`restic snapshots exited ${String(r.exitCode)}: ${r.stderrTail.join(' ')}`);
      const snapshots = mapSnapshots(jsonDocument(r.stdoutLines ?? []));
      this.d.emit('snapshots.report', job.id, { job_id: job.id, ...repositoryIdOf(repositoryId), snapshots });
    } catch (err) {
      // The job itself has finished; the next one that changes the repository reports again.
      this.d.logger.warn({ job_id: job.id, err: (err as Error).message }, 'snapshots.report failed');
    }
  }

  /** `repo.stats` after stats and check jobs: the repository's stored size comes from `stats --mode raw-data`. */
  private async reportRepoStats(
    job: Job,
    restic: ResticBinary,
    jobDoc: Record<string, unknown> | undefined,
    extra: { last_check_at?: string; last_check_status?: string },
  ): Promise<void> {
    try {
      let raw = job.kind === 'stats' && job.args.mode === 'raw-data' ? jobDoc : undefined;
      if (!raw) {
        const r = await this.followUp(
          job.repo,
          restic,
          { kind: 'stats', mode: 'raw-data' },
          30 * 60_000,
          'lock-free',
        );
        if (r.exitCode !== 0)
          throw new Error(`restic stats exited ${String(r.exitCode)}: ${r.stderrTail.join(' ')}`);
        raw = statsDocument(jsonDocument(r.stdoutLines ?? []));
      }
      const restoreSize = job.kind === 'stats' && job.args.mode !== 'raw-data' ? jobDoc : undefined;
      this.d.emit('repo.stats', job.id, {
        job_id: job.id,
        ...repositoryIdOf(job.repositoryId),
        ...repoStatsFrom(raw, restoreSize),
        ...extra,
      });
    } catch (err) {
      this.d.logger.warn({ job_id: job.id, err: (err as Error).message }, 'repo.stats failed');
    }
  }

  /** Returns undefined on success, else a short reason. */
  private async runHook(
    job: Job,
    which: 'pre' | 'post',
    command: string,
    timeoutMs: number,
    log: (stream: string, line: string) => void,
    status: string | undefined,
  ): Promise<string | undefined> {
    log('hook', `running ${which}-hook`);
    const env: Record<string, string> = { RF_JOB_ID: job.id, RF_JOB_KIND: job.kind, RF_HOOK: which };
    if (job.scheduleId) env.RF_SCHEDULE_ID = job.scheduleId;
    if (status) env.RF_JOB_STATUS = status;
    const r = await this.hooks.run(command, {
      timeoutMs,
      signal: which === 'pre' ? job.abort.signal : undefined,
      onLine: (line) => log('hook', line),
      env,
    });
    if (!r.error) {
      log('hook', `${which}-hook finished`);
      return undefined;
    }
    const reason = r.timedOut ? r.error : `failed: ${r.error}`;
    log('hook', `${which}-hook ${reason}`);
    return reason;
  }

  private logSink(job: Job): (stream: string, line: string) => void {
    let seq = 0;
    return (stream, line) => {
      const payload = line.length > MAX_LOG_LINE ? `${line.slice(0, MAX_LOG_LINE)}… [truncated]` : line;
      seq++;
      job.logLines = seq;
      this.d.emit('log.stream', job.id, {
        job_id: job.id,
        seq,
        ts: this.now().toISOString(),
        stream,
        payload,
      });
    };
  }

  private emitProgress(job: Job, p: ReturnType<typeof progressFromStatus>): void {
    const count = (v: number): number => (Number.isFinite(v) && v > 0 ? Math.round(v) : 0);
    this.d.emit('job.progress', job.id, {
      job_id: job.id,
      percent_done: Math.min(1, Math.max(0, Number.isFinite(p.percentDone) ? p.percentDone : 0)),
      files_done: count(p.filesDone),
      total_files: count(p.totalFiles),
      bytes_done: count(p.bytesDone),
      total_bytes: count(p.totalBytes),
      ...(p.etaSeconds !== undefined && p.etaSeconds >= 0 ? { eta_seconds: p.etaSeconds } : {}),
      throughput_bps: count(p.throughputBps),
    });
  }

  private finish(
    job: Job,
    startedAt: Date,
    r: Pick<JobFinished, 'status' | 'stats' | 'error' | 'error_code'> & { exit_code: number | null },
  ): void {
    const finishedAt = this.now();
    const dropped = this.d.takeDropped(job.id);
    const payload: JobFinished = {
      job_id: job.id,
      status: r.status,
      exit_code: r.exit_code ?? -1,
      finished_at: finishedAt.toISOString(),
      log_lines: job.logLines,
      dropped_log_lines: dropped,
    };
    if (r.stats) payload.stats = r.stats;
    if (r.error) payload.error = r.error;
    if (r.error_code && r.status !== 'succeeded') payload.error_code = r.error_code;
    job.state = 'done';
    this.jobs.delete(job.id);
    this.d.emit('job.finished', job.id, payload);
    this.d.logger.info(
      {
        job_id: job.id,
        kind: job.kind,
        status: r.status,
        exit_code: r.exit_code,
        duration_ms: finishedAt.getTime() - startedAt.getTime(),
        dropped_log_lines: dropped,
      },
      'job finished',
    );
    this.settle();
  }
}

/** An argument as a shell would need it written (for reading, not for running). */
function shellWord(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Copies listed in a copy job's stats; the count says how many there were in all. */
const MAX_COPIED_LISTED = 1000;

const repositoryIdOf = (id: string | undefined): { repository_id?: string } =>
  id !== undefined ? { repository_id: id } : {};

/** `restic copy` prints text progress per snapshot: packs copied, and the fraction once it knows the total. */
function copyProgressSample(c: Extract<CopyLine, { type: 'progress' }>, at: number): ResticProgress {
  return {
    percentDone: c.percentDone ?? 0,
    filesDone: c.packsDone,
    totalFiles: c.packsTotal ?? c.packsDone,
    bytesDone: 0,
    totalBytes: 0,
    errorCount: 0,
    etaSeconds: undefined,
    throughputBps: 0,
    currentFiles: [],
    at,
  };
}

function summaryStats(s: BackupSummary): Record<string, unknown> {
  return {
    snapshot_id: s.snapshotId,
    files_new: s.filesNew,
    files_changed: s.filesChanged,
    files_unmodified: s.filesUnmodified,
    dirs_new: s.dirsNew,
    dirs_changed: s.dirsChanged,
    dirs_unmodified: s.dirsUnmodified,
    data_added: s.dataAdded,
    total_files_processed: s.totalFilesProcessed,
    total_bytes_processed: s.totalBytesProcessed,
    total_duration: s.totalDuration,
  };
}

/** Restore (0.18+) and others print status lines of a similar shape; take what is there. */
function statusSample(v: Record<string, unknown>, startedAt: number): ReturnType<typeof progressFromStatus> {
  const num = (k: string): number => (typeof v[k] === 'number' ? (v[k] as number) : 0);
  const bytesDone = num('bytes_restored') || num('bytes_done');
  const totalBytes = num('total_bytes');
  const elapsed = num('seconds_elapsed') || (Date.now() - startedAt) / 1000;
  const throughputBps = elapsed > 0 ? Math.round(bytesDone / elapsed) : 0;
  return {
    percentDone: num('percent_done'),
    filesDone: num('files_restored') || num('files_done'),
    totalFiles: num('total_files'),
    bytesDone,
    totalBytes,
    errorCount: num('error_count'),
    etaSeconds:
      typeof v.seconds_remaining === 'number'
        ? v.seconds_remaining
        : throughputBps > 0 && totalBytes > bytesDone
          ? Math.round((totalBytes - bytesDone) / throughputBps)
          : undefined,
    throughputBps,
    currentFiles: [],
    at: Date.now(),
  };
}

/** Maps validated wire args (snake_case) onto the restic library's options. */
export function toResticJob(kind: JobKind, a: Record<string, unknown>): ResticJob {
  const strs = (k: string): string[] | undefined => (Array.isArray(a[k]) ? (a[k] as string[]) : undefined);
  const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  switch (kind) {
    case 'backup':
      return {
        kind,
        paths: strs('paths') ?? [],
        excludes: strs('excludes'),
        tags: strs('tags'),
        oneFileSystem: a.one_file_system === true,
        excludeCaches: a.exclude_caches === true,
        limitUpload: num(a.limit_upload_kib),
        limitDownload: num(a.limit_download_kib),
      };
    case 'init':
      return { kind };
    case 'forget': {
      const p = (a.policy ?? {}) as Record<string, unknown>;
      return {
        kind,
        keepLast: num(p.keep_last),
        keepHourly: num(p.keep_hourly),
        keepDaily: num(p.keep_daily),
        keepWeekly: num(p.keep_weekly),
        keepMonthly: num(p.keep_monthly),
        keepYearly: num(p.keep_yearly),
        keepWithin: str(p.keep_within),
        keepTags: Array.isArray(p.keep_tags) ? (p.keep_tags as string[]) : undefined,
        tags: strs('tags'),
        groupBy: strs('group_by')?.join(','),
        prune: a.prune === true,
      };
    }
    case 'prune':
      return { kind, maxUnused: str(a.max_unused) };
    case 'check':
      return { kind, readDataSubset: str(a.read_data_subset) };
    case 'unlock':
      return { kind };
    case 'restore':
      return {
        kind,
        snapshotId: str(a.snapshot_id) ?? '',
        target: str(a.target) ?? '',
        includes: strs('include'),
        excludes: strs('exclude'),
        overwrite: RESTORE_OVERWRITE_MODES.find((m) => m === a.overwrite),
        dryRun: a.dry_run === true,
      };
    case 'snapshots':
      return { kind };
    case 'stats':
      return { kind, mode: a.mode === 'raw-data' ? 'raw-data' : 'restore-size' };
    case 'copy':
      return { kind, snapshotIds: strs('snapshots') };
    default: {
      const exhaustive: never = kind;
      throw new Error(`unknown job kind ${String(exhaustive)}`);
    }
  }
}

/** Restore's `--overwrite` and `--dry-run` arrived in restic 0.17; an older restic would fail on an unknown flag. */
function restoreNeedsNewerRestic(args: Job['args'], version: ResticVersion | undefined): string | undefined {
  const a = args as Record<string, unknown>;
  const wanted = [
    a.dry_run === true ? 'a dry run' : '',
    a.overwrite !== undefined ? 'an overwrite policy' : '',
  ]
    .filter(Boolean)
    .join(' and ');
  if (!wanted || versionAtLeast(version, 0, 17)) return undefined;
  return (
    `restore with ${wanted} needs restic 0.17 or newer on this host; it has ` +
    `${version ? formatVersion(version) : 'an unknown version'}. Nothing was restored. ` +
    'Upgrade restic here, or restore without those options.'
  );
}
