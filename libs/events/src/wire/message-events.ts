import type { EventMetadataInput } from '../catalog/event-codec';
import { eventIdFromEnvelope, jobIdForScheduleFire } from '../catalog/event-ids';
import { currentSchemaVersion } from '../catalog/upcasters';
import type { EventData } from '../catalog/recorded-event';
import type { FleetEvent } from '../catalog/events';
import {
  hostStream,
  jobLogStream,
  jobStream,
  repositoryStream,
  schedulesStream,
  snapshotsStream,
} from '../catalog/streams';
import type { WireMessage } from './envelope';

/** Where an agent message lands in the log. */
export interface MessageEvent {
  readonly stream: string;
  readonly event: FleetEvent;
}

/** Copies only the defined values (optional wire fields may be absent or null). */
function defined<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== null) out[k] = v;
  return out as T;
}

/**
 * The event a durable agent message becomes, or null for messages that are not
 * events (heartbeat, server→agent types). Pure: times come from the envelope
 * (`ts`), ids from the message. Append with `eventIdFromEnvelope(message.id, 0)`
 * so a resent envelope deduplicates.
 */
export function eventForMessage(hostId: string, message: WireMessage): MessageEvent | null {
  switch (message.type) {
    case 'hello': {
      const p = message.payload;
      return {
        stream: hostStream(hostId),
        event: {
          type: 'AgentConnected',
          data: defined({
            host_id: hostId,
            protocol_version: p.protocol_version,
            agent_version: p.agent_version,
            restic_version: p.restic_version,
            hostname: p.hostname,
            os: p.os,
            arch: p.arch,
            boot_time: p.boot_time,
            connected_at: message.ts,
            capabilities: p.capabilities,
            allow_hooks: p.allow_hooks,
          }),
        },
      };
    }
    case 'schedule.ack':
      return {
        stream: schedulesStream(hostId),
        event: {
          type: 'SchedulesApplied',
          data: { host_id: hostId, version: message.payload.version, applied_at: message.payload.applied_at },
        },
      };
    case 'schedule.fire':
      return {
        stream: schedulesStream(hostId),
        event: {
          type: 'ScheduleFired',
          data: {
            host_id: hostId,
            schedule_id: message.payload.schedule_id,
            scheduled_at: message.payload.scheduled_at,
            job_id: jobIdForScheduleFire(message.id),
          },
        },
      };
    case 'command.result': {
      const p = message.payload;
      return {
        stream: jobStream(p.job_id),
        event: p.accepted
          ? { type: 'JobAccepted', data: { job_id: p.job_id, accepted_at: message.ts } }
          : {
              type: 'JobRejected',
              data: { job_id: p.job_id, error: p.error ?? 'rejected by the agent', rejected_at: message.ts },
            },
      };
    }
    case 'job.started': {
      const p = message.payload;
      return {
        stream: jobStream(p.job_id),
        event: {
          type: 'JobStarted',
          data: defined({
            job_id: p.job_id,
            kind: p.kind,
            started_at: p.started_at,
            restic_version: p.restic_version,
          }),
        },
      };
    }
    case 'job.progress': {
      const p = message.payload;
      return {
        stream: jobLogStream(p.job_id),
        event: {
          type: 'JobProgress',
          data: defined({
            job_id: p.job_id,
            percent_done: p.percent_done,
            files_done: p.files_done,
            total_files: p.total_files,
            bytes_done: p.bytes_done,
            total_bytes: p.total_bytes,
            eta_seconds: p.eta_seconds,
            throughput_bps: p.throughput_bps,
            ts: message.ts,
          }),
        },
      };
    }
    case 'job.finished': {
      const p = message.payload;
      return {
        stream: jobStream(p.job_id),
        event: {
          type: 'JobFinished',
          data: defined({
            job_id: p.job_id,
            status: p.status,
            exit_code: p.exit_code,
            finished_at: p.finished_at,
            stats: p.stats,
            error: p.error,
            error_code: p.error_code,
            log_lines: p.log_lines,
            dropped_log_lines: p.dropped_log_lines,
          }),
        },
      };
    }
    case 'log.stream': {
      const p = message.payload;
      return {
        stream: jobLogStream(p.job_id),
        event: {
          type: 'LogStreamLine',
          data: { job_id: p.job_id, seq: p.seq, ts: p.ts, stream: p.stream, payload: p.payload },
        },
      };
    }
    case 'log.dropped': {
      const p = message.payload;
      return {
        stream: jobLogStream(p.job_id),
        event: {
          type: 'LogLinesDropped',
          data: { job_id: p.job_id, from_seq: p.from_seq, to_seq: p.to_seq, count: p.count },
        },
      };
    }
    case 'snapshots.report': {
      const p = message.payload;
      return {
        stream: snapshotsStream(hostId),
        event: {
          type: 'SnapshotsReported',
          data: defined({
            host_id: hostId,
            job_id: p.job_id,
            repository_id: p.repository_id,
            snapshots: p.snapshots,
            reported_at: message.ts,
          }),
        },
      };
    }
    case 'repo.stats': {
      const p = message.payload;
      // Facts about a named repository belong to its stream; an older agent's to its host's.
      return {
        stream: p.repository_id !== undefined ? repositoryStream(p.repository_id) : hostStream(hostId),
        event: {
          type: 'RepoStatsReported',
          data: defined({
            host_id: hostId,
            job_id: p.job_id,
            repository_id: p.repository_id,
            total_size_bytes: p.total_size_bytes,
            raw_size_bytes: p.raw_size_bytes,
            snapshot_count: p.snapshot_count,
            file_count: p.file_count,
            compression_ratio: p.compression_ratio,
            last_check_at: p.last_check_at,
            last_check_status: p.last_check_status,
            reported_at: message.ts,
          }),
        },
      };
    }
    case 'heartbeat':
    case 'config.update':
    case 'schedule.set':
    case 'command.run':
    case 'command.cancel':
    case 'agent.update_available':
    case 'query.start':
    case 'query.cancel':
    case 'query.end':
    case 'query.error':
    case 'ack':
    case 'error':
      return null;
    default: {
      const _exhaustive: never = message;
      return _exhaustive;
    }
  }
}

