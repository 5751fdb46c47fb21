import {
  isId,
  makeEnvelope,
  parseEnvelope,
  SERVER_TO_AGENT,
  WireProtocolError,
  type WireMessage,
  type WirePayloadMap,
  type WireType,
} from '@rf/events';
import { formatVersion, locateRestic, ResticRepository } from '@rf/restic';
import { AgentConnection, BackoffOptions, DEFAULT_BACKOFF } from '../client/agent-connection';
import type { AgentConfig } from '../config/agent-config';
import type { AgentLogger } from '../logger';
import { JobsInFlightRepository } from '../repositories/jobs-in-flight.repository';
import { OutboxEnvelope, OutboxRepository } from '../repositories/outbox.repository';
import { ScheduleStateRepository } from '../repositories/schedule-state.repository';
import { Clock, systemClock } from './clock';
import { helloFacts } from './host-facts';
import { JobRunnerService, ResticBinary } from './job-runner.service';
import { QueryRunnerService } from './query-runner.service';
import { openQueryUpload } from '../client/query-upload';
import { SchedulerService } from './scheduler.service';

/** Socket bytes queued before the outbox pump pauses (keeps memory flat while streaming logs). */
const HIGH_WATER_BYTES = 1024 * 1024;
/** How long the control plane may take to accept a query's upload. */
const QUERY_UPLOAD_TIMEOUT_MS = 15_000;
/** Browse queries one agent runs at once (docs/browse.md). */
const MAX_CONCURRENT_QUERIES = 4;

export interface AgentServiceOptions {
  config: AgentConfig;
  /** Where the config was read from; named in messages that ask the operator to change it. */
  configPath?: string;
  logger: AgentLogger;
  clock?: Clock;
  /** The control plane acked this connection's hello: it has recorded the agent as connected. */
  onConnected?: (serverUrl: string) => void;
  /** `agent.update_available` arrived from `serverUrl` (the updater decides what to do). */
  onUpdateOffer?: (offer: WirePayloadMap['agent.update_available'], serverUrl: string) => void;
}

/**
 * The agent daemon: one connection, one outbox, the scheduler and the job
 * runner, wired together. Inbound envelopes are dispatched here; everything
 * outbound except `hello` and `heartbeat` goes through the durable outbox.
 *
 * `hello` is per connection (the handshake that opens every session with
 * current host facts), so it is sent directly as the first frame and never
 * replayed from disk; `heartbeat` is not durable by design.
 */
export class AgentService {
  private readonly outbox: OutboxRepository;
  private readonly inFlight: JobsInFlightRepository;
  private readonly scheduler: SchedulerService;
  private readonly jobs: JobRunnerService;
  private readonly queries: QueryRunnerService;
  private readonly conn: AgentConnection;
  private readonly clock: Clock;
  private readonly log: AgentLogger;
  /** The default repository (config.update `repo_*`): jobs without repository_id use it. */
  private repository: ResticRepository | undefined;
  /** Every repository the host is attached to, by id (config.update `repositories`). */
  private repositories = new Map<string, ResticRepository>();
  private restic: Promise<ResticBinary> | undefined;
  private resticVersionText = '';
  private heartbeat: NodeJS.Timeout | undefined;
  private pumpTimer: NodeJS.Timeout | undefined;
  private handshaken = false;
  private helloId: string | undefined;
  private stopping = false;
  private closed = false;

