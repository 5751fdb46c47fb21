import { randomUUID } from 'node:crypto';
import type { EventData, Position, RecordedEvent } from './recorded-event';
import { EVENT_DATA_CLASSES, type FleetEvent, isFleetEventType, type UnknownFleetEvent } from './events';
import { currentSchemaVersion, upcast } from './upcasters';
import {
  CatalogError,
  checkClass,
  type FieldIssue,
  isId,
  isPlainObject,
  isTimestamp,
  isUuid,
} from './validation';

export const ACTOR_KINDS = ['user', 'agent', 'schedule', 'system'] as const;
export type ActorKind = (typeof ACTOR_KINDS)[number];

/** Who caused an event: the audit trail's subject. */
export interface EventActor {
  readonly kind: ActorKind;
  readonly id: string;
  readonly name?: string;
}

export interface EventMetadata {
  readonly actor: EventActor;
  /** Ties together everything one request or schedule tick caused. */
  readonly correlation_id: string;
  /** The id of the event or envelope/request that directly caused this one. */
  readonly causation_id: string;
  /** The wire envelope an agent-reported event came from. */
  readonly envelope_id?: string;
  readonly received_at: string;
  /** Version of the payload schema; set by `toEventData` to the current one. */
  readonly schema_version: number;
  /**
   * When the event was first recorded, on an event copied from another log
   * (`restic-fleet migrate`): a store stamps each append with its own time, so
   * the copy carries the original here and readers take it as the event's time.
   */
  readonly original_created?: string;
}

/** The metadata key that carries an event's time across a copy into another log (docs/eventstoredb.md). */
export const ORIGINAL_CREATED_KEY = 'original_created';

/** The event's own time: the original one for an event copied from another log, else the store's. */
export function recordedTime(recorded: Pick<RecordedEvent, 'metadata' | 'created'>): Date {
  const m = recorded.metadata;
  if (isPlainObject(m) && typeof m[ORIGINAL_CREATED_KEY] === 'string' && isTimestamp(m[ORIGINAL_CREATED_KEY])) {
    return new Date(m[ORIGINAL_CREATED_KEY]);
  }
  return recorded.created;
}

/** What a writer passes: `schema_version` is filled in. */
export type EventMetadataInput = Omit<EventMetadata, 'schema_version'> & { readonly schema_version?: number };

/** A read event: typed payload (upcast to the current version) plus where it sits in the log. */
export type StoredFleetEvent = (FleetEvent | UnknownFleetEvent) & {
  readonly id: string;
  readonly streamId: string;
  readonly revision: number;
  readonly position: Position;
  readonly created: Date;
  readonly metadata: EventMetadata;
};

function metadataIssues(m: unknown): FieldIssue[] {
  const bad = (field: string, text: string): FieldIssue[] => [{ field, message: `${field} ${text}` }];
  if (!isPlainObject(m)) return bad('metadata', 'must be an object');
  const actor = m.actor;
  if (!isPlainObject(actor)) return bad('metadata.actor', 'must be an object');
  if (!(ACTOR_KINDS as readonly unknown[]).includes(actor.kind))
    return bad('metadata.actor.kind', `must be one of: ${ACTOR_KINDS.join(', ')}`);
  if (!isId(actor.id)) return bad('metadata.actor.id', 'must be an id of 1-128 characters [A-Za-z0-9._:-]');
  if (actor.name !== undefined && (typeof actor.name !== 'string' || actor.name.length > 256)) {
    return bad('metadata.actor.name', 'must be a string of at most 256 characters');
  }
  if (!isId(m.correlation_id))
    return bad('metadata.correlation_id', 'must be an id of 1-128 characters [A-Za-z0-9._:-]');
  if (!isId(m.causation_id))
    return bad('metadata.causation_id', 'must be an id of 1-128 characters [A-Za-z0-9._:-]');
  if (m.envelope_id !== undefined && !isUuid(m.envelope_id))
    return bad('metadata.envelope_id', 'must be a UUID');
  if (!isTimestamp(m.received_at))
    return bad('metadata.received_at', 'must be an ISO-8601 timestamp with a time zone');
  if (
    m.schema_version !== undefined &&
    !(Number.isSafeInteger(m.schema_version) && (m.schema_version as number) >= 1)
  ) {
    return bad('metadata.schema_version', 'must be a positive integer');
  }
  return [];
}

