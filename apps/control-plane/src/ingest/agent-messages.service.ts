import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  currentSchemaVersion,
  eventForMessage,
  eventIdFromEnvelope,
  evolveJobStatus,
  isCatalogError,
  jobLogStream,
  metadataForMessage,
  toEventData,
  type EventData,
  type FleetEventOf,
  type MessageEvent,
  type WireMessage,
} from '@rf/events';
import { DEFAULT_MAX_APPEND_SIZE, EVENT_STORE, isEventStoreError, type EventStore } from '@rf/event-store';
import { MetricsRegistry } from '../core/metrics.registry';
import { AppConfig } from '../core/app-config';
import { FLEET_STATE_PREFIXES } from '../domain/fleet-state';
import { FleetStateService } from '../services/fleet-state.service';
import { ResendGuardAppender } from './resend-guard.appender';
import { LogSeqTracker } from './log-seq.tracker';
import { ScheduleCommandsService } from '../services/schedules.service';
import { WritePositions } from '../domain/write-positions';

/** An `error` payload for the agent; `code` is a lower snake-case reason. */
export interface AgentError {
  readonly code: string;
  readonly message: string;
  readonly field?: string;
  readonly ref_id?: string;
}

export type IngestOutcome =
  | { readonly id: string; readonly ok: true }
  /** `retry`: a transient failure; no error is sent and the agent resends the unacked envelope later. */
  | { readonly id: string; readonly ok: false; readonly retry: boolean; readonly error: AgentError };

/** Message types whose payload names a job that must belong to the sending host. */
const JOB_SCOPED = new Set<WireMessage['type']>([
  'command.result',
  'job.started',
  'job.progress',
  'job.finished',
  'log.stream',
  'log.dropped',
]);
/** Telemetry: high volume, one stream per job; skips the second validation (see `telemetryEvent`). */
const JOBLOG_TYPES = new Set<WireMessage['type']>(['job.progress', 'log.stream', 'log.dropped']);

/** Most events in one telemetry append (the store's cap is on bytes; this bounds one write's work). */
const MAX_CHUNK_EVENTS = 500;

interface StreamGroup {
  readonly jobId: string;
  readonly indexes: number[];
  readonly events: EventData[];
}

/** Events appended together, and the indexes of the envelopes they came from. */
interface Chunk {
  readonly events: EventData[];
  readonly indexes: number[];
  /** An upper bound of the append's size as the store measures it. */
  bytes: number;
}

/**
 * Turns durable agent messages into events; event ids derive from envelope
 * ids, so a resend after a reconnect is an idempotent no-op. A job's log lines
 * of one batch go in few multi-event appends; every other envelope is its own
 * append. All appends of a batch are issued together and the store's group
 * commit makes them one transaction.
 */
