import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { makeEvents } from '../testing';
import { createSqliteEventStore } from './sqlite-event-store';
import { SqliteWalCheckpointer } from './sqlite-wal.checkpointer';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-sqlite-checkpoint-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshFile = (): string => path.join(dir, `db-${++files}.db`);

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('SqliteWalCheckpointer', () => {
  it('commits no longer checkpoint; the thread copies the WAL back into the file', async () => {
    const file = freshFile();
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)');
    const checkpointer = new SqliteWalCheckpointer(db, file, { intervalMs: 50 });
    try {
      assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 0);
      const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
      // Well past SQLite's 1000-page mark, in commits of their own.
      for (let i = 0; i < 300; i++) db.transaction(() => insert.run('x'.repeat(16_000)))();
      await until(() => fs.statSync(file).size > 300 * 16_000, 'the rows reached the database file');
      assert.equal((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 300);
    } finally {
      await checkpointer.stop();
    }
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000, 'commits checkpoint again');
    db.close();
  });

  it('a failed thread hands checkpoints back to the connection and says why', async () => {
    const file = freshFile();
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    const errors: string[] = [];
    // The thread cannot open a file that does not exist, so it fails at once.
    const checkpointer = new SqliteWalCheckpointer(db, path.join(dir, 'missing', 'no.db'), {
      onError: (message) => errors.push(message),
    });
    await until(() => errors.length > 0, 'the failure was reported');
    assert.match(errors[0]!, /checkpoint thread for .*no\.db/);
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000);
    await checkpointer.stop();
    db.close();
  });

  it('an event store with background checkpoints keeps every event across close and reopen', async () => {
    const file = freshFile();
    const store = createSqliteEventStore({ path: file, backgroundCheckpoints: true });
    const written = makeEvents(200);
    for (let i = 0; i < written.length; i += 10) await store.append(`joblog-${i}`, written.slice(i, i + 10));
    await until(() => fs.statSync(file).size > 200 * 200, 'the thread copied the WAL into the file');
    await store.close();
    const reopened = createSqliteEventStore({ path: file, readonly: true });
    try {
      const ids: string[] = [];
      for await (const e of reopened.readAll()) ids.push(e.id);
      assert.deepEqual(
        ids,
        written.map((e) => e.id),
      );
    } finally {
      await reopened.close();
    }
  });
});