const fail = (
  code: 'invalid_event' | 'unknown_event_type' | 'invalid_metadata',
  issues: FieldIssue[],
): never => {
  throw new CatalogError(code, issues.map((i) => i.message).join('; '), issues);
};

/**
 * Validates an event and its metadata and turns them into what the store appends.
 * Throws `CatalogError` (`unknown_event_type` | `invalid_event` | `invalid_metadata`)
 * whose `field` names the first bad field (`data.host_id`, `metadata.actor.kind`).
 * Unknown payload fields are rejected: on the write path they are bugs.
 * Pass `id` (e.g. `eventIdFromEnvelope(...)`) to make retries idempotent.
 */
export function toEventData(event: FleetEvent, metadata: EventMetadataInput, id?: string): EventData {
  const type: unknown = (event as { type?: unknown } | null)?.type;
  if (!isFleetEventType(type))
    fail('unknown_event_type', [
      { field: 'type', message: `type ${JSON.stringify(type)} is not a known event type` },
    ]);
  const t = type as FleetEvent['type'];
  const checked = checkClass(EVENT_DATA_CLASSES[t] as new () => object, event.data, 'data', {
    unknown: 'reject',
  });
  if (!checked.ok) fail('invalid_event', checked.issues);
  const metaIssues = metadataIssues(metadata);
  if (metaIssues.length > 0) fail('invalid_metadata', metaIssues);
  if (id !== undefined && !isUuid(id)) fail('invalid_event', [{ field: 'id', message: 'id must be a UUID' }]);
  return {
    id: id ?? randomUUID(),
    type: t,
    data: event.data,
    metadata: { ...metadata, schema_version: currentSchemaVersion(t) },
  };
}

function readMetadata(raw: unknown, created: Date): EventMetadata {
  if (isPlainObject(raw) && typeof raw.schema_version === 'number' && isPlainObject(raw.actor))
    return raw as unknown as EventMetadata;
  const m = isPlainObject(raw) ? raw : {};
  return {
    actor: isPlainObject(m.actor) ? (m.actor as unknown as EventActor) : { kind: 'system', id: 'unknown' },
    correlation_id: typeof m.correlation_id === 'string' ? m.correlation_id : '',
    causation_id: typeof m.causation_id === 'string' ? m.causation_id : '',
    ...(typeof m.envelope_id === 'string' ? { envelope_id: m.envelope_id } : {}),
    received_at: typeof m.received_at === 'string' ? m.received_at : created.toISOString(),
    schema_version: typeof m.schema_version === 'number' ? m.schema_version : 1,
  };
}

/**
 * Turns a recorded event into a typed one. Runs upcasters but does not
 * re-validate (the write path did; projections replay millions of events).
 * Event types this build does not know come back as `{ type: 'unknown' }`.
 */
export function fromRecorded(recorded: RecordedEvent): StoredFleetEvent {
  const created = recordedTime(recorded);
  const metadata = readMetadata(recorded.metadata, created);
  const type = recorded.type;
  // One object literal per event: this runs for every event of every catch-up and rebuild.
  if (!isFleetEventType(type)) {
    return {
      type: 'unknown',
      original_type: type,
      data: recorded.data,
      id: recorded.id,
      streamId: recorded.streamId,
      revision: recorded.revision,
      position: recorded.position,
      created,
      metadata,
    };
  }
  const data =
    metadata.schema_version < currentSchemaVersion(type)
      ? upcast(type, metadata.schema_version, recorded.data)
      : recorded.data;
  return {
    type,
    data,
    id: recorded.id,
    streamId: recorded.streamId,
    revision: recorded.revision,
    position: recorded.position,
    created,
    metadata,
  } as StoredFleetEvent;
}
