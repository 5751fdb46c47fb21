import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JobStatus } from '@rf/events';
import type { RepositoryJobView, SnapshotView } from '@rf/projections';
import {
  RECENT_SNAPSHOT_HOURS,
  recentCopies,
  repositoryLocks,
  sizeGrowth,
  sizeSeries,
  snapshotHosts,
} from './repositories.presenter';

const NOW = new Date('2026-12-05T12:00:00.000Z');
const hoursAgo = (h: number): string => new Date(NOW.getTime() - h * 3_600_000).toISOString();
const listing = (hostname: string, latestAt: string | null) => ({
  hostname,
  snapshotCount: 3,
  latestAt,
  reportedAt: hoursAgo(0),
});

describe('snapshotHosts (a repository listing by hostname)', () => {
  const snap = (hostname: string | null, time: string | null): SnapshotView => ({
    id: `${hostname}-${time}`,
    repositoryId: 'r1',
    reportedBy: 'h1',
    shortId: null,
    time,
    hostname,
    paths: [],
    tags: [],
    parent: null,
    sizeBytes: null,
    fileCount: null,
    reportedAt: hoursAgo(0.5),
  });

  it('counts each hostname’s snapshots and finds the newest by time, whatever the offset restic wrote', () => {
    assert.deepEqual(
      snapshotHosts([
        snap('web-2', '2026-12-05T10:00:00+01:00'),
        snap('web-1', '2026-12-04T10:00:00.123456789Z'),
        snap('web-2', '2026-12-05T09:30:00Z'),
        snap('web-1', 'not a time'),
        snap(null, null),
      ]),
      [
        { hostname: '', snapshotCount: 1, latestAt: null, reportedAt: hoursAgo(0.5) },
        {
          hostname: 'web-1',
          snapshotCount: 2,
          latestAt: '2026-12-04T10:00:00.123Z',
          reportedAt: hoursAgo(0.5),
        },
        {
          hostname: 'web-2',
          snapshotCount: 2,
          latestAt: '2026-12-05T09:30:00.000Z',
          reportedAt: hoursAgo(0.5),
        },
      ],
    );
    assert.deepEqual(snapshotHosts([]), []);
  });
});

describe('recentCopies (the host page 3-2-1 line)', () => {
  it('counts the repositories holding a snapshot of this host younger than the threshold', () => {
    const c = recentCopies(
      'web-1',
      [
        {
          id: 'r1',
          name: 'local',
          snapshotHosts: [listing('web-1', hoursAgo(2)), listing('web-2', hoursAgo(1))],
        },
        { id: 'r2', name: 'offsite', snapshotHosts: [listing('web-1', hoursAgo(RECENT_SNAPSHOT_HOURS - 1))] },
        // Only another host's snapshot is recent here; this host's is two days old.
        {
          id: 'r3',
          name: 'cold',
          snapshotHosts: [listing('web-2', hoursAgo(1)), listing('web-1', hoursAgo(48))],
        },
      ],
      NOW,
    );
    assert.equal(c.line, '2 of 3 repositories hold a snapshot younger than 26 h');
    assert.equal(c.tone, 'warn');
    assert.deepEqual(
      c.repositories.map((r) => [r.name, r.recent]),
      [
        ['local', true],
        ['offsite', true],
        ['cold', false],
      ],
    );
    assert.equal(c.repositories[2]?.latestAt, hoursAgo(48));
  });

  it('says ok only when every repository, and at least two, hold a recent snapshot', () => {
    const fresh = [listing('web-1', hoursAgo(1))];
    assert.equal(recentCopies('web-1', [{ id: 'r1', name: 'a', snapshotHosts: fresh }], NOW).tone, 'warn');
    const both = recentCopies(
      'web-1',
      [
        { id: 'r1', name: 'a', snapshotHosts: fresh },
        { id: 'r2', name: 'b', snapshotHosts: fresh },
      ],
      NOW,
    );
    assert.deepEqual([both.recent, both.total, both.tone], [2, 2, 'ok']);
    assert.equal(
      recentCopies('web-1', [{ id: 'r1', name: 'a', snapshotHosts: fresh }], NOW).line,
      '1 of 1 repository holds a snapshot younger than 26 h',
    );
  });

  it('counts nothing for a repository that lists no snapshot of the host, or a host without a name', () => {
    const repos = [{ id: 'r1', name: 'a', snapshotHosts: [listing('web-1', hoursAgo(1))] }];
    assert.deepEqual(
      [recentCopies(null, repos, NOW).recent, recentCopies(null, repos, NOW).tone],
      [0, 'bad'],
    );
    const none = recentCopies('web-1', [{ id: 'r1', name: 'a', snapshotHosts: [] }], NOW);
    assert.deepEqual([none.recent, none.repositories[0]?.latestAt], [0, null]);
    assert.equal(recentCopies('web-1', [], NOW).line, 'No repository is attached to this host');
  });

  it('takes the threshold as a parameter (a snapshot exactly at the threshold still counts)', () => {
    const repos = [{ id: 'r1', name: 'a', snapshotHosts: [listing('web-1', hoursAgo(6))] }];
    assert.equal(recentCopies('web-1', repos, NOW, 6).recent, 1);
    assert.equal(recentCopies('web-1', repos, NOW, 5).recent, 0);
    assert.match(recentCopies('web-1', repos, NOW, 5).line, /younger than 5 h$/);
  });
});

