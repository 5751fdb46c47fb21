import { FleetPresence } from './fleet-presence.service';
import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { isEventStoreError } from '@rf/event-store';
import type { RepositoriesState, RepositorySchedule } from '@rf/events';
import { Cron } from 'croner';
import { hostsThatCanRun, jobRepositoryId } from '../domain/repository.rules';
import {
  argsForRepositoryFire,
  chooseFireHost,
  jobIdForRepositoryFire,
  type HostCandidate,
} from '../domain/repository-maintenance.rules';
import { FleetStateService } from './fleet-state.service';
import { JobCommandsService } from './jobs.service';

/** Timers are capped (setTimeout's limit is ~24.8 days); a long wait re-arms until the tick is due. */
const MAX_TIMER_MS = 6 * 3_600_000;

interface Armed {
  readonly repositoryId: string;
  readonly schedule: RepositorySchedule;
  readonly cron: Cron;
  timer?: NodeJS.Timeout;
}

/**
 * Fires repositories' own schedules (docs/repositories.md, "Maintenance once
 * per repository"). Each tick requests one job on one attached host, chosen
 * by `chooseFireHost` (online, least recently used for this schedule). The job
 * id is derived from repository, schedule and tick, so a tick requested twice
 * (a timer that fires again, a restart at that moment) requests nothing more.
 * A tick missed while the control plane was down is not made up; the next one
 * runs. A tick whose previous job of the same schedule still waits in the
 * queue is skipped, so a held-up repository does not pile up maintenance.
 * The timers follow FleetState: any change of the repositories re-arms them.
 */
@Injectable()
export class RepositorySchedulerService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RepositorySchedulerService.name);
  private readonly armed = new Map<string, Armed>();
  private seen: RepositoriesState | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly fleet: FleetStateService,
    private readonly jobs: JobCommandsService,
    private readonly presence: FleetPresence,
  ) {}

  onApplicationBootstrap(): void {
    this.unsubscribe = this.fleet.onApplied(() => this.sync());
    this.sync();
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    for (const a of this.armed.values()) this.disarm(a);
    this.armed.clear();
  }

  /** Re-arms when the repositories changed (their state is replaced, never mutated, on every change). */
  private sync(): void {
    const state = this.fleet.state.repositories;
    if (state === this.seen) return;
    this.seen = state;
    const wanted = new Map<string, { repositoryId: string; schedule: RepositorySchedule }>();
    for (const repo of state.repositories.values())
      for (const schedule of repo.schedules?.schedules ?? [])
        if (schedule.enabled) wanted.set(`${repo.id}/${schedule.id}`, { repositoryId: repo.id, schedule });
    for (const [key, a] of this.armed) {
      const w = wanted.get(key);
      if (w && JSON.stringify(w.schedule) === JSON.stringify(a.schedule)) continue;
      this.disarm(a);
      this.armed.delete(key);
    }
    for (const [key, w] of wanted) {
      if (this.armed.has(key)) continue;
      const a: Armed = { ...w, cron: new Cron(w.schedule.cron, { paused: true }) };
      this.armed.set(key, a);
      this.arm(key, a);
    }
  }

  /** Arms the timer for the first tick after now (and after `fired`, the tick just fired). */
  private arm(key: string, a: Armed, fired?: Date): void {
    const now = Date.now();
    const next = a.cron.nextRun(new Date(Math.max(now, fired?.getTime() ?? 0)));
    if (!next) return;
    a.timer = setTimeout(
      () => {
        if (this.armed.get(key) !== a) return;
        if (Date.now() + 5 < next.getTime()) return this.arm(key, a, fired);
        void this.fire(a.repositoryId, a.schedule.id, next);
        this.arm(key, a, next);
      },
      Math.min(Math.max(0, next.getTime() - now), MAX_TIMER_MS),
    );
    a.timer.unref();
  }

  private disarm(a: Armed): void {
    if (a.timer) clearTimeout(a.timer);
    a.cron.stop();
  }

  /** Requests the job of one tick; returns its id, or undefined when nothing was requested (and logs why). */
  async fire(repositoryId: string, scheduleId: string, tick: Date): Promise<string | undefined> {
    const state = this.fleet.state;
    const repo = state.repositories.repositories.get(repositoryId);
    const schedule = repo?.schedules?.schedules.find((s) => s.id === scheduleId);
    const skip = (reason: string): undefined => {
      this.logger.warn(
        { repository_id: repositoryId, schedule_id: scheduleId },
        `schedule not fired: ${reason}`,
      );
      return undefined;
    };
    if (!repo || !schedule?.enabled) return skip('the schedule no longer exists or is disabled');
    const jobId = jobIdForRepositoryFire(repositoryId, scheduleId, tick);
    if (state.jobs.has(jobId)) return jobId;
    const args = argsForRepositoryFire(schedule);
    if (!args.ok) return skip(`its args are invalid: ${args.issues.map((i) => i.message).join('; ')}`);
    const lastRun = new Map<string, bigint>();
    for (const job of state.jobs.values()) {
      if (job.scheduleId !== scheduleId || jobRepositoryId(job) !== repositoryId) continue;
      if (job.status === 'queued') return skip(`its previous job ${job.jobId} is still queued`);
      const seen = lastRun.get(job.hostId);
      if (seen === undefined || job.requestedPosition > seen) lastRun.set(job.hostId, job.requestedPosition);
    }
    // A copy's host opens both repositories, so it must be able to reach the destination too.
    const destination = schedule.kind === 'copy' ? schedule.to_repository_id : undefined;
    const candidates: HostCandidate[] = hostsThatCanRun(state, repositoryId, destination).map((hostId) => ({
      hostId,
      online: this.presence.isOnline(hostId),
      lastRun: lastRun.get(hostId) ?? null,
    }));
    const hostId = chooseFireHost(candidates);
    if (hostId === undefined)
      return skip(
        destination ? 'no host is attached to both repositories' : 'no host is attached to the repository',
      );
    try {
      return await this.jobs.requestJob(
        hostId,
        schedule.kind,
        args.value,
        { actor: { kind: 'schedule', id: scheduleId }, correlationId: jobId },
        { scheduleId, jobId, repositoryId },
      );
    } catch (err) {
      // The same tick was requested meanwhile (its job id is taken): nothing more to do.
      if (isEventStoreError(err, 'WrongExpectedVersion')) return jobId;
      this.logger.error(
        { err, repository_id: repositoryId, schedule_id: scheduleId },
        'schedule fire failed',
      );
      return undefined;
    }
  }
}
