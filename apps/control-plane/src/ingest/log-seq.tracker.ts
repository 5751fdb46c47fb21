import { isEventStoreError, type EventStore } from '@rf/event-store';
import { jobLogStream } from '@rf/events';

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
  /** Per job: the last batch of appends issued, resolving to whether all of them were stored. */
  private readonly inflight = new Map<string, Promise<boolean>>();

  constructor(private readonly store: EventStore) {}

  /**
   * Loads the job's high-water mark once; call before `claim` for a job seen
   * for the first time. Call it only once the job's earlier batches have
   * settled (the caller chains them), so a line being appended is neither
   * missed nor claimed twice.
   */
  prepare(jobId: string): Promise<void> | undefined {
    if (this.last.has(jobId)) return undefined;
    let pending = this.loading.get(jobId);
    if (!pending) {
      pending = this.loadTail(jobId).then(
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
    this.last.delete(jobId);
  }

  /**
   * Records the job's latest batch of appends, which must itself have waited
   * for the batch before it (see `settled`); `stored` never rejects.
   */
  track(jobId: string, stored: Promise<boolean>): void {
    const done: Promise<boolean> = stored.then((ok) => {
      if (this.inflight.get(jobId) === done) this.inflight.delete(jobId);
      return ok;
    });
    this.inflight.set(jobId, done);
  }

  /** The job's batch in flight, if any: resolves to whether everything it appended was stored. */
  settled(jobId: string): Promise<boolean> | undefined {
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
