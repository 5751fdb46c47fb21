import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { createSqliteEventStore, type EventStore } from '@rf/event-store';
import { defineProjection, type KeyedTable } from './projection.definition';
import { openReadModelsDatabase } from './read-models.database';
import { rebuildReadModels } from './read-models.rebuilder';
import { fleetHistory } from '../testing/fleet-events.fixture';
import { appendAll } from '../testing/event-log.helpers';

/*
 * A rebuild shares readmodels.db with the live runner. A deferred transaction
 * that reads and then writes fails at once ("database is locked",
 * SQLITE_BUSY_SNAPSHOT) when another connection committed in between, without
 * waiting: busy_timeout only covers taking the write lock. The rebuild's write
 * transactions are IMMEDIATE, so the other writer waits its turn instead. This
 * was a rare CI failure of the projections CLI spec ("rebuilds while the runner
 * is live").
 */
describe('rebuildReadModels next to another writer of readmodels.db', () => {
  let dir: string;
  let store: EventStore;
  let db: Database.Database;
  let other: Database.Database;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-rebuild-lock-'));
    store = createSqliteEventStore({ path: path.join(dir, 'events.db') });
    await appendAll(store, fleetHistory({ hosts: 1, jobsPerHost: 1, linesPerJob: 3 }));
    db = openReadModelsDatabase(path.join(dir, 'readmodels.db'));
    db.exec('CREATE TABLE other_writer (v INTEGER NOT NULL)');
    // The live runner's connection, as another writer of the same file; it gives up quickly when blocked.
    other = new Database(path.join(dir, 'readmodels.db'));
    other.pragma('busy_timeout = 20');
  });

  after(async () => {
    other.close();
    db.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a batch that reads, then sees another connection commit, then writes, still commits', async () => {
    let otherTried = 0;
    let otherCommitted = 0;
    // Reads its table, lets the other connection commit a write, then writes: the interleaving
    // that broke a deferred transaction. The replay evolves outside any transaction (it reads only
    // its own rebuild tables), so the other writer is not held up; the batch's rows are written in
    // an IMMEDIATE transaction of their own at its end.
    const reader = defineProjection<{ seen: KeyedTable<{ id: string }, 'id'> }>({
      name: 'read-then-write',
      version: 1,
      tables: { seen: { kind: 'keyed', key: ['id'], columns: { id: 'TEXT PRIMARY KEY' } } },
      indexes: [],
      evolve(view, e) {
        if (e.type !== 'HostEnrolled' && e.type !== 'JobRequested' && e.type !== 'LogStreamLine') return;
        assert.equal(view.get('seen', { id: e.id }), undefined);
        otherTried++;
        try {
          other.exec('BEGIN IMMEDIATE');
          other.prepare('INSERT INTO other_writer (v) VALUES (1)').run();
          other.exec('COMMIT');
          otherCommitted++;
        } catch (err) {
          if (other.inTransaction) other.exec('ROLLBACK');
          assert.match(String(err), /locked|busy/i);
        }
        view.put('seen', { id: e.id });
      },
    });
    const result = await rebuildReadModels(store, db, [reader]);
    assert.ok(result.eventsRead > 0);
    assert.ok(otherTried > 0, 'the other connection tried to write during the rebuild');
    assert.equal(otherCommitted, otherTried, 'the other writer is not held up while the rebuild evolves');
    assert.equal(db.prepare('SELECT count(*) FROM seen').pluck().get(), otherTried);
  });

  it("leaves the connection's WAL auto-checkpoint as it found it, after a rebuild and after a failed one", async () => {
    db.pragma('wal_autocheckpoint = 777');
    const counter = defineProjection<{ n: KeyedTable<{ id: string }, 'id'> }>({
      name: 'counter',
      version: 1,
      tables: { n: { kind: 'keyed', key: ['id'], columns: { id: 'TEXT PRIMARY KEY' } } },
      indexes: [],
      evolve(view, e) {
        view.put('n', { id: e.id });
      },
    });
    const result = await rebuildReadModels(store, db, [counter]);
    assert.ok(result.eventsRead > 0);
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 777);
    const failing = defineProjection<{ f: KeyedTable<{ id: string }, 'id'> }>({
      name: 'failing',
      version: 1,
      tables: { f: { kind: 'keyed', key: ['id'], columns: { id: 'TEXT PRIMARY KEY' } } },
      indexes: [],
      evolve() {
        throw new Error('evolve failed');
      },
    });
    await assert.rejects(rebuildReadModels(store, db, [failing]), /evolve failed/);
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 777);
  });
});
