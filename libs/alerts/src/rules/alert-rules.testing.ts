import {
  type EventMetadataInput,
  type FleetEvent,
  type FleetEventDataMap,
  type FleetEventType,
  fleetEvent,
  type JobFinalStatus,
  type JobKind,
  type Schedule,
  toEventData,
} from '@rf/events';
import { type AlertDecision, AlertRulesProcess } from './alert-rules.process';
import type { WatchedEvent } from './fleet-watch.state';

/** A fleet's log written step by step against a fake clock, for rule specs (given / when evaluate / then decisions). */

export const HOUR = 3_600_000;
export const MINUTE = 60_000;

export class FleetLog {
  readonly events: WatchedEvent[] = [];
  private readonly jobs = new Map<string, { host: string; kind: JobKind }>();
  private seq = 0;
  /** The fake clock: every event is recorded at `now`. */
  now: number;

  constructor(start: string | number) {
    this.now = typeof start === 'number' ? start : Date.parse(start);
  }

  at(time: string | number): this {
    this.now = typeof time === 'number' ? time : Date.parse(time);
    return this;
  }

  after(ms: number): this {
    this.now += ms;
    return this;
  }

  get iso(): string {
    return new Date(this.now).toISOString();
  }

  append<K extends FleetEventType>(type: K, data: FleetEventDataMap[K]): this {
    this.record(fleetEvent(type, data));
    return this;
  }

  record(event: FleetEvent, id = `e${++this.seq}`): void {
    this.events.push({ ...event, id, created: new Date(this.now) } as WatchedEvent);
  }

  enrol(host: string, hostname = `${host}.example`): this {
    return this.append('HostEnrolled', {
      host_id: host,
      hostname,
      os: 'linux',
      arch: 'amd64',
      agent_secret_hash: 'x',
      enrolment_token_id: 'et',
      enrolled_at: this.iso,
    });
  }

  connect(host: string, hostname = `${host}.example`): this {
    return this.append('AgentConnected', {
      host_id: host,
      protocol_version: 1,
      agent_version: '0.1.0',
      restic_version: '0.17.0',
      hostname,
      os: 'linux',
      arch: 'amd64',
      connected_at: this.iso,
    });
  }

  disconnect(
    host: string,
    reason: FleetEventDataMap['AgentDisconnected']['reason'] = 'heartbeat_timeout',
  ): this {
    return this.append('AgentDisconnected', { host_id: host, reason, disconnected_at: this.iso });
  }

  schedules(
    host: string,
    version: number,
    schedules: Array<Pick<Schedule, 'id' | 'cron'> & Partial<Schedule>>,
  ): this {
    const list = schedules.map((s) => ({ kind: 'backup' as const, enabled: true, paths: ['/srv'], ...s }));
    return this.append('SchedulesChanged', { host_id: host, version, schedules: list as Schedule[] });
  }

  applied(host: string, version: number): this {
    return this.append('SchedulesApplied', { host_id: host, version, applied_at: this.iso });
  }

  request(
    job: string,
    host: string,
    kind: JobKind = 'backup',
    o: { schedule?: string; paths?: string[]; repository?: string } = {},
  ): this {
    this.jobs.set(job, { host, kind });
    const args = kind === 'backup' ? { paths: o.paths ?? ['/srv'] } : {};
    return this.append('JobRequested', {
      job_id: job,
      host_id: host,
      kind,
      args,
      ...(o.schedule !== undefined ? { schedule_id: o.schedule } : {}),
      ...(o.repository !== undefined ? { repository_id: o.repository } : {}),
      requested_at: this.iso,
    });
  }

  finish(
    job: string,
    status: JobFinalStatus,
    o: { error_code?: string; error?: string; stats?: Record<string, unknown>; dropped?: number } = {},
  ): this {
    return this.append('JobFinished', {
      job_id: job,
      status,
      exit_code: status === 'succeeded' ? 0 : status === 'warning' ? 3 : 1,
      finished_at: this.iso,
      ...(o.stats !== undefined ? { stats: o.stats } : {}),
      ...(o.error !== undefined ? { error: o.error } : {}),
      ...(o.error_code !== undefined ? { error_code: o.error_code } : {}),
      ...(o.dropped !== undefined ? { dropped_log_lines: o.dropped } : {}),
    });
  }

  /** A whole job: requested and finished now. */
  job(
    job: string,
    host: string,
    kind: JobKind,
    status: JobFinalStatus,
    o: Parameters<FleetLog['finish']>[2] & { schedule?: string; paths?: string[]; repository?: string } = {},
  ): this {
    return this.request(job, host, kind, o).finish(job, status, o);
  }

  /** A repository shared by `hosts`. */
  sharedRepository(id: string, name: string, hosts: readonly string[]): this {
    this.append('RepositoryRegistered', { repository_id: id, name, url: `/srv/restic/${name}` });
    for (const h of hosts) this.append('RepositoryAttached', { repository_id: id, host_id: h });
    return this;
  }

  lost(job: string): this {
    const j = this.jobs.get(job);
    return this.append('JobLost', {
      job_id: job,
      host_id: j?.host ?? 'unknown',
      reason: 'agent away',
      lost_at: this.iso,
    });
  }

  ack(alertId: string, by = 'u1'): this {
    return this.append('AlertAcknowledged', { alert_id: alertId, by, acknowledged_at: this.iso });
  }

  rules(
    rules: FleetEventDataMap['AlertRulesChanged']['rules'],
    host_overrides?: FleetEventDataMap['AlertRulesChanged']['host_overrides'],
  ): this {
    return this.append('AlertRulesChanged', {
      rules,
      ...(host_overrides ? { host_overrides } : {}),
      changed_at: this.iso,
    });
  }
}

const DECISION_METADATA: EventMetadataInput = {
  actor: { kind: 'system', id: 'alert-rules' },
  correlation_id: 'rules',
  causation_id: 'rules',
  received_at: new Date(0).toISOString(),
};

/**
 * A live rules process following a FleetLog: `evaluate()` folds what was
 * appended since, evaluates at the log's clock, and appends the decisions to
 * the log (as the control plane would), returning them.
 */
export class LiveRules {
  readonly process: AlertRulesProcess;
  private applied = 0;

  constructor(
    readonly log: FleetLog,
    watchingSince: number = log.now,
  ) {
    this.process = new AlertRulesProcess({ watchingSince: new Date(watchingSince) });
  }

  catchUp(): void {
    for (; this.applied < this.log.events.length; this.applied++)
      this.process.apply(this.log.events[this.applied]);
  }

  evaluate(): AlertDecision[] {
    this.catchUp();
    const decisions = this.process.evaluate(new Date(this.log.now));
    for (const d of decisions) {
      // What the control plane would append: it must pass the catalog's validation.
      toEventData(d.event, DECISION_METADATA, d.eventId);
      this.log.record(d.event, d.eventId);
    }
    this.catchUp();
    return decisions;
  }

  /** Moves the clock to `time`, then evaluates. */
  at(time: string | number): AlertDecision[] {
    this.log.at(time);
    return this.evaluate();
  }
}

export const raisedOf = (decisions: readonly AlertDecision[]) =>
  decisions.flatMap((d) => (d.event.type === 'AlertRaised' ? [d.event.data] : []));
export const resolvedOf = (decisions: readonly AlertDecision[]) =>
  decisions.flatMap((d) => (d.event.type === 'AlertResolved' ? [d.event.data] : []));
