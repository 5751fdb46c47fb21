import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { inspectSqliteWal, walHasTornTail } from './sqlite-wal.inspector';

/** A WAL as a crash leaves it: copied while the writer still has it open (no checkpoint on close). */
function crashedWal(dir: string, transactions: number): string {
  const dbPath = path.join(dir, `db-${transactions}.db`);
  const db = new Database(dbPath);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)');
  const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
  for (let i = 0; i < transactions; i++) insert.run('x'.repeat(3000));
  const copy = path.join(dir, `copy-${transactions}.db-wal`);
  fs.copyFileSync(`${dbPath}-wal`, copy);
  db.close();
  return copy;
}

describe('inspectSqliteWal (real SQLite WAL files)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-wal-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('sees a cleanly committed WAL as intact', () => {
    const wal = inspectSqliteWal(crashedWal(dir, 5));
    assert.ok(wal);
    assert.equal(wal.committedEnd, wal.fileBytes);
    assert.equal(walHasTornTail(wal), false);
  });

  it('reports a transaction cut off mid-frame, and where the intact part ends', () => {
    const file = crashedWal(dir, 6);
    const whole = inspectSqliteWal(file)!;
    fs.truncateSync(file, whole.committedEnd - 100);
    const torn = inspectSqliteWal(file);
    assert.ok(torn && walHasTornTail(torn));
    assert.ok(torn.committedEnd < whole.committedEnd);
    assert.ok(torn.partialFrameBytes > 0 || torn.uncommittedFrames > 0);
  });

  it('returns undefined when there is no WAL or it is not one', () => {
    assert.equal(inspectSqliteWal(path.join(dir, 'missing-wal')), undefined);
    const junk = path.join(dir, 'junk-wal');
    fs.writeFileSync(junk, Buffer.alloc(64, 7));
    assert.equal(inspectSqliteWal(junk), undefined);
  });
});
