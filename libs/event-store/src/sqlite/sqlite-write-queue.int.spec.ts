import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EventStoreError, isEventStoreError } from '../event-store.port';
import { SqliteWriteQueue } from './sqlite-write-queue';

describe('SqliteWriteQueue (group commit)', () => {
  let dir: string;
  let db: Database.Database;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-write-queue-'));
    db = new Database(path.join(dir, 'q.db'));
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (v TEXT NOT NULL)');
  });
  after(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('commits writes queued in the same tick in one transaction; a failing write is rolled back alone', async () => {
    let commits = 0;
    const queue = new SqliteWriteQueue(db, () => commits++);
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const settledInTransaction: boolean[] = [];
    const track = <T>(p: Promise<T>) =>
      p.then(
        (v) => {
          settledInTransaction.push(db.inTransaction);
          return v;
        },
        (err: unknown) => {
          settledInTransaction.push(db.inTransaction);
          throw err;
        },
      );
    const first = track(queue.enqueue(() => insert.run('a').changes));
    const failing = track(
      queue.enqueue(() => {
        insert.run('b');
        throw new EventStoreError('WrongExpectedVersion', 'conflict');
      }),
    );
    const third = track(queue.enqueue(() => insert.run('c').changes));
    assert.equal(await first, 1);
    await assert.rejects(failing, (err: unknown) => isEventStoreError(err, 'WrongExpectedVersion'));
    assert.equal(await third, 1);
    assert.equal(commits, 1, 'one transaction for the three writes');
    assert.deepEqual(db.prepare('SELECT v FROM t ORDER BY rowid').pluck().all(), ['a', 'c']);
    assert.deepEqual(settledInTransaction, [false, false, false], 'settled only after COMMIT');
  });

  it('a write failing inside SQLite is reported as Unavailable and rolled back alone', async () => {
    const queue = new SqliteWriteQueue(db, () => undefined);
    const broken = queue.enqueue(() => db.prepare('INSERT INTO t (v) VALUES (NULL)').run());
    const fine = queue.enqueue(() => db.prepare('INSERT INTO t (v) VALUES (?)').run('ok').changes);
    await assert.rejects(
      broken,
      (err: unknown) => isEventStoreError(err, 'Unavailable') && /NOT NULL/.test(String(err)),
    );
    assert.equal(await fine, 1);
  });

  it('writes queued in later ticks go into a later transaction', async () => {
    let commits = 0;
    const queue = new SqliteWriteQueue(db, () => commits++);
    await queue.enqueue(() => db.prepare('INSERT INTO t (v) VALUES (?)').run('d'));
    await queue.enqueue(() => db.prepare('INSERT INTO t (v) VALUES (?)').run('e'));
    assert.equal(commits, 2);
  });
});
