import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { ReadModelWriter } from '../engine/read-model.writer';
import { ALL_PROJECTIONS } from '../read-models/all.projections';
import {
  ALICE,
  agentOf,
  at,
  jobEvent,
  planned,
  recorded,
  type PlannedEvent,
} from '../testing/fleet-events.fixture';
import { RepositoryActivityQuery } from './repository-activity.query';

// The per-repository queries over read models written by the real writer (SQLite).
const R1 = '0b6c2a52-5f0e-4c41-9a55-6f5a0d1c1a01';
const R2 = '0b6c2a52-5f0e-4c41-9a55-6f5a0d1c1a02';

let db: Database.Database;
let writer: ReadModelWriter;
let seq = 0;
const given = (...events: PlannedEvent[]): void => {
  writer.applyBatch(events.map((p) => recorded(++seq, p)));
};

const repo = (id: string, type: string, data: Record<string, unknown> = {}): PlannedEvent =>
  planned(`repository-${id}`, type, { repository_id: id, ...data }, ALICE);
/** A v2 request (the fixture's metadata says v1, which would name the host's own repository). */
const requested = (
  jobId: string,
  hostId: string,
  kind: string,
  t: number,
  repositoryId?: string,
  args = {},
) => {
  const p = jobEvent(
    jobId,
    'JobRequested',
    {
      host_id: hostId,
      kind,
      args,
      ...(repositoryId ? { repository_id: repositoryId } : {}),
      requested_at: at(t),
    },
    ALICE,
  );
  return { ...p, event: { ...p.event, metadata: { ...(p.event.metadata as object), schema_version: 2 } } };
};
const finished = (jobId: string, status: string, t: number): PlannedEvent[] => [
  jobEvent(jobId, 'JobStarted', { kind: 'check', started_at: at(t - 10) }),
  jobEvent(jobId, 'JobFinished', { status, exit_code: status === 'succeeded' ? 0 : 1, finished_at: at(t) }),
];
const stats = (repositoryId: string, size: number, t: number): PlannedEvent =>
  planned(
    `repository-${repositoryId}`,
    'RepoStatsReported',
    {
      host_id: 'h1',
      repository_id: repositoryId,
      total_size_bytes: size,
      snapshot_count: 1,
      reported_at: at(t),
    },
    agentOf('h1'),
  );

beforeEach(() => {
  db = new Database(':memory:');
  writer = new ReadModelWriter(db, ALL_PROJECTIONS);
  writer.install();
  seq = 0;
  given(
    repo(R1, 'RepositoryRegistered', { name: 'shared', url: '/srv/shared' }),
    repo(R2, 'RepositoryRegistered', { name: 'offsite', url: '/srv/offsite' }),
    repo(R1, 'RepositoryAttached', { host_id: 'h1' }),
    repo(R1, 'RepositoryAttached', { host_id: 'h2' }),
    repo(R2, 'RepositoryAttached', { host_id: 'h2' }),
  );
});

describe('repository activity queries', () => {
  it('lists a repository’s jobs: named ones, copies into it, and unnamed ones of a host that has only it', () => {
    given(
      requested('j1', 'h1', 'backup', 1000, R1, { paths: ['/srv'] }),
      requested('j2', 'h2', 'copy', 2000, R2, { to_repository_id: R1 }),
      // h1 has only R1: its unnamed job is on R1. h2 has two: its unnamed job cannot be placed.
      requested('j3', 'h1', 'check', 3000),
      requested('j4', 'h2', 'check', 4000),
      requested('j5', 'h2', 'prune', 5000, R2),
    );
    const q = new RepositoryActivityQuery(db);
    assert.deepEqual(
      q.jobs(R1).map((j) => [j.id, j.repositoryId, j.toRepositoryId]),
      [
        ['j3', R1, null],
        ['j2', R2, R1],
        ['j1', R1, null],
      ],
    );
    assert.deepEqual(
      q.jobs(R2).map((j) => j.id),
      ['j5', 'j2'],
    );
    assert.deepEqual(
      q.activeJobs().map((j) => [j.id, j.repositoryId]),
      [
        ['j1', R1],
        ['j2', R2],
        ['j3', R1],
        ['j4', null],
        ['j5', R2],
      ],
    );
    assert.deepEqual(
      q.jobs(R1, { limit: 1 }).map((j) => j.id),
      ['j3'],
    );
  });

  it('finds the latest finished maintenance of each kind, leaving out unfinished ones and other kinds', () => {
    given(
      requested('c1', 'h1', 'check', 1000, R1),
      ...finished('c1', 'succeeded', 2000),
      requested('c2', 'h1', 'check', 3000, R1),
      ...finished('c2', 'failed', 4000),
      requested('c3', 'h1', 'check', 5000, R1),
      requested('b1', 'h1', 'backup', 5000, R1, { paths: ['/'] }),
      ...finished('b1', 'succeeded', 6000),
      requested('f1', 'h1', 'forget', 5000, R2, { policy: { keep_last: 1 } }),
      ...finished('f1', 'succeeded', 7000),
      // A replayed older finish does not replace the newer one.
      ...finished('c1', 'succeeded', 2000),
    );
    const q = new RepositoryActivityQuery(db);
    const last = q.lastMaintenance(R1);
    assert.deepEqual([...last.keys()], ['check']);
    assert.deepEqual([last.get('check')?.id, last.get('check')?.status], ['c2', 'failed']);
    assert.deepEqual([...q.lastMaintenance(R2).keys()], ['forget']);
  });

  it('gives each repository’s size history, oldest first, and its latest report', () => {
    given(stats(R1, 100, 1000), stats(R2, 900, 1500), stats(R1, 300, 3000), stats(R1, 200, 2000));
    const q = new RepositoryActivityQuery(db);
    assert.deepEqual(
      q.sizeHistory(R1).map((p) => [p.reportedAt, p.totalSize]),
      [
        [at(1000), 100],
        [at(2000), 200],
        [at(3000), 300],
      ],
    );
    assert.deepEqual(
      q.sizeHistory(R1, { limit: 2 }).map((p) => p.totalSize),
      [200, 300],
    );
    const latest = q.latestSizes();
    assert.deepEqual([latest.get(R1)?.totalSize, latest.get(R2)?.totalSize, latest.size], [300, 900, 2]);
    const some = q.latestSizes([R2, 'repo-unknown']);
    assert.deepEqual(
      [...some].map(([id, p]) => [id, p.totalSize]),
      [[R2, 900]],
    );
  });
});
