import { randomUUID } from 'node:crypto';
import { isEventStoreError, type EventStore } from './event-store.port';

/*
 * Which log is this? (docs/architecture.md, "Log identity"). Positions mean
 * nothing outside the log that issued them: a SQLite position 5000 and an
 * EventStoreDB position 5000 are different places, and so are two SQLite files.
 * Every log gets a random id the first time a control plane serves it, kept as
 * custom metadata of one stream that holds no events, so it never shows up in
 * `$all` and travels with the log (a copied `events.db`, an EventStoreDB
 * backup). Whatever stores positions from a log (read models, state
 * snapshots, checkpoints) records this id next to them.
 */

/** The stream whose metadata carries the log's id; it never holds events. */
export const LOG_IDENTITY_STREAM = 'rf-log-identity';

const idOf = (custom: Record<string, unknown> | undefined): string | null => {
  const id = custom?.['log_id'];
  return typeof id === 'string' && id.length > 0 ? id : null;
};

export interface LogIdentityOptions {
  /** Default LOG_IDENTITY_STREAM; the contract suite uses its own, as it shares servers. */
  readonly stream?: string;
  /** Default a random UUID. */
  readonly newId?: () => string;
}

/** The log's id, or null when no control plane has served this log yet. Read-only. */
export async function readLogIdentity(
  store: EventStore,
  options: LogIdentityOptions = {},
): Promise<string | null> {
  return idOf((await store.getStreamMetadata(options.stream ?? LOG_IDENTITY_STREAM)).custom);
}

/**
 * The log's id, created on first use. Safe when several nodes start at once
 * on one log: the id is written only where no metadata exists yet
 * (`no_stream` on the metadata stream), and a node that loses the race reads
 * the winner's.
 */
export async function ensureLogIdentity(
  store: EventStore,
  options: LogIdentityOptions = {},
): Promise<string> {
  const stream = options.stream ?? LOG_IDENTITY_STREAM;
  const existing = await readLogIdentity(store, options);
  if (existing) return existing;
  try {
    await store.setStreamMetadata(
      stream,
      { custom: { log_id: (options.newId ?? randomUUID)(), created_at: new Date().toISOString() } },
      { expectedRevision: 'no_stream' },
    );
  } catch (err) {
    if (!isEventStoreError(err, 'WrongExpectedVersion')) throw err;
  }
  const id = await readLogIdentity(store, options);
  if (!id) throw new Error(`the log's identity in the metadata of ${stream} is unreadable`);
  return id;
}