let seq = 0;
const job = (
  kind: string,
  status: JobStatus,
  hostId: string,
  repositoryId: string | null,
  args: unknown = {},
): RepositoryJobView => ({
  id: `j${++seq}`,
  hostId,
  kind,
  args,
  status,
  actor: null,
  scheduleId: null,
  requestedAt: new Date(Date.UTC(2026, 11, 5, 0, 0, seq)).toISOString(),
  dispatchedAt: null,
  acceptedAt: null,
  startedAt: null,
  finishedAt: null,
  cancelRequestedAt: null,
  exitCode: null,
  stats: null,
  error: null,
  errorCode: null,
  progress: null,
  logLineCount: 0,
  lastSeq: null,
  droppedLines: 0,
  repositoryId,
  toRepositoryId: null,
});
const names = {
  repository: (id: string) => ({ r1: 'shared', r2: 'offsite' })[id],
  host: (id: string) => ({ h1: 'web-1', h2: 'web-2', h3: 'web-3' })[id],
};
const online = () => true;

describe('repositoryLocks (who holds a repository, what waits)', () => {
  it('shows a running prune as the exclusive holder and says why the backups wait', () => {
    const prune = job('prune', 'running', 'h2', 'r1');
    const backup = job('backup', 'queued', 'h1', 'r1', { paths: ['/srv'] });
    const locks = repositoryLocks([prune, backup], online, names);
    const r1 = locks.get('r1');
    assert.ok(r1);
    assert.equal(r1.held, 'exclusive');
    assert.equal(r1.summary, 'exclusive: prune on web-2');
    assert.equal(r1.conflict, false);
    assert.deepEqual(
      r1.holders.map((h) => [h.jobId, h.kind, h.lock, h.status]),
      [[prune.id, 'prune', 'exclusive', 'running']],
    );
    assert.deepEqual(
      r1.waiting.map((w) => [w.jobId, w.lock, w.reason]),
      [[backup.id, 'shared', 'waiting for prune on repository shared, running on host web-2']],
    );
  });

  it('counts shared holders, queues a prune behind them, and a later backup behind the prune', () => {
    const b1 = job('backup', 'running', 'h1', 'r1', { paths: ['/'] });
    const b2 = job('backup', 'dispatched', 'h2', 'r1', { paths: ['/'] });
    const prune = job('prune', 'queued', 'h3', 'r1');
    const b3 = job('backup', 'queued', 'h1', 'r1', { paths: ['/'] });
    const r1 = repositoryLocks([b1, b2, prune, b3], online, names).get('r1');
    assert.ok(r1);
    assert.equal(r1.held, 'shared');
    assert.equal(r1.summary, 'shared by 2 jobs');
    assert.deepEqual(
      r1.waiting.map((w) => [w.jobId, w.reason]),
      [
        [prune.id, 'waiting for backup on repository shared, running on host web-1'],
        [b3.id, 'waiting behind prune queued on repository shared for host web-3'],
      ],
    );
  });

  it('places a copy on both repositories, ignores lock-free and finished-elsewhere jobs, and names an offline host', () => {
    const copy = job('copy', 'running', 'h1', 'r1', { to_repository_id: 'r2' });
    const unlock = job('unlock', 'running', 'h2', 'r1');
    const unknown = job('backup', 'queued', 'h2', null, { paths: ['/'] });
    const check = job('check', 'queued', 'h3', 'r2');
    const locks = repositoryLocks([copy, unlock, unknown, check], (h) => h !== 'h3', names);
    assert.deepEqual(
      locks.get('r1')?.holders.map((h) => [h.jobId, h.lock]),
      [[copy.id, 'shared']],
    );
    assert.deepEqual(
      locks.get('r2')?.holders.map((h) => [h.jobId, h.lock]),
      [[copy.id, 'shared']],
    );
    assert.deepEqual(
      locks.get('r2')?.waiting.map((w) => w.reason),
      ['waiting for host web-3 to come online'],
    );
    assert.equal(locks.has('r3'), false);
  });

  it('flags holders restic would not let run together (a check dispatched beside a running prune)', () => {
    const prune = job('prune', 'running', 'h2', 'r1');
    const check = job('check', 'dispatched', 'h1', 'r1');
    const backup = job('backup', 'running', 'h3', 'r2', { paths: ['/'] });
    const locks = repositoryLocks([prune, check, backup], online, names);
    assert.deepEqual([locks.get('r1')?.conflict, locks.get('r2')?.conflict], [true, false]);
  });

  it('says a queued job on a free repository is next to run', () => {
    const b = job('backup', 'queued', 'h1', 'r1', { paths: ['/'] });
    const r1 = repositoryLocks([b], online, names).get('r1');
    assert.deepEqual(
      [r1?.held, r1?.waiting[0]?.reason],
      ['free', 'next to run: the repository is free for it'],
    );
  });
});

describe('sizeSeries and sizeGrowth', () => {
  it('keeps sized points in Unix seconds and measures growth from first to last', () => {
    const s = sizeSeries([
      { reportedAt: '2026-12-01T00:00:00.000Z', totalSize: 100 },
      { reportedAt: '2026-12-02T00:00:00.000Z', totalSize: null },
      { reportedAt: 'garbage', totalSize: 5 },
      { reportedAt: '2026-12-03T00:00:00.000Z', totalSize: 250 },
    ]);
    assert.deepEqual(s, {
      x: [Date.parse('2026-12-01T00:00:00.000Z') / 1000, Date.parse('2026-12-03T00:00:00.000Z') / 1000],
      y: [100, 250],
    });
    assert.equal(sizeGrowth(s), 150);
    assert.equal(sizeGrowth({ x: [1], y: [100] }), null);
  });
});
