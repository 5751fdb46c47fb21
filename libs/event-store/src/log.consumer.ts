import type { Subscription } from 'rxjs';
import { comparePositions, type Position, type RecordedEvent } from '@rf/events';
import { isEventStoreError, type EventStore, type SubscriptionItem } from './event-store.port';

/** What the handler gets: events in log order, and where the consumer stands after them. */
export interface LogBatch {
  /** The events that passed the filter (possibly none: a batch may only report `caughtUp` or move `position`). */
  readonly events: readonly RecordedEvent[];
  /** The last position this batch covers; events skipped by `eventTypes` count as covered. Null: nothing yet. */
  readonly position: Position | null;
  /** This batch ends where the subscription reported it had caught up with the live log. */
  readonly caughtUp: boolean;
}

/**
 * What a handler may return: nothing (the batch is applied), or a position to
 * start over from (its own state moved under it, e.g. a rebuild swapped
 * read-model tables in); the batch then counts as not applied.
 */
export type LogBatchOutcome = void | { readonly restartFrom: Position | null };

export interface LogConsumerOptions {
  /** Names the consumer in errors. */
  readonly name: string;
  /** Exclusive start: the last position already applied; null (default) = from the first event. */
  readonly from?: Position | null;
  /** Only streams whose names start with one of these (filtered by the store, server-side on EventStoreDB). */
  readonly streamPrefixes?: readonly string[];
  /** Only events of these types reach the handler; the others still move the position. */
  readonly eventTypes?: readonly string[];
  /** Largest batch. Default 1000. */
  readonly batchSize?: number;
  /**
   * How long a partial batch waits for more events. Default 0: it is handed
   * over as soon as the store pauses (one page of catch-up, or one commit live).
   */
  readonly batchWaitMs?: number;
  /** First delay before resubscribing after a failure; doubles up to `maxRetryMs`. Default 200 ms. */
  readonly retryMs?: number;
  /** Default 5000 ms. */
  readonly maxRetryMs?: number;
  /** Told about every failure; `retrying` is false when the consumer gave up (the store was closed). */
  readonly onError?: (err: unknown, retrying: boolean) => void;
  readonly now?: () => number;
}

export interface LogConsumerLag {
  /** The last position applied; null = nothing applied. */
  readonly position: Position | null;
  readonly head: Position | null;
  /**
   * `head.commit - position.commit`: exact for the SQLite store (commit = global
   * sequence, counting every record); a byte distance on EventStoreDB. A
   * consumer with a stream filter that is live with nothing pending reports 0:
   * what lies between it and the head is outside its filter.
   */
  readonly eventsBehind: number;
  /** Age of the oldest event not yet applied (its recorded time to now); 0 when nothing is pending. */
  readonly msBehind: number;
  readonly caughtUp: boolean;
  readonly running: boolean;
  readonly lastError: string | null;
  readonly eventsApplied: number;
}

export type LogConsumerErrorCode = 'WaitTimeout' | 'Stopped';

export class LogConsumerError extends Error {
  constructor(
    readonly code: LogConsumerErrorCode,
    message: string,
    readonly details: Record<string, string | number | null> = {},
  ) {
    super(message);
    this.name = 'LogConsumerError';
  }
}

export const isLogConsumerError = (err: unknown, code?: LogConsumerErrorCode): err is LogConsumerError =>
  err instanceof LogConsumerError && (code === undefined || err.code === code);

interface Waiter {
  readonly position: Position;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * The one way to follow the log (docs/architecture.md, "Who follows it"):
 * catch up from a checkpoint, then stay live, in batches.
 *
 * - Starts after `from`, optionally only on some streams (`streamPrefixes`) or event types.
 * - Hands the handler batches by count and by time; the handler applies them
 *   synchronously (a throw means "not applied").
 * - Reports `caughtUp` explicitly, in the batch and through `whenCaughtUp`.
 * - `waitForPosition(p)` resolves once a batch covering `p` was applied (read-your-writes).
 * - `lag()` says how far behind it is, in events and in age of the oldest unapplied event.
 * - A failed subscription or batch is retried from the last applied position
 *   with capped exponential backoff; a closed store stops it for good.
 *
 * Built only on `EventStore.subscribeToAll`, so it works on every adapter.
 */
export class LogConsumer {
  private readonly batchSize: number;
  private readonly batchWaitMs: number;
  private readonly retryMs: number;
  private readonly maxRetryMs: number;
  private readonly types: ReadonlySet<string> | undefined;
  private readonly now: () => number;
  private applied: Position | null;
  private subscription: Subscription | undefined;
  /** Bumped on every (re)subscription, so late items of a dropped one are ignored. */
  private epoch = 0;
  private running = false;
  private live = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay: number;
  private lastError: string | null = null;
  private eventsApplied = 0;
  private buffer: RecordedEvent[] = [];
  /** The last position received (applied or buffered). */
  private received: Position | null;
  private flushTimer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private waiters: Waiter[] = [];
  private caughtUpWaiters: Array<(ok: boolean) => void> = [];

