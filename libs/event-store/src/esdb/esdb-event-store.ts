import {
  EventStoreDBClient,
  excludeSystemEvents,
  streamNameFilter,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type Filter,
  type ResolvedEvent,
  type StreamSubscription,
} from '@eventstore/db-client';
import { Observable } from 'rxjs';
import {
  DEFAULT_MAX_APPEND_SIZE,
  EventStoreError,
  type AppendOptions,
  type AppendResult,
  type DeleteStreamOptions,
  type EventStore,
  type ExpectedRevision,
  type ReadAllOptions,
  type ReadStreamOptions,
  type StreamMetadata,
  type SubscribeToAllOptions,
  type SubscribeToStreamOptions,
  type SubscriptionItem,
} from '../event-store.port';
import {
  START_POSITION,
  comparePositions,
  type EventData,
  type Position,
  type RecordedEvent,
} from '@rf/events';
import { parseEsdbConnectionString } from './esdb-connection-string';
import { isTransientEsdbError, mapEsdbError, type EsdbErrorContext } from './esdb-error.mapper';
import {
  fromClientPosition,
  fromClientRecordedEvent,
  fromClientRevision,
  fromClientStreamMetadata,
  isSystemEvent,
  toClientDeleteExpectedRevision,
  toClientEvents,
  toClientExpectedRevision,
  toClientPosition,
  toClientReadRevision,
  toClientRevision,
  toClientStreamMetadata,
  type ClientRecordedEventLike,
} from './esdb-event.mapper';
import {
  ResubscribingSubscription,
  type BackoffOptions,
  type SubscriptionAttempt,
  type SubscriptionAttemptHandlers,
} from './resubscribing-subscription';
import { InOrderSignals } from './in-order-signals';
import { pagesOf, readAllWithoutSystemEvents } from './esdb-all-reader';
import { assertStreamName, checkStreamNamePrefixes } from '../sqlite/event-input.validation';

export interface EsdbEventStoreOptions {
  /** `esdb://host:2113?tls=false`, `esdb+discover://…`, `kurrentdb://…`. May carry credentials; never logged. */
  readonly connectionString: string;
  /**
   * Client-side cap for one append, checked before anything is sent, so both
   * adapters reject the same appends. Keep it at or below the server's
   * `MaxAppendSize` (default 1 MiB); the server's own limit is still mapped.
   */
  readonly maxAppendSize?: number;
  /** Resubscribe backoff for subscriptions (defaults: 100 ms doubling, capped at 10 s, jittered). */
  readonly resubscribeBackoff?: BackoffOptions;
  /** Notified before each resubscribe; receives no secrets. */
  readonly onResubscribe?: (info: {
    subscription: string;
    attempt: number;
    delayMs: number;
    error: unknown;
  }) => void;
}

/** How far back `subscribeToAll` scans `$all` for the last matching event (the caughtUp fallback for older servers). */
const HEAD_SCAN_LIMIT = 1000;

/** The client's "no limit" for maxCount. */
const UNBOUNDED = Number.MAX_SAFE_INTEGER;

/**
 * The EventStoreDB/KurrentDB adapter of the EventStore port, over
 * `@eventstore/db-client` v6 (gRPC). Requires EventStoreDB 22.10 or later
 * (event positions on stream reads); `caughtUp` comes from the server on
 * 23.10+, and from a read-to-head comparison before that.
 */
export function createEsdbEventStore(options: EsdbEventStoreOptions): EventStore {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const parsed = parseEsdbConnectionString(options.connectionString, 'connectionString');
  const maxAppendSize = options.maxAppendSize ?? DEFAULT_MAX_APPEND_SIZE;
  if (!Number.isSafeInteger(maxAppendSize) || maxAppendSize <= 0) {
    throw new TypeError(`maxAppendSize must be a positive integer, got ${String(options.maxAppendSize)}`);
  }
  const client = EventStoreDBClient.connectionString(parsed.clientConnectionString);
  return new EsdbEventStore(client, { ...options, maxAppendSize });
}

export class EsdbEventStore implements EventStore {
  private closed = false;
  /** Live subscriptions: stopped and errored with `Closed` when the store closes, as the SQLite adapter does. */
  private readonly subscriptions = new Set<{ stop(): Promise<void>; closed(err: EventStoreError): void }>();
  private readonly maxAppendSize: number;

