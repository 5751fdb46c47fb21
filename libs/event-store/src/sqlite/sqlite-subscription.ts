import { Observable } from 'rxjs';
import type { RecordedEvent } from '@rf/events';
import type { SubscriptionItem } from '../event-store.port';

/** Tells subscriptions that new records were committed, or that the store closed. */
export class CommitSignal {
  private readonly listeners = new Set<{ wake: () => void; closed: (err: unknown) => void }>();

  listen(wake: () => void, closed: (err: unknown) => void): () => void {
    const entry = { wake, closed };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  committed(): void {
    for (const l of this.listeners) l.wake();
  }

  close(err: unknown): void {
    const all = [...this.listeners];
    this.listeners.clear();
    for (const l of all) l.closed(err);
  }
}

/** Reads the next page after its own cursor; `atHead` when the page came back short. */
export type PageReader = () => { readonly events: readonly RecordedEvent[]; readonly atHead: boolean };

/**
 * A pull loop: read pages after the last delivered record until one comes back
 * short (caught up), then sleep until the next commit. Because reads see only
 * committed records and records commit in position order, pulling
 * `position > last` can neither skip nor repeat a record at the catch-up/live
 * seam, however appends race with it.
 */
export function pullSubscription(signal: CommitSignal, open: () => PageReader): Observable<SubscriptionItem> {
  return new Observable<SubscriptionItem>((subscriber) => {
    let read: PageReader;
    try {
      read = open();
    } catch (err) {
      subscriber.error(err);
      return undefined;
    }
    let caughtUp = false;
    let scheduled = false;
    const run = (): void => {
      scheduled = false;
      if (subscriber.closed) return;
      let page: ReturnType<PageReader>;
      try {
        page = read();
      } catch (err) {
        subscriber.error(err);
        return;
      }
      for (const event of page.events) {
        subscriber.next({ kind: 'event', event });
        if (subscriber.closed) return;
      }
      if (!page.atHead) {
        schedule();
        return;
      }
      if (!caughtUp) {
        caughtUp = true;
        subscriber.next({ kind: 'caughtUp' });
      }
    };
    const schedule = (): void => {
      if (scheduled || subscriber.closed) return;
      scheduled = true;
      setImmediate(run);
    };
    const stop = signal.listen(schedule, (err) => subscriber.error(err));
    schedule();
    return stop;
  });
}
