import { comparePositions, type Position, type RecordedEvent } from '@rf/events';
import { isSystemEvent, toClientPosition } from './esdb-event.mapper';

/** One raw read of `$all` as the server answers it, system records included. */
export type RawAllRead = (
  from: Position | 'start' | 'end',
  direction: 'forwards' | 'backwards',
  maxCount: number,
) => AsyncIterable<RecordedEvent>;

/** The client's "no limit" for maxCount. */
const UNBOUNDED = Number.MAX_SAFE_INTEGER;

/**
 * `$all` without system records (and, given `prefixes`, only streams whose
 * name starts with one of them), with the port's semantics on top of the
 * server's. The v6 client has no server-side filter on reads, so records are
 * filtered here and `maxCount` counts what is yielded (the raw read is
 * unbounded and abandoned once enough was yielded). The start position is
 * inclusive in both directions: a backwards read from an event's position
 * yields that event first, whether or not the server's backwards read
 * includes its start.
 */
export async function* readAllWithoutSystemEvents(
  raw: RawAllRead,
  from: Position | 'start' | 'end',
  direction: 'forwards' | 'backwards',
  maxCount: number | undefined,
  prefixes?: readonly string[],
): AsyncGenerator<RecordedEvent> {
  const wanted = (e: RecordedEvent): boolean =>
    !isSystemEvent(e) && (prefixes === undefined || prefixes.some((p) => e.streamId.startsWith(p)));
  const limit = maxCount ?? Number.POSITIVE_INFINITY;
  if (limit <= 0) return;
  let yielded = 0;
  const fromPosition: Position | 'start' | 'end' =
    from === 'start' || from === 'end' ? from : toClientPosition(from, 'fromPosition');
  const boundary = typeof fromPosition === 'object' && direction === 'backwards' ? fromPosition : undefined;
  if (boundary) {
    for await (const e of raw(boundary, 'forwards', 1)) {
      if (comparePositions(e.position, boundary) === 0 && wanted(e)) {
        yield e;
        yielded += 1;
      }
    }
    if (yielded >= limit) return;
  }
  for await (const e of raw(fromPosition, direction, UNBOUNDED)) {
    if (boundary && comparePositions(e.position, boundary) >= 0) continue;
    if (!wanted(e)) continue;
    yield e;
    yielded += 1;
    if (yielded >= limit) return;
  }
}

/** Events per page of `readAllPages` on EventStoreDB, whose client streams events one at a time. */
export const ESDB_PAGE = 1024;

/** Consecutive events of `events` in arrays of up to `size` (never an empty one). */
export async function* pagesOf(
  events: AsyncIterable<RecordedEvent>,
  size: number = ESDB_PAGE,
): AsyncGenerator<readonly RecordedEvent[]> {
  let page: RecordedEvent[] = [];
  for await (const e of events) {
    page.push(e);
    if (page.length >= size) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}
