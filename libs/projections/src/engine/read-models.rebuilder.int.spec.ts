import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { createSqliteEventStore, type EventStore } from '@rf/event-store';
import type { ProjectionDefinition } from './projection.definition';
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

  it('a batch that reads, then sees another connection try to commit, then writes, still commits', async () => {
    let otherTried = 0;
    let otherCommitted = 0;
    // Reads its table, lets the other connection try to commit a write, then writes: the interleaving
    // that broke a deferred transaction.
    const reader: ProjectionDefinition = {
      name: 'read-then-write',
      version: 1,
      tables: [{ name: 'seen', columns: 'id TEXT PRIMARY KEY' }],
      indexes: [],
      eventTypes: ['HostEnrolled', 'JobRequested', 'LogStreamLine'],
      bind(conn, table) {
        const count = conn.prepare(`SELECT count(*) FROM ${table('seen')}`).pluck();
        const insert = conn.prepare(`INSERT INTO ${table('seen')} (id) VALUES (?)`);
        return {
          apply(e) {
            count.get();
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
            insert.run(e.id);
          },
        };
      },
    };
    const result = await rebuildReadModels(store, db, [reader]);
    assert.ok(result.eventsRead > 0);
    assert.ok(otherTried > 0, 'the other connection tried to write during the rebuild');
    assert.equal(otherCommitted, 0, 'the other writer waited for the rebuild transaction to end');
    assert.equal(db.prepare('SELECT count(*) FROM seen').pluck().get(), otherTried);
  });
});