  constructor(
    private readonly store: EventStore,
    private readonly handle: (batch: LogBatch) => LogBatchOutcome,
    private readonly options: LogConsumerOptions,
  ) {
    this.batchSize = positiveInt(options.batchSize ?? 1000, 'batchSize');
    this.batchWaitMs = nonNegative(options.batchWaitMs ?? 0, 'batchWaitMs');
    this.retryMs = positiveInt(options.retryMs ?? 200, 'retryMs');
    this.maxRetryMs = Math.max(this.retryMs, positiveInt(options.maxRetryMs ?? 5000, 'maxRetryMs'));
    this.retryDelay = this.retryMs;
    this.types = options.eventTypes ? new Set(options.eventTypes) : undefined;
    this.now = options.now ?? Date.now;
    this.applied = options.from ?? null;
    this.received = this.applied;
  }

  /** The last position applied (null = nothing yet). */
  get position(): Position | null {
    return this.applied;
  }

  /** True while the current subscription is live and everything it delivered is applied. */
  get caughtUp(): boolean {
    return this.live && this.buffer.length === 0;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Subscribes after `from` when given (else after the position reached so far, initially `options.from`). */
  start(from?: Position | null): void {
    if (this.running) return;
    if (from !== undefined) this.applied = from;
    this.running = true;
    this.subscribe();
  }

  /** Unsubscribes; pending waits reject with `Stopped`, pending `whenCaughtUp` resolve false. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.dropSubscription();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const err = new LogConsumerError('Stopped', `${this.options.name} stopped`);
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    for (const w of this.caughtUpWaiters.splice(0)) w(false);
  }

  /** Resolves once a batch covering `position` was applied; rejects with `WaitTimeout` or `Stopped`. */
  waitForPosition(position: Position, timeoutMs: number): Promise<void> {
    if (this.reached(position)) return Promise.resolve();
    if (!this.running)
      return Promise.reject(new LogConsumerError('Stopped', `${this.options.name} is not running`));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new LogConsumerError(
            'WaitTimeout',
            `${this.options.name} did not reach position ${position.commit} within ${timeoutMs} ms (at ${this.applied?.commit ?? 'the start'})`,
            {
              position: position.commit.toString(),
              applied: this.applied?.commit.toString() ?? null,
              timeoutMs,
            },
          ),
        );
      }, timeoutMs);
      const waiter: Waiter = { position, resolve, reject, timer };
      this.waiters.push(waiter);
    });
  }

  /** Resolves true once caught up with the live log, false after `timeoutMs` or on stop. */
  whenCaughtUp(timeoutMs: number): Promise<boolean> {
    if (this.caughtUp) return Promise.resolve(true);
    if (!this.running) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.caughtUpWaiters = this.caughtUpWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        resolve(ok);
      };
      this.caughtUpWaiters.push(done);
    });
  }

  /** One read of the head, plus one indexed read of the log when something is pending. */
  async lag(): Promise<LogConsumerLag> {
    const head = await this.store.headPosition();
    const position = this.applied;
    const idle = this.caughtUp;
    let eventsBehind = 0;
    let msBehind = 0;
    const filtered = (this.options.streamPrefixes?.length ?? 0) > 0;
    if (head !== null && !(filtered && idle)) {
      const behind = head.commit - (position?.commit ?? 0n);
      eventsBehind = behind > 0n ? Number(behind) : 0;
    }
    if (this.buffer.length > 0) msBehind = this.ageOf(this.buffer[0]!);
    else if (eventsBehind > 0) msBehind = await this.ageOfFirstAfter(position);
    return {
      position,
      head,
      eventsBehind,
      msBehind,
      caughtUp: idle && eventsBehind === 0,
      running: this.running,
      lastError: this.lastError,
      eventsApplied: this.eventsApplied,
    };
  }

  private ageOf(event: RecordedEvent): number {
    return Math.max(0, this.now() - event.created.getTime());
  }

  private async ageOfFirstAfter(position: Position | null): Promise<number> {
    for await (const e of this.store.readAll({ fromPosition: position ?? 'start', maxCount: 2 })) {
      // readAll includes its start, which is already applied.
      if (position !== null && comparePositions(e.position, position) <= 0) continue;
      return this.ageOf(e);
    }
    return 0;
  }

  private reached(position: Position): boolean {
    return this.applied !== null && comparePositions(this.applied, position) >= 0;
  }

  private subscribe(): void {
    this.live = false;
    this.buffer = [];
    this.received = this.applied;
    const epoch = ++this.epoch;
    const current = (): boolean => epoch === this.epoch;
    const prefixes = this.options.streamPrefixes;
    let sub: Subscription;
    try {
      sub = this.store
        .subscribeToAll({
          fromPosition: this.applied ?? 'start',
          ...(prefixes && prefixes.length > 0 ? { streamNamePrefixes: prefixes } : {}),
        })
        .subscribe({
          next: (item) => current() && this.onItem(item),
          error: (err: unknown) => current() && this.fail(err),
          complete: () =>
            current() && this.fail(new Error(`${this.options.name}: the subscription ended unexpectedly`)),
        });
    } catch (err) {
      this.fail(err);
      return;
    }
    // The source may have emitted synchronously and already replaced this subscription.
    if (current()) this.subscription = sub;
    else sub.unsubscribe();
  }

  private dropSubscription(): void {
    this.epoch++;
    this.clearFlushTimer();
    this.buffer = [];
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }

  private onItem(item: SubscriptionItem): void {
    if (item.kind === 'caughtUp') {
      this.flush(true);
      return;
    }
    const event = item.event;
    this.received = event.position;
    if (this.types === undefined || this.types.has(event.type)) this.buffer.push(event);
    if (this.buffer.length >= this.batchSize) this.flush(false);
    else if (this.flushTimer === undefined) {
      const flush = (): void => {
        this.flushTimer = undefined;
        this.flush(false);
      };
      this.flushTimer = this.batchWaitMs > 0 ? setTimeout(flush, this.batchWaitMs) : setImmediate(flush);
    }
  }

  private clearFlushTimer(): void {
    if (this.flushTimer === undefined) return;
    clearTimeout(this.flushTimer as NodeJS.Timeout);
    clearImmediate(this.flushTimer as NodeJS.Immediate);
    this.flushTimer = undefined;
  }

  private flush(caughtUp: boolean): void {
    this.clearFlushTimer();
    const position = this.received;
    const moved =
      position !== null && (this.applied === null || comparePositions(position, this.applied) > 0);
    if (this.buffer.length === 0 && !moved && !(caughtUp && !this.live)) return;
    const events = this.buffer;
    this.buffer = [];
    const epoch = this.epoch;
    let outcome: LogBatchOutcome;
    try {
      outcome = this.handle({ events, position, caughtUp });
    } catch (err) {
      if (epoch === this.epoch) this.fail(err);
      return;
    }
    // The handler may have stopped or restarted this consumer.
    if (epoch !== this.epoch || !this.running) return;
    if (outcome) {
      this.restartFrom(outcome.restartFrom);
      return;
    }
    this.applied = position;
    this.eventsApplied += events.length;
    this.retryDelay = this.retryMs;
    this.lastError = null;
    if (caughtUp) this.live = true;
    this.release();
  }

  private release(): void {
    if (this.waiters.length > 0) {
      const still: Waiter[] = [];
      for (const w of this.waiters) {
        if (this.reached(w.position)) {
          clearTimeout(w.timer);
          w.resolve();
        } else still.push(w);
      }
      this.waiters = still;
    }
    if (this.caughtUp) for (const w of this.caughtUpWaiters.splice(0)) w(true);
  }

  private restartFrom(position: Position | null): void {
    this.dropSubscription();
    this.applied = position;
    this.subscribe();
  }

  private fail(err: unknown): void {
    this.lastError = err instanceof Error ? err.message : String(err);
    this.dropSubscription();
    this.live = false;
    if (!this.running) return;
    if (isEventStoreError(err, 'Closed')) {
      this.options.onError?.(err, false);
      this.stop();
      return;
    }
    this.options.onError?.(err, true);
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, this.maxRetryMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.running) this.subscribe();
    }, delay);
  }
}

function positiveInt(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a number >= 0`);
  return value;
}
