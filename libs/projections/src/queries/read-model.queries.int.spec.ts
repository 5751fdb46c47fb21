import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { legacyRepositoryId } from '@rf/events';
import { ReadModelWriter } from '../engine/read-model.writer';
import { ALL_PROJECTIONS } from '../read-models/all.projections';
import { HostsQuery } from './hosts.query';
import { JobsQuery } from './jobs.query';
import { JobLogQuery } from './job-log.query';
import { SnapshotsQuery } from './snapshots.query';
import { SchedulesQuery } from './schedules.query';
import { RepoStatsQuery } from './repo-stats.query';
import { DashboardQuery } from './dashboard.query';
import { RepositoriesQuery } from './repositories.query';
import {
  agentConnected,
  ALICE as alice,
  agentOf,
  at,
  backupRequested,
  hostEnrolled,
  hostEvent,
  jobEvent,
  jobLogEvent,
  logLine,
  planned,
  recorded,
  snapshotOf as snap,
  type PlannedEvent,
} from '../testing/fleet-events.fixture';

// The queries over read models written by the real writer (SQLite); the projections' own rules
// are specified without a database next to each projection.
let db: Database.Database;
let writer: ReadModelWriter;
let seq = 0;
const given = (...events: PlannedEvent[]): void => {
  writer.applyBatch(events.map((p) => recorded(++seq, p)));
};
const when = given;

const agent = agentOf('h1');
const job = (type: string, data: Record<string, unknown>): PlannedEvent => jobEvent('j1', type, data);
const joblog = (type: string, data: Record<string, unknown>): PlannedEvent => jobLogEvent('j1', type, data);
const requested = backupRequested('j1', 1000);
const line = (n: number, payload?: string): PlannedEvent => logLine('j1', n, payload);

beforeEach(() => {
  db = new Database(':memory:');
  writer = new ReadModelWriter(db, ALL_PROJECTIONS);
  writer.install();
  seq = 0;
});

describe('jobs queries', () => {
  it('follows a job from request to success with progress and log lines', () => {
    given(
      requested,
      job('JobDispatched', { host_id: 'h1', dispatched_at: at(2000) }),
      job('JobStarted', { kind: 'backup', started_at: at(3000) }),
      joblog('JobProgress', {
        percent_done: 0.25,
        files_done: 1,
        total_files: 4,
        bytes_done: 10,
        total_bytes: 40,
        eta_seconds: 9,
        throughput_bps: 5,
        ts: at(4000),
      }),
      line(0),
      line(1, 'error: permission denied'),
    );
    const running = new JobsQuery(db).get('j1');
    assert.equal(running?.status, 'running');
    assert.deepEqual(running?.progress, {
      percentDone: 0.25,
      filesDone: 1,
      totalFiles: 4,
      bytesDone: 10,
      totalBytes: 40,
      etaSeconds: 9,
      bytesPerSecond: 5,
      at: at(4000),
    });
    when(
      job('JobFinished', {
        status: 'succeeded',
        exit_code: 0,
        finished_at: at(9000),
        stats: { files_new: 3 },
      }),
    );
    const done = new JobsQuery(db).get('j1');
    assert.equal(done?.status, 'succeeded');
    assert.equal(done?.exitCode, 0);
    assert.deepEqual(done?.stats, { files_new: 3 });
    assert.deepEqual(done?.actor, { kind: 'user', id: 'u-alice', name: 'alice' });
    assert.deepEqual(done?.args, { paths: ['/srv'] });
    assert.equal(done?.requestedAt, at(1000));
    assert.equal(done?.dispatchedAt, at(2000));
    assert.equal(done?.startedAt, at(3000));
    assert.equal(done?.finishedAt, at(9000));
    assert.equal(done?.logLineCount, 2);
    assert.equal(done?.lastSeq, 1);
    assert.deepEqual(
      new JobLogQuery(db).lines('j1').map((l) => [l.seq, l.payload]),
      [
        [0, 'line 0'],
        [1, 'error: permission denied'],
      ],
    );
    assert.deepEqual(
      new JobLogQuery(db).lines('j1', { afterSeq: 0 }).map((l) => l.seq),
      [1],
    );
  });

  it('filters job lists and rejects an unknown status naming the field', () => {
    given(
      requested,
      planned(
        'job-j2',
        'JobRequested',
        { job_id: 'j2', host_id: 'h2', kind: 'check', args: {}, requested_at: at(2000) },
        alice,
      ),
    );
    const q = new JobsQuery(db);
    assert.deepEqual(
      q.list().map((j) => j.id),
      ['j2', 'j1'],
    );
    assert.deepEqual(
      q.list({ hostId: 'h1' }).map((j) => j.id),
      ['j1'],
    );
    assert.deepEqual(
      q.list({ kind: 'check' }).map((j) => j.id),
      ['j2'],
    );
    assert.deepEqual(
      q.list({ status: 'queued', limit: 1 }).map((j) => j.id),
      ['j2'],
    );
    assert.throws(
      () => q.list({ status: 'exploded' }),
      (err: unknown) => (err as { details: { field: string } }).details.field === 'status',
    );
  });
});

