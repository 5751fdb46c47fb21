import {
  evolveJobStatus,
  fromRecorded,
  isJobLifecycleEvent,
  isTerminal,
  jobLogStream,
  jobStream,
  type JobStatus,
  type RecordedEvent,
} from '@rf/events';
import { isEventStoreError, type EventStore } from '@rf/event-store';
import type { LiveLogMessage, LiveMessage, LiveProgressMessage, LiveStatusMessage } from './live-messages';

/** What one `joblog-` or `job-` event means to a watcher; `null` for events the tail does not show. */
export type FeedItem =
  | { readonly kind: 'line'; readonly revision: number; readonly message: LiveLogMessage }
  | { readonly kind: 'progress'; readonly revision: number; readonly message: LiveProgressMessage }
  | { readonly kind: 'control'; readonly revision: number; readonly message: LiveMessage };

/** Receives the feed's live items; the gateway's per-socket session implements it. */
export interface FeedListener {
  onItem(item: FeedItem): void;
  onStatus(status: LiveStatusMessage): void;
  /** The job is over and every line it wrote has been delivered. */
  onEnd(status: LiveStatusMessage): void;
  /** The feed's subscription failed; no more items will come. */
  onError(err: unknown): void;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** Maps a `joblog-{id}` event to what the tail sends; the same mapping serves catch-up and live. */
export function feedItemOf(event: RecordedEvent): FeedItem | null {
  const d = (event.data ?? {}) as Record<string, unknown>;
  switch (event.type) {
    case 'LogStreamLine':
      return {
        kind: 'line',
        revision: event.revision,
        message: {
          type: 'log',
          seq: num(d['seq']),
          ts: str(d['ts']),
          stream: str(d['stream']) || 'stdout',
          payload: str(d['payload']),
        },
      };
    case 'JobProgress':
      return {
        kind: 'progress',
        revision: event.revision,
        message: {
          type: 'progress',
          percent_done: num(d['percent_done']),
          files_done: num(d['files_done']),
          total_files: num(d['total_files']),
          bytes_done: num(d['bytes_done']),
          total_bytes: num(d['total_bytes']),
          eta_seconds: typeof d['eta_seconds'] === 'number' ? d['eta_seconds'] : null,
          throughput_bps: num(d['throughput_bps']),
          ts: str(d['ts']),
        },
      };
    case 'LogLinesDropped':
      return {
        kind: 'control',
        revision: event.revision,
        message: { type: 'dropped', from_seq: num(d['from_seq']), to_seq: num(d['to_seq']), reason: 'agent' },
      };
    default:
      return null;
  }
}

/**
 * The one live source for every browser watching a job. `JobFeeds` routes the
 * job's `job-{id}` and `joblog-{id}` events to it from one shared `LogConsumer`,
 * after they were appended, in append order. Subscribers get items
 * synchronously and queue them on their own; the feed never waits for one.
 * The status is folded by the job lifecycle, as the control plane's own
 * decisions and the jobs read model are.
 */
export class JobFeed {
  /** Undefined until the job's first lifecycle event has been read. */
  private jobStatus: JobStatus | undefined;
  private cancelRequested = false;
  /** Highest `job-{id}` revision folded; the catch-up read and the live subscription may overlap. */
  private lifecycleRevision = -1;
  private readonly listeners = new Set<FeedListener>();
  private finished: Record<string, unknown> | null = null;
  private ending = false;
  /** Lifecycle events routed here while `load` reads the stream; applied after it. */
  private pending: RecordedEvent[] | null = [];
  /** True once the job is terminal and its last lines have been delivered. */
  ended = false;
  /** Highest `joblog-{id}` revision delivered live; a catch-up reads until it has passed this. */
  lastLogRevision = -1;
  /** Set when the live source failed for good; watchers are closed with it. */
  failure: unknown = null;

  constructor(
    readonly jobId: string,
    private readonly store: EventStore,
  ) {}

  /**
   * Reads the job's lifecycle; false when the job does not exist. Route live
   * events to the feed (`deliver`) before calling it: what arrives meanwhile
   * is applied after the read, and what the read already had is skipped.
   */
  async load(): Promise<boolean> {
    try {
      for await (const e of this.store.readStream(jobStream(this.jobId))) this.applyLifecycle(e);
    } catch (err) {
      if (isEventStoreError(err, 'StreamNotFound') || isEventStoreError(err, 'StreamDeleted')) return false;
      throw err;
    }
    if (this.jobStatus === undefined) return false;
    if (this.isTerminal) this.ending = this.ended = true;
    const pending = this.pending ?? [];
    this.pending = null;
    for (const e of pending) this.onLifecycleEvent(e);
    return true;
  }

