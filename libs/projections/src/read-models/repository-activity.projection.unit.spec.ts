import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { legacyRepositoryId } from '@rf/events';
import { ProjectionHarness } from '../testing/projection.harness';
import { agentOf, ALICE, at, jobEvent, planned } from '../testing/fleet-events.fixture';
import {
  repositoryActivityProjection,
  type RepositoryJobRow,
  type RepositoryMaintenanceRow,
  type RepositoryStatsRow,
} from './repository-activity.projection';

const R1 = '0b6c2a52-5f0e-4c41-9a55-6f5a0d1c1a01';
const R2 = '0b6c2a52-5f0e-4c41-9a55-6f5a0d1c1a02';

const requested = (jobId: string, data: Record<string, unknown>) =>
  jobEvent(jobId, 'JobRequested', { host_id: 'h1', requested_at: at(1000), ...data }, ALICE);
const stats = (size: number, data: Record<string, unknown>, stream = 'host-h1') =>
  planned(
    stream,
    'RepoStatsReported',
    { host_id: 'h1', total_size_bytes: size, snapshot_count: 2, reported_at: at(size), ...data },
    agentOf('h1'),
  );

describe('repository-activity projection (pure evolve)', () => {
  it('records the repository of each job, a copy its destination too, and a v1 request the legacy repository', () => {
    const h = new ProjectionHarness(repositoryActivityProjection).given(
      requested('j1', { kind: 'backup', args: { paths: ['/srv'] }, repository_id: R1 }),
      requested('j2', { kind: 'copy', args: { to_repository_id: R2 }, repository_id: R1 }),
      requested('j3', { kind: 'prune', args: {} }),
      // A repeated request changes nothing.
      requested('j1', { kind: 'backup', args: { paths: ['/srv'] }, repository_id: R2 }),
    );
    const row = (id: string) => h.row<RepositoryJobRow>('repository_jobs', { job_id: id });
    const base = { host_id: 'h1', requested_at: at(1000) };
    assert.deepEqual(row('j1'), {
      ...base,
      job_id: 'j1',
      repository_id: R1,
      to_repository_id: null,
      kind: 'backup',
    });
    assert.deepEqual(row('j2'), {
      ...base,
      job_id: 'j2',
      repository_id: R1,
      to_repository_id: R2,
      kind: 'copy',
    });
    // The fixture writes schema v1, which names the host's own repository on read.
    assert.equal(row('j3')?.repository_id, legacyRepositoryId('h1'));
  });

  it('keeps the last finished forget, prune and check of each repository, a lost one too', () => {
    const h = new ProjectionHarness(repositoryActivityProjection).given(
      requested('p1', { kind: 'prune', args: {}, repository_id: R1 }),
      jobEvent('p1', 'JobFinished', { status: 'failed', exit_code: 1, finished_at: at(3000) }),
      requested('p2', { kind: 'prune', args: {}, repository_id: R1 }),
      jobEvent('p2', 'JobLost', { host_id: 'h1', reason: 'agent restarted', lost_at: at(4000) }),
      // An older finish read later leaves the newer one.
      requested('p0', { kind: 'prune', args: {}, repository_id: R1 }),
      jobEvent('p0', 'JobFinished', { status: 'succeeded', exit_code: 0, finished_at: at(2000) }),
      requested('b1', { kind: 'backup', args: { paths: ['/'] }, repository_id: R1 }),
      jobEvent('b1', 'JobFinished', { status: 'succeeded', exit_code: 0, finished_at: at(5000) }),
      // A finish whose request is unknown is left out.
      jobEvent('x1', 'JobFinished', { status: 'succeeded', exit_code: 0, finished_at: at(6000) }),
    );
    assert.deepEqual(h.rows<RepositoryMaintenanceRow>('repository_maintenance'), [
      { repository_id: R1, kind: 'prune', job_id: 'p2', status: 'lost', finished_at: at(4000) },
    ]);
  });

  it('files each size report under the repository it names, its stream, or the host’s own one', () => {
    const first = stats(100, { repository_id: R1 });
    const h = new ProjectionHarness(repositoryActivityProjection).given(
      first,
      first,
      stats(200, {}, `repository-${R2}`),
      stats(300, {}),
    );
    const rows = h
      .rows<RepositoryStatsRow>('repository_stats')
      .map((r) => [r.repository_id, r.total_size, r.host_id])
      .sort((a, b) => Number(a[1]) - Number(b[1]));
    assert.deepEqual(rows, [
      [R1, 100, 'h1'],
      [R2, 200, 'h1'],
      [legacyRepositoryId('h1'), 300, 'h1'],
    ]);
  });
});
