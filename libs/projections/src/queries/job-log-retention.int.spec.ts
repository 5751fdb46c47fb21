import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type Database from 'better-sqlite3';
import { openReadModelsDatabase } from '../engine/read-models.database';
import { ReadModelWriter } from '../engine/read-model.writer';
import { ALL_PROJECTIONS } from '../read-models/all.projections';
import { JobLogQuery } from './job-log.query';
import { JobsQuery } from './jobs.query';
import {
  at,
  backupRequested,
  jobEvent,
  logLine,
  recorded,
  type PlannedEvent,
} from '../testing/fleet-events.fixture';

// Retention of the job log read model on a real readmodels.db file: rows of jobs that finished
// before the cutoff go in bounded steps, newer ones stay, and the freed pages leave the file.
let dir: string;
let file: string;
let db: Database.Database;
let writer: ReadModelWriter;
let seq = 0;
const given = (events: PlannedEvent[]): void => {
  for (let i = 0; i < events.length; i += 2000)
    writer.applyBatch(events.slice(i, i + 2000).map((p) => recorded(++seq, p)));
};

/** A backup with `lines` log lines of about 200 bytes, finished at `finishedMs` after T0. */
function job(id: string, lines: number, finishedMs: number): PlannedEvent[] {
  const out: PlannedEvent[] = [backupRequested(id, finishedMs - 60_000)];
  for (let s = 0; s < lines; s++) out.push(logLine(id, s, `line ${s} `.padEnd(200, 'x')));
  out.push(
    jobEvent(id, 'JobFinished', {
      status: 'succeeded',
      exit_code: 0,
      finished_at: at(finishedMs),
      log_lines: lines,
    }),
  );
  return out;
}

const count = (jobId: string): number =>
  (
    db
      .prepare(
        'SELECT COUNT(*) AS c FROM job_log_lines l JOIN jobs j ON j.log_key = l.log_key WHERE j.id = ?',
      )
      .get(jobId) as { c: number }
  ).c;
const fileBytes = (): number => {
  db.pragma('wal_checkpoint(TRUNCATE)');
  return fs.statSync(file).size;
};

describe('job log retention on a real readmodels.db', () => {
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-log-retention-'));
    file = path.join(dir, 'readmodels.db');
    db = openReadModelsDatabase(file);
    writer = new ReadModelWriter(db, ALL_PROJECTIONS);
    writer.install();
    seq = 0;
  });

  afterEach(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('deletes the lines of expired jobs in bounded steps, keeps the rest, and returns the pages to the file system', () => {
    const DAY = 86_400_000;
    given([...job('old-1', 6000, 1 * DAY), ...job('old-2', 3000, 2 * DAY), ...job('new-1', 500, 40 * DAY)]);
    const log = new JobLogQuery(db);
    assert.equal(
      db.pragma('auto_vacuum', { simple: true }),
      2,
      'a new readmodels.db uses incremental auto_vacuum',
    );
    // A cutoff before every job: nothing to delete, but the retention's watermark table exists now.
    assert.deepEqual(log.pruneStep(at(0)), { removed: 0, done: true });
    const pagesBefore = Number(db.pragma('page_count', { simple: true }));
    const bytesBefore = fileBytes();

    const cutoff = at(30 * DAY);
    const steps = [];
    for (;;) {
      const step = log.pruneStep(cutoff, 2500);
      steps.push(step.removed);
      assert.ok(step.removed <= 2500, `a step deletes at most its budget (deleted ${step.removed})`);
      if (step.done) break;
      assert.ok(steps.length < 20, 'retention finishes');
    }
    assert.equal(
      steps.reduce((a, b) => a + b, 0),
      9000,
    );
    assert.ok(steps.length >= 4, `9,000 lines at 2,500 per step take several steps (took ${steps.length})`);
    assert.equal(count('old-1'), 0);
    assert.equal(count('old-2'), 0);
    assert.equal(count('new-1'), 500, 'lines of a job inside the window stay');
    assert.equal(new JobsQuery(db).get('old-1')?.logLineCount, 6000, 'the job row keeps its counters');

    let freed = 0;
    for (;;) {
      const step = log.reclaimStep(100);
      assert.ok(step.pagesFreed <= 100, 'a reclaim step frees at most its budget');
      assert.equal(step.incremental, true);
      freed += step.pagesFreed;
      if (step.pagesFreed === 0) break;
    }
    const pagesAfter = Number(db.pragma('page_count', { simple: true }));
    assert.ok(freed > 200, `the deleted lines' pages were freed (${freed})`);
    // Pointer-map pages of incremental auto_vacuum may go as well.
    assert.ok(
      pagesAfter <= pagesBefore - freed,
      `${pagesBefore} pages before, ${pagesAfter} after, ${freed} freed`,
    );
    assert.equal(Number(db.pragma('freelist_count', { simple: true })), 0);
    const bytesAfter = fileBytes();
    assert.ok(bytesAfter < bytesBefore / 2, `the file shrank (from ${bytesBefore} to ${bytesAfter} bytes)`);
  });

  it('a later pass visits only jobs that expired since the last one, and a rebuild starts it over', () => {
    const DAY = 86_400_000;
    given([...job('a', 10, 1 * DAY), ...job('b', 10, 5 * DAY)]);
    const log = new JobLogQuery(db);
    assert.deepEqual(log.pruneStep(at(3 * DAY)), { removed: 10, done: true });
    assert.equal(count('b'), 10);
    // A line that arrives late for an already cleared job stays: the watermark is past it.
    given([logLine('a', 99)]);
    assert.deepEqual(log.pruneStep(at(10 * DAY)), { removed: 10, done: true });
    assert.equal(count('b'), 0);
    assert.equal(count('a'), 1);
    // A rebuild bumps the generation: the next pass starts from the oldest job again.
    db.prepare("UPDATE read_models_meta SET value = value + 1 WHERE key = 'generation'").run();
    assert.deepEqual(log.pruneStep(at(10 * DAY)), { removed: 1, done: true });
    assert.equal(count('a'), 0);
  });
});