  /** A live `job-{id}` or `joblog-{id}` event of this job. */
  deliver(e: RecordedEvent): void {
    if (e.streamId === jobLogStream(this.jobId)) this.onLogEvent(e);
    else if (this.pending) this.pending.push(e);
    else this.onLifecycleEvent(e);
  }

  /** The live source failed for good: every watcher is told. */
  fail(err: unknown): void {
    this.failure = err;
    for (const l of [...this.listeners]) l.onError(err);
  }

  get status(): JobStatus {
    return this.jobStatus ?? 'queued';
  }

  get isTerminal(): boolean {
    return isTerminal(this.status);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  add(listener: FeedListener): void {
    if (this.failure !== null) return listener.onError(this.failure);
    this.listeners.add(listener);
  }

  remove(listener: FeedListener): void {
    this.listeners.delete(listener);
  }

  statusMessage(): LiveStatusMessage {
    const f = this.finished;
    return {
      type: 'status',
      status: this.status,
      cancel_requested: this.cancelRequested,
      exit_code: f && typeof f['exit_code'] === 'number' ? f['exit_code'] : null,
      error: f && typeof f['error'] === 'string' ? f['error'] : null,
      error_code: f && typeof f['error_code'] === 'string' ? f['error_code'] : null,
      stats:
        f && typeof f['stats'] === 'object' && f['stats'] !== null
          ? (f['stats'] as Record<string, unknown>)
          : null,
      finished_at:
        f && typeof f['finished_at'] === 'string'
          ? f['finished_at']
          : f && typeof f['lost_at'] === 'string'
            ? f['lost_at']
            : null,
    };
  }

  /** The persisted telemetry after `afterRevision`, for one watcher's catch-up. */
  readLog(afterRevision: number): AsyncIterable<RecordedEvent> {
    return this.store.readStream(jobLogStream(this.jobId), { fromRevision: afterRevision + 1 });
  }

  close(): void {
    this.listeners.clear();
  }

  private onLogEvent(e: RecordedEvent): void {
    if (e.revision <= this.lastLogRevision) return;
    this.lastLogRevision = e.revision;
    const item = feedItemOf(e);
    if (!item) return;
    for (const l of this.listeners) l.onItem(item);
  }

  private onLifecycleEvent(e: RecordedEvent): void {
    if (!this.applyLifecycle(e) || this.ending) return;
    if (!this.isTerminal) {
      const status = this.statusMessage();
      for (const l of this.listeners) l.onStatus(status);
      return;
    }
    this.ending = true;
    void this.settle();
  }

  /**
   * The ingest appends a batch's lifecycle events before its telemetry (one
   * commit), so lines may follow JobFinished in `$all`. Once, for all
   * watchers, read what the log holds past the last delivered line, then end.
   */
  private async settle(): Promise<void> {
    try {
      for await (const e of this.readLog(this.lastLogRevision)) this.onLogEvent(e);
    } catch (err) {
      if (!isEventStoreError(err, 'StreamNotFound') && !isEventStoreError(err, 'StreamDeleted')) {
        this.fail(err);
        return;
      }
    }
    this.ended = true;
    const status = this.statusMessage();
    for (const l of this.listeners) l.onEnd(status);
  }

  /** Folds one `job-{id}` event; false when it was already folded. */
  private applyLifecycle(e: RecordedEvent): boolean {
    if (e.revision <= this.lifecycleRevision) return false;
    this.lifecycleRevision = e.revision;
    const event = fromRecorded(e);
    if (!isJobLifecycleEvent(event)) return true;
    const step = evolveJobStatus(this.jobStatus, event);
    this.jobStatus = step.status;
    if (event.type === 'JobCancelRequested') this.cancelRequested = true;
    // Only the event that decided the outcome describes it (not a late JobLost after the agent's report).
    if (step.outcome) {
      this.finished = { ...(event.data as object) };
      if (event.type === 'JobRejected') this.finished['error_code'] = 'rejected';
    }
    return true;
  }
}
