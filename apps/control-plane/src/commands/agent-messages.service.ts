import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  EVENT_STORE,
  eventForMessage,
  eventIdFromEnvelope,
  isCatalogError,
  isEventStoreError,
  jobLogStream,
  metadataForMessage,
  toEventData,
  type EventStore,
  type WireMessage,
} from '@rf/events';
import { MetricsRegistry } from '../api/metrics.registry';
import { AppConfig } from '../config/app-config';
import { FLEET_STATE_PREFIXES } from './fleet-state';
import { FleetStateService } from './fleet-state.service';
import { ScheduleCommandsService } from './schedules.service';
import { WritePositions } from './write-positions';

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
const JOBLOG_TYPES = new Set<WireMessage['type']>(['job.progress', 'log.stream', 'log.dropped']);

/**
 * Turns durable agent messages into events. Each envelope is one append whose
 * event ids derive from the envelope id, so a resend after a reconnect is an
 * idempotent no-op; all appends of a batch are issued at once and the store's
 * group commit makes them one transaction.
 */
@Injectable()
export class AgentMessagesService {
  private readonly logger = new Logger(AgentMessagesService.name);
  /** Jobs whose joblog stream already carries the retention policy (per process). */
  private readonly retentionSet = new Set<string>();
  private readonly countAppended: (by?: number) => void;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly fleet: FleetStateService,
    private readonly schedules: ScheduleCommandsService,
    private readonly config: AppConfig,
    private readonly positions: WritePositions,
    metrics: MetricsRegistry,
  ) {
    this.countAppended = metrics.counter('rf_events_appended_total', 'Events appended from agent messages');
  }

  ingest(hostId: string, messages: readonly WireMessage[], receivedAt: string): Promise<IngestOutcome[]> {
    return Promise.all(messages.map((m) => this.ingestOne(hostId, m, receivedAt)));
  }

  private async ingestOne(hostId: string, message: WireMessage, receivedAt: string): Promise<IngestOutcome> {
    const jobId = JOB_SCOPED.has(message.type) ? (message.payload as { job_id: string }).job_id : undefined;
    if (jobId !== undefined) {
      const job = this.fleet.state.jobs.get(jobId);
      if (!job || job.hostId !== hostId) {
        return {
          id: message.id,
          ok: false,
          retry: false,
          error: {
            code: 'unknown_job',
            message: `job ${jobId} is not a job of this host`,
            field: 'payload.job_id',
            ref_id: message.id,
          },
        };
      }
    }
    const mapped = eventForMessage(hostId, message);
    if (!mapped) return { id: message.id, ok: true };
    try {
      const data = toEventData(
        mapped.event,
        metadataForMessage(hostId, message, receivedAt),
        eventIdFromEnvelope(message.id, 0),
      );
      const result = await this.store.append(mapped.stream, [data], { expectedRevision: 'any' });
      this.countAppended(1);
      this.positions.note(result.position);
      if (FLEET_STATE_PREFIXES.some((p) => mapped.stream.startsWith(p))) {
        // The next decision about this host (dispatch, JobLost) must see this event.
        await this.fleet.waitFor(result.position);
      }
      if (jobId !== undefined && JOBLOG_TYPES.has(message.type)) this.ensureRetention(jobId);
      if (message.type === 'schedule.fire') await this.schedules.onFire(hostId, message);
      return { id: message.id, ok: true };
    } catch (err) {
      if (isCatalogError(err)) {
        return {
          id: message.id,
          ok: false,
          retry: false,
          error: {
            code: 'invalid_payload',
            message: err.message,
            ...(err.field ? { field: err.field.replace(/^data\./, 'payload.') } : {}),
            ref_id: message.id,
          },
        };
      }
      if (isEventStoreError(err, 'MaxAppendSizeExceeded')) {
        return {
          id: message.id,
          ok: false,
          retry: false,
          error: { code: 'too_large', message: 'message is too large to store', ref_id: message.id },
        };
      }
      if (isEventStoreError(err, 'StreamDeleted')) {
        return {
          id: message.id,
          ok: false,
          retry: false,
          error: {
            code: 'invalid_payload',
            message: 'the stream for this message was deleted',
            ref_id: message.id,
          },
        };
      }
      this.logger.error(
        { err, host_id: hostId, envelope_id: message.id, type: message.type },
        'could not append agent message; the agent will resend it',
      );
      return {
        id: message.id,
        ok: false,
        retry: true,
        error: {
          code: 'store_unavailable',
          message: 'temporarily unable to store the message',
          ref_id: message.id,
        },
      };
    }
  }

  /** DESIGN.md §3: a job's telemetry stream expires after `logRetentionDays`. */
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
