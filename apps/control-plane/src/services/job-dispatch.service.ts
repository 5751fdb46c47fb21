import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { isEventStoreError, type AppendResult } from '@rf/event-store';
import { jobLockClaims, jobStream, legacyRepositoryId, makeEnvelope, type Envelope } from '@rf/events';
import { AGENT_DISPATCH, type AgentDispatch } from '../core/agent-dispatch.port';
import { systemContext } from '../core/command-context';
import type { FleetState, JobState } from '../domain/fleet-state';
import { jobRepositoryId, repositoryName } from '../domain/repository-attachments';
import {
  decideDispatch,
  describeWait,
  type CoordinatedJob,
  type HoldingJob,
  type WaitReason,
} from '../domain/repository-lock.coordinator';
import { FleetEventWriter } from './fleet-event.writer';
import { FleetStateService } from './fleet-state.service';

/**
 * Fleet-wide dispatch by repository lock (docs/repositories.md, "Dispatch").
 *
 * One loop for the whole fleet: every batch FleetState applies (a job
 * requested, dispatched, started, finished, lost or cancelled; an agent
 * connecting or going away; a repository changing) and every hello asks for a
 * pass. A pass reads the jobs holding repositories (dispatched or running on
 * any host) and the queued ones (oldest request first), lets the pure
 * coordinator decide, appends `JobDispatched` for each chosen job at the job
 * stream's exact revision (a job changed meanwhile, e.g. cancelled, is left to
 * the next pass) and only then sends `command.run`. Passes never overlap, and
 * each waits until FleetState has applied its own appends, so the next one
 * counts those jobs as holders: nothing is dispatched twice and no conflicting
 * pair is ever out at once.
 *
 * Why a queued job waits is kept in memory from the last pass (it changes with
 * every pass; appending it would flood the log) and shown by the job API and page.
 */
@Injectable()
export class JobDispatchService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(JobDispatchService.name);
  private waiting: ReadonlyMap<string, WaitReason> = new Map();
  private pass: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly fleet: FleetStateService,
    private readonly writer: FleetEventWriter,
    @Inject(AGENT_DISPATCH) private readonly sessions: AgentDispatch,
  ) {}

  onApplicationBootstrap(): void {
    this.unsubscribe = this.fleet.onApplied(() => this.kick());
    this.kick();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    this.unsubscribe?.();
  }

  /** Asks for a pass; passes coalesce (one runs at a time, at most one more is owed). */
  kick(): void {
    if (this.stopped) return;
    if (this.pass) {
      this.again = true;
      return;
    }
    this.pass = this.run().finally(() => {
      this.pass = null;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Resolves once no pass is running or owed (tests and benchmarks). */
  async settled(): Promise<void> {
    while (this.pass) await this.pass;
  }

  /** Why a queued job is not dispatched yet, as one line; null when it is not waiting. */
  waitReason(jobId: string): string | null {
    const reason = this.waiting.get(jobId);
    if (!reason) return null;
    const state = this.fleet.state;
    return describeWait(reason, {
      repository: (id) => repositoryName(state, id),
      host: (id) => state.hosts.get(id)?.hostname || undefined,
    });
  }

  private async run(): Promise<void> {
    try {
      const decision = decideDispatch({
        ...this.coordinatedJobs(),
        isOnline: (hostId) => this.sessions.isOnline(hostId),
      });
      this.waiting = decision.waiting;
      await Promise.all(decision.dispatch.map((job) => this.dispatch(job.job_id)));
    } catch (err) {
      this.logger.error({ err }, 'dispatch pass failed');
    }
  }

  private coordinatedJobs(): { holding: HoldingJob[]; queued: CoordinatedJob[] } {
    const holding: HoldingJob[] = [];
    const queued: JobState[] = [];
    for (const job of this.fleet.state.openJobs.values()) {
      if (job.status === 'queued') {
        if (!job.cancelRequested) queued.push(job);
      } else if (job.status === 'dispatched' || job.status === 'running') {
        holding.push({ ...coordinated(job), state: job.status });
      }
    }
    queued.sort((a, b) => (a.requestedPosition < b.requestedPosition ? -1 : 1));
    return { holding, queued: queued.map(coordinated) };
  }

  /**
   * JobDispatched first (at the revision the decision saw), then `command.run`: a send lost with the socket is
   * repeated on the next hello (`JobCommandsService.resendUnaccepted`); the
   * agent dedupes by job id.
   */
  private async dispatch(jobId: string): Promise<void> {
    const job = this.fleet.state.openJobs.get(jobId);
    if (!job || job.status !== 'queued' || job.cancelRequested) return;
    let appended: AppendResult;
    try {
      appended = await this.writer.append(
        jobStream(job.jobId),
        [
          {
            type: 'JobDispatched',
            data: { job_id: job.jobId, host_id: job.hostId, dispatched_at: new Date().toISOString() },
          },
        ],
        { ...systemContext(job.correlationId), causationId: job.jobId },
        { expectedRevision: job.revision, waitForState: false },
      );
    } catch (err) {
      if (isEventStoreError(err, 'WrongExpectedVersion')) return;
      throw err;
    }
    // Stored, so the agent may have it now; the pass still ends only once FleetState counts it as a holder.
    this.sessions.get(job.hostId)?.send(commandRun(job, this.fleet.state));
    await this.fleet.waitFor(appended.position);
  }
}

function coordinated(job: JobState): CoordinatedJob {
  return {
    job_id: job.jobId,
    kind: job.kind,
    host_id: job.hostId,
    claims: jobLockClaims({ kind: job.kind, repository_id: jobRepositoryId(job), args: job.args }),
  };
}

/**
 * The order an agent runs. `repository_id` is left out for the host's own
 * repository (the default of `config.update`), which is all an agent older
 * than repositories knows; `schedule_id` only names one of the host's own
 * schedules (the agent runs its hooks), not a repository's.
 */
export function commandRun(job: JobState, state: FleetState): Envelope<'command.run'> {
  const repositoryId = jobRepositoryId(job);
  const hostSchedule =
    job.scheduleId !== null &&
    state.schedules.get(job.hostId)?.schedules.some((s) => s.id === job.scheduleId) === true;
  return makeEnvelope('command.run', {
    job_id: job.jobId,
    kind: job.kind,
    args: job.args,
    ...(hostSchedule && job.scheduleId !== null ? { schedule_id: job.scheduleId } : {}),
    ...(repositoryId !== legacyRepositoryId(job.hostId) ? { repository_id: repositoryId } : {}),
  });
}