describe('hosts query', () => {
  const host = (type: string, data: Record<string, unknown>, actor = agent) =>
    hostEvent('h1', type, data, actor);
  const enrolled = hostEnrolled('h1', 1000);
  const connected = agentConnected('h1', 2000);

  it('maps status, versions, repository, last backup outcome, snapshot count and repository size', () => {
    given(
      enrolled,
      connected,
      host(
        'RepositoryConfigured',
        {
          url: 'rest:https://bob:s3cret@backup.example/h1',
          password: { alg: 'aes-256-gcm', key_id: 'k', iv: 'A', tag: 'A', ciphertext: 'A' },
        },
        alice,
      ),
      requested,
      job('JobFinished', { status: 'warning', exit_code: 3, finished_at: at(4000) }),
      planned(
        'job-j9',
        'JobRequested',
        { job_id: 'j9', host_id: 'h1', kind: 'check', args: {}, requested_at: at(4500) },
        alice,
      ),
      planned(
        'job-j9',
        'JobFinished',
        { job_id: 'j9', status: 'failed', exit_code: 1, finished_at: at(5000) },
        agent,
      ),
      planned('snapshots-h1', 'SnapshotsReported', {
        host_id: 'h1',
        snapshots: [{ id: 'ab'.repeat(32) }, { id: 'cd'.repeat(32) }],
        reported_at: at(6000),
      }),
      host('RepoStatsReported', { total_size_bytes: 4096, snapshot_count: 2, reported_at: at(7000) }),
    );
    const h = new HostsQuery(db).get('h1');
    assert.equal(h?.status, 'online');
    assert.equal(h?.agentVersion, '0.2.0');
    assert.equal(h?.connectedAt, at(2000));
    assert.deepEqual(h?.repository?.url, 'rest:https://backup.example/h1');
    assert.equal(h?.repository?.passwordSet, true);
    assert.deepEqual(h?.lastBackup, { at: at(4000), status: 'warning', jobId: 'j1' });
    assert.equal(h?.snapshotCount, 2);
    assert.equal(h?.repoSizeBytes, 4096);
  });
});

describe('a page of a large fleet', () => {
  const repository = (id: string, name: string, hostIds: string[]): PlannedEvent[] => [
    planned(
      `repository-${id}`,
      'RepositoryRegistered',
      { repository_id: id, name, url: `/srv/${id}` },
      alice,
    ),
    ...hostIds.map((hostId) =>
      planned(`repository-${id}`, 'RepositoryAttached', { repository_id: id, host_id: hostId }, alice),
    ),
  ];
  it('pages and counts hosts, and lists only the repositories of the hosts on the page', () => {
    given(
      ...['h1', 'h2', 'h3', 'h4', 'h5'].map((id, i) => hostEnrolled(id, i)),
      agentConnected('h2', 10),
      hostEvent('h3', 'HostRevoked', { reason: 'gone', revoked_at: at(20) }),
      ...repository('r1', 'zeta', ['h1', 'h2']),
      ...repository('r2', 'alpha', ['h4']),
    );
    const hosts = new HostsQuery(db);
    assert.equal(hosts.count(), 5);
    assert.equal(hosts.count({ includeRevoked: false }), 4);
    assert.deepEqual(
      hosts.page({ includeRevoked: false, offset: 1, limit: 2 }).map((h) => h.id),
      ['h2', 'h4'],
    );
    assert.deepEqual(
      hosts.page({ offset: 0, limit: 10 }).map((h) => h.id),
      hosts.list().map((h) => h.id),
    );
    assert.deepEqual(
      hosts.versions({ includeRevoked: false }).map((v) => [v.id, v.agentVersion]),
      [
        ['h1', null],
        ['h2', '0.2.0'],
        ['h4', null],
        ['h5', null],
      ],
    );
    const repositories = new RepositoriesQuery(db);
    assert.deepEqual(
      repositories.ofHosts(['h4']).map((r) => r.id),
      ['r2'],
    );
    assert.deepEqual(
      repositories.ofHosts(['h2', 'h4', 'h5']).map((r) => r.name),
      ['alpha', 'zeta'],
    );
    assert.deepEqual(repositories.ofHosts([]), []);
  });
});

