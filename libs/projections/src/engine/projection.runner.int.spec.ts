import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type Database from 'better-sqlite3';
import { createSqliteEventStore, type EventStore } from '@rf/event-store';
import { ProjectionRunner } from './projection.runner';
import { openReadModelsDatabase } from './read-models.database';
import { rebuildReadModels } from './read-models.rebuilder';
import { dumpReadModels } from './dump-read-models';
import { isProjectionError } from './projection.errors';
import { ALL_PROJECTIONS } from '../read-models/all.projections';
import { JobsQuery } from '../queries/jobs.query';
import { fleetHistory, planned, at } from '../testing/fleet-events.fixture';
import { appendAll, waitUntil } from '../testing/event-log.helpers';

describe('ProjectionRunner with the SQLite event store', () => {
  let dir: string;
  let store: EventStore;
  const dbs: Database.Database[] = [];
  const runners: ProjectionRunner[] = [];
  const openDb = (name: string): Database.Database => {
    const db = openReadModelsDatabase(path.join(dir, name));
    dbs.push(db);
    return db;
  };
  const startRunner = (db: Database.Database, batchSize = 100): ProjectionRunner => {
    const r = new ProjectionRunner(store, db, ALL_PROJECTIONS, { batchSize, flushMs: 20 });
    runners.push(r);
    r.start();
    return r;
  };
  const settle = async (runner: ProjectionRunner): Promise<void> => {
    const head = await store.headPosition();
    assert.ok(head, 'the log has events');
    await runner.waitForPosition(head, 10_000);
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-proj-'));
    store = createSqliteEventStore({ path: path.join(dir, 'events.db'), synchronous: 'NORMAL' });
  });

  afterEach(async () => {
    for (const r of runners.splice(0)) await r.stop();
    for (const db of dbs.splice(0)) db.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a live runner and a rebuild produce identical read models, row by row', async () => {
    const history = fleetHistory({ hosts: 5, jobsPerHost: 6, linesPerJob: 25 });
    const live = openDb('live.db');
    const runner = startRunner(live, 64);
    // Half before the runner catches up, half while it is live.
    await appendAll(store, history.slice(0, history.length / 2));
    await runner.whenCaughtUp(10_000);
    await appendAll(store, history.slice(history.length / 2));
    await settle(runner);

    const fresh = openDb('rebuilt.db');
    const result = await rebuildReadModels(store, fresh, ALL_PROJECTIONS, { batchSize: 333 });
    assert.equal(result.eventsRead, history.length);

    const a = dumpReadModels(live, ALL_PROJECTIONS);
    const b = dumpReadModels(fresh, ALL_PROJECTIONS);
    assert.deepEqual(b, a);
    assert.equal(a['jobs']!.length, 30);
    assert.equal(a['job_log_lines']!.length, 30 * 25);
    assert.equal(a['hosts']!.length, 5);
    assert.equal(a['snapshots']!.length, 10);
  });

  it('rebuilds in place while the runner is live and the runner carries on with the swapped tables', async () => {
    const history = fleetHistory({ hosts: 4, jobsPerHost: 5, linesPerJob: 20 });
    const db = openDb('readmodels.db');
    const runner = startRunner(db, 50);
    await appendAll(store, history.slice(0, 200));
    await settle(runner);

    // A second connection, as `projections rebuild` in another process would open it.
    const cli = openDb('readmodels.db');
    const appending = appendAll(store, history.slice(200));
    const result = await rebuildReadModels(store, cli, ALL_PROJECTIONS, { batchSize: 40 });
    await appending;
    assert.equal(result.generation, 1);
    // Events after the swap land in the swapped-in tables.
    await appendAll(
      store,
      fleetHistory({ hosts: 1, jobsPerHost: 1, linesPerJob: 3, firstHost: 9 }, 10_000_000),
    );
    await settle(runner);
    assert.ok(new JobsQuery(db).get('j-0-0'), 'rows from before the swap');
    assert.equal(new JobsQuery(db).get('j-9-0')?.logLineCount, 3, 'rows from after the swap');

    const reference = openDb('reference.db');
    await rebuildReadModels(store, reference, ALL_PROJECTIONS);
    assert.deepEqual(dumpReadModels(db, ALL_PROJECTIONS), dumpReadModels(reference, ALL_PROJECTIONS));
    const tables = (
      cli
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%__rebuild'")
        .all() as unknown[]
    ).length;
    assert.equal(tables, 0, 'no leftover rebuild tables');
  });

  it('rebuilds one projection by name and leaves the others untouched', async () => {
    const db = openDb('readmodels.db');
    await appendAll(store, fleetHistory({ hosts: 2, jobsPerHost: 2, linesPerJob: 3 }));
    const runner = startRunner(db);
    await settle(runner);
    const before = dumpReadModels(db, ALL_PROJECTIONS);
    db.prepare('DELETE FROM snapshots').run(); // damage one read model
    const result = await rebuildReadModels(store, db, ALL_PROJECTIONS, { names: ['snapshots'] });
    assert.deepEqual(result.projections, ['snapshots']);
    assert.deepEqual(dumpReadModels(db, ALL_PROJECTIONS), before);
    await assert.rejects(rebuildReadModels(store, db, ALL_PROJECTIONS, { names: ['nope'] }), (err: unknown) =>
      isProjectionError(err, 'UnknownProjection'),
    );
  });

  it('resumes from its checkpoint after a restart without re-applying or skipping events', async () => {
    const history = fleetHistory({ hosts: 3, jobsPerHost: 4, linesPerJob: 30 });
    const file = 'readmodels.db';
    const first = openDb(file);
    const runner1 = startRunner(first, 37);
    await appendAll(store, history.slice(0, 150));
    await settle(runner1);
    const cp1 = runner1.checkpoint();
    await runner1.stop();
    first.close();
    dbs.splice(dbs.indexOf(first), 1);

    await appendAll(store, history.slice(150));
    const second = openDb(file);
    const runner2 = startRunner(second, 37);
    await settle(runner2);
    assert.ok(cp1 !== null && runner2.checkpoint()!.commit > cp1.commit);

    const reference = openDb('reference.db');
    await rebuildReadModels(store, reference, ALL_PROJECTIONS);
    const dump = dumpReadModels(second, ALL_PROJECTIONS);
    assert.deepEqual(dump, dumpReadModels(reference, ALL_PROJECTIONS));
    // Counters would show a re-applied line; missing rows would show a skipped one.
    for (const job of dump['jobs']!) assert.equal(job['log_line_count'], 30);
    assert.equal(dump['job_log_lines']!.length, 3 * 4 * 30);
  });

  it('waitForPosition gives read-your-writes and times out with a coded error', async () => {
    const db = openDb('readmodels.db');
    const runner = startRunner(db);
    await runner.whenCaughtUp(5000);
    const appended = await store.append('job-rw1', [
      planned('job-rw1', 'JobRequested', {
        job_id: 'rw1',
        host_id: 'h1',
        kind: 'check',
        args: {},
        requested_at: at(1),
      }).event,
    ]);
    await runner.waitForPosition(appended.position, 5000);
    assert.equal(new JobsQuery(db).get('rw1')?.status, 'queued');

    const beyond = { commit: appended.position.commit + 1000n, prepare: appended.position.prepare + 1000n };
    await assert.rejects(runner.waitForPosition(beyond, 50), (err: unknown) =>
      isProjectionError(err, 'WaitTimeout'),
    );
    const lag = await runner.lag();
    assert.equal(lag.eventsBehind, 0);
    assert.equal(lag.caughtUp, true);
  });

  it('reports lag as events behind and the age of the oldest unapplied event', async () => {
    await appendAll(store, fleetHistory({ hosts: 1, jobsPerHost: 1, linesPerJob: 10 }));
    const head = await store.headPosition();
    const db = openDb('readmodels.db');
    const clock = { now: Date.now() + 60_000 };
    const runner = new ProjectionRunner(store, db, ALL_PROJECTIONS, { now: () => clock.now });
    runners.push(runner);
    const idle = await runner.lag();
    assert.equal(idle.eventsBehind, Number(head!.commit));
    assert.ok(idle.msBehind >= 60_000 && idle.msBehind < 120_000, `msBehind ${idle.msBehind}`);
    assert.equal(idle.running, false);
    runner.start();
    await runner.waitForPosition(head!, 5000);
    const done = await runner.lag();
    assert.deepEqual([done.eventsBehind, done.msBehind, done.running], [0, 0, true]);
  });

  it('retries a failed batch from its checkpoint: the read models end up complete', async () => {
    const db = openDb('readmodels.db');
    await appendAll(store, fleetHistory({ hosts: 1, jobsPerHost: 2, linesPerJob: 5 }));
    // Lock the database from another connection so the runner's first batches fail with SQLITE_BUSY.
    const blocker = openDb('readmodels.db');
    blocker.pragma('busy_timeout = 0');
    const errors: unknown[] = [];
    const runner = new ProjectionRunner(store, db, ALL_PROJECTIONS, {
      retryMs: 20,
      onError: (e) => errors.push(e),
    });
    runners.push(runner);
    db.pragma('busy_timeout = 0');
    runner.start();
    blocker.exec('BEGIN IMMEDIATE');
    await waitUntil(() => errors.length > 0, 5000, 'a failed batch');
    blocker.exec('COMMIT');
    await settle(runner);
    const reference = openDb('reference.db');
    await rebuildReadModels(store, reference, ALL_PROJECTIONS);
    assert.deepEqual(dumpReadModels(db, ALL_PROJECTIONS), dumpReadModels(reference, ALL_PROJECTIONS));
  });
});
