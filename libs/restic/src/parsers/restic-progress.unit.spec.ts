import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseBackupStatus } from './restic-backup.parser';
import { ProgressThrottle, progressFromStatus } from './restic-progress';

describe('progressFromStatus', () => {
  it("uses restic's seconds_remaining when present and computes throughput", () => {
    const s = parseBackupStatus({
      seconds_elapsed: 4,
      seconds_remaining: 6,
      percent_done: 0.4,
      total_files: 10,
      files_done: 4,
      total_bytes: 1000,
      bytes_done: 400,
    });
    const p = progressFromStatus(s, 5000);
    assert.deepEqual([p.percentDone, p.etaSeconds, p.throughputBps, p.at], [0.4, 6, 100, 5000]);
  });

  it('estimates ETA from the byte rate and the start time when restic omits both', () => {
    const s = parseBackupStatus({ percent_done: 0.25, total_bytes: 1000, bytes_done: 250 });
    const p = progressFromStatus(s, new Date(12_000), new Date(10_000));
    assert.deepEqual([p.throughputBps, p.etaSeconds], [125, 6]);
  });

  it('tolerates an empty status (first line restic prints)', () => {
    const p = progressFromStatus(parseBackupStatus({}), 0);
    assert.deepEqual([p.percentDone, p.etaSeconds, p.throughputBps, p.currentFiles], [0, undefined, 0, []]);
  });
});

describe('ProgressThrottle', () => {
  it('lets one sample per interval through and hands back the latest held one on flush', () => {
    const t = new ProgressThrottle(1000);
    const at = (ms: number) => progressFromStatus(parseBackupStatus({ bytes_done: ms }), ms);
    assert.equal(t.offer(at(0))?.at, 0);
    assert.equal(t.offer(at(300)), undefined);
    assert.equal(t.offer(at(900)), undefined);
    assert.equal(t.offer(at(1000))?.at, 1000);
    assert.equal(t.offer(at(1500)), undefined);
    assert.equal(t.flush()?.at, 1500);
    assert.equal(t.flush(), undefined);
  });
});