describe('snapshots, schedules and repository stats queries', () => {
  it('replaces a host’s snapshots with each full report', () => {
    given(
      planned('snapshots-h1', 'SnapshotsReported', {
        host_id: 'h1',
        snapshots: [snap('a', at(1)), snap('b', at(2))],
        reported_at: at(3),
      }),
    );
    when(
      planned('snapshots-h1', 'SnapshotsReported', {
        host_id: 'h1',
        snapshots: [snap('b', at(2)), snap('c', at(4))],
        reported_at: at(5),
      }),
    );
    const list = new SnapshotsQuery(db).forHost('h1');
    assert.deepEqual(
      list.map((s) => s.shortId),
      ['cccccccc', 'bbbbbbbb'],
    );
    assert.deepEqual(list[0]?.paths, ['/srv']);
    assert.deepEqual(list[0]?.tags, ['t']);
  });

  it('keeps each repository’s list apart, and lists a repository as its newest report shows it', () => {
    const report = (host: string, repository: string | undefined, ids: string[], t: number) =>
      planned(`snapshots-${host}`, 'SnapshotsReported', {
        host_id: host,
        ...(repository !== undefined ? { repository_id: repository } : {}),
        snapshots: ids.map((id) => snap(id, at(1), { hostname: id === 'e' ? 'h2' : 'h1' })),
        reported_at: at(t),
      });
    given(
      report('h1', 'r-local', ['a'], 2),
      report('h1', 'r-off', ['b', 'e'], 3),
      report('h1', undefined, ['c'], 4),
    );
    when(report('h2', 'r-off', ['b', 'e', 'f'], 5));
    const q = new SnapshotsQuery(db);
    assert.deepEqual(
      q
        .forHost('h1')
        .map((s) => [s.repositoryId, s.shortId])
        .sort(),
      [
        [legacyRepositoryId('h1'), 'cccccccc'],
        ['r-local', 'aaaaaaaa'],
        ['r-off', 'bbbbbbbb'],
        ['r-off', 'eeeeeeee'],
      ],
      'a report without repository_id is about the host’s own repository',
    );
    assert.deepEqual(
      q
        .forRepository('r-off')
        .map((s) => [s.shortId, s.reportedBy])
        .sort(),
      [
        ['bbbbbbbb', 'h2'],
        ['eeeeeeee', 'h2'],
        ['ffffffff', 'h2'],
      ],
    );
    assert.deepEqual(
      q.forRepository('r-off', 'h2').map((s) => s.shortId),
      ['eeeeeeee'],
    );
    assert.deepEqual(q.forRepository('r-none'), []);
  });

  it('tracks desired against applied schedule versions and ignores a stale change', () => {
    const s = (type: string, data: Record<string, unknown>) =>
      planned('schedules-h1', type, { host_id: 'h1', ...data }, alice);
    given(
      s('SchedulesChanged', {
        version: 2,
        schedules: [{ id: 'nightly', kind: 'backup', cron: '0 2 * * *', enabled: true }],
      }),
      s('SchedulesChanged', { version: 1, schedules: [] }),
      s('SchedulesApplied', { version: 1, applied_at: at(10) }),
    );
    const q = new SchedulesQuery(db);
    const v = q.forHost('h1');
    assert.equal(v.desiredVersion, 2);
    assert.equal(v.schedules.length, 1);
    assert.equal(v.appliedVersion, 1);
    assert.equal(v.inSync, false);
    assert.deepEqual(q.outOfSync(), [{ hostId: 'h1', desiredVersion: 2, appliedVersion: 1 }]);
    when(
      s('SchedulesApplied', { version: 2, applied_at: at(20) }),
      s('ScheduleFired', { schedule_id: 'nightly', scheduled_at: at(30), job_id: 'j1' }),
      s('ScheduleFired', { schedule_id: 'nightly', scheduled_at: at(40), job_id: 'j2' }),
    );
    const after = q.forHost('h1');
    assert.equal(after.inSync, true);
    assert.equal(after.fires[0]?.fireCount, 2);
    assert.equal(after.fires[0]?.lastJobId, 'j2');
    assert.equal(after.fires[0]?.lastScheduledAt, at(40));
  });

  it('keeps repository stats history in time order and the newest as latest', () => {
    const r = (size: number, t: number) =>
      planned(
        'host-h1',
        'RepoStatsReported',
        { host_id: 'h1', total_size_bytes: size, snapshot_count: 1, reported_at: at(t) },
        agent,
      );
    given(r(100, 1000), r(300, 3000), r(200, 2000));
    const q = new RepoStatsQuery(db);
    assert.deepEqual(
      q.history('h1').map((p) => p.totalSize),
      [100, 200, 300],
    );
    assert.equal(q.latest('h1')?.totalSize, 300);
    assert.deepEqual(
      q.history('h1', { since: at(2000) }).map((p) => p.totalSize),
      [200, 300],
    );
  });
});

