import * as path from 'node:path';
import Database from 'better-sqlite3';
import { dumpReadModels } from '@rf/projections';
import { createSqliteEventStore, isEventStoreError, type StreamMetadata } from '@rf/event-store';
import { type RecordedEvent } from '@rf/events';

/**
 * Reads a control plane's embedded event log from its data dir, read-only,
 * next to the running process (WAL allows it). Tests assert on the log itself.
 */
export async function readStream(dataDir: string, stream: string): Promise<RecordedEvent[]> {
  const store = createSqliteEventStore({ path: path.join(dataDir, 'events.db'), readonly: true });
  try {
    const out: RecordedEvent[] = [];
    for await (const e of store.readStream(stream)) out.push(e);
    return out;
  } catch (err) {
    if (isEventStoreError(err, 'StreamNotFound')) return [];
    throw err;
  } finally {
    await store.close();
  }
}

export async function streamMetadata(dataDir: string, stream: string): Promise<StreamMetadata> {
  const store = createSqliteEventStore({ path: path.join(dataDir, 'events.db'), readonly: true });
  try {
    return await store.getStreamMetadata(stream);
  } finally {
    await store.close();
  }
}

/** Polls `readStream` until `pred` holds (bounded). */
export async function waitForStream(
  dataDir: string,
  stream: string,
  pred: (events: RecordedEvent[]) => boolean,
  timeoutMs = 10_000,
): Promise<RecordedEvent[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = await readStream(dataDir, stream);
    if (pred(events)) return events;
    if (Date.now() > deadline) {
      throw new Error(
        `stream ${stream} did not reach the expected state within ${timeoutMs} ms; has: ${events.map((e) => e.type).join(', ')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const typesOf = (events: readonly RecordedEvent[]): string[] => events.map((e) => e.type);

/** Every read-model table of a control plane's data dir (`readmodels.db`), read-only, for comparing two of them. */
export function dumpReadModelsOf(dataDir: string): ReturnType<typeof dumpReadModels> {
  const db = new Database(path.join(dataDir, 'readmodels.db'), { readonly: true, fileMustExist: true });
  try {
    return dumpReadModels(db);
  } finally {
    db.close();
  }
}
