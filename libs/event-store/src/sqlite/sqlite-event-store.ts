import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Observable } from 'rxjs';
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
import { type EventData, type Position, type RecordedEvent } from '@rf/events';
import {
  assertExpectedRevision,
  assertStreamMetadata,
  assertStreamName,
  serializeEvents,
  type SerializedEvent,
  checkStreamNamePrefixes,
} from './event-input.validation';
import {
  EVENT_COLUMNS,
  FIRST_ID_SQL,
  MAX_ROW_EVENTS,
  bodyHead,
  completeBody,
  completeMultiBody,
  expandRow,
  SQLITE_EVENTS_ADD_COUNT,
  SQLITE_EVENTS_READABLE_VERSIONS,
  SQLITE_EVENTS_SCHEMA,
  SQLITE_EVENTS_SCHEMA_VERSION,
  STREAM_LIVE,
  STREAM_SOFT_DELETED,
  STREAM_TOMBSTONED,
  metastreamOf,
  positionOf,
  type EventRow,
  type RowFilter,
} from './sqlite-event.schema';
import { EventPages, PagedReader, type NextPage } from './sqlite-paged-reader';
import { CommitSignal, pullSubscription, type PageReader } from './sqlite-subscription';
import { SqliteWriteQueue } from './sqlite-write-queue';
import { SqliteWalCheckpointer } from './sqlite-wal.checkpointer';
import { inspectSqliteWal, walHasTornTail } from './sqlite-wal.inspector';

export interface SqliteEventStoreOptions {
  /** The database file; its directory is created if missing. */
  readonly path: string;
  /** `FULL` (default) fsyncs every commit; `NORMAL` survives a process crash but not a power loss. */
  readonly synchronous?: 'FULL' | 'NORMAL';
  /**
   * Checkpoint the WAL from a worker thread instead of inside commits (a
   * long-running server: see SqliteWalCheckpointer). Default false.
   */
  readonly backgroundCheckpoints?: boolean;
  /** Told when the checkpoint thread fails (checkpoints return to commits); default a process warning. */
  readonly onCheckpointFailed?: (message: string) => void;
  /** Cap on one append's JSON (data + metadata + type), default 1 MiB as in EventStoreDB. */
  readonly maxAppendSize?: number;
  /** Open for reading only (e.g. the CLI next to a running server): no writes, catch-up reads only. */
  readonly readonly?: boolean;
  /** How many recent event ids back idempotent retries with expected revision `any` (default 100,000). */
  readonly recentIdsCapacity?: number;
  /**
   * How many of the newest appends are read back into that map on open (default 10,000, at most the
   * capacity): the retries that follow a restart are of what was appended just before it. Reading a
   * row reads its whole body, so this bounds what every start reads (docs/architecture.md, "State that starts fast").
   */
  readonly recentIdsOnOpen?: number;
  /**
   * Told when opening dropped a cut-off write at the end of the WAL (crash mid-append); the log
   * then ends at the last intact transaction. Default: a process warning (printed on stderr).
   */
  readonly onRecovered?: (message: string) => void;
}

interface StreamRow {
  readonly last_revision: number;
  readonly state: number;
  readonly meta_revision: number;
  readonly meta: string | null;
}

/** Soft delete marks `truncateBefore` as the largest revision, like EventStoreDB's `$tb = long.MaxValue`. */
const DELETED_TRUNCATE_BEFORE = Number.MAX_SAFE_INTEGER;
const PAGE = 2048;
const OTHER_WRITERS_POLL_MS = 200;
const STREAM_CACHE_SIZE = 10_000;

export function createSqliteEventStore(options: SqliteEventStoreOptions): EventStore {
  return new SqliteEventStore(options);
}

/** The embedded EventStore: one better-sqlite3 connection in WAL mode, one writer with group commit. */
export class SqliteEventStore implements EventStore {
  private readonly db: Database.Database;
  private readonly writes: SqliteWriteQueue | undefined;
  private readonly signal = new CommitSignal();
  private readonly maxAppendSize: number;
  private closed = false;
  private readonly sql: ReturnType<typeof prepareStatements>;
  private readonly recentIds: RecentIds;
  private watcher: NodeJS.Timeout | undefined;
  private readonly checkpointer: SqliteWalCheckpointer | undefined;
  private readonly streamCache = new Map<string, StreamRow>();
  private readonly prefixStatements = new Map<string, Database.Statement>();
  private cacheDataVersion: unknown = undefined;
  /** The next free position inside the current write transaction; re-read from `sqlite_sequence` when unknown. */
  private nextPosition: number | undefined;

