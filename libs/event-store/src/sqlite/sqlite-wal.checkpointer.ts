import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** SQLite's own default: checkpoint in the commit that takes the WAL past 1000 pages. */
const AUTOCHECKPOINT_PAGES = 1000;
const STOP_TIMEOUT_MS = 5000;

export interface SqliteWalCheckpointerOptions {
  /** How often the thread copies committed frames back. Default 200 ms. */
  readonly intervalMs?: number;
  /** Told when the thread fails; checkpoints then go back to the writer's commits. */
  readonly onError?: (message: string) => void;
}

/**
 * Moves WAL checkpoints of a server's writer connection off the event loop
 * (docs/architecture.md, "Event store"): SQLite otherwise runs one inside
 * whichever commit takes the WAL past 1000 pages, copying megabytes and
 * syncing the database file while every socket waits. A worker thread with its
 * own connection checkpoints instead (PASSIVE: it never blocks the writer);
 * commits and their durability are unchanged. If the thread fails, the
 * connection checkpoints in its commits again, so the WAL cannot grow unbounded.
 */
export class SqliteWalCheckpointer {
  private readonly worker: Worker;
  private stopped: Promise<void> | undefined;
  private failed = false;
  private exited = false;

  constructor(
    private readonly db: Database.Database,
    file: string,
    options: SqliteWalCheckpointerOptions = {},
  ) {
    db.pragma('wal_autocheckpoint = 0');
    this.worker = new Worker(path.join(__dirname, 'sqlite-wal-checkpoint.worker.js'), {
      workerData: { file, intervalMs: options.intervalMs ?? 200 },
    });
    this.worker.unref();
    const fail = (message: string): void => {
      if (this.failed || this.stopped) return;
      this.failed = true;
      if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
      options.onError?.(message);
    };
    this.worker.on('message', (m: { error?: unknown }) => {
      if (typeof m?.error === 'string') fail(`background checkpoint of ${file} failed: ${m.error}`);
    });
    this.worker.on('error', (err) => fail(`checkpoint thread for ${file} failed: ${err.message}`));
    this.worker.on('exit', (code) => {
      this.exited = true;
      fail(`checkpoint thread for ${file} exited (${code})`);
    });
  }

  /** Ends the thread and gives checkpoints back to the connection (call before closing it). */
  stop(): Promise<void> {
    this.stopped ??= new Promise<void>((resolve) => {
      if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
      if (this.exited) return resolve();
      const timer = setTimeout(() => void this.worker.terminate(), STOP_TIMEOUT_MS);
      this.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.worker.postMessage('stop');
    });
    return this.stopped;
  }
}