@Injectable()
export class AgentMessagesService {
  private readonly logger = new Logger(AgentMessagesService.name);
  /** Jobs whose joblog stream already carries the retention policy (per process). */
  private readonly retentionSet = new Set<string>();
  private readonly countAppended: (by?: number) => void;
  private readonly countResends: (by?: number) => void;
  private readonly logSeqs: LogSeqTracker;
  /** Every envelope that is not telemetry: one event each, idempotent by construction. */
  private readonly lifecycle: ResendGuardAppender;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly fleet: FleetStateService,
    private readonly schedules: ScheduleCommandsService,
    private readonly config: AppConfig,
    private readonly positions: WritePositions,
    metrics: MetricsRegistry,
  ) {
    this.countAppended = metrics.counter('rf_events_appended_total', 'Events appended from agent messages');
    this.countResends = metrics.counter(
      'rf_agent_resends_skipped_total',
      'Agent messages already stored (resent after a reconnect), acknowledged without a new event',
    );
    this.logSeqs = new LogSeqTracker(store);
    this.lifecycle = new ResendGuardAppender(store);
  }

  async ingest(
    hostId: string,
    messages: readonly WireMessage[],
    receivedAt: string,
  ): Promise<IngestOutcome[]> {
    const outcomes: IngestOutcome[] = new Array<IngestOutcome>(messages.length);
    const work: Promise<void>[] = [];
    let groups: Map<string, StreamGroup> | undefined;
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i]!;
      const refused = this.checkOwnership(hostId, message);
      if (refused) {
        outcomes[i] = refused;
        continue;
      }
      if (JOBLOG_TYPES.has(message.type)) {
        const jobId = (message.payload as { job_id: string }).job_id;
        const stream = jobLogStream(jobId);
        groups ??= new Map();
        let group = groups.get(stream);
        if (!group) {
          group = { jobId, indexes: [], events: [] };
          groups.set(stream, group);
        }
        group.indexes.push(i);
        group.events.push(this.telemetryEvent(hostId, message, receivedAt));
        continue;
      }
      const index = i;
      work.push(this.ingestOne(hostId, message, receivedAt).then((o) => void (outcomes[index] = o)));
    }
    if (groups) {
      for (const [stream, group] of groups) work.push(this.appendGroup(stream, group, messages, outcomes));
    }
    await Promise.all(work);
    return outcomes;
  }

  private checkOwnership(hostId: string, message: WireMessage): IngestOutcome | null {
    if (!JOB_SCOPED.has(message.type)) return null;
    const jobId = (message.payload as { job_id: string }).job_id;
    const job = this.fleet.state.jobs.get(jobId);
    if (job && job.hostId === hostId) return null;
    return refused(message.id, 'unknown_job', `job ${jobId} is not a job of this host`, 'payload.job_id');
  }

  /**
   * Telemetry events skip the catalog's second validation: `parseEnvelope`
   * already checked these payloads with the very same field rules.
   */
  private telemetryEvent(hostId: string, message: WireMessage, receivedAt: string): EventData {
    const mapped = eventForMessage(hostId, message)!;
    return {
      id: eventIdFromEnvelope(message.id, 0),
      type: mapped.event.type,
      data: mapped.event.data,
      metadata: {
        ...metadataForMessage(hostId, message, receivedAt),
        schema_version: currentSchemaVersion(mapped.event.type),
      },
    };
  }

  /**
   * A job's telemetry in arrival order. The store deduplicates a resend only by
   * the first event id of an append, so a multi-event append holds log lines
   * only, each claimed by seq first (exact); progress and drop markers carry
   * no such order and stay single-event appends, deduplicated by their id.
   * The appends are issued in one tick, in order: the store's FIFO group
   * commit keeps that order and commits or fails them together.
   */
  private async appendGroup(
    stream: string,
    group: StreamGroup,
    messages: readonly WireMessage[],
    outcomes: IngestOutcome[],
  ): Promise<void> {
    // A job's batches are appended one after the other. Lines are deduplicated by a high-water
    // mark, so a later batch must never be stored after an earlier one failed: that hole could not
    // be filled by the resend (its seqs would look old). Waiting costs nothing in the usual flow:
    // the earlier batch's commit resolves before the next socket batch is handled.
    const before = this.logSeqs.settled(group.jobId);
    const run = this.appendGroupAfter(before, stream, group, messages, outcomes);
    this.logSeqs.track(group.jobId, run);
    await run;
  }

  /** Resolves to whether everything this group appended was stored. Never rejects. */
  private async appendGroupAfter(
    before: Promise<boolean> | undefined,
    stream: string,
    group: StreamGroup,
    messages: readonly WireMessage[],
    outcomes: IngestOutcome[],
  ): Promise<boolean> {
    if (before !== undefined && !(await before)) {
      for (const i of group.indexes) outcomes[i] = retryLater(messages[i]!.id);
      return false;
    }
    const loading = this.logSeqs.prepare(group.jobId);
    if (loading) {
      try {
        await loading;
      } catch (err) {
        this.fail(group.indexes, messages, outcomes, err);
        return false;
      }
    }
    const resends: number[] = [];
    const chunks = this.claimAndChunk(group, resends);
    const stored = await this.appendChunks(stream, group.jobId, chunks, messages, outcomes);
    if (resends.length > 0) {
      // Lines already stored by an earlier batch (which settled before this one ran), or repeated
      // within this batch: those are stored only if this batch's own appends were.
      if (stored) this.countResends(resends.length);
      for (const i of resends) {
        const id = messages[i]!.id;
        outcomes[i] = stored ? { id, ok: true } : retryLater(id);
      }
    }
    this.ensureRetention(group.jobId);
    return stored;
  }

  /**
   * Issues the chunks in order, in one tick, so the SQLite store commits them
   * in one transaction. The one exception: a second run of lines waits until
   * the run before it is stored, and is not appended if that failed. A store
   * whose appends fail independently (EventStoreDB) could otherwise keep the
   * later lines and lose the earlier ones to the seq mark. A batch rarely
   * holds more than one run (over 500 lines or 1 MiB of one job).
   */
  private async appendChunks(
    stream: string,
    jobId: string,
    chunks: readonly Chunk[],
    messages: readonly WireMessage[],
    outcomes: IngestOutcome[],
  ): Promise<boolean> {
    const issued: Promise<boolean>[] = [];
    let lastLines: Promise<boolean> | undefined;
    for (let c = 0; c < chunks.length; c++) {
      const chunk = chunks[c]!;
      const lines = chunk.events[0]!.type === 'LogStreamLine';
      if (lines && lastLines !== undefined && !(await lastLines)) {
        for (const rest of chunks.slice(c)) {
          for (const i of rest.indexes) outcomes[i] = retryLater(messages[i]!.id);
        }
        await Promise.all(issued);
        return false;
      }
      const appended = this.appendChunk(stream, jobId, chunk, messages, outcomes);
      issued.push(appended);
      if (lines) lastLines = appended;
    }
    return (await Promise.all(issued)).every(Boolean);
  }

  /** Claims the group's lines; runs of new lines become chunks under the store's append cap. */
  private claimAndChunk(group: StreamGroup, resends: number[]): Chunk[] {
    const chunks: Chunk[] = [];
    let run: Chunk | undefined;
    for (let k = 0; k < group.events.length; k++) {
      const event = group.events[k]!;
      const index = group.indexes[k]!;
      if (event.type !== 'LogStreamLine') {
        chunks.push({ events: [event], indexes: [index], bytes: 0 });
        run = undefined;
      } else if (!this.logSeqs.claim(group.jobId, (event.data as { seq: number }).seq)) {
        resends.push(index);
      } else {
        const bytes = eventBytesBound(event);
        if (!run || run.events.length >= MAX_CHUNK_EVENTS || run.bytes + bytes > DEFAULT_MAX_APPEND_SIZE) {
          run = { events: [], indexes: [], bytes: 0 };
          chunks.push(run);
        }
        run.events.push(event);
        run.indexes.push(index);
        run.bytes += bytes;
      }
    }
    return chunks;
  }

  /** Acks every envelope of the chunk once it is durable, or none of them; resolves to which. Never rejects. */
  private async appendChunk(
    stream: string,
    jobId: string,
    chunk: Chunk,
    messages: readonly WireMessage[],
    outcomes: IngestOutcome[],
  ): Promise<boolean> {
    try {
      const result = await this.store.append(stream, chunk.events, { expectedRevision: 'any' });
      this.countAppended(chunk.events.length);
      this.positions.note(result.position);
      for (const i of chunk.indexes) outcomes[i] = { id: messages[i]!.id, ok: true };
      return true;
    } catch (err) {
      this.logSeqs.forget(jobId);
      this.fail(chunk.indexes, messages, outcomes, err);
      return false;
    }
  }

  /** None of these envelopes was stored; a transient failure is logged once for all of them. */
  private fail(
    indexes: readonly number[],
    messages: readonly WireMessage[],
    outcomes: IngestOutcome[],
    err: unknown,
  ): void {
    for (let k = 0; k < indexes.length; k++) {
      const i = indexes[k]!;
      outcomes[i] = this.failure(messages[i]!, err, k === 0 ? indexes.length : 0);
    }
  }

  private async ingestOne(hostId: string, message: WireMessage, receivedAt: string): Promise<IngestOutcome> {
    const mapped = this.withNode(eventForMessage(hostId, message));
    if (!mapped) return { id: message.id, ok: true };
    // A fire for an unknown or disabled schedule is acked and logged, but starts (and records) nothing.
    const fire = message.type === 'schedule.fire' ? this.schedules.acceptFire(hostId, message) : undefined;
    if (fire === null) return { id: message.id, ok: true };
    if (mapped.event.type === 'JobFinished' && !this.decidesOutcome(mapped.event)) {
      // A resend of a stored outcome (only a JobLost guess may be replaced by the agent's report).
      this.countResends(1);
      return { id: message.id, ok: true };
    }
    try {
      const data = toEventData(
        mapped.event,
        metadataForMessage(hostId, message, receivedAt),
        eventIdFromEnvelope(message.id, 0),
      );
      const result = await this.lifecycle.append(hostId, mapped.stream, data);
      if (result === null) {
        // Stored before an ack was lost (a reconnect, a restart): acknowledged again, nothing new.
        this.countResends(1);
        return { id: message.id, ok: true };
      }
      this.countAppended(1);
      this.positions.note(result.position);
      if (FLEET_STATE_PREFIXES.some((p) => mapped.stream.startsWith(p))) {
        // The next decision about this host (dispatch, JobLost) must see this event.
        await this.fleet.waitFor(result.position);
      }
      if (message.type === 'schedule.fire' && fire) await this.schedules.startFiredJob(hostId, message, fire);
      return { id: message.id, ok: true };
    } catch (err) {
      return this.failure(message, err);
    }
  }

  /** AgentConnected names the node holding the socket (docs/architecture.md, "Several nodes"). */
  private withNode(mapped: MessageEvent | null): MessageEvent | null {
    if (mapped?.event.type !== 'AgentConnected') return mapped;
    return {
      ...mapped,
      event: { ...mapped.event, data: { ...mapped.event.data, node_id: this.config.nodeId } },
    };
  }

  /** Whether the job lifecycle would take this report as the job's outcome (false: one is already stored). */
  private decidesOutcome(event: FleetEventOf<'JobFinished'>): boolean {
    const job = this.fleet.state.jobs.get(event.data.job_id);
    return job === undefined || evolveJobStatus(job.status, event).outcome;
  }

  /** `logAs`: how many envelopes this failure stands for in the log line (0: already logged). */
  private failure(message: WireMessage, err: unknown, logAs = 1): IngestOutcome {
    if (isCatalogError(err)) {
      return refused(message.id, 'invalid_payload', err.message, err.field?.replace(/^data\./, 'payload.'));
    }
    if (isEventStoreError(err, 'MaxAppendSizeExceeded')) {
      return refused(message.id, 'too_large', 'message is too large to store');
    }
    if (isEventStoreError(err, 'StreamDeleted')) {
      return refused(message.id, 'invalid_payload', 'the stream for this message was deleted');
    }
    if (logAs > 0) {
      this.logger.error(
        { err, envelope_id: message.id, type: message.type, envelopes: logAs },
        'could not append agent message; the agent will resend it',
      );
    }
    return retryLater(message.id);
  }

  /** docs/architecture.md, "Event catalog": a job's telemetry stream expires after `logRetentionDays`. */
  private ensureRetention(jobId: string): void {
    if (this.retentionSet.has(jobId)) return;
    this.retentionSet.add(jobId);
    const stream = jobLogStream(jobId);
    const maxAge = this.config.logRetentionDays * 86_400;
    void (async () => {
      const current = await this.store.getStreamMetadata(stream);
      if (current.maxAge !== maxAge) await this.store.setStreamMetadata(stream, { ...current, maxAge });
    })().catch((err: unknown) => {
      this.retentionSet.delete(jobId);
      this.logger.warn({ err, stream }, 'could not set log retention on stream');
    });
  }
}

