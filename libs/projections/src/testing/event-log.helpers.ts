import type { AppendResult, EventStore } from '@rf/event-store';
import type { PlannedEvent } from './fleet-events.fixture';

/** Appends planned events in order, one append per run of events on the same stream. */
export async function appendAll(
  store: EventStore,
  events: readonly PlannedEvent[],
): Promise<AppendResult | null> {
  let last: AppendResult | null = null;
  let i = 0;
  while (i < events.length) {
    const stream = events[i]!.stream;
    let j = i;
    while (j < events.length && events[j]!.stream === stream) j++;
    last = await store.append(
      stream,
      events.slice(i, j).map((p) => p.event),
    );
    i = j;
  }
  return last;
}

/** Polls `check` every 10 ms until it is true or `timeoutMs` passes (then throws with `what`). */
export async function waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
