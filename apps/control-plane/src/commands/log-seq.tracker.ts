import { isEventStoreError, jobLogStream, type EventStore } from '@rf/events';

/** Jobs remembered at once; a forgotten job is reloaded from its stream's tail. */
const MAX_JOBS = 10_000;

/**
 * The highest log-line seq stored per job. An agent sends a job's lines in seq
 * order from its FIFO outbox (lines it had to drop are skipped, never sent
 * later), so a line at or below that seq is a resend of a stored line. This
 * makes resends exact whatever the event store's idempotency window (the
 * SQLite adapter and EventStoreDB both remember recent event ids only).
 */
export class LogSeqTracker {
  private readonly last = new Map<string, number>();
  private readonly loading = new Map<string, Promise<void>>();
  /** Per job: settles when every append tracked so far for it has settled. */
  private readonly inflight = new Map<string, Promise<void>>();
  private forgotten = 0;

  constructor(private readonly store: EventStore) {}

  /**
   * How many times a mark was forgotten (an append failed). A resend acked
   * while the append of its line was in flight is safe only if this did not
   * move meanwhile.
   */
  get failures(): number {
    return this.forgotten;
  }

  /**
   * Loads the job's high-water mark once; call before `claim` for a job seen
   * for the first time. The tail is read after the job's in-flight appends
   * settle, so a line being appended is neither missed nor claimed twice.
   */
  prepare(jobId: string): Promise<void> | undefined {
    if (this.last.has(jobId)) return undefined;
    let pending = this.loading.get(jobId);
    if (!pending) {
      pending = (this.inflight.get(jobId) ?? Promise.resolve())
        .then(() => this.loadTail(jobId))
        .then(
          (seq) => {
            if (!this.last.has(jobId)) this.remember(jobId, seq);
            this.loading.delete(jobId);
          },
          (err: unknown) => {
            this.loading.delete(jobId);
            throw err;
          },
        );
      this.loading.set(jobId, pending);
    }
    return pending;
  }

  /**
   * True when the line is new: the mark moves to `seq` at once, so a repeat
   * of the same seq later in the same batch is seen as a resend too.
   */
  claim(jobId: string, seq: number): boolean {
    const last = this.last.get(jobId) ?? 0;
    if (seq <= last) return false;
    this.remember(jobId, seq);
    return true;
  }

  /** After a failed append the mark may be ahead of the stream: reload it from the stream next time. */
  forget(jobId: string): void {
    this.forgotten++;
    this.last.delete(jobId);
  }

  /** Records the job's appends of one batch; `settled` must never reject. */
  track(jobId: string, settled: Promise<unknown>): void {
    const before = this.inflight.get(jobId);
    const all = before ? Promise.all([before, settled]) : settled;
    const done: Promise<void> = all.then(() => {
      if (this.inflight.get(jobId) === done) this.inflight.delete(jobId);
    });
    this.inflight.set(jobId, done);
  }

  /** Settles when every append tracked so far for the job has settled. */
  settled(jobId: string): Promise<void> | undefined {
    return this.inflight.get(jobId);
  }

  private remember(jobId: string, seq: number): void {
    if (!this.last.has(jobId) && this.last.size >= MAX_JOBS) this.last.clear();
    this.last.set(jobId, seq);
  }

  private async loadTail(jobId: string): Promise<number> {
    try {
      for await (const e of this.store.readStream(jobLogStream(jobId), {
        direction: 'backwards',
        fromRevision: 'end',
      })) {
        // Progress events can follow the last line for a long time; read back until a line (once per job).
        if (e.type !== 'LogStreamLine') continue;
        const seq = (e.data as { seq?: unknown } | null)?.seq;
        if (typeof seq === 'number') return seq;
      }
      return 0;
    } catch (err) {
      if (isEventStoreError(err, 'StreamNotFound')) return 0;
      throw err;
    }
  }
}
