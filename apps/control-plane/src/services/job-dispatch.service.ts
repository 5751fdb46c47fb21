import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { isEventStoreError } from '@rf/event-store';
import { jobLockClaims, jobStream, makeEnvelope, type Envelope, type FleetEventType } from '@rf/events';
import { AGENT_DISPATCH, type AgentDispatch } from '../core/agent-dispatch.port';
import { systemContext } from '../core/command-context';
import type { FleetState, JobState } from '../domain/fleet-state';
import { jobRepositoryId } from '../domain/repository.rules';
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
 * Events after which a pass may decide differently: a job joins or leaves the
 * queue or stops holding its repositories, a host comes or goes, a repository
 * changes. A job dispatched, accepted or started holds as it did before.
 */
const DECISIVE_EVENTS: ReadonlySet<string> = new Set<FleetEventType>([
  'JobRequested',
  'JobCancelRequested',
  'JobFinished',
  'JobLost',
  'JobRejected',
  'AgentConnected',
  'AgentDisconnected',
  'HostRevoked',
  'RepositoryConfigured',
  'RepositoryRegistered',
  'RepositoryChanged',
  'RepositoryAttached',
  'RepositoryDetached',
  'RepositoryRemoved',
]);

/**
 * Fleet-wide dispatch by repository lock (docs/repositories.md, "Dispatch").
 *
 * One loop for the whole fleet: every batch FleetState applies with a job
 * requested, cancelled, finished, lost or rejected, an agent connecting or
 * going away, or a repository changing, and every hello, asks for a pass. A
 * pass is synchronous: it reads the jobs holding repositories (dispatched or
 * running on any host) and the queued ones (oldest request first), lets the
 * pure coordinator decide, and starts appending `JobDispatched` for each
 * chosen job at the job stream's exact revision (a job changed meanwhile, e.g.
 * cancelled, fails that append and is left to the next pass); `command.run`
 * goes out once its event is applied. Until FleetState shows a job dispatched,
 * the job is "in flight": counted as a holder and left out of the queue by
 * every later pass, so a pass never waits for the log and still never
 * dispatches a job twice nor a conflicting pair at once.
 *
 * Why a queued job waits is kept in memory from the last pass (it changes with
 * every pass; appending it would flood the log) and shown by the job API and page.
 */
@Injectable()
export class JobDispatchService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(JobDispatchService.name);
  private waiting: ReadonlyMap<string, WaitReason> = new Map();
  /** Chosen by a pass, JobDispatched not yet applied by FleetState (or its append not yet failed). */
  private readonly inFlight = new Map<string, HoldingJob>();
  private scheduled = false;
  private stopped = false;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly fleet: FleetStateService,
    private readonly writer: FleetEventWriter,
    @Inject(AGENT_DISPATCH) private readonly sessions: AgentDispatch,
  ) {}

  onApplicationBootstrap(): void {
    this.unsubscribe = this.fleet.onApplied((events) => {
      if (events.some((e) => DECISIVE_EVENTS.has(e.type))) this.kick();
    });
    this.kick();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    this.unsubscribe?.();
  }

  /** Asks for a pass; kicks before it runs coalesce into one (it runs right after the current task). */
  kick(): void {
    if (this.stopped || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.stopped) return;
      try {
        this.pass();
      } catch (err) {
        this.logger.error({ err }, 'dispatch pass failed');
      }
    });
  }

  /** Why a queued job is not dispatched yet, as one line; null when it is not waiting. */
  waitReason(jobId: string): string | null {
    const stored = this.waiting.get(jobId);
    if (!stored) return null;
    const state = this.fleet.state;
    // The holder may have started since the pass (JobStarted asks for no new pass): say what it does now.
    const status =
      stored.code === 'repository_held' ? state.jobs.get(stored.blocking.job_id)?.status : undefined;
    const reason: WaitReason =
      stored.code === 'repository_held' && status === 'running'
        ? { ...stored, blocking: { ...stored.blocking, state: 'running' } }
        : stored;
    return describeWait(reason, {
      repository: (id) => state.repositories.repositories.get(id)?.name,
      host: (id) => state.hosts.get(id)?.hostname || undefined,
    });
  }

  private pass(): void {
    const state = this.fleet.state;
    for (const jobId of this.inFlight.keys())
      if (state.openJobs.get(jobId)?.status !== 'queued') this.inFlight.delete(jobId);
    const holding: HoldingJob[] = [...this.inFlight.values()];
    const queued: JobState[] = [];
    for (const job of state.openJobs.values()) {
      if (job.status === 'queued') {
        if (!job.cancelRequested && !this.inFlight.has(job.jobId)) queued.push(job);
      } else if (job.status === 'dispatched' || job.status === 'running') {
        holding.push({ ...coordinated(job), state: job.status });
      }
    }
    queued.sort((a, b) => (a.requestedPosition < b.requestedPosition ? -1 : 1));
    const decision = decideDispatch({
      holding,
      queued: queued.map(coordinated),
      isOnline: (hostId) => this.sessions.isOnline(hostId),
    });
    this.waiting = decision.waiting;
    for (const chosen of decision.dispatch) {
      const job = state.openJobs.get(chosen.job_id)!;
      this.inFlight.set(job.jobId, { ...chosen, state: 'dispatched' });
      void this.dispatch(job, job.revision);
    }
  }

  /**
   * Appends JobDispatched at the revision the decision saw. `command.run` goes
   * out from whichever node holds the agent's socket when it applies that
   * event (OrderRoutingService) — this node in the usual case, another if the
   * agent moved meanwhile; a send lost with the socket is repeated on the next
   * hello (`JobCommandsService.resendUnaccepted`); the agent dedupes by job id.
   */
  private async dispatch(job: JobState, revision: number): Promise<void> {
    try {
      await this.writer.append(
        jobStream(job.jobId),
        [
          {
            type: 'JobDispatched',
            data: { job_id: job.jobId, host_id: job.hostId, dispatched_at: new Date().toISOString() },
          },
        ],
        { ...systemContext(job.correlationId), causationId: job.jobId },
        { expectedRevision: revision, waitForState: false },
      );
    } catch (err) {
      // Not dispatched: the job changed meanwhile (WrongExpectedVersion) or the store failed. The next pass decides again.
      this.inFlight.delete(job.jobId);
      if (!isEventStoreError(err, 'WrongExpectedVersion'))
        this.logger.error({ err, job_id: job.jobId }, 'could not record JobDispatched');
      this.kick();
    }
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
 * The order an agent runs: `repository_id` whenever the job names its
 * repository (config.update names every repository the host has);
 * `schedule_id` only for one of the host's own schedules (the agent runs its
 * hooks), not a repository's.
 */
export function commandRun(job: JobState, state: FleetState): Envelope<'command.run'> {
  const hostSchedule =
    job.scheduleId !== null &&
    state.schedules.get(job.hostId)?.schedules.some((s) => s.id === job.scheduleId) === true;
  return makeEnvelope('command.run', {
    job_id: job.jobId,
    kind: job.kind,
    args: job.args,
    ...(hostSchedule && job.scheduleId !== null ? { schedule_id: job.scheduleId } : {}),
    ...(job.repositoryId !== null ? { repository_id: job.repositoryId } : {}),
  });
}
