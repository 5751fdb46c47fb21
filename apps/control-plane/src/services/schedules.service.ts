import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  checkClass,
  eventIdFromEnvelope,
  jobArgsForSchedule,
  jobIdForScheduleFire,
  makeEnvelope,
  schedulesStream,
  SchedulesChangedData,
  type JobArgs,
  type Schedule,
  type WireMessageOf,
} from '@rf/events';
import { AGENT_DISPATCH, type AgentDispatch } from '../core/agent-dispatch.port';
import { invalidInput } from '../core/invalid-input';
import { AppError } from '../core/app-error';
import { FleetStateService } from './fleet-state.service';
import { FleetEventWriter } from './fleet-event.writer';
import { type CommandContext } from '../core/command-context';
import { requireHost } from '../domain/require-host';
import { placeSchedules } from '../domain/repository.rules';
import { JobCommandsService } from './jobs.service';
import { KeyedMutex } from '../core/keyed-mutex';

export interface FireDecision {
  readonly schedule: Schedule;
  readonly args: JobArgs;
}

/**
 * A host's desired schedules (versioned, full list) and what happens when the
 * agent's local cron fires one: the server decides and answers `command.run`.
 */
@Injectable()
export class ScheduleCommandsService {
  private readonly logger = new Logger(ScheduleCommandsService.name);
  private readonly locks = new KeyedMutex();

  constructor(
    private readonly fleet: FleetStateService,
    private readonly writer: FleetEventWriter,
    @Inject(AGENT_DISPATCH) private readonly sessions: AgentDispatch,
    private readonly jobs: JobCommandsService,
  ) {}

  /** Replaces the host's schedule list (version + 1). Returns the new version. */
  async setSchedules(hostId: string, rawSchedules: unknown, ctx: CommandContext): Promise<number> {
    await this.fleet.syncHost(hostId);
    const host = requireHost(this.fleet.state, hostId);
    const version = await this.locks.run(hostId, async () => {
      const current = this.fleet.state.schedules.get(hostId);
      const next = (current?.version ?? 0) + 1;
      const checked = checkClass(
        SchedulesChangedData,
        { host_id: hostId, version: next, schedules: rawSchedules },
        '',
        {
          unknown: 'reject',
        },
      );
      if (!checked.ok) throw invalidInput(checked.issues);
      const schedules = placeSchedules(this.fleet.state, host, checked.value.schedules);
      await this.writer.append(
        schedulesStream(hostId),
        [
          {
            type: 'SchedulesChanged',
            data: { host_id: hostId, version: next, schedules },
          },
        ],
        ctx,
        { expectedRevision: current && current.revision >= 0 ? current.revision : 'no_stream' },
      );
      return next;
    });
    // The node holding the agent's socket sends `schedule.set` as it applies SchedulesChanged (OrderRoutingService).
    return version;
  }

  /** Sends the latest `schedule.set` to the host if it is online. */
  pushSchedules(hostId: string): boolean {
    const current = this.fleet.state.schedules.get(hostId);
    if (!current || current.version === 0) return false;
    return this.sessions.send(
      hostId,
      makeEnvelope('schedule.set', { version: current.version, schedules: current.schedules }),
    );
  }

  /**
   * After ScheduleFired is appended: request the job the schedule stands for,
   * with a job id derived from the envelope so a resent fire is idempotent.
   * Fires for unknown or disabled schedules are ignored with a logged reason.
   */
  /**
   * Whether a `schedule.fire` should start a job: the schedule must exist on
   * this host, be enabled and have valid args. Null (with a logged reason) otherwise.
   */
  acceptFire(hostId: string, message: WireMessageOf<'schedule.fire'>): FireDecision | null {
    const scheduleId = message.payload.schedule_id;
    const schedule: Schedule | undefined = this.fleet.state.schedules
      .get(hostId)
      ?.schedules.find((s) => s.id === scheduleId);
    const ignore = (reason: string, extra: Record<string, unknown> = {}) => {
      this.logger.warn(
        { host_id: hostId, schedule_id: scheduleId, envelope_id: message.id, ...extra },
        `ignoring schedule.fire: ${reason}`,
      );
      return null;
    };
    if (!schedule) return ignore('no such schedule for this host');
    if (!schedule.enabled) return ignore('schedule is disabled');
    const args = jobArgsForSchedule(schedule);
    if (!args.ok) return ignore('schedule args are invalid', { issues: args.issues });
    return { schedule, args: args.value };
  }

  /**
   * After ScheduleFired is appended: request the job the schedule stands for,
   * with a job id derived from the envelope so a resent fire is idempotent.
   */
  async startFiredJob(
    hostId: string,
    message: WireMessageOf<'schedule.fire'>,
    decision: FireDecision,
  ): Promise<string | null> {
    const jobId = jobIdForScheduleFire(message.id);
    if (this.fleet.state.jobs.has(jobId)) return jobId;
    const scheduleId = decision.schedule.id;
    try {
      return await this.jobs.requestJob(
        hostId,
        decision.schedule.kind,
        decision.args,
        this.fireContext(message, scheduleId),
        {
          scheduleId,
          jobId,
          eventId: eventIdFromEnvelope(message.id, 1),
          ...(decision.schedule.repository_id !== undefined
            ? { repositoryId: decision.schedule.repository_id }
            : {}),
        },
      );
    } catch (err) {
      // A refusal (the schedule's repository is gone from this host) is final: acking the fire
      // keeps the agent from resending it forever; the reason is logged for the operator.
      if (!(err instanceof AppError)) throw err;
      this.logger.warn(
        { host_id: hostId, schedule_id: scheduleId, code: err.code, field: err.details.field },
        `schedule fire started no job: ${err.message}`,
      );
      return null;
    }
  }

  private fireContext(message: WireMessageOf<'schedule.fire'>, scheduleId: string): CommandContext {
    return {
      actor: { kind: 'schedule', id: scheduleId },
      correlationId: message.id,
      causationId: message.id,
    };
  }
}
