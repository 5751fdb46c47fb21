import { Cron } from 'croner';
import type { AgentLogger } from '../logger';
import {
  FireRecords,
  ScheduleStateRepository,
  StoredSchedule,
  StoredScheduleSet,
} from '../repositories/schedule-state.repository';
import { StateFileCorruptError } from '../repositories/state-file.repository';
import { Clock, MAX_TIMER_MS } from './clock';

export interface ScheduleFire {
  schedule_id: string;
  scheduled_at: string;
}

export interface ScheduleAck {
  version: number;
  applied_at: string;
}

export class ScheduleSetError extends Error {
  readonly code = 'SCHEDULE_SET_INVALID';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** Parses a `schedule.set` payload into stored form; errors name the field. */
export function parseScheduleSet(payload: unknown): { version: number; schedules: StoredSchedule[] } {
  if (typeof payload !== 'object' || payload === null)
    throw new ScheduleSetError('payload', 'payload must be an object');
  const p = payload as Record<string, unknown>;
  if (typeof p.version !== 'number' || !Number.isInteger(p.version)) {
    throw new ScheduleSetError('version', 'version must be an integer');
  }
  if (!Array.isArray(p.schedules)) throw new ScheduleSetError('schedules', 'schedules must be an array');
  const schedules = p.schedules.map((s: unknown, i): StoredSchedule => {
    const f = `schedules[${i}]`;
    if (typeof s !== 'object' || s === null) throw new ScheduleSetError(f, `${f} must be an object`);
    const o = s as Record<string, unknown>;
    if (typeof o.id !== 'string' || o.id === '')
      throw new ScheduleSetError(`${f}.id`, `${f}.id must be a string`);
    const cron = o.cron_expr ?? o.cron;
    if (typeof cron !== 'string' || cron === '') {
      throw new ScheduleSetError(`${f}.cron_expr`, `${f}.cron_expr must be a cron expression`);
    }
    const optStr = (k: string): string | undefined => {
      const v = o[k];
      if (v === undefined || v === null || v === '') return undefined;
      if (typeof v !== 'string') throw new ScheduleSetError(`${f}.${k}`, `${f}.${k} must be a string`);
      return v;
    };
    const timeout = o.hook_timeout_s;
    if (timeout !== undefined && timeout !== null && (typeof timeout !== 'number' || timeout <= 0)) {
      throw new ScheduleSetError(`${f}.hook_timeout_s`, `${f}.hook_timeout_s must be a positive number`);
    }
    return {
      id: o.id,
      cron_expr: cron,
      enabled: o.enabled !== false,
      timezone: optStr('timezone'),
      pre_hook: optStr('pre_hook'),
      post_hook: optStr('post_hook'),
      hook_timeout_s: typeof timeout === 'number' ? timeout : undefined,
      raw: o,
    };
  });
  return { version: p.version, schedules };
}

interface Armed {
  schedule: StoredSchedule;
  cron: Cron;
  timer?: unknown;
}

/**
 * Local cron for the host's schedules. A tick never runs a job by itself: it
 * emits `schedule.fire` (durable, through the outbox) and the control plane
 * answers with `command.run`. The applied set and each schedule's last fire
 * are persisted, so a tick missed while the agent was down fires exactly once
 * when it comes back (not once per missed tick).
 */
export class SchedulerService {
  private armed = new Map<string, Armed>();
  private current: StoredScheduleSet | undefined;
  private fires: FireRecords = {};

  constructor(
    private readonly repo: ScheduleStateRepository,
    private readonly clock: Clock,
    private readonly logger: AgentLogger,
    private readonly emitFire: (fire: ScheduleFire) => void,
  ) {}

  get version(): number | undefined {
    return this.current?.version;
  }

  /** Looks up a schedule of the applied set (used for hooks of scheduled jobs). */
  schedule(id: string): StoredSchedule | undefined {
    return this.current?.schedules.find((s) => s.id === id);
  }

