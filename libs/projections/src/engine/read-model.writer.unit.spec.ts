import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { ReadModelWriter } from './read-model.writer';
import { defineProjection, type AppendTable } from './projection.definition';
import { ProjectionStateRepository } from './projection-state.repository';
import { ALL_PROJECTIONS } from '../read-models/all.projections';
import { dumpReadModels } from './dump-read-models';
import { fleetHistory, recordAll } from '../testing/fleet-events.fixture';
import { JobLogQuery } from '../queries/job-log.query';

/** A projection that fails on an event whose data says so: to prove a batch is all or nothing. */
const failing = defineProjection<{ failing_seen: AppendTable<{ event_id: string }, 'event_id'> }>({
  name: 'failing',
  version: 1,
  tables: { failing_seen: { kind: 'append', key: ['event_id'], columns: { event_id: 'TEXT PRIMARY KEY' } } },
  indexes: [],
  evolve(view, e) {
    if (e.type !== 'JobRequested') return;
    if (e.data.job_id === 'j-0-1') throw new Error('projection bug');
    view.append('failing_seen', { event_id: e.id });
  },
});

describe('ReadModelWriter', () => {
  let db: Database.Database;
  const events = recordAll(fleetHistory({ hosts: 2, jobsPerHost: 3, linesPerJob: 4 }));

  beforeEach(() => {
    db = new Database(':memory:');
  });

  it('rolls back the whole batch and its checkpoints when one event fails', () => {
    const writer = new ReadModelWriter(db, [...ALL_PROJECTIONS, failing]);
    writer.install();
    const firstHalf = events.slice(0, 10);
    writer.applyBatch(firstHalf);
    const before = dumpReadModels(db, [...ALL_PROJECTIONS, failing]);
    const stateBefore = new ProjectionStateRepository(db).all();
    const checkpointBefore = writer.lowestCheckpoint();

    assert.throws(() => writer.applyBatch(events.slice(10)), /projection bug/);

    assert.deepEqual(dumpReadModels(db, [...ALL_PROJECTIONS, failing]), before);
    assert.deepEqual(new ProjectionStateRepository(db).all(), stateBefore);
    assert.deepEqual(writer.lowestCheckpoint(), checkpointBefore);
    assert.equal(checkpointBefore?.commit, 10n);
  });

  it('skips events at or before each projection’s checkpoint, so a replayed batch changes nothing', () => {
    const writer = new ReadModelWriter(db, ALL_PROJECTIONS);
    writer.install();
    writer.applyBatch(events);
    const once = dumpReadModels(db, ALL_PROJECTIONS);
    writer.applyBatch(events);
    writer.applyBatch(events.slice(5, 20));
    assert.deepEqual(dumpReadModels(db, ALL_PROJECTIONS), once);
    assert.equal(writer.lowestCheckpoint()?.commit, BigInt(events.length));
  });

  it('gives the same read models whatever the batch boundaries', () => {
    const whole = new ReadModelWriter(db, ALL_PROJECTIONS);
    whole.install();
    whole.applyBatch(events);
    const other = new Database(':memory:');
    const split = new ReadModelWriter(other, ALL_PROJECTIONS);
    split.install();
    for (let i = 0; i < events.length; i += 7) split.applyBatch(events.slice(i, i + 7));
    assert.deepEqual(dumpReadModels(other, ALL_PROJECTIONS), dumpReadModels(db, ALL_PROJECTIONS));
    assert.ok(dumpReadModels(db, ALL_PROJECTIONS)['job_log_lines']!.length === 2 * 3 * 4);
  });

  it('resets only a projection whose version changed, and keeps the others’ checkpoints', () => {
    const writer = new ReadModelWriter(db, ALL_PROJECTIONS);
    writer.install();
    writer.applyBatch(events);
    const bumped = ALL_PROJECTIONS.map((p) =>
      p.name === 'snapshots' ? { ...p, version: p.version + 1 } : p,
    );
    const next = new ReadModelWriter(db, bumped);
    assert.deepEqual(next.install(), ['snapshots']);
    const cps = new Map(next.checkpoints().map((c) => [c.name, c.checkpoint]));
    assert.equal(cps.get('snapshots'), null);
    assert.equal(cps.get('jobs')?.commit, BigInt(events.length));
    assert.equal(next.lowestCheckpoint(), null);
    assert.equal((db.prepare('SELECT COUNT(*) AS c FROM snapshots').get() as { c: number }).c, 0);
    // Replaying from the start rebuilds snapshots and leaves the rest as they were.
    const jobsBefore = dumpReadModels(db, ALL_PROJECTIONS)['jobs'];
    next.applyBatch(events);
    assert.equal((db.prepare('SELECT COUNT(*) AS c FROM snapshots').get() as { c: number }).c, 4);
    assert.deepEqual(dumpReadModels(db, ALL_PROJECTIONS)['jobs'], jobsBefore);
  });

  it('upgrades jobs v4 (log lines keyed by the job id) by replaying jobs into the v5 tables, whose log the query reads', () => {
    const writer = new ReadModelWriter(db, ALL_PROJECTIONS);
    writer.install();
    writer.applyBatch(events);
    const expected = dumpReadModels(db, ALL_PROJECTIONS);
    const jobId = String(expected['jobs']![0]!['id']);
    const lines = new JobLogQuery(db).lines(jobId);
    assert.equal(lines.length, 4);
    // The layout an install of the previous release has: v4 state, lines keyed by (job_id, seq), no counters.
    db.exec(`DROP TABLE job_log_lines; DROP TABLE job_counters; ALTER TABLE jobs DROP COLUMN log_key;
      CREATE TABLE job_log_lines (job_id TEXT NOT NULL, seq INTEGER NOT NULL, ts TEXT NOT NULL,
        stream TEXT NOT NULL, payload TEXT NOT NULL, PRIMARY KEY (job_id, seq)) WITHOUT ROWID;
      INSERT INTO job_log_lines VALUES ('${jobId}', 0, '2026-01-01T00:00:00.000Z', 'stdout', 'old');`);
    const states = new ProjectionStateRepository(db);
    states.save({ ...states.all().get('jobs')!, version: 4 });

    const upgraded = new ReadModelWriter(db, ALL_PROJECTIONS);
    assert.deepEqual(upgraded.install(), ['jobs']);
    assert.equal(upgraded.lowestCheckpoint(), null);
    upgraded.applyBatch(events);
    assert.deepEqual(dumpReadModels(db, ALL_PROJECTIONS), expected);
    assert.deepEqual(new JobLogQuery(db).lines(jobId), lines);
  });

  it('refuses to write after a rebuild bumped the generation, until reloaded', () => {
    const writer = new ReadModelWriter(db, ALL_PROJECTIONS);
    writer.install();
    writer.applyBatch(events.slice(0, 5));
    new ProjectionStateRepository(db).nextGeneration();
    const r = writer.applyBatch(events.slice(5));
    assert.equal(r.committed, false);
    assert.equal(writer.lowestCheckpoint()?.commit, 5n);
    writer.load();
    assert.equal(writer.applyBatch(events.slice(5)).committed, true);
  });
});