describe('dashboard query', () => {
  it('counts hosts, active jobs, failures in 24 h and 30 days of outcomes', () => {
    const now = new Date('2026-11-10T12:00:00.000Z');
    const finished = (id: string, status: string, iso: string): PlannedEvent[] => [
      planned(
        `job-${id}`,
        'JobRequested',
        { job_id: id, host_id: 'h1', kind: 'backup', args: {}, requested_at: iso },
        alice,
      ),
      planned(
        `job-${id}`,
        'JobFinished',
        { job_id: id, status, exit_code: status === 'failed' ? 1 : 0, finished_at: iso },
        agent,
      ),
    ];
    given(
      planned('host-h1', 'HostEnrolled', {
        host_id: 'h1',
        hostname: 'a',
        os: 'linux',
        arch: 'amd64',
        enrolled_at: at(0),
      }),
      planned('host-h1', 'AgentConnected', { host_id: 'h1', connected_at: at(1) }, agent),
      planned('host-h2', 'HostEnrolled', {
        host_id: 'h2',
        hostname: 'b',
        os: 'linux',
        arch: 'amd64',
        enrolled_at: at(0),
      }),
      planned('host-h3', 'HostEnrolled', {
        host_id: 'h3',
        hostname: 'c',
        os: 'linux',
        arch: 'amd64',
        enrolled_at: at(0),
      }),
      planned('host-h3', 'HostRevoked', { host_id: 'h3', revoked_at: at(2) }, alice),
      ...finished('a', 'succeeded', '2026-11-10T01:00:00.000Z'),
      ...finished('b', 'failed', '2026-11-10T02:00:00.000Z'),
      ...finished('c', 'failed', '2026-11-08T02:00:00.000Z'),
      ...finished('d', 'succeeded', '2026-09-01T02:00:00.000Z'),
      planned(
        'job-e',
        'JobRequested',
        { job_id: 'e', host_id: 'h1', kind: 'backup', args: {}, requested_at: at(5) },
        alice,
      ),
      planned(
        'job-f',
        'JobRequested',
        { job_id: 'f', host_id: 'h1', kind: 'backup', args: {}, requested_at: at(5) },
        alice,
      ),
      planned('job-f', 'JobStarted', { job_id: 'f', kind: 'backup', started_at: at(6) }, agent),
    );
    const d = new DashboardQuery(db).summary(now);
    assert.deepEqual(d.hosts, { online: 1, offline: 1, revoked: 1, total: 2 });
    assert.deepEqual(d.jobs, { queued: 1, running: 1, failedLast24h: 1 });
    assert.equal(d.daily.length, 30);
    assert.equal(d.daily[29]?.date, '2026-11-10');
    assert.deepEqual(d.daily[29], {
      date: '2026-11-10',
      succeeded: 1,
      warning: 0,
      failed: 1,
      cancelled: 0,
      lost: 0,
    });
    assert.equal(d.daily[27]?.failed, 1);
    assert.equal(
      d.daily.reduce((n, x) => n + x.succeeded + x.failed, 0),
      3,
    );
  });
});
