import { isEventStoreError, type AppendResult, type EventStore } from '@rf/event-store';
import type { EventData } from '@rf/events';
import { KeyedMutex } from '../core/keyed-mutex';

/**
 * How many of a stream's last events a resent agent message's original is looked
 * for in. An agent resends only envelopes not yet acked, right after it reconnects,
 * so its original (if stored) is among the stream's last few events: what follows
 * it is at most the reconnect's own events and orders given meanwhile.
 */
export const RESEND_TAIL_EVENTS = 64;
/** Other writers' appends raced in between reading the tail and appending: read again, this often. */
const MAX_RACES = 8;

/**
 * Appends one agent message's event unless the stream already holds it, on
 * every store and across restarts (docs/architecture.md,
 * "Writing"): the event id derives from the envelope id, the stream's tail is
 * read for it, and the append expects the exact revision that tail ended at,
 * so nothing can land between the check and the write. One agent's appends
 * are serialised (whatever their streams), which keeps its messages in arrival order.
 */
export class ResendGuardAppender {
  private readonly agents = new KeyedMutex();

  constructor(private readonly store: EventStore) {}

  /** The append's result, or `null` when the stream already holds this event (a resend). */
  append(hostId: string, stream: string, event: EventData): Promise<AppendResult | null> {
    return this.agents.run(hostId, () => this.appendOnce(stream, event));
  }

  private async appendOnce(stream: string, event: EventData): Promise<AppendResult | null> {
    /** The stream's last revision as a refused append reported it: events past their maxAge are not read back. */
    let reported: number | undefined;
    for (let race = 0; ; race++) {
      const tail = await this.readTail(stream, event.id);
      if (tail === 'present') return null;
      const expected = tail ?? reported ?? 'no_stream';
      try {
        return await this.store.append(stream, [event], { expectedRevision: expected });
      } catch (err) {
        if (!isEventStoreError(err) || err.code !== 'WrongExpectedVersion' || race >= MAX_RACES) throw err;
        reported = typeof err.details.actual === 'number' ? err.details.actual : undefined;
      }
    }
  }

  /** `present` when `id` is among the last events, else the last revision read (undefined: none readable). */
  private async readTail(stream: string, id: string): Promise<'present' | number | undefined> {
    let last: number | undefined;
    try {
      for await (const e of this.store.readStream(stream, {
        fromRevision: 'end',
        direction: 'backwards',
        maxCount: RESEND_TAIL_EVENTS,
      })) {
        last ??= e.revision;
        if (e.id === id) return 'present';
      }
    } catch (err) {
      if (!isEventStoreError(err) || (err.code !== 'StreamNotFound' && err.code !== 'StreamDeleted'))
        throw err;
    }
    return last;
  }
}
