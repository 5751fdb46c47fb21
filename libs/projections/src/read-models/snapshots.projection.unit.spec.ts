import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProjectionHarness } from '../testing/projection.harness';
import { at, planned, snapshotOf as snap } from '../testing/fleet-events.fixture';
import { snapshotsProjection, type SnapshotRow } from './snapshots.projection';

const report = (host: string, snapshots: unknown[], t: number) =>
  planned(`snapshots-${host}`, 'SnapshotsReported', { host_id: host, snapshots, reported_at: at(t) });

describe('snapshots projection (pure evolve)', () => {
  it('replaces a host’s snapshots with each full report and leaves other hosts alone', () => {
    const h = new ProjectionHarness(snapshotsProjection).given(
      report('h1', [snap('a', at(1)), snap('b', at(2))], 3),
      report('h2', [snap('e', at(1))], 3),
      report('h1', [snap('b', at(2)), snap('c', at(4), { size_bytes: 7, parent: 'b'.repeat(64) })], 5),
    );
    const rows = h.rows<SnapshotRow>('snapshots');
    assert.deepEqual(
      rows.map((s) => [s.host_id, s.short_id, s.reported_at]),
      [
        ['h1', 'bbbbbbbb', at(5)],
        ['h1', 'cccccccc', at(5)],
        ['h2', 'eeeeeeee', at(3)],
      ],
    );
    const c = rows[1]!;
    assert.deepEqual([c.paths, c.tags, c.size_bytes, c.parent], ['["/srv"]', '["t"]', 7, 'b'.repeat(64)]);
  });

  it('keeps the last entry of a snapshot listed twice, and an empty report empties the host', () => {
    const h = new ProjectionHarness(snapshotsProjection).given(
      report('h1', [snap('a', at(1), { hostname: 'old' }), snap('a', at(1), { hostname: 'new' })], 2),
    );
    assert.deepEqual(
      h.rows<SnapshotRow>('snapshots').map((s) => s.hostname),
      ['new'],
    );
    h.given(report('h1', [], 3));
    assert.deepEqual(h.rows('snapshots'), []);
  });
});