  constructor(
    private readonly client: EventStoreDBClient,
    private readonly options: Omit<EsdbEventStoreOptions, 'connectionString'> & { maxAppendSize: number },
  ) {
    this.maxAppendSize = options.maxAppendSize;
  }

  async append(
    stream: string,
    events: readonly EventData[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    this.assertOpen();
    assertStreamName(stream);
    const expected = options.expectedRevision ?? 'any';
    const expectedRevision = toClientExpectedRevision(expected);
    const clientEvents = toClientEvents(stream, events, this.maxAppendSize);
    const ctx = { stream, expected };
    const result = await this.call(ctx, () =>
      this.client.appendToStream(stream, clientEvents, { expectedRevision }),
    );
    return this.toAppendResult(stream, result, ctx, clientEvents.length);
  }

  readStream(stream: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    assertStreamName(stream);
    const direction = checkDirection(options.direction);
    const fromRevision = toClientReadRevision(
      options.fromRevision ?? (direction === 'backwards' ? 'end' : 'start'),
      'fromRevision',
    );
    const maxCount = checkMaxCount(options.maxCount);
    if (maxCount === 0) return { [Symbol.asyncIterator]: () => emptyIterator() };
    return {
      [Symbol.asyncIterator]: () =>
        this.iterate({ stream }, () =>
          this.client.readStream(stream, { fromRevision, direction, maxCount: maxCount ?? UNBOUNDED }),
        ),
    };
  }

  readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    const direction = checkDirection(options.direction);
    const maxCount = checkMaxCount(options.maxCount);
    const from = options.fromPosition ?? (direction === 'forwards' ? 'start' : 'end');
    if (from !== 'start' && from !== 'end') toClientPosition(from, 'fromPosition');
    const prefixes = checkStreamNamePrefixes(options.streamNamePrefixes);
    return { [Symbol.asyncIterator]: () => this.readAllIterator(from, direction, maxCount, prefixes) };
  }

  readAllPages(options: ReadAllOptions = {}): AsyncIterable<readonly RecordedEvent[]> {
    const events = this.readAll(options);
    return { [Symbol.asyncIterator]: () => pagesOf(events) };
  }

  subscribeToAll(options: SubscribeToAllOptions = {}): Observable<SubscriptionItem> {
    const prefixes = checkStreamNamePrefixes(options.streamNamePrefixes);
    const from = options.fromPosition ?? 'start';
    if (from !== 'start' && from !== 'end') toClientPosition(from, 'fromPosition');
    const matches = (e: { streamId: string; type: string }): boolean =>
      !isSystemEvent(e) && (prefixes === undefined || prefixes.some((p) => e.streamId.startsWith(p)));

    return this.observe<Position>('$all', {
      from: from === 'end' ? () => this.lastPositionInAll() : from,
      compare: comparePositions,
      readHead: () => this.lastMatchingPosition(matches),
      open: (after, h) => {
        const signals = new InOrderSignals();
        const checkpointReached = (_s: unknown, p: { commit: bigint; prepare: bigint }): void =>
          signals.signal(() => h.checkpoint(fromClientPosition(p)));
        const filter: Filter =
          prefixes === undefined
            ? excludeSystemEvents({ checkpointInterval: 1, checkpointReached })
            : streamNameFilter({ prefixes: [...prefixes], checkpointInterval: 1, checkpointReached });
        const sub: AllStreamSubscription = this.client.subscribeToAll({
          fromPosition: after === 'start' ? 'start' : toClientPosition(after, 'fromPosition'),
          filter,
        });
        return wireSubscription(sub, signals, h, (resolved: AllStreamResolvedEvent) => {
          const ev = resolved.event;
          if (!ev) return;
          // The server filters by stream name *or* by event type, never both; the rest is filtered here.
          if (!matches(ev)) return h.checkpoint(fromClientPosition(ev.position));
          deliverRecorded(ev, resolved.commitPosition, h, (e) => e.position);
        });
      },
    });
  }