/** Not stored and never will be: the agent gets an `error` naming why (and the field, if any). */
function refused(id: string, code: string, message: string, field?: string): IngestOutcome {
  return { id, ok: false, retry: false, error: { code, message, ...(field ? { field } : {}), ref_id: id } };
}

function retryLater(id: string): IngestOutcome {
  return {
    id,
    ok: false,
    retry: true,
    error: { code: 'store_unavailable', message: 'temporarily unable to store the message', ref_id: id },
  };
}

/**
 * An upper bound of an event's stored JSON (`[id,type,data,metadata]`) in
 * UTF-8 bytes, without serialising it: an escaped UTF-16 unit is at most 6 bytes.
 */
function eventBytesBound(event: EventData): number {
  return (
    5 +
    jsonBytesBound(event.id) +
    jsonBytesBound(event.type) +
    jsonBytesBound(event.data) +
    jsonBytesBound(event.metadata)
  );
}

function jsonBytesBound(value: unknown): number {
  if (typeof value === 'string') return 6 * value.length + 2;
  if (typeof value === 'number') return 24;
  if (typeof value !== 'object' || value === null) return 5;
  let n = 2;
  if (Array.isArray(value)) {
    for (const v of value as unknown[]) n += jsonBytesBound(v) + 1;
    return n;
  }
  const record = value as Record<string, unknown>;
  for (const k in record) n += 6 * k.length + 4 + jsonBytesBound(record[k]);
  return n;
}
