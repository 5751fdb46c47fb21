import { AsyncLocalStorage } from 'node:async_hooks';
import { comparePositions, type Position } from '@rf/events';

/** One HTTP request's part in read-your-writes (docs/architecture.md, "Several nodes"). */
export interface RequestPositions {
  /** The newest position this client wrote through any node, as it told us; null when it did not. */
  readonly seen: Position | null;
  /** Called with each position this request appends. */
  noted(position: Position): void;
}

const later = (a: Position | null, b: Position | null): Position | null =>
  a === null ? b : b === null || comparePositions(a, b) >= 0 ? a : b;

/**
 * The newest position this process appended, and within an HTTP request the
 * newest one its client wrote on any node. Read endpoints wait for the read
 * models to reach `latest`, so a write followed by a read sees its own change,
 * on the node that wrote it and, for a client that keeps cookies, on the others.
 */
export class WritePositions {
  private last: Position | null = null;
  private readonly requests = new AsyncLocalStorage<RequestPositions>();

  /** Runs `fn` (an HTTP request's handling) with that request's positions. */
  runRequest<T>(request: RequestPositions, fn: () => T): T {
    return this.requests.run(request, fn);
  }

  note(position: Position): void {
    if (this.last === null || comparePositions(position, this.last) > 0) this.last = position;
    this.requests.getStore()?.noted(position);
  }

  get latest(): Position | null {
    return later(this.last, this.requests.getStore()?.seen ?? null);
  }
}

/** `commit.prepare`, decimal: how a position travels in a cookie. */
export function formatPosition(p: Position): string {
  return `${p.commit}.${p.prepare}`;
}

/** The position `formatPosition` wrote; null for anything else (a bad cookie is ignored, not an error). */
export function parsePosition(raw: string | undefined): Position | null {
  const m = raw === undefined ? null : /^(\d{1,20})\.(\d{1,20})$/.exec(raw);
  return m ? { commit: BigInt(m[1]!), prepare: BigInt(m[2]!) } : null;
}