  constructor(private readonly o: AgentServiceOptions) {
    const cfg = o.config;
    this.log = o.logger;
    this.clock = o.clock ?? systemClock;
    this.outbox = new OutboxRepository({
      dir: cfg.state_dir,
      maxBytes: cfg.outbox_max_bytes,
      logger: this.log,
      makeLogDropped: (range) => this.envelope('log.dropped', range.job_id, { ...range }),
    });
    this.outbox.onDurable(() => this.pump());
    this.inFlight = new JobsInFlightRepository(cfg.state_dir);
    this.scheduler = new SchedulerService(
      new ScheduleStateRepository(cfg.state_dir),
      this.clock,
      this.log,
      (fire) => this.emit('schedule.fire', undefined, fire),
    );
    this.jobs = new JobRunnerService({
      emit: (type, jobId, payload) => this.emit(type, jobId, payload),
      takeDropped: (jobId) => this.outbox.takeDropped(jobId).logLines,
      repository: () => this.repository,
      repositoryById: (id) => this.repositories.get(id),
      restic: () => this.resticBinary(),
      schedule: (id) => this.scheduler.schedule(id),
      allowHooks: cfg.allow_hooks,
      ...(o.configPath !== undefined ? { configPath: o.configPath } : {}),
      logger: this.log,
      jobTimeoutMs: cfg.job_timeout_s * 1000,
      cancelGraceMs: cfg.cancel_grace_s * 1000,
    });
    this.queries = new QueryRunnerService({
      openUpload: (queryId, token) => {
        const server = this.conn.serverUrl;
        if (server === undefined || !this.handshaken)
          return Promise.reject(new Error('not connected to a control plane'));
        return openQueryUpload({
          server,
          queryId,
          bearer: `${cfg.agent_id}.${cfg.agent_secret}`,
          token,
          timeoutMs: QUERY_UPLOAD_TIMEOUT_MS,
        });
      },
      // Not through the outbox: an answer is worth nothing to another connection (docs/browse.md).
      answer: (message) => this.handshaken && this.conn.send(JSON.stringify(message)),
      repository: (id) => (id === undefined ? this.repository : this.repositories.get(id)),
      restic: () => this.resticBinary(),
      logger: this.log,
      timeoutMs: cfg.job_timeout_s * 1000,
      cancelGraceMs: cfg.cancel_grace_s * 1000,
      maxConcurrent: MAX_CONCURRENT_QUERIES,
    });
    const backoff: BackoffOptions = {
      ...DEFAULT_BACKOFF,
      initialMs: cfg.reconnect_initial_ms,
      maxMs: cfg.reconnect_max_ms,
      unauthorizedMs: cfg.reconnect_unauthorized_ms,
    };
    this.conn = new AgentConnection({
      serverUrls: cfg.servers,
      agentId: cfg.agent_id,
      agentSecret: cfg.agent_secret,
      backoff,
      logger: this.log,
      handlers: {
        onOpen: () => this.onOpen(),
        onMessage: (text) => this.onMessage(text),
        onClose: () => {
          this.handshaken = false;
          this.helloId = undefined;
          this.queries.cancelAll();
        },
      },
    });
  }

  async start(): Promise<void> {
    try {
      const r = await this.resticBinary();
      this.resticVersionText = r.version ? formatVersion(r.version) : '';
      this.log.info({ restic: r.bin, version: this.resticVersionText }, 'agent: using restic');
    } catch (err) {
      this.log.error(
        { err: (err as Error).message },
        'agent: restic is not available; jobs will fail until it is',
      );
    }
    this.reportInterruptedJobs();
    this.scheduler.start();
    this.conn.start();
    this.heartbeat = setInterval(() => this.sendHeartbeat(), this.o.config.heartbeat_interval_s * 1000);
  }

  /** Jobs accepted and not yet finished (queued or running). */
  get activeJobs(): number {
    return this.jobs.activeJobs;
  }

  /** Cancels running jobs (SIGINT to restic), persists what is left and disconnects. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.scheduler.stop();
    this.queries.cancelAll();
    await this.jobs.shutdown();
    await this.outbox.flush().catch((err: unknown) => {
      this.log.error({ err: (err as Error).message }, 'agent: could not write the outbox before stopping');
    });
    // Give the server a moment to ack what is in flight; anything left is resent on the next start.
    const deadline = Date.now() + 2000;
    while (this.outbox.size > 0 && this.conn.isOpen && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    await this.conn.stop();
    this.closed = true;
    this.outbox.close();
  }

  private resticBinary(): Promise<ResticBinary> {
    if (!this.restic) {
      const env = { ...process.env };
      if (!env.RF_RESTIC_BIN && this.o.config.restic_bin) env.RF_RESTIC_BIN = this.o.config.restic_bin;
      const p = locateRestic({ env });
      this.restic = p;
      // A failed lookup is retried on the next job (restic may have been installed meanwhile).
      p.catch(() => {
        if (this.restic === p) this.restic = undefined;
      });
    }
    return this.restic;
  }

  /** Builds an envelope validated exactly as the control plane will validate it (throws WireProtocolError). */
  private envelope(type: string, jobId: string | undefined, payload: object): OutboxEnvelope {
    return makeEnvelope(type as WireType, payload as WirePayloadMap[WireType], {
      ts: this.clock.now(),
      ...(jobId ? { job_id: jobId } : {}),
    }) as OutboxEnvelope;
  }

