import type { RecordedEvent } from '@rf/events';
import type { SubscriptionItem } from '../event-store.port';

/**
 * Keeps one logical catch-up subscription alive across connection losses.
 *
 * The EventStoreDB client ends a subscription when the connection drops; it
 * does not resume it. This class reopens it through an injected `open`
 * function, with capped, jittered exponential backoff, always *after the last
 * event it delivered*, and drops anything at or before that cursor, so the
 * consumer sees neither a gap nor a duplicate.
 *
 * `caughtUp` is emitted once, by whichever comes first:
 *  - the client's own `caughtUp` signal (EventStoreDB 23.10 and later), or
 *  - the read-to-head fallback for older servers: `readHead()` returns the
 *    cursor of the last event the subscription would deliver at the time it
 *    starts (or null when there is none); once a delivered event or a server
 *    checkpoint reaches that cursor, the catch-up phase is over.
 *
 * The cursor type `C` is a `Position` for `$all` and a revision for a stream.
 */

export interface SubscriptionAttemptHandlers<C> {
  /** A matching event, with its cursor. */
  event(event: RecordedEvent, cursor: C): void;
  /** The subscription has seen the log up to `cursor` (a server checkpoint, or an event filtered out client-side). */
  checkpoint(cursor: C): void;
  /** The server confirmed the subscription: the connection works again. */
  confirmed(): void;
  caughtUp(): void;
  error(err: unknown): void;
  /** The server ended the subscription without an error. */
  end(): void;
}

export interface SubscriptionAttempt {
  close(): Promise<void> | void;
}

/** Opens one subscription that delivers events strictly after `after` (`start`: from the first event). */
export type OpenSubscription<C> = (
  after: C | 'start',
  handlers: SubscriptionAttemptHandlers<C>,
) => SubscriptionAttempt;

export interface BackoffOptions {
  /** First retry delay before jitter. Default 100 ms. */
  readonly initialMs?: number;
  /** Cap before jitter. Default 10 s. */
  readonly maxMs?: number;
  /** Default 2. */
  readonly factor?: number;
  /** Give up (error `Unavailable` via `mapError`) after this many consecutive failed attempts. Default: never. */
  readonly maxAttempts?: number;
}

export interface ResubscribingSubscriptionOptions<C> {
  readonly open: OpenSubscription<C>;
  /** Where the logical subscription starts (exclusive), or a function resolving it on the first attempt (e.g. `end` → the current head). */
  readonly from: C | 'start' | (() => Promise<C | 'start'>);
  readonly compare: (a: C, b: C) => number;
  /** Transient errors and clean ends lead to a resubscribe; anything else ends the subscription with `mapError(err)`. */
  readonly isTransient: (err: unknown) => boolean;
  readonly mapError: (err: unknown) => unknown;
  /** See the class comment. Omit to rely only on the client's `caughtUp` signal. */
  readonly readHead?: () => Promise<C | null>;
  readonly backoff?: BackoffOptions;
  /** Injected for tests; defaults to Math.random and setTimeout. */
  readonly random?: () => number;
  readonly schedule?: (fn: () => void, ms: number) => () => void;
  readonly next: (item: SubscriptionItem) => void;
  readonly fail: (err: unknown) => void;
  /** Called before each retry is scheduled (for logging; never gets secrets). */
  readonly onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

const defaultSchedule = (fn: () => void, ms: number): (() => void) => {
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
};

export class ResubscribingSubscription<C> {
  private readonly opts: ResubscribingSubscriptionOptions<C>;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly maxAttempts: number;
  private readonly random: () => number;
  private readonly schedule: (fn: () => void, ms: number) => () => void;

  private start: C | 'start' | undefined;
  private lastDelivered: C | undefined;
  private head: { readonly value: C | null } | undefined;
  private headRequested = false;
  private caughtUpEmitted = false;
  private stopped = false;
  private attemptNo = 0;
  private failures = 0;
  private current: SubscriptionAttempt | undefined;
  private cancelTimer: (() => void) | undefined;

  constructor(options: ResubscribingSubscriptionOptions<C>) {
    this.opts = options;
    this.initialMs = options.backoff?.initialMs ?? 100;
    this.maxMs = options.backoff?.maxMs ?? 10_000;
    this.factor = options.backoff?.factor ?? 2;
    this.maxAttempts = options.backoff?.maxAttempts ?? Number.POSITIVE_INFINITY;
    this.random = options.random ?? Math.random;
    this.schedule = options.schedule ?? defaultSchedule;
  }

