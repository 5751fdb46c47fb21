import { currentSchemaVersion, isFleetEventType, type RecordedEvent } from '@rf/events';

/**
 * Test support for folds over the log: recorded events as the store would
 * deliver them (the next global position, the stream's next revision, the
 * event type's current schema version). Each recorder counts on its own.
 */
export function eventRecorder(): (
  streamId: string,
  type: string,
  data: Record<string, unknown>,
  receivedAt?: string,
) => RecordedEvent {
  let position = 0n;
  const revisions = new Map<string, number>();
  return (streamId, type, data, receivedAt = '2026-01-01T00:00:00.000Z') => {
    position += 1n;
    const revision = (revisions.get(streamId) ?? -1) + 1;
    revisions.set(streamId, revision);
    return {
      id: `00000000-0000-4000-8000-${position.toString().padStart(12, '0')}`,
      type,
      streamId,
      revision,
      position: { commit: position, prepare: position },
      data,
      metadata: {
        actor: { kind: 'user', id: 'u1' },
        correlation_id: 'c1',
        causation_id: 'c1',
        received_at: receivedAt,
        schema_version: isFleetEventType(type) ? currentSchemaVersion(type) : 1,
      },
      created: new Date(receivedAt),
    };
  };
}
