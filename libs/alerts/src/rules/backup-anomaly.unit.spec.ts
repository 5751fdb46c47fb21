import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  backupSample,
  type BackupSample,
  findAnomaly,
  HISTORY_SIZE,
  median,
  remember,
} from './backup-anomaly';

const MiB = 1024 * 1024;
const normal = (files = 100, added = 10 * MiB, processed = 1000 * MiB): BackupSample => ({
  files,
  dataAdded: added,
  bytesProcessed: processed,
});

describe('backup anomalies', () => {
  it('reads a sample from restic summary stats, or nothing without one', () => {
    const stats = {
      files_new: 3,
      files_changed: 4,
      data_added: 10,
      total_bytes_processed: 99,
      snapshot_id: 'x',
    };
    assert.deepEqual(backupSample(stats), { files: 7, dataAdded: 10, bytesProcessed: 99 });
    assert.equal(backupSample({ files_new: 3 }), null);
    assert.equal(backupSample(undefined), null);
  });

  it('flags changed+new files over 10x the median and over 1,000', () => {
    const history = [normal(80), normal(100), normal(120), normal(5000)];
    assert.equal(median(history.map((h) => h.files)), 110);
    assert.equal(findAnomaly(history, normal(1100)), null);
    assert.deepEqual(findAnomaly(history, normal(1101)), {
      kind: 'files_changed',
      value: 1101,
      median: 110,
      samples: 4,
    });
    // Over 10x a tiny median but under the 1,000-file floor: ordinary.
    assert.equal(findAnomaly([normal(2), normal(3), normal(4)], normal(900)), null);
  });

  it('flags data added over 10x the median, above a floor', () => {
    const history = [normal(100, 20 * MiB), normal(100, 30 * MiB), normal(100, 40 * MiB)];
    assert.equal(findAnomaly(history, normal(100, 301 * MiB))?.kind, 'data_added');
    assert.equal(findAnomaly(history, normal(100, 299 * MiB)), null);
  });

  it('flags a processed size that falls by more than half', () => {
    const history = [normal(), normal(), normal()];
    assert.equal(findAnomaly(history, normal(100, 10 * MiB, 499 * MiB))?.kind, 'processed_shrank');
    assert.equal(findAnomaly(history, normal(100, 10 * MiB, 501 * MiB)), null);
  });

  it('does not judge before three backups are known, and keeps the last ten', () => {
    assert.equal(findAnomaly([normal(), normal()], normal(50_000)), null);
    const history: BackupSample[] = [];
    for (let i = 0; i < 15; i++) remember(history, normal(i));
    assert.equal(history.length, HISTORY_SIZE);
    assert.equal(history[0].files, 5);
  });
});