  /** Durable send: to disk first, to the socket once fsynced. */
  private emit(type: string, jobId: string | undefined, payload: object): void {
    if (this.closed) {
      this.log.warn({ type, job_id: jobId }, 'agent: message after shutdown dropped');
      return;
    }
    let env: OutboxEnvelope;
    try {
      env = this.envelope(type, jobId, payload);
    } catch (err) {
      if (!(err instanceof WireProtocolError)) throw err;
      // A bug on our side that the server would reject too: name the field, never the values.
      this.log.error(
        { type, job_id: jobId, field: err.field, err: err.message },
        'agent: invalid outgoing message dropped',
      );
      return;
    }
    this.outbox.enqueue(env);
    // From acceptance on, a job's outcome is this agent's to report (it may still be queued).
    const accepted = type === 'command.result' && (payload as { accepted?: unknown }).accepted === true;
    try {
      if (jobId !== undefined && (type === 'job.started' || accepted)) this.inFlight.started(jobId);
      if (jobId !== undefined && type === 'job.finished') this.inFlight.finished(jobId);
    } catch (err) {
      // Bookkeeping for a crash report only; a full disk must not stop the job or its messages.
      this.log.error(
        { job_id: jobId, err: (err as Error).message },
        'agent: could not update the in-flight jobs file',
      );
    }
  }

  /**
   * Jobs a previous run of this agent started but never finished (it was killed or the host
   * crashed): no one else can report them, so they end as failed instead of running forever.
   */
  private reportInterruptedJobs(): void {
    const { jobIds, corrupt } = this.inFlight.takeLeftovers();
    if (corrupt) this.log.error({ err: corrupt.message }, 'agent: the in-flight jobs file was unreadable');
    const now = this.clock.now().toISOString();
    for (const jobId of jobIds) {
      this.log.warn(
        { job_id: jobId },
        'agent: a job was interrupted by an agent restart; reporting it failed',
      );
      const dropped = this.outbox.takeDropped(jobId);
      this.emit('job.finished', jobId, {
        job_id: jobId,
        status: 'failed',
        exit_code: -1,
        finished_at: now,
        error:
          'The agent stopped (killed or crashed) while this job ran, so its outcome is unknown. ' +
          'If a stale lock remains, run an Unlock job.',
        error_code: 'agent_restarted',
        log_lines: 0,
        dropped_log_lines: dropped.logLines,
      });
    }
    // Counters of jobs that ended before the restart but whose gap was not reported yet.
    for (const jobId of this.outbox.jobsWithDrops()) this.outbox.takeDropped(jobId);
  }

  private onOpen(): void {
    const hello = this.envelope('hello', undefined, {
      ...helloFacts(this.resticVersionText),
      allow_hooks: this.o.config.allow_hooks,
    });
    this.helloId = hello.id;
    this.conn.send(JSON.stringify(hello));
    this.handshaken = true;
    this.outbox.rewindSend();
    this.pump();
  }

  private sendHeartbeat(): void {
    if (!this.handshaken) return;
    this.conn.send(
      JSON.stringify(this.envelope('heartbeat', undefined, { sent_at: this.clock.now().toISOString() })),
    );
  }

  private pump(): void {
    if (!this.handshaken || !this.conn.isOpen) return;
    while (this.conn.bufferedAmount < HIGH_WATER_BYTES) {
      const batch = this.outbox.takeSendable(256);
      if (batch.length === 0) return;
      const trace = this.log.isLevelEnabled('trace');
      for (const env of batch) {
        if (trace) this.log.trace({ envelope: env }, 'agent: message out');
        this.conn.send(JSON.stringify(env));
      }
    }
    if (!this.pumpTimer) {
      this.pumpTimer = setTimeout(() => {
        this.pumpTimer = undefined;
        this.pump();
      }, 10);
    }
  }

