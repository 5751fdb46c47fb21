// The thread behind SqliteWalCheckpointer: its own connection to the file,
// copying committed WAL frames back into the database every few hundred
// milliseconds (PASSIVE: it never waits for, nor blocks, the writer).
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { file, intervalMs } = workerData as { file: string; intervalMs: number };
const port = parentPort;
if (port === null) throw new Error('sqlite-wal-checkpoint.worker runs as a worker thread');

const db = new Database(file, { fileMustExist: true });
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const timer = setInterval(() => {
  try {
    checkpoint.run();
  } catch (err) {
    // SQLITE_BUSY only means another checkpoint runs (a CLI on the same file); anything else is told.
    if ((err as { code?: unknown }).code !== 'SQLITE_BUSY')
      port.postMessage({ error: err instanceof Error ? err.message : String(err) });
  }
}, intervalMs);

port.on('message', (message: unknown) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  port.close();
});