  subscribeToStream(stream: string, options: SubscribeToStreamOptions = {}): Observable<SubscriptionItem> {
    assertStreamName(stream);
    const from = options.fromRevision ?? 'start';
    if (from !== 'start' && from !== 'end') toClientRevision(from, 'fromRevision');
    return this.observe<number>(stream, {
      from: from === 'end' ? async () => (await this.lastRevision(stream)) ?? 'start' : from,
      compare: (a, b) => a - b,
      readHead: () => this.lastRevision(stream),
      open: (after, h) => {
        const sub: StreamSubscription = this.client.subscribeToStream(stream, {
          fromRevision: after === 'start' ? 'start' : toClientRevision(after, 'fromRevision'),
        });
        return wireSubscription(sub, new InOrderSignals(), h, (resolved: ResolvedEvent) => {
          const ev = resolved.event;
          if (!ev) return;
          if (ev.type.startsWith('$')) return h.checkpoint(fromClientRevision(ev.revision));
          deliverRecorded(ev, resolved.commitPosition, h, (e) => e.revision);
        });
      },
    });
  }

  async setStreamMetadata(
    stream: string,
    metadata: StreamMetadata,
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    this.assertOpen();
    assertStreamName(stream);
    const expected = options.expectedRevision ?? 'any';
    const expectedRevision = toClientExpectedRevision(expected);
    const clientMetadata = toClientStreamMetadata(metadata);
    const ctx = { stream, expected };
    const result = await this.call(ctx, () =>
      this.client.setStreamMetadata(stream, clientMetadata, { expectedRevision }),
    );
    return this.toAppendResult(`$$${stream}`, result, ctx, 1);
  }

  async getStreamMetadata(stream: string): Promise<StreamMetadata> {
    this.assertOpen();
    assertStreamName(stream);
    // A tombstoned stream's metastream may still read fine; probing the stream itself reports StreamDeleted.
    const [result] = await Promise.all([
      this.call({ stream }, () => this.client.getStreamMetadata(stream)),
      this.lastRevision(stream),
    ]);
    return fromClientStreamMetadata(result.metadata);
  }

  async deleteStream(stream: string, options: DeleteStreamOptions = {}): Promise<void> {
    this.assertOpen();
    assertStreamName(stream);
    const expected = options.expectedRevision ?? 'any';
    toClientExpectedRevision(expected); // validates
    let exact: Exclude<ExpectedRevision, 'stream_exists'>;
    if (expected === 'stream_exists') {
      // The delete RPC has no "stream exists" condition; pin the current revision instead.
      const last = await this.lastRevision(stream);
      if (last === null) {
        throw new EventStoreError(
          'WrongExpectedVersion',
          `Wrong expected version on stream "${stream}": expected stream_exists, actual no_stream`,
          { stream, expected, actual: 'no_stream' },
        );
      }
      exact = last;
    } else {
      exact = expected;
    }
    const expectedRevision = toClientDeleteExpectedRevision(exact);
    const ctx = { stream, expected };
    await this.call(ctx, () =>
      options.hard
        ? this.client.tombstoneStream(stream, { expectedRevision })
        : this.client.deleteStream(stream, { expectedRevision }),
    );
  }

  async headPosition(): Promise<Position | null> {
    this.assertOpen();
    for await (const e of this.readAllIterator('end', 'backwards', 1)) return e.position;
    return null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const subs = [...this.subscriptions];
    this.subscriptions.clear();
    await Promise.all(subs.map((s) => s.stop()));
    for (const s of subs) s.closed(new EventStoreError('Closed', 'The event store was closed'));
    await this.client.dispose();
  }