/** Audit metadata for an event an agent message caused. `receivedAt` is injected (no clock reads here). */
export function metadataForMessage(
  hostId: string,
  message: WireMessage,
  receivedAt: string,
): EventMetadataInput {
  const payloadJobId = (message.payload as { job_id?: unknown }).job_id;
  const correlation = message.job_id ?? (typeof payloadJobId === 'string' ? payloadJobId : message.id);
  return {
    actor: { kind: 'agent', id: hostId },
    correlation_id: correlation,
    causation_id: message.id,
    envelope_id: message.id,
    received_at: receivedAt,
  };
}

/** What the control plane appends for one durable agent message. */
export interface MessageEventData {
  readonly stream: string;
  readonly eventData: EventData;
}

/**
 * The ingest hot path in one call: the message's event with its
 * envelope-derived id and agent metadata, ready to append. It does not run
 * `toEventData`'s validation again: `parseEnvelope` already validated every
 * field the event is built from, and the mapping is pure (specs check that
 * the result equals `toEventData`'s for every durable type).
 */
export function eventDataForMessage(
  hostId: string,
  message: WireMessage,
  receivedAt: string,
): MessageEventData | null {
  const mapped = eventForMessage(hostId, message);
  if (!mapped) return null;
  const { type, data } = mapped.event;
  return {
    stream: mapped.stream,
    eventData: {
      id: eventIdFromEnvelope(message.id, 0),
      type,
      data,
      metadata: {
        ...metadataForMessage(hostId, message, receivedAt),
        schema_version: currentSchemaVersion(type),
      },
    },
  };
}
