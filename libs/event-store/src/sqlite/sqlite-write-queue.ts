import type Database from 'better-sqlite3';
import { EventStoreError } from '../event-store.port';

interface PendingWrite {
  readonly write: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * The single writer. Writes queued in the same tick run in ONE transaction
 * (group commit: one fsync for all of them); each runs in its own SAVEPOINT,
 * so a write that throws (a conflict) is rolled back alone while the others
 * commit. Promises settle only after COMMIT returned.
 */
export class SqliteWriteQueue {
  private pending: PendingWrite[] = [];
  private scheduled = false;
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;
  private readonly savepoint: Database.Statement;
  private readonly release: Database.Statement;
  private readonly rollbackTo: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly afterCommit: () => void,
    /** Called before each batch, and after any write of a batch failed (so caches can drop what may be stale). */
    private readonly hooks: { beforeBatch?: () => void; afterFailure?: () => void } = {},
  ) {
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    this.savepoint = db.prepare('SAVEPOINT w');
    this.release = db.prepare('RELEASE w');
    this.rollbackTo = db.prepare('ROLLBACK TO w');
  }

  enqueue<T>(write: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ write, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  /** Runs everything queued now, synchronously. Also used by close() to drain. */
  readonly flush = (): void => {
    this.scheduled = false;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    const outcomes: { ok: boolean; value: unknown }[] = new Array(batch.length);
    try {
      this.hooks.beforeBatch?.();
      this.begin.run();
      for (let i = 0; i < batch.length; i++) {
        this.savepoint.run();
        try {
          outcomes[i] = { ok: true, value: batch[i]!.write() };
          this.release.run();
        } catch (err) {
          this.hooks.afterFailure?.();
          this.rollbackTo.run();
          this.release.run();
          outcomes[i] = { ok: false, value: err instanceof EventStoreError ? err : unavailable(err) };
        }
      }
      this.commit.run();
    } catch (err) {
      this.hooks.afterFailure?.();
      if (this.db.inTransaction) this.rollback.run();
      // The transaction itself failed (busy file, disk full, I/O error): nothing of this batch was written.
      const failure = unavailable(err);
      for (const w of batch) w.reject(failure);
      return;
    }
    for (let i = 0; i < batch.length; i++) {
      const outcome = outcomes[i]!;
      if (outcome.ok) batch[i]!.resolve(outcome.value);
      else batch[i]!.reject(outcome.value);
    }
    this.afterCommit();
  };
}

function unavailable(err: unknown): EventStoreError {
  const message = err instanceof Error ? err.message : String(err);
  return new EventStoreError('Unavailable', `event log write failed: ${message}`, {}, { cause: err });
}
