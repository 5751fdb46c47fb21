import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  isTerminal,
  jobStream,
  makeEnvelope,
  validateJobArgs,
  type JobKind,
  type JobStatus,
} from '@rf/events';
import { AppError } from '../core/app-error';
import { AGENT_DISPATCH, type AgentDispatch } from '../core/agent-dispatch.port';
import { invalidInput } from '../core/invalid-input';
import { FleetStateService } from './fleet-state.service';
import { FleetEventWriter } from './fleet-event.writer';
import { commandRun, JobDispatchService } from './job-dispatch.service';
import { type CommandContext } from '../core/command-context';
import { requireHost } from '../domain/require-host';
import { resolveJobRepository } from '../domain/repository.rules';
import { KeyedMutex } from '../core/keyed-mutex';

export interface RequestJobOptions {
  readonly scheduleId?: string;
  /** Deterministic id (schedule fires), so a resent fire requests no second job. */
  readonly jobId?: string;
  readonly eventId?: string;
  /** The repository to work on (a copy's source); may be left out when the host has one (docs/repositories.md). */
  readonly repositoryId?: string;
}

/**
 * Operator and schedule orders for jobs: request → dispatch (JobDispatchService,
 * by host presence and repository locks across the fleet) → cancel. Decisions
 * per host run one at a time (KeyedMutex) on a FleetState that has applied our
 * own earlier appends; the appends that must not race carry expectedRevision.
 */
@Injectable()
export class JobCommandsService {
  private readonly hostLocks = new KeyedMutex();

  constructor(
    private readonly fleet: FleetStateService,
    private readonly writer: FleetEventWriter,
    @Inject(AGENT_DISPATCH) private readonly sessions: AgentDispatch,
    private readonly dispatcher: JobDispatchService,
  ) {}

  async requestJob(
    hostId: string,
    kind: JobKind,
    rawArgs: unknown,
    ctx: CommandContext,
    options: RequestJobOptions = {},
  ): Promise<string> {
    await this.fleet.syncHost(hostId);
    const host = requireHost(this.fleet.state, hostId);
    const checked = validateJobArgs(kind, rawArgs ?? {}, { prefix: 'args', unknown: 'reject' });
    if (!checked.ok) throw invalidInput(checked.issues);
    const repositoryId = resolveJobRepository(
      this.fleet.state,
      host,
      kind,
      checked.value,
      options.repositoryId,
    );
    const jobId = options.jobId ?? randomUUID();
    await this.writer.append(
      jobStream(jobId),
      [
        {
          type: 'JobRequested',
          data: {
            job_id: jobId,
            host_id: hostId,
            kind,
            args: checked.value,
            ...(repositoryId !== undefined ? { repository_id: repositoryId } : {}),
            ...(options.scheduleId !== undefined ? { schedule_id: options.scheduleId } : {}),
            requested_at: new Date().toISOString(),
          },
        },
      ],
      ctx,
      { expectedRevision: 'no_stream', ...(options.eventId ? { ids: [options.eventId] } : {}) },
    );
    this.dispatcher.kick();
    return jobId;
  }

  /** After a reconnect: repeat `command.run` for jobs dispatched but never accepted, and pending cancels. */
  resendUnaccepted(hostId: string): Promise<void> {
    return this.hostLocks.run(hostId, async () => {
      const session = this.sessions.get(hostId);
      if (!session) return;
      for (const job of this.fleet.state.activeJobs(hostId)) {
        if (job.status === 'dispatched' && !job.accepted && !job.cancelRequested)
          session.send(commandRun(job, this.fleet.state));
        if (job.cancelRequested) session.send(makeEnvelope('command.cancel', { job_id: job.jobId }));
      }
    });
  }

  /** Cancels a job: a queued one finishes as cancelled at once; a dispatched/running one gets `command.cancel`. */
  async cancelJob(jobId: string, ctx: CommandContext): Promise<JobStatus> {
    const known = this.fleet.state.jobs.get(jobId);
    if (!known) throw new AppError('not_found', `job ${jobId} does not exist`, { field: 'id' });
    return this.hostLocks.run(known.hostId, async () => {
      const job = this.fleet.state.jobs.get(jobId)!;
      if (isTerminal(job.status))
        throw new AppError('job_finished', `job ${jobId} has already finished (${job.status})`);
      const now = new Date().toISOString();
      if (!job.cancelRequested) {
        await this.writer.append(
          jobStream(jobId),
          [{ type: 'JobCancelRequested', data: { job_id: jobId, requested_at: now } }],
          ctx,
        );
      }
      const current = this.fleet.state.jobs.get(jobId)!;
      if (current.status === 'queued') {
        await this.writer.append(
          jobStream(jobId),
          [
            {
              type: 'JobFinished',
              data: {
                job_id: jobId,
                status: 'cancelled',
                exit_code: -1,
                finished_at: now,
                error: 'cancelled before it was dispatched to the agent',
                error_code: 'cancelled',
              },
            },
          ],
          ctx,
          { expectedRevision: current.revision },
        );
        return 'cancelled';
      }
      // The node holding the agent's socket sends `command.cancel` as it applies JobCancelRequested (OrderRoutingService).
      return current.status;
    });
  }
}
