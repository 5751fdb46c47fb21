import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProjectionHarness } from '../testing/projection.harness';
import { at, planned, type PlannedEvent } from '../testing/fleet-events.fixture';
import { repoStatsProjection, type RepoStatsRow } from './repo-stats.projection';

describe('repo-stats projection (pure evolve)', () => {
  it('keeps one point per report, each keyed by its event id (a replayed event is stored once)', () => {
    const r = (size: number, t: number): PlannedEvent =>
      planned(
        'host-h1',
        'RepoStatsReported',
        {
          host_id: 'h1',
          total_size_bytes: size,
          snapshot_count: 1,
          compression_ratio: 1.5,
          reported_at: at(t),
        },
        { kind: 'agent', id: 'h1' },
      );
    const first = r(100, 1000);
    const second = r(300, 3000);
    const h = new ProjectionHarness(repoStatsProjection).given(first, second, second);
    const rows = h.rows<RepoStatsRow>('repo_stats').sort((a, b) => (a.reported_at < b.reported_at ? -1 : 1));
    assert.deepEqual(
      rows.map((p) => [p.event_id, p.total_size, p.snapshots_count, p.compression_ratio, p.reported_at]),
      [
        [first.event.id, 100, 1, 1.5, at(1000)],
        [second.event.id, 300, 1, 1.5, at(3000)],
      ],
    );
  });
});
