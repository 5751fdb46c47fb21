import { Observable, type OperatorFunction } from 'rxjs';
import type { RecordedEvent } from '@rf/events';
import type { SubscriptionItem } from '@rf/event-store';

export interface EventBatch {
  readonly events: readonly RecordedEvent[];
  /** True when this batch ends at the point the subscription reported it had caught up. */
  readonly caughtUp: boolean;
}

/**
 * Groups subscription items into batches by count and by time, and flushes at
 * the moment the subscription catches up so read-your-writes never waits for
 * a timer. An empty batch is emitted only to report `caughtUp`.
 */
export function batchEvents(
  maxCount: number,
  maxWaitMs: number,
): OperatorFunction<SubscriptionItem, EventBatch> {
  return (source) =>
    new Observable<EventBatch>((subscriber) => {
      let buffer: RecordedEvent[] = [];
      let timer: NodeJS.Timeout | undefined;
      const flush = (caughtUp: boolean): void => {
        if (timer !== undefined) {
          clearTimeout(timer);
          timer = undefined;
        }
        if (buffer.length === 0 && !caughtUp) return;
        const events = buffer;
        buffer = [];
        subscriber.next({ events, caughtUp });
      };
      const sub = source.subscribe({
        next: (item) => {
          if (item.kind === 'caughtUp') return flush(true);
          buffer.push(item.event);
          if (buffer.length >= maxCount) flush(false);
          else if (timer === undefined) timer = setTimeout(() => flush(false), maxWaitMs);
        },
        error: (err: unknown) => {
          if (timer !== undefined) clearTimeout(timer);
          subscriber.error(err);
        },
        complete: () => {
          flush(false);
          subscriber.complete();
        },
      });
      return () => {
        if (timer !== undefined) clearTimeout(timer);
        sub.unsubscribe();
      };
    });
}
