import { Injectable, Logger } from '@nestjs/common';
import {
  checkClass,
  eventIdFromEnvelope,
  jobArgsForSchedule,
  jobIdForScheduleFire,
  makeEnvelope,
  schedulesStream,
  SchedulesChangedData,
  type Schedule,
  type WireMessageOf,
} from '@rf/events';
import { AgentSessions } from '../gateway/agent-sessions';
import { invalidInput } from './command-errors';
import { FleetStateService } from './fleet-state.service';
import { FleetEventWriter, type CommandContext } from './fleet-event.writer';
import { requireHost } from './hosts.guard';
import { JobCommandsService } from './jobs.service';
import { KeyedMutex } from './keyed-mutex';

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
    private readonly sessions: AgentSessions,
    private readonly jobs: JobCommandsService,
  ) {}

  /** Replaces the host's schedule list (version + 1) and pushes it to the agent if online. Returns the new version. */
  async setSchedules(hostId: string, rawSchedules: unknown, ctx: CommandContext): Promise<number> {
    await this.fleet.syncHost(hostId);
    requireHost(this.fleet.state, hostId);
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
      await this.writer.append(
        schedulesStream(hostId),
        [
          {
            type: 'SchedulesChanged',
            data: { host_id: hostId, version: next, schedules: checked.value.schedules },
          },
        ],
        ctx,
        { expectedRevision: current && current.revision >= 0 ? current.revision : 'no_stream' },
      );
      return next;
    });
    this.pushSchedules(hostId);
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
  async onFire(hostId: string, message: WireMessageOf<'schedule.fire'>): Promise<string | null> {
    const scheduleId = message.payload.schedule_id;
    const schedule: Schedule | undefined = this.fleet.state.schedules
      .get(hostId)
      ?.schedules.find((s) => s.id === scheduleId);
    if (!schedule) {
      this.logger.warn(
        { host_id: hostId, schedule_id: scheduleId, envelope_id: message.id },
        'ignoring schedule.fire: no such schedule for this host',
      );
      return null;
    }
    if (!schedule.enabled) {
      this.logger.warn(
        { host_id: hostId, schedule_id: scheduleId, envelope_id: message.id },
        'ignoring schedule.fire: schedule is disabled',
      );
      return null;
    }
    const args = jobArgsForSchedule(schedule);
    if (!args.ok) {
      this.logger.warn(
        { host_id: hostId, schedule_id: scheduleId, issues: args.issues },
        'ignoring schedule.fire: schedule args are invalid',
      );
      return null;
    }
    const jobId = jobIdForScheduleFire(message.id);
    const job = this.fleet.state.jobs.get(jobId);
    if (job) return jobId;
    return this.jobs.requestJob(hostId, schedule.kind, args.value, this.fireContext(message, scheduleId), {
      scheduleId,
      jobId,
      eventId: eventIdFromEnvelope(message.id, 1),
    });
  }

  private fireContext(message: WireMessageOf<'schedule.fire'>, scheduleId: string): CommandContext {
    return {
      actor: { kind: 'schedule', id: scheduleId },
      correlationId: message.id,
      causationId: message.id,
    };
  }
}