  constructor(options: SqliteEventStoreOptions) {
    if (typeof options?.path !== 'string' || options.path.length === 0) {
      throw new TypeError('path must be a non-empty string');
    }
    const synchronous = options.synchronous ?? 'FULL';
    if (synchronous !== 'FULL' && synchronous !== 'NORMAL')
      throw new TypeError("synchronous must be 'FULL' or 'NORMAL'");
    this.maxAppendSize = options.maxAppendSize ?? DEFAULT_MAX_APPEND_SIZE;
    if (!Number.isSafeInteger(this.maxAppendSize) || this.maxAppendSize <= 0) {
      throw new TypeError('maxAppendSize must be a positive integer');
    }
    if (!options.readonly) fs.mkdirSync(path.dirname(path.resolve(options.path)), { recursive: true });
    // Read before SQLite opens the file: opening replays the WAL and drops a torn tail without a word.
    const wal = options.readonly ? undefined : inspectSqliteWal(`${options.path}-wal`);
    this.db = new Database(options.path, {
      readonly: options.readonly === true,
      fileMustExist: options.readonly === true,
    });
    try {
      this.db.pragma('busy_timeout = 5000');
      const existing = this.db
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'")
        .get();
      const version = this.db.pragma('user_version', { simple: true }) as number;
      if (existing !== undefined && !SQLITE_EVENTS_READABLE_VERSIONS.includes(version)) {
        throw new Error(
          `${options.path}: the event log has schema version ${version}, this build reads versions ${SQLITE_EVENTS_READABLE_VERSIONS.join(', ')}`,
        );
      }
      if (!options.readonly) {
        this.db.pragma('journal_mode = WAL');
        // IMMEDIATE: it reads the schema before writing, and a server may commit on the same file in
        // between; a deferred transaction would then fail with SQLITE_BUSY instead of waiting its turn.
        this.db
          .transaction(() => {
            const hasCount =
              existing === undefined ||
              (this.db.prepare('PRAGMA table_info(events)').all() as { name: string }[]).some(
                (c) => c.name === 'count',
              );
            if (!hasCount) this.db.exec(SQLITE_EVENTS_ADD_COUNT);
            this.db.exec(SQLITE_EVENTS_SCHEMA);
            this.db.pragma(`user_version = ${SQLITE_EVENTS_SCHEMA_VERSION}`);
          })
          .immediate();
      }
      this.db.pragma(`synchronous = ${synchronous}`);
      this.db.pragma('cache_size = -65536');
      this.db.pragma('mmap_size = 268435456');
      this.sql = prepareStatements(this.db, options.readonly === true);
      const capacity = options.recentIdsCapacity ?? 100_000;
      if (!Number.isSafeInteger(capacity) || capacity < 0) {
        throw new TypeError('recentIdsCapacity must be an integer >= 0');
      }
      this.recentIds = new RecentIds(capacity);
      const warm = Math.min(capacity, options.recentIdsOnOpen ?? 10_000);
      if (!Number.isSafeInteger(warm) || warm < 0)
        throw new TypeError('recentIdsOnOpen must be an integer >= 0');
      if (!options.readonly && warm > 0) {
        const tail = this.sql.recentIds.all(warm) as [string, string, number][];
        for (let i = tail.length - 1; i >= 0; i--) this.recentIds.add(tail[i]![0], tail[i]![1], tail[i]![2]);
      }
    } catch (err) {
      this.db.close();
      throw err;
    }
    if (wal !== undefined && walHasTornTail(wal)) {
      const message =
        `${options.path}: recovered after an unclean shutdown — dropped an incomplete write at the end of the WAL ` +
        `(${wal.uncommittedFrames} uncommitted frame(s), ${wal.partialFrameBytes} byte(s) of a partial frame); ` +
        `the event log ends at its last intact transaction`;
      if (options.onRecovered) options.onRecovered(message);
      else process.emitWarning(message, { code: 'RF_EVENT_LOG_RECOVERED' });
    }
    this.writes = options.readonly
      ? undefined
      : new SqliteWriteQueue(this.db, () => this.signal.committed(), {
          beforeBatch: () => {
            this.nextPosition = undefined;
            this.checkStreamCache();
          },
          afterFailure: () => {
            this.nextPosition = undefined;
            this.streamCache.clear();
          },
        });
    this.watchOtherWriters();
    this.checkpointer =
      options.backgroundCheckpoints && !options.readonly
        ? new SqliteWalCheckpointer(this.db, options.path, {
            onError:
              options.onCheckpointFailed ??
              ((message) => process.emitWarning(message, { code: 'RF_EVENT_LOG_CHECKPOINT' })),
          })
        : undefined;
  }