  // --- internals -----------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new EventStoreError('Closed', 'The event store is closed');
  }

  private async call<T>(ctx: EsdbErrorContext, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.closed
        ? new EventStoreError('Closed', 'The event store is closed', {}, { cause: err })
        : mapEsdbError(err, ctx);
    }
  }

  private async toAppendResult(
    stream: string,
    result: {
      success: boolean;
      nextExpectedRevision: bigint;
      position?: { commit: bigint; prepare: bigint };
    },
    ctx: EsdbErrorContext,
    count: number,
  ): Promise<AppendResult> {
    if (!result.success) {
      // Only with throwOnAppendFailure=false, which the connection-string parser refuses; kept as a guard.
      const actual =
        result.nextExpectedRevision < 0n ? 'no_stream' : fromClientRevision(result.nextExpectedRevision);
      throw new EventStoreError(
        'WrongExpectedVersion',
        `Wrong expected version on stream "${ctx.stream ?? stream}"`,
        {
          stream: ctx.stream ?? stream,
          expected: ctx.expected,
          actual,
        },
      );
    }
    if (count === 0) {
      // Nothing was written: report the stream's last revision and the log head, as the SQLite adapter does.
      const last = await this.lastRevision(stream);
      return { nextExpectedRevision: last ?? -1, position: (await this.headPosition()) ?? START_POSITION };
    }
    const nextExpectedRevision = fromClientRevision(result.nextExpectedRevision);
    // The server's position is the write's; for one event it is that event's own $all position. For a
    // batch, or an idempotent retry (which comes back without one), read the last event's position so
    // it always equals what readStream/readAll/subscriptions report for that event.
    if (result.position && count === 1) {
      return { nextExpectedRevision, position: fromClientPosition(result.position) };
    }
    const position = await this.positionOfRevision(stream, nextExpectedRevision, result.position);
    return { nextExpectedRevision, position };
  }

  /** `fallback`: the server's write position, used when retention already hides the event. */
  private async positionOfRevision(
    stream: string,
    revision: number,
    fallback: Position | undefined,
  ): Promise<Position> {
    const read = this.client.readStream(stream, { fromRevision: BigInt(revision), maxCount: 1 });
    try {
      for await (const resolved of read) {
        if (resolved.event) return fromClientRecordedEvent(resolved.event, resolved.commitPosition).position;
      }
    } catch (err) {
      throw mapEsdbError(err, { stream });
    } finally {
      await read.cancel().catch(() => undefined);
    }
    if (fallback) return fromClientPosition(fallback);
    throw new EventStoreError(
      'StreamNotFound',
      `Event ${revision} of stream "${stream}" not found after append`,
      {
        stream,
      },
    );
  }

  /** The last revision of a stream, or null when it does not exist. */
  private async lastRevision(stream: string): Promise<number | null> {
    try {
      for await (const e of this.readStream(stream, {
        fromRevision: 'end',
        direction: 'backwards',
        maxCount: 1,
      })) {
        return e.revision;
      }
      return null;
    } catch (err) {
      if (err instanceof EventStoreError && err.code === 'StreamNotFound') return null;
      throw err;
    }
  }

  /** Position of the newest record in `$all`, system records included (where `end` points now). */
  private async lastPositionInAll(): Promise<Position | 'start'> {
    const read = this.client.readAll({ fromPosition: 'end', direction: 'backwards', maxCount: 1 });
    try {
      for await (const resolved of read) {
        if (resolved.event) return fromClientPosition(resolved.event.position);
      }
      return 'start';
    } catch (err) {
      throw mapEsdbError(err);
    } finally {
      await read.cancel().catch(() => undefined);
    }
  }

  /**
   * Cursor of the last event a `$all` subscription with this predicate would
   * deliver now, scanning back at most HEAD_SCAN_LIMIT records. When the scan
   * gives up, the newest record is returned: a later server checkpoint reaches it.
   */
  private async lastMatchingPosition(
    matches: (e: { streamId: string; type: string }) => boolean,
  ): Promise<Position | null> {
    const read = this.client.readAll({
      fromPosition: 'end',
      direction: 'backwards',
      maxCount: HEAD_SCAN_LIMIT,
    });
    let newest: Position | undefined;
    let scanned = 0;
    try {
      for await (const resolved of read) {
        const ev = resolved.event;
        if (!ev) continue;
        scanned += 1;
        newest ??= fromClientPosition(ev.position);
        if (matches(ev)) return fromClientPosition(ev.position);
      }
    } finally {
      await read.cancel().catch(() => undefined);
    }
    return scanned < HEAD_SCAN_LIMIT ? null : (newest ?? null);
  }

  private async *iterate(
    ctx: EsdbErrorContext,
    open: () => AsyncIterable<ResolvedEvent> & { cancel(): Promise<void> },
  ): AsyncGenerator<RecordedEvent> {
    this.assertOpen();
    const read = open();
    try {
      for await (const resolved of read) {
        if (!resolved.event) continue;
        yield fromClientRecordedEvent(resolved.event, resolved.commitPosition);
      }
    } catch (err) {
      throw this.closed
        ? new EventStoreError('Closed', 'The event store is closed', {}, { cause: err })
        : mapEsdbError(err, ctx);
    } finally {
      await read.cancel().catch(() => undefined);
    }
  }

  private readAllIterator(
    from: Position | 'start' | 'end',
    direction: 'forwards' | 'backwards',
    maxCount: number | undefined,
    prefixes?: readonly string[],
  ): AsyncGenerator<RecordedEvent> {
    this.assertOpen();
    return readAllWithoutSystemEvents(
      (f, d, n) => this.readAllRaw(f, d, n),
      from,
      direction,
      maxCount,
      prefixes,
    );
  }

  private readAllRaw(
    fromPosition: Position | 'start' | 'end',
    direction: 'forwards' | 'backwards',
    maxCount: number,
  ): AsyncGenerator<RecordedEvent> {
    return this.iterate(
      {},
      () =>
        this.client.readAll({
          fromPosition,
          direction,
          maxCount,
        }) as unknown as AsyncIterable<ResolvedEvent> & {
          cancel(): Promise<void>;
        },
    );
  }

  private observe<C>(
    name: string,
    spec: {
      from: C | 'start' | (() => Promise<C | 'start'>);
      compare: (a: C, b: C) => number;
      readHead: () => Promise<C | null>;
      open: (after: C | 'start', h: SubscriptionAttemptHandlers<C>) => SubscriptionAttempt;
    },
  ): Observable<SubscriptionItem> {
    return new Observable<SubscriptionItem>((subscriber) => {
      if (this.closed) {
        subscriber.error(new EventStoreError('Closed', 'The event store is closed'));
        return;
      }
      const onResubscribe = this.options.onResubscribe;
      const runner: ResubscribingSubscription<C> = new ResubscribingSubscription<C>({
        open: spec.open,
        from: spec.from,
        compare: spec.compare,
        readHead: spec.readHead,
        isTransient: isTransientEsdbError,
        mapError: (err) => mapEsdbError(err, name === '$all' ? {} : { stream: name }),
        backoff: this.options.resubscribeBackoff,
        next: (item) => subscriber.next(item),
        fail: (err) => {
          this.subscriptions.delete(entry);
          subscriber.error(err);
        },
        onRetry: onResubscribe
          ? ({ attempt, delayMs, error }) => onResubscribe({ subscription: name, attempt, delayMs, error })
          : undefined,
      });
      const entry = {
        stop: () => runner.stop(),
        closed: (err: EventStoreError) => subscriber.error(err),
      };
      this.subscriptions.add(entry);
      runner.begin();
      return () => {
        this.subscriptions.delete(entry);
        void runner.stop();
      };
    });
  }
}

