import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type Database from 'better-sqlite3';
import { createSqliteEventStore, ensureLogIdentity, type EventStore } from '@rf/event-store';
import { StateSnapshotRepository } from '../snapshots/state-snapshot.repository';
import { isProjectionError } from './projection.errors';
import { ProjectionStateRepository } from './projection-state.repository';
import { openReadModelsDatabase } from './read-models.database';
import { readModelsLogId, stampReadModelsLog, verifyReadModelsLog } from './read-models-log';

const events = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: randomUUID(), type: 'HostSeen', data: { i } }));

describe('read models record the log they were built from (real SQLite logs and readmodels.db)', () => {
  let dir: string;
  let stores: EventStore[];
  let db: Database.Database;
  const where = 'readmodels.db';

  const openStore = async (name: string): Promise<{ store: EventStore; logId: string }> => {
    const store = createSqliteEventStore({ path: path.join(dir, `${name}.db`) });
    stores.push(store);
    return { store, logId: await ensureLogIdentity(store) };
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-rmlog-'));
    stores = [];
    db = openReadModelsDatabase(path.join(dir, where));
  });
  afterEach(async () => {
    db.close();
    for (const s of stores) await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stamps empty read models, then matches the same log and refuses another one', async () => {
    const a = await openStore('a');
    const b = await openStore('b');
    assert.notEqual(a.logId, b.logId, 'two logs, two ids');
    assert.equal(await verifyReadModelsLog(db, a.store, a.logId, where), 'stamped');
    assert.equal(readModelsLogId(db), a.logId);
    assert.equal(await verifyReadModelsLog(db, a.store, a.logId, where), 'matched');
    await assert.rejects(verifyReadModelsLog(db, b.store, b.logId, where), (err: unknown) => {
      assert.ok(isProjectionError(err, 'WrongLog'));
      assert.match(err.message, new RegExp(`built from log ${a.logId}.*names log ${b.logId}`));
      assert.match(err.message, /Point RF_EVENTSTORE back .* or move readmodels\.db away/);
      return true;
    });
    assert.equal(readModelsLogId(db), a.logId, 'a refusal changes nothing');
  });

  it('adopts read models from before log ids when their checkpoint is an event of this log', async () => {
    const a = await openStore('a');
    await a.store.append('host-1', events(3));
    const last = await a.store.append('host-2', events(2));
    new ProjectionStateRepository(db).save({ name: 'hosts', version: 1, checkpoint: last.position });
    assert.equal(await verifyReadModelsLog(db, a.store, a.logId, where), 'adopted');
    assert.equal(readModelsLogId(db), a.logId);
  });

  it('refuses read models from before log ids whose checkpoint is not in this log', async () => {
    const a = await openStore('a');
    await a.store.append('host-1', events(10));
    const built = await a.store.append('host-1', events(5));
    const b = await openStore('b');
    await b.store.append('host-1', events(3)); // shorter: a's checkpoint is past b's head
    new StateSnapshotRepository(db).save({
      name: 'fleet-state',
      version: 1,
      position: built.position,
      body: '{}',
      writtenAt: new Date().toISOString(),
    });
    await assert.rejects(verifyReadModelsLog(db, b.store, b.logId, where), (err: unknown) => {
      assert.ok(isProjectionError(err, 'WrongLog'));
      assert.match(err.message, /is not an event of log/);
      return true;
    });
    assert.equal(readModelsLogId(db), null);
  });

  it('moving the stamp to another log (a full rebuild) drops the old log’s state snapshots', async () => {
    const a = await openStore('a');
    const b = await openStore('b');
    const at = await a.store.append('host-1', events(1));
    stampReadModelsLog(db, a.logId);
    const snapshots = new StateSnapshotRepository(db);
    snapshots.save({ name: 'fleet-state', version: 1, position: at.position, body: '{}', writtenAt: 'x' });
    stampReadModelsLog(db, a.logId);
    assert.ok(snapshots.load('fleet-state'), 'restamping the same log keeps them');
    stampReadModelsLog(db, b.logId);
    assert.equal(snapshots.load('fleet-state'), undefined);
    assert.equal(await verifyReadModelsLog(db, b.store, b.logId, where), 'matched');
  });
});