  private onMessage(text: string): void {
    const parsed = parseEnvelope(text, { accept: SERVER_TO_AGENT });
    if (!parsed.ok) {
      this.onInvalidMessage(text, parsed.error.message, parsed.error.field);
      return;
    }
    const msg: WireMessage = parsed.message;
    if (this.log.isLevelEnabled('trace')) this.log.trace({ envelope: msg }, 'agent: message in');
    switch (msg.type) {
      case 'ack':
        if (this.helloId !== undefined && msg.payload.ids.includes(this.helloId)) {
          this.helloId = undefined;
          const url = this.conn.serverUrl;
          if (url !== undefined) this.o.onConnected?.(url);
        }
        this.outbox.ack(msg.payload.ids);
        return;
      case 'config.update':
        this.applyConfig(msg.payload);
        return;
      case 'schedule.set':
        try {
          const ack = this.scheduler.apply(msg.payload);
          this.emit('schedule.ack', undefined, ack);
        } catch (err) {
          this.log.error(
            { err: (err as Error).message, field: (err as { field?: string }).field },
            'agent: schedule.set rejected; keeping the previous schedules',
          );
        }
        return;
      case 'command.run':
        this.jobs.submit({
          job_id: msg.payload.job_id,
          kind: msg.payload.kind,
          args: msg.payload.args,
          ...(msg.payload.schedule_id !== undefined ? { schedule_id: msg.payload.schedule_id } : {}),
          ...(msg.payload.repository_id !== undefined ? { repository_id: msg.payload.repository_id } : {}),
        });
        return;
      case 'command.cancel':
        this.jobs.cancel(msg.payload.job_id);
        return;
      case 'query.start':
        this.queries.start(msg.payload);
        return;
      case 'query.cancel':
        this.queries.cancel(msg.payload.query_id);
        return;
      case 'error':
        this.onServerError(msg.payload);
        return;
      case 'agent.update_available': {
        const url = this.conn.serverUrl;
        if (url !== undefined) this.o.onUpdateOffer?.(msg.payload, url);
        return;
      }
      default:
        this.log.debug({ type: msg.type }, 'agent: ignoring message type');
    }
  }

  /** A command.run that fails validation is answered (rejected, naming the field); anything else is logged. */
  private onInvalidMessage(text: string, message: string, field: string | undefined): void {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      raw = undefined;
    }
    const o = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const payload = (typeof o.payload === 'object' && o.payload !== null ? o.payload : {}) as Record<
      string,
      unknown
    >;
    if (o.type === 'command.run' && isId(payload.job_id)) {
      this.log.warn({ job_id: payload.job_id, field, err: message }, 'job rejected: invalid command.run');
      this.emit('command.result', payload.job_id, {
        job_id: payload.job_id,
        accepted: false,
        error: message,
      });
      return;
    }
    this.log.warn(
      { type: typeof o.type === 'string' ? o.type : undefined, field, err: message },
      'agent: ignoring an invalid message from the server',
    );
  }

  private onServerError(p: WirePayloadMap['error']): void {
    const { code, message } = p;
    if (code === 'unsupported_version' || /protocol/i.test(code)) {
      this.log.error(
        { code, message },
        "agent: the control plane does not speak this agent's protocol version; upgrade the agent or the control plane. Backing off",
      );
      this.conn.backOff(DEFAULT_BACKOFF.protocolMismatchMs, 'protocol version mismatch');
      return;
    }
    this.log.warn(
      { code, message, ref_id: p.ref_id, field: p.field },
      'agent: the control plane reported an error',
    );
  }

  private applyConfig(p: WirePayloadMap['config.update']): void {
    const access = (
      url: string,
      password: string,
      username: string | undefined,
      credential: string | undefined,
    ): ResticRepository => ({
      url,
      password,
      ...(username ? { username } : {}),
      ...(credential ? { credential } : {}),
    });
    this.repository = access(p.repo_url, p.repo_password, p.repo_username, p.repo_credential);
    // Each update states the whole set: a repository the host was detached from is forgotten.
    const repositories = new Map<string, ResticRepository>();
    if (p.repository_id !== undefined) repositories.set(p.repository_id, this.repository);
    for (const r of p.repositories ?? [])
      repositories.set(r.repository_id, access(r.url, r.password, r.username, r.credential));
    this.repositories = repositories;
    // Secrets stay in memory only; log the locations without any userinfo.
    this.log.info(
      {
        repository: redactUrl(p.repo_url),
        repositories: [...repositories].map(([id, r]) => ({ id, url: redactUrl(r.url) })),
      },
      'agent: repositories configured',
    );
  }
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}