  /** The cursor the next attempt resubscribes after. */
  get resumeFrom(): C | 'start' | undefined {
    return this.lastDelivered ?? this.start;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Delay before retry number `failures` (1-based): capped exponential with "equal jitter" (half fixed, half random). */
  backoffDelay(failures: number): number {
    const exp = Math.min(this.maxMs, this.initialMs * this.factor ** Math.max(0, failures - 1));
    return Math.round(exp / 2 + this.random() * (exp / 2));
  }

  begin(): void {
    void this.attempt();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    const attempt = this.current;
    this.current = undefined;
    if (attempt) await closeQuietly(attempt);
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    const id = ++this.attemptNo;
    if (this.start === undefined) {
      try {
        const from = this.opts.from;
        const resolved = typeof from === 'function' ? await (from as () => Promise<C | 'start'>)() : from;
        if (this.stopped || id !== this.attemptNo) return;
        this.start = resolved;
      } catch (err) {
        this.failed(id, err);
        return;
      }
    }
    this.requestHead();
    const after = this.lastDelivered ?? this.start;
    const live = (): boolean => !this.stopped && id === this.attemptNo;
    try {
      this.current = this.opts.open(after, {
        event: (event, cursor) => {
          if (!live()) return;
          this.failures = 0;
          this.deliver(event, cursor);
        },
        checkpoint: (cursor) => {
          if (live()) this.checkHead(cursor);
        },
        confirmed: () => {
          if (live()) this.failures = 0;
        },
        caughtUp: () => {
          if (live()) this.emitCaughtUp();
        },
        error: (err) => this.failed(id, err),
        end: () => this.failed(id, undefined),
      });
    } catch (err) {
      this.failed(id, err);
    }
  }

  private deliver(event: RecordedEvent, cursor: C): void {
    if (this.lastDelivered !== undefined && this.opts.compare(cursor, this.lastDelivered) <= 0) return;
    if (this.lastDelivered === undefined && this.start !== undefined && this.start !== 'start') {
      if (this.opts.compare(cursor, this.start) <= 0) return;
    }
    this.lastDelivered = cursor;
    this.opts.next({ kind: 'event', event });
    this.checkHead(cursor);
  }

  private requestHead(): void {
    const readHead = this.opts.readHead;
    if (!readHead || this.headRequested || this.caughtUpEmitted) return;
    this.headRequested = true;
    readHead().then(
      (value) => {
        if (this.stopped) return;
        this.head = { value };
        if (value === null) return this.emitCaughtUp();
        const seen = this.lastDelivered ?? this.start;
        if (seen !== undefined && seen !== 'start') this.checkHead(seen);
      },
      () => {
        // Retried on the next attempt; until then only the client's own signal can report caughtUp.
        this.headRequested = false;
      },
    );
  }

  private checkHead(cursor: C): void {
    if (this.caughtUpEmitted || !this.head) return;
    if (this.head.value === null || this.opts.compare(cursor, this.head.value) >= 0) this.emitCaughtUp();
  }

  private emitCaughtUp(): void {
    if (this.caughtUpEmitted || this.stopped) return;
    this.caughtUpEmitted = true;
    this.opts.next({ kind: 'caughtUp' });
  }

  /** `err === undefined` means the server ended the subscription cleanly: resubscribe as for a transient error. */
  private failed(id: number, err: unknown): void {
    if (this.stopped || id !== this.attemptNo) return;
    const attempt = this.current;
    this.current = undefined;
    if (attempt) void closeQuietly(attempt);
    if (err !== undefined && !this.opts.isTransient(err)) {
      this.stopped = true;
      this.opts.fail(this.opts.mapError(err));
      return;
    }
    this.failures += 1;
    if (this.failures > this.maxAttempts) {
      this.stopped = true;
      this.opts.fail(this.opts.mapError(err ?? new Error('subscription ended by the server')));
      return;
    }
    const delayMs = this.backoffDelay(this.failures);
    this.opts.onRetry?.({ attempt: this.failures, delayMs, error: err });
    this.attemptNo += 1; // a late callback from the failed attempt is now stale
    this.cancelTimer = this.schedule(() => {
      this.cancelTimer = undefined;
      void this.attempt();
    }, delayMs);
  }
}

async function closeQuietly(attempt: SubscriptionAttempt): Promise<void> {
  try {
    await attempt.close();
  } catch {
    // The attempt is being abandoned; a failure to close it changes nothing for the consumer.
  }
}