  append(stream: string, events: readonly EventData[], options: AppendOptions = {}): Promise<AppendResult> {
    try {
      const writes = this.writer();
      assertStreamName(stream);
      const expected = options.expectedRevision ?? 'any';
      assertExpectedRevision(expected);
      const rows = serializeEvents(stream, events, this.maxAppendSize);
      return writes.enqueue(() => this.writeAppend(stream, rows, expected, Date.now()));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  readStream(stream: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    return { [Symbol.asyncIterator]: () => new PagedReader(this.streamPages(stream, options)) };
  }

  readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    return { [Symbol.asyncIterator]: () => new PagedReader(this.allPages(options)) };
  }

  readAllPages(options: ReadAllOptions = {}): AsyncIterable<readonly RecordedEvent[]> {
    return { [Symbol.asyncIterator]: () => new EventPages(this.allPages(options)) };
  }

  subscribeToAll(options: SubscribeToAllOptions = {}): Observable<SubscriptionItem> {
    return pullSubscription(this.signal, () => {
      this.assertOpen();
      const prefixes = options.streamNamePrefixes;
      if (
        prefixes !== undefined &&
        (!Array.isArray(prefixes) || prefixes.some((p) => typeof p !== 'string'))
      ) {
        throw new TypeError('streamNamePrefixes must be an array of strings');
      }
      let after = this.startAfterPosition(options.fromPosition ?? 'start');
      if (prefixes === undefined || prefixes.length === 0) {
        return () => {
          this.assertOpen();
          const events: RecordedEvent[] = [];
          // The first row may start at or before `after` (a multi-event row): keep only what follows it.
          const page = fillPage(this.sql.allAfter.iterate(after, PAGE) as Rows, events, {
            by: 'position',
            min: after + 1,
            max: Infinity,
          });
          if (page.last) after = page.last[0];
          return { events, atHead: page.ended };
        };
      }
      // The stream filter runs in SQL, on a column before the body: rows of other streams are never read whole.
      const matching = this.allMatching('after', prefixes.length);
      return () => {
        this.assertOpen();
        const events: RecordedEvent[] = [];
        // Up to the last committed row, so a page that ends short has looked at every row up to it,
        // matching or not, and the next read starts after them. Rows commit in position order, so
        // none can appear below it later.
        const upTo = (this.sql.lastSequence.get() as { position: number | null }).position ?? after;
        const page = fillPage(matching.iterate(after, upTo, ...prefixes, PAGE) as Rows, events, {
          by: 'position',
          min: after + 1,
          max: Infinity,
        });
        if (page.last) after = page.last[0];
        if (page.ended) after = Math.max(after, upTo);
        return { events, atHead: page.ended };
      };
    });
  }

  subscribeToStream(stream: string, options: SubscribeToStreamOptions = {}): Observable<SubscriptionItem> {
    return pullSubscription(this.signal, (): PageReader => {
      this.assertOpen();
      assertStreamName(stream);
      const state = this.streamRow(stream);
      if (state?.state === STREAM_TOMBSTONED) throw streamDeleted(stream);
      const from = options.fromRevision ?? 'start';
      let after: number;
      if (from === 'start') after = -1;
      else if (from === 'end') after = state?.last_revision ?? -1;
      else if (Number.isSafeInteger(from) && from >= 0) after = from;
      else throw new TypeError("fromRevision must be 'start', 'end' or a revision >= 0");
      return () => {
        this.assertOpen();
        const events: RecordedEvent[] = [];
        const page = fillPage(this.sql.streamAfter.iterate(stream, after, PAGE) as Rows, events, {
          by: 'revision',
          min: after + 1,
          max: Infinity,
        });
        if (page.last) after = page.last[2] as number;
        return { events, atHead: page.ended };
      };
    });
  }

  setStreamMetadata(
    stream: string,
    metadata: StreamMetadata,
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    try {
      const writes = this.writer();
      assertStreamName(stream);
      assertStreamMetadata(metadata);
      const expected = options.expectedRevision ?? 'any';
      assertExpectedRevision(expected);
      const wanted = normalizeMetadata(metadata);
      return writes.enqueue(() => {
        const state = this.writerStreamRow(stream);
        if (state?.state === STREAM_TOMBSTONED) throw streamDeleted(metastreamOf(stream));
        const metaLast = state?.meta_revision ?? -1;
        checkExpected(metastreamOf(stream), expected, metaLast);
        let next = wanted;
        // As in EventStoreDB: new metadata on a soft-deleted stream brings it back, still hiding the old events.
        if (state?.state === STREAM_SOFT_DELETED) {
          next = { ...wanted, truncateBefore: Math.max(wanted.truncateBefore ?? 0, state.last_revision + 1) };
        }
        const position = this.writeMetadata(stream, next, metaLast + 1, STREAM_LIVE, Date.now());
        this.streamCache.delete(stream);
        return { nextExpectedRevision: metaLast + 1, position: positionOf(position) };
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async getStreamMetadata(stream: string): Promise<StreamMetadata> {
    this.assertOpen();
    assertStreamName(stream);
    const state = this.streamRow(stream);
    if (state?.state === STREAM_TOMBSTONED) throw streamDeleted(metastreamOf(stream));
    return state?.meta ? (JSON.parse(state.meta) as StreamMetadata) : {};
  }

  deleteStream(stream: string, options: DeleteStreamOptions = {}): Promise<void> {
    try {
      const writes = this.writer();
      assertStreamName(stream);
      const expected = options.expectedRevision ?? 'any';
      assertExpectedRevision(expected);
      const hard = options.hard === true;
      return writes.enqueue(() => {
        const state = this.writerStreamRow(stream);
        this.checkWritable(stream, expected, state);
        this.streamCache.delete(stream);
        if (hard) {
          this.sql.setState.run(stream, STREAM_TOMBSTONED);
          return;
        }
        const current = state?.meta ? (JSON.parse(state.meta) as StreamMetadata) : {};
        const meta = { ...current, truncateBefore: DELETED_TRUNCATE_BEFORE };
        this.writeMetadata(stream, meta, (state?.meta_revision ?? -1) + 1, STREAM_SOFT_DELETED, Date.now());
        this.sql.setState.run(stream, STREAM_SOFT_DELETED);
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async headPosition(): Promise<Position | null> {
    this.assertOpen();
    const row = this.sql.head.get() as { position: number } | undefined;
    return row ? positionOf(row.position) : null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.writes?.flush();
    this.closed = true;
    clearInterval(this.watcher);
    this.signal.close(new EventStoreError('Closed', 'the event store was closed'));
    await this.checkpointer?.stop();
    this.db.close();
  }

  /**
   * Own commits wake subscriptions at once. Commits by another process on the
   * same file (the CLI adding a user next to a running server) change
   * `PRAGMA data_version`; a cheap poll turns that into the same wake-up.
   */
  private watchOtherWriters(): void {
    const dataVersion = this.db.prepare('PRAGMA data_version').pluck();
    let seen = dataVersion.get();
    this.watcher = setInterval(() => {
      if (this.closed) return;
      const now = dataVersion.get();
      if (now !== seen) {
        seen = now;
        this.signal.committed();
      }
    }, OTHER_WRITERS_POLL_MS);
    this.watcher.unref();
  }

  private writer(): SqliteWriteQueue {
    this.assertOpen();
    if (!this.writes) throw new TypeError('this event store was opened read-only');
    return this.writes;
  }

  private assertOpen(): void {
    if (this.closed) throw new EventStoreError('Closed', 'the event store was closed');
  }

  /** A stream's state as the file has it: its `streams` row (if any) and the top of its revisions. */
  private streamRow(stream: string): StreamRow | undefined {
    const row = this.sql.stream.get(stream) as Omit<StreamRow, 'last_revision'> | undefined;
    const top = (this.sql.lastRevision.get(stream) as { revision: number | null }).revision;
    if (row === undefined && top === null) return undefined;
    return {
      last_revision: top ?? -1,
      state: row?.state ?? STREAM_LIVE,
      meta_revision: row?.meta_revision ?? -1,
      meta: row?.meta ?? null,
    };
  }

  /** The writer's view (inside a write): recently written streams come from memory. */
  private writerStreamRow(stream: string): StreamRow | undefined {
    const cached = this.streamCache.get(stream);
    if (cached !== undefined) return cached;
    const loaded = this.streamRow(stream);
    if (loaded !== undefined) this.rememberStream(stream, loaded);
    return loaded;
  }

  private rememberStream(stream: string, row: StreamRow): void {
    if (this.streamCache.size >= STREAM_CACHE_SIZE) this.streamCache.clear();
    this.streamCache.set(stream, row);
  }

  /**
   * The cache is only ever ahead of the file inside a transaction that then
   * fails; and another process's commits change `data_version`. Both clear it.
   */
  private checkStreamCache(): void {
    const version = this.sql.dataVersion.get();
    if (version !== this.cacheDataVersion) {
      this.cacheDataVersion = version;
      this.streamCache.clear();
    }
  }

  /** Runs inside the writer's transaction. */
  private writeAppend(
    stream: string,
    rows: readonly SerializedEvent[],
    expected: ExpectedRevision,
    now: number,
  ): AppendResult {
    const state = this.writerStreamRow(stream);
    if (state?.state === STREAM_TOMBSTONED) throw streamDeleted(stream);
    const last = state?.last_revision ?? -1;
    const retried = this.idempotentResult(stream, rows, expected, last);
    if (retried) return retried;
    // As on EventStoreDB, an append expecting `stream_exists` is accepted by a stream that has only metadata.
    const metadataOnly = state?.state === STREAM_LIVE && last < 0 && state.meta_revision >= 0;
    this.checkWritable(stream, metadataOnly && expected === 'stream_exists' ? 'any' : expected, state);
    if (rows.length === 0) {
      const head = this.sql.head.get() as { position: number } | undefined;
      return { nextExpectedRevision: last, position: positionOf(head?.position ?? 0) };
    }
    const position = this.insertEvents(stream, last + 1, rows, now);
    const revision = last + rows.length;
    if (state?.state === STREAM_SOFT_DELETED) {
      // Re-created after a soft delete: revisions continue and the old ones stay hidden.
      const current = state.meta ? (JSON.parse(state.meta) as StreamMetadata) : {};
      this.writeMetadata(
        stream,
        { ...current, truncateBefore: last + 1 },
        state.meta_revision + 1,
        STREAM_LIVE,
        now,
      );
    }
    if (state?.state === STREAM_SOFT_DELETED) this.streamCache.delete(stream);
    else {
      this.rememberStream(stream, {
        last_revision: revision,
        state: STREAM_LIVE,
        meta_revision: state?.meta_revision ?? -1,
        meta: state?.meta ?? null,
      });
    }
    return { nextExpectedRevision: revision, position: positionOf(position) };
  }

  /**
   * Inserts the events with consecutive revisions, as few rows as possible
   * (up to MAX_ROW_EVENTS events each); returns the last position.
   */
  private insertEvents(
    stream: string,
    firstRevision: number,
    rows: readonly SerializedEvent[],
    now: number,
  ): number {
    let position = 0;
    const streamJson = JSON.stringify(stream);
    for (let from = 0; from < rows.length; from += MAX_ROW_EVENTS) {
      const count = Math.min(MAX_ROW_EVENTS, rows.length - from);
      const lastRevision = firstRevision + from + count - 1;
      const body =
        count === 1
          ? completeBody(rows[from]!.head, streamJson, lastRevision, now)
          : completeMultiBody(
              rows.slice(from, from + count).map((r) => r.head),
              streamJson,
              lastRevision,
              now,
            );
      position = this.insertRow(stream, lastRevision, now, 0, count, body);
    }
    // A retry is the same batch again, and the lookup is by its first id: that is all the map needs.
    if (rows.length > 0) this.recentIds.add(rows[0]!.id, stream, firstRevision);
    return position;
  }

  /**
   * EventStoreDB's idempotency: the same ids already sit right after the
   * expected revision (or, for `any`/`stream_exists`, wherever the first id
   * sits) → the original result, nothing written. A partial match is a conflict.
   */
  private idempotentResult(
    stream: string,
    rows: readonly SerializedEvent[],
    expected: ExpectedRevision,
    last: number,
  ): AppendResult | undefined {
    if (rows.length === 0 || last < 0) return undefined;
    let start: number;
    if (typeof expected === 'number') start = expected + 1;
    else if (expected === 'no_stream') start = 0;
    else {
      const hit = this.recentIds.get(rows[0]!.id);
      if (hit === undefined || hit.stream !== stream) return undefined;
      start = hit.revision;
    }
    if (start > last) return undefined;
    const end = start + rows.length - 1;
    const stored: RecordedEvent[] = [];
    for (const row of this.sql.rowsInRange.all(stream, start, end + MAX_ROW_EVENTS - 1) as EventRow[]) {
      expandRow(row[0], row[1], stored, { by: 'revision', min: start, max: end });
    }
    const existing = stored.map((e) => [e.revision, e.id, Number(e.position.commit)] as const);
    // For `any`, the map may be stale (a rolled-back write): only a confirmed first id counts.
    if (
      existing.length === 0 ||
      (typeof expected !== 'number' && expected !== 'no_stream' && existing[0]![1] !== rows[0]!.id)
    ) {
      return undefined;
    }
    const matches = existing.length === rows.length && existing.every((e, i) => e[1] === rows[i]!.id);
    if (matches) {
      return {
        nextExpectedRevision: start + rows.length - 1,
        position: positionOf(existing[existing.length - 1]![2]),
      };
    }
    if (typeof expected !== 'number' && expected !== 'no_stream')
      throw wrongExpectedVersion(stream, expected, last);
    return undefined;
  }

  /** Writes one row holding `count` events that end at `lastRevision`; returns its (last) position. */
  private insertRow(
    stream: string,
    lastRevision: number,
    now: number,
    system: 0 | 1,
    count: number,
    body: string,
  ): number {
    if (this.nextPosition === undefined) {
      // Inside the write transaction: no other connection can move the sequence until COMMIT.
      const seq = this.sql.sequence.get() as number | undefined;
      this.nextPosition = (seq ?? 0) + 1;
    }
    const position = this.nextPosition + count - 1;
    this.sql.insert.run(position, stream, lastRevision, now, system, count, body);
    this.nextPosition = position + 1;
    return position;
  }

  /** Expected-revision check for appends and deletes; returns the stream's last revision. */
  private checkWritable(stream: string, expected: ExpectedRevision, state: StreamRow | undefined): number {
    if (state?.state === STREAM_TOMBSTONED) throw streamDeleted(stream);
    const last = state?.last_revision ?? -1;
    if (state?.state === STREAM_SOFT_DELETED) {
      if (expected === 'stream_exists') throw streamDeleted(stream);
      if (typeof expected === 'number' && expected !== last)
        throw wrongExpectedVersion(stream, expected, last);
      return last;
    }
    checkExpected(stream, expected, last);
    return last;
  }

  private writeMetadata(
    stream: string,
    meta: StreamMetadata,
    revision: number,
    state: number,
    now: number,
  ): number {
    const json = JSON.stringify(meta);
    const position = this.insertRow(
      metastreamOf(stream),
      revision,
      now,
      1,
      1,
      completeBody(
        bodyHead(randomUUID(), '$metadata', meta, null),
        JSON.stringify(metastreamOf(stream)),
        revision,
        now,
      ),
    );
    this.sql.setMeta.run(stream, revision, json, state);
    // As on EventStoreDB, whose metastreams keep only their newest entry
    // (maxCount 1): a metadata rewrite (a node's lease, renewed every few
    // seconds) must not grow the file.
    this.sql.dropOlderMeta.run(metastreamOf(stream), revision);
    return position;
  }

  /**
   * `$all` from a position (`after`: exclusive and up to a second position, the last committed
   * one; `forward`: inclusive; `backward`: at or before),
   * only streams starting with one of `count` prefixes; prepared once per kind and count. The
   * match is on the `stream` column, before the body: a skipped row's body is never read out
   * or parsed, and the plan stays one range scan of the primary key (docs/architecture.md,
   * "Event store").
   */
  private allMatching(kind: 'after' | 'forward' | 'backward', count: number): Database.Statement {
    const key = `${kind}:${count}`;
    let statement = this.prefixStatements.get(key);
    if (statement === undefined) {
      const match = Array.from({ length: count }, () => 'instr(stream, ?) = 1').join(' OR ');
      const range =
        kind === 'after'
          ? 'position > ? AND position <= ?'
          : kind === 'forward'
            ? 'position >= ?'
            : 'position <= ?';
      const order = kind === 'backward' ? 'DESC' : '';
      statement = this.db
        .prepare(
          `SELECT ${EVENT_COLUMNS} FROM events WHERE ${range} AND system = 0 AND (${match}) ORDER BY position ${order} LIMIT ?`,
        )
        .raw(true);
      this.prefixStatements.set(key, statement);
    }
    return statement;
  }

  private startAfterPosition(from: Position | 'start' | 'end'): number {
    if (from === 'start') return 0;
    if (from === 'end') return (this.sql.lastSequence.get() as { position: number | null }).position ?? 0;
    return positionNumber(from, 'fromPosition');
  }

  /** Pages of a stream, honouring truncation, maxCount and maxAge; checks the stream on the first page. */
  private streamPages(stream: string, options: ReadStreamOptions): NextPage {
    let next: NextPage | undefined;
    return () => {
      this.assertOpen();
      next ??= this.openStreamRead(stream, options);
      return next();
    };
  }

  private openStreamRead(stream: string, options: ReadStreamOptions): NextPage {
    assertStreamName(stream);
    const state = this.streamRow(stream);
    if (state?.state === STREAM_TOMBSTONED) throw streamDeleted(stream);
    if (!state || state.last_revision < 0 || state.state === STREAM_SOFT_DELETED) {
      throw new EventStoreError('StreamNotFound', `stream ${stream} not found`, { stream });
    }
    const meta = state.meta ? (JSON.parse(state.meta) as StreamMetadata) : {};
    let lowest = meta.truncateBefore ?? 0;
    if (meta.maxCount !== undefined) lowest = Math.max(lowest, state.last_revision - meta.maxCount + 1);
    const createdSince = meta.maxAge !== undefined ? Date.now() - meta.maxAge * 1000 : -1;
    const backwards = options.direction === 'backwards';
    let remaining = limitOf(options.maxCount);
    const from = options.fromRevision ?? (backwards ? 'end' : 'start');
    let cursor: number;
    if (from === 'start') cursor = 0;
    else if (from === 'end') cursor = backwards ? Number.MAX_SAFE_INTEGER : state.last_revision + 1;
    else if (Number.isSafeInteger(from) && from >= 0) cursor = from;
    else throw new TypeError("fromRevision must be 'start', 'end' or a revision >= 0");
    if (!backwards) cursor = Math.max(cursor, lowest);
    let done = false;
    return () => {
      // Rows are keyed by their last revision and may hold several events: expand, then keep the range.
      while (!done && remaining > 0) {
        const events: RecordedEvent[] = [];
        const page = fillPage(
          (backwards
            ? this.sql.streamBackward.iterate(stream, lookBack(cursor), lowest, createdSince, PAGE)
            : this.sql.streamForward.iterate(stream, cursor, createdSince, PAGE)) as Rows,
          events,
          backwards
            ? { by: 'revision', min: lowest, max: cursor }
            : { by: 'revision', min: cursor, max: Infinity },
          backwards,
        );
        if (page.last) cursor = backwards ? page.first.firstRevision - 1 : (page.last[2] as number) + 1;
        done = page.ended || (backwards && cursor < lowest);
        if (events.length > remaining) events.length = remaining;
        remaining -= events.length;
        if (events.length > 0) return events;
      }
      return undefined;
    };
  }

  /** Pages of `$all` (system records excluded). */
  private allPages(options: ReadAllOptions): NextPage {
    let next: NextPage | undefined;
    return () => {
      this.assertOpen();
      next ??= this.openAllRead(options);
      return next();
    };
  }

  private openAllRead(options: ReadAllOptions): NextPage {
    const backwards = options.direction === 'backwards';
    const prefixes = checkStreamNamePrefixes(options.streamNamePrefixes);
    const forward =
      prefixes === undefined
        ? (from: number, rows: number) => this.sql.allForward.iterate(from, rows)
        : (from: number, rows: number) =>
            this.allMatching('forward', prefixes.length).iterate(from, ...prefixes, rows);
    const backward =
      prefixes === undefined
        ? (from: number, rows: number) => this.sql.allBackward.iterate(from, rows)
        : (from: number, rows: number) =>
            this.allMatching('backward', prefixes.length).iterate(from, ...prefixes, rows);
    let remaining = limitOf(options.maxCount);
    const from = options.fromPosition ?? (backwards ? 'end' : 'start');
    let cursor: number;
    if (from === 'start') cursor = 0;
    else if (from === 'end') cursor = Number.MAX_SAFE_INTEGER;
    else cursor = positionNumber(from, 'fromPosition');
    if (from === 'end' && !backwards) remaining = 0;
    let done = false;
    return () => {
      // Rows are keyed by their last position and may hold several events: expand, then keep the range.
      while (!done && remaining > 0) {
        const events: RecordedEvent[] = [];
        // A row holds at least one event: `maxCount` bounds the rows read too (a read of one event
        // by position parses one row, not a page). Backwards, up to MAX_ROW_EVENTS rows of the
        // look-back window may lie wholly after the cursor, so those come on top.
        const rows = Math.min(PAGE, backwards ? remaining + MAX_ROW_EVENTS : remaining);
        const page = fillPage(
          (backwards ? backward(lookBack(cursor), rows) : forward(cursor, rows)) as Rows,
          events,
          backwards
            ? { by: 'position', min: 0, max: cursor }
            : { by: 'position', min: cursor, max: Infinity },
          backwards,
          rows,
        );
        if (page.last) cursor = backwards ? page.first.firstPosition - 1 : page.last[0] + 1;
        done = page.ended || (backwards && cursor < 1);
        if (events.length > remaining) events.length = remaining;
        remaining -= events.length;
        if (events.length > 0) return events;
      }
      return undefined;
    };
  }
}

type Rows = IterableIterator<[position: number, body: string, extra?: string | number]>;

/**
 * Expands rows into `out` until it holds a page of events or the rows run out
 * (`ended`: the query returned fewer than `limit` rows, the LIMIT it ran with).
 * `last` is the last row consumed and `first` where that row's events begin.
 */
function fillPage(
  rows: Rows,
  out: RecordedEvent[],
  filter: RowFilter,
  reverse = false,
  limit = PAGE,
): {
  last: [number, string, (string | number)?] | undefined;
  first: { firstPosition: number; firstRevision: number };
  ended: boolean;
} {
  let last: [number, string, (string | number)?] | undefined;
  let first = { firstPosition: 0, firstRevision: 0 };
  let count = 0;
  for (const row of rows) {
    count++;
    last = row;
    first = expandRow(row[0], row[1], out, filter, reverse);
    if (out.length >= limit) return { last, first, ended: false };
  }
  return { last, first, ended: count < limit };
}

/** The highest row key that can still hold `key` (a row covers up to MAX_ROW_EVENTS keys ending at its own). */
function lookBack(key: number): number {
  return key >= Number.MAX_SAFE_INTEGER - MAX_ROW_EVENTS ? Number.MAX_SAFE_INTEGER : key + MAX_ROW_EVENTS - 1;
}

function prepareStatements(db: Database.Database, readonly: boolean) {
  const raw = (sql: string) => db.prepare(sql).raw(true);
  const write = (sql: string) => (readonly ? db.prepare('SELECT 1') : db.prepare(sql));
  return {
    stream: db.prepare('SELECT state, meta_revision, meta FROM streams WHERE name = ?'),
    lastRevision: db.prepare('SELECT max(revision) AS revision FROM events WHERE stream = ?'),
    sequence: db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").pluck(),
    dataVersion: db.prepare('PRAGMA data_version').pluck(),
    insert: write(
      'INSERT INTO events (position, stream, revision, created, system, count, body) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    dropOlderMeta: write('DELETE FROM events WHERE stream = ? AND revision < ?'),
    setMeta: write(
      `INSERT INTO streams (name, meta_revision, meta, state) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET meta_revision = excluded.meta_revision, meta = excluded.meta, state = excluded.state`,
    ),
    setState: write(
      `INSERT INTO streams (name, state) VALUES (?, ?)
       ON CONFLICT (name) DO UPDATE SET state = excluded.state`,
    ),
    // The first id and first revision of each recent row: a retried append is looked up by its first id.
    recentIds: readonly
      ? db.prepare('SELECT 1')
      : raw(
          `SELECT ${FIRST_ID_SQL}, stream, revision - count + 1 FROM events WHERE system = 0 ORDER BY position DESC LIMIT ?`,
        ),
    rowsInRange: raw(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE stream = ? AND revision BETWEEN ? AND ? ORDER BY revision`,
    ),
    head: db.prepare('SELECT position FROM events WHERE system = 0 ORDER BY position DESC LIMIT 1'),
    lastSequence: db.prepare('SELECT max(position) AS position FROM events'),
    allForward: raw(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE position >= ? AND system = 0 ORDER BY position LIMIT ?`,
    ),
    allBackward: raw(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE position <= ? AND system = 0 ORDER BY position DESC LIMIT ?`,
    ),
    allAfter: raw(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE position > ? AND system = 0 ORDER BY position LIMIT ?`,
    ),
    streamForward: raw(
      `SELECT ${EVENT_COLUMNS}, revision FROM events WHERE stream = ? AND revision >= ? AND created >= ?
       ORDER BY revision LIMIT ?`,
    ),
    streamBackward: raw(
      `SELECT ${EVENT_COLUMNS}, revision FROM events WHERE stream = ? AND revision <= ? AND revision >= ? AND created >= ?
       ORDER BY revision DESC LIMIT ?`,
    ),
    streamAfter: raw(
      `SELECT ${EVENT_COLUMNS}, revision FROM events WHERE stream = ? AND revision > ? ORDER BY revision LIMIT ?`,
    ),
  };
}

/** Recently appended event ids in insertion order; the oldest fall out past the capacity. */
class RecentIds {
  private readonly map = new Map<string, { stream: string; revision: number }>();
  private readonly ring: (string | undefined)[];
  private next = 0;

  constructor(private readonly capacity: number) {
    this.ring = new Array<string | undefined>(capacity);
  }

  add(id: string, stream: string, revision: number): void {
    if (this.capacity === 0) return;
    const evicted = this.ring[this.next];
    if (evicted !== undefined && evicted !== id) this.map.delete(evicted);
    this.ring[this.next] = id;
    this.next = (this.next + 1) % this.capacity;
    this.map.set(id, { stream, revision });
  }

  get(id: string): { stream: string; revision: number } | undefined {
    return this.map.get(id);
  }
}

function checkExpected(stream: string, expected: ExpectedRevision, last: number): void {
  if (expected === 'any') return;
  if (expected === 'no_stream' ? last === -1 : expected === 'stream_exists' ? last >= 0 : expected === last)
    return;
  throw wrongExpectedVersion(stream, expected, last);
}

function wrongExpectedVersion(stream: string, expected: ExpectedRevision, last: number): EventStoreError {
  const actual = last < 0 ? 'no_stream' : last;
  return new EventStoreError(
    'WrongExpectedVersion',
    `stream ${stream}: expected revision ${String(expected)}, actual ${String(actual)}`,
    { stream, expected, actual },
  );
}

function streamDeleted(stream: string): EventStoreError {
  return new EventStoreError('StreamDeleted', `stream ${stream} is deleted`, { stream });
}

function normalizeMetadata(m: StreamMetadata): StreamMetadata {
  return {
    ...(m.maxAge !== undefined ? { maxAge: m.maxAge } : {}),
    ...(m.maxCount !== undefined ? { maxCount: m.maxCount } : {}),
    ...(m.truncateBefore !== undefined ? { truncateBefore: m.truncateBefore } : {}),
    ...(m.custom !== undefined ? { custom: m.custom } : {}),
  };
}

function positionNumber(p: Position, field: string): number {
  if (typeof p !== 'object' || p === null || typeof p.commit !== 'bigint' || p.commit < 0n) {
    throw new TypeError(`${field} must be 'start', 'end' or a position`);
  }
  return p.commit > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(p.commit);
}

function limitOf(maxCount: number | undefined): number {
  if (maxCount === undefined) return Number.POSITIVE_INFINITY;
  if (!Number.isSafeInteger(maxCount) || maxCount < 0)
    throw new TypeError('maxCount must be an integer >= 0');
  return maxCount;
}