/** Converts one delivered record and hands it on; a record that cannot be converted fails the attempt. */
function deliverRecorded<C>(
  ev: ClientRecordedEventLike,
  commitPosition: bigint | undefined,
  h: SubscriptionAttemptHandlers<C>,
  cursorOf: (e: RecordedEvent) => C,
): void {
  let recorded: RecordedEvent;
  try {
    recorded = fromClientRecordedEvent(ev, commitPosition);
  } catch (err) {
    return h.error(err);
  }
  h.event(recorded, cursorOf(recorded));
}

/** Connects a client subscription's events and signals to the attempt handlers, in delivery order. */
function wireSubscription<E>(
  sub: {
    on(event: string, listener: (...args: never[]) => void): unknown;
    readonly readableLength: number;
    unsubscribe(): Promise<void>;
    destroy(): void;
  },
  signals: InOrderSignals,
  h: { confirmed(): void; caughtUp(): void; error(err: unknown): void; end(): void },
  onData: (resolved: E) => void,
): SubscriptionAttempt {
  signals.attach(sub);
  sub.on('data', (resolved: E) => {
    try {
      onData(resolved);
    } finally {
      signals.itemDelivered();
    }
  });
  sub.on('confirmation', () => h.confirmed());
  sub.on('caughtUp', () => signals.signal(() => h.caughtUp()));
  sub.on('error', (err: Error) => h.error(err));
  sub.on('end', () => h.end());
  return {
    close: async () => {
      await sub.unsubscribe();
      sub.destroy();
    },
  };
}

// eslint-disable-next-line require-yield -- an async generator that yields nothing is the empty AsyncIterator
async function* emptyIterator(): AsyncGenerator<RecordedEvent> {
  return;
}

function checkDirection(direction: unknown): 'forwards' | 'backwards' {
  if (direction === undefined || direction === 'forwards') return 'forwards';
  if (direction === 'backwards') return 'backwards';
  throw new TypeError(`direction must be "forwards" or "backwards", got ${String(direction)}`);
}

function checkMaxCount(maxCount: unknown): number | undefined {
  if (maxCount === undefined) return undefined;
  if (typeof maxCount !== 'number' || !Number.isSafeInteger(maxCount) || maxCount < 0) {
    throw new TypeError(`maxCount must be a non-negative integer, got ${String(maxCount)}`);
  }
  return maxCount;
}