  /** Loads the persisted set and arms it, firing once for any tick missed while the agent was down. */
  start(): void {
    try {
      this.current = this.repo.readSet();
      this.fires = this.repo.readFires() ?? {};
    } catch (err) {
      if (!(err instanceof StateFileCorruptError)) throw err;
      this.logger.error(
        { file: err.file, moved_to: err.movedTo, reason: err.reason },
        'scheduler: state file unreadable, moved aside; waiting for the control plane to resend schedules',
      );
      this.current = undefined;
      this.fires = {};
    }
    if (this.current) {
      this.logger.info(
        { version: this.current.version, schedules: this.current.schedules.length },
        'scheduler: restored schedules from disk',
      );
      this.arm(this.current.schedules);
    }
  }

  /**
   * Applies a full schedule set atomically: the old timers stop, the new set
   * is persisted, then armed; returns the `schedule.ack` payload. Re-sending
   * the same version with the same content only re-acks.
   */
  apply(payload: unknown): ScheduleAck {
    const parsed = parseScheduleSet(payload);
    const now = this.clock.now();
    if (
      this.current &&
      this.current.version === parsed.version &&
      JSON.stringify(this.current.schedules) === JSON.stringify(parsed.schedules)
    ) {
      return { version: parsed.version, applied_at: this.current.applied_at };
    }
    const valid = parsed.schedules.filter((s) => {
      if (!s.enabled) return true;
      try {
        new Cron(s.cron_expr, { timezone: s.timezone, paused: true }).stop();
        return true;
      } catch (err) {
        this.logger.warn(
          { schedule_id: s.id, cron_expr: s.cron_expr, err: (err as Error).message },
          'scheduler: skipping a schedule with an invalid cron expression',
        );
        return false;
      }
    });
    this.disarm();
    const set: StoredScheduleSet = {
      version: parsed.version,
      applied_at: now.toISOString(),
      schedules: valid,
    };
    const fires: FireRecords = {};
    for (const s of valid) fires[s.id] = this.fires[s.id] ?? { since: now.toISOString() };
    this.repo.writeSet(set);
    this.repo.writeFires(fires);
    this.current = set;
    this.fires = fires;
    this.arm(valid);
    this.logger.info(
      { version: set.version, received: parsed.schedules.length, active: this.armed.size },
      'scheduler: applied schedule set',
    );
    return { version: set.version, applied_at: set.applied_at };
  }

  stop(): void {
    this.disarm();
  }

  private disarm(): void {
    for (const a of this.armed.values()) {
      if (a.timer !== undefined) this.clock.clearTimer(a.timer);
      a.cron.stop();
    }
    this.armed.clear();
  }

  private arm(schedules: StoredSchedule[]): void {
    const now = this.clock.now();
    for (const s of schedules) {
      if (!s.enabled) continue;
      let cron: Cron;
      try {
        cron = new Cron(s.cron_expr, { timezone: s.timezone, paused: true });
      } catch {
        continue;
      }
      const a: Armed = { schedule: s, cron };
      this.armed.set(s.id, a);
      const rec = this.fires[s.id] ?? { since: now.toISOString() };
      this.fires[s.id] = rec;
      const baseline = new Date(rec.last_fire ?? rec.since);
      const due = cron.nextRun(baseline);
      if (due && due.getTime() <= now.getTime()) {
        this.logger.info(
          { schedule_id: s.id, missed_at: due.toISOString() },
          'scheduler: a tick was missed while the agent was down; firing once now',
        );
        this.fire(a, due, now);
      }
      this.armNext(a);
    }
  }

  private armNext(a: Armed): void {
    const now = this.clock.now();
    const next = a.cron.nextRun(now);
    if (!next) return;
    const wait = next.getTime() - now.getTime();
    a.timer = this.clock.setTimer(
      () => {
        if (this.armed.get(a.schedule.id) !== a) return;
        // Long waits are chunked; fire only when the tick is actually due.
        if (this.clock.now().getTime() + 5 < next.getTime()) {
          this.armNext(a);
          return;
        }
        this.fire(a, next, next);
        this.armNext(a);
      },
      Math.min(wait, MAX_TIMER_MS),
    );
  }

  private fire(a: Armed, scheduledAt: Date, recordAs: Date): void {
    const rec = this.fires[a.schedule.id];
    this.fires[a.schedule.id] = {
      since: rec?.since ?? recordAs.toISOString(),
      last_fire: recordAs.toISOString(),
    };
    this.repo.writeFires(this.fires);
    this.emitFire({ schedule_id: a.schedule.id, scheduled_at: scheduledAt.toISOString() });
  }
}
