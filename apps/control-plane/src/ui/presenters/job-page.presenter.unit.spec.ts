import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { etaText, failureOf, isBackupSummaryLine, progressCardOf, statRowsOf } from './job-page.presenter';

describe('job page presentation', () => {
  it('gives operator advice for known error codes and for lost jobs', () => {
    const locked = failureOf({
      status: 'failed',
      error: 'Fatal: repository is already locked',
      errorCode: 'repo_locked',
    });
    assert.match(locked?.advice ?? '', /unlock job/);
    assert.equal(locked?.error, 'Fatal: repository is already locked');
    assert.match(failureOf({ status: 'lost', error: null, errorCode: null })?.advice ?? '', /lost contact/);
    assert.equal(failureOf({ status: 'failed', error: 'odd', errorCode: 'something_new' })?.advice, null);
  });

  it('shows no failure for successful or plainly cancelled jobs', () => {
    assert.equal(failureOf({ status: 'succeeded', error: null, errorCode: null }), null);
    assert.equal(failureOf({ status: 'cancelled', error: null, errorCode: null }), null);
  });

  it('formats restic summary stats in a readable order and skips nested objects', () => {
    const rows = statRowsOf({
      data_added: 3 * 1024 ** 3,
      snapshot_id: 'abc',
      files_new: 1200,
      nested: { a: 1 },
      extra_field: 7,
    });
    assert.deepEqual(rows, [
      { label: 'Snapshot', value: 'abc' },
      { label: 'New files', value: '1,200' },
      { label: 'Data added', value: '3.0 GiB' },
      { label: 'extra field', value: '7' },
    ]);
    assert.deepEqual(statRowsOf(null), []);
  });

  it('writes times left in s, min and h', () => {
    assert.deepEqual([etaText(42), etaText(125), etaText(7260)], ['42 s', '2 min 5 s', '2 h 1 min']);
  });

  const lastReport = {
    percentDone: 0.84,
    filesDone: 0,
    totalFiles: 1,
    bytesDone: 900,
    totalBytes: 1000,
    etaSeconds: 3,
    bytesPerSecond: 500,
    at: '2024-05-01T12:00:00Z',
  };

  it("a succeeded backup's card shows restic's summary totals, not the last throttled report", () => {
    const card = progressCardOf({
      status: 'succeeded',
      progress: lastReport,
      stats: { total_files_processed: 200, total_bytes_processed: 4 * 1024 * 1024, total_duration: 2 },
    });
    assert.equal(card.percent, 100);
    assert.deepEqual(card.text, {
      files: '200 / 200',
      bytes: '4.0 MiB / 4.0 MiB',
      eta: '—',
      throughput: '2.0 MiB/s',
    });
  });

  it('a succeeded job without a summary shows 100 % of what it counted; a failed one keeps where it stopped', () => {
    const done = progressCardOf({ status: 'warning', progress: lastReport, stats: null });
    assert.equal(done.percent, 100);
    assert.equal(done.text.files, '1 / 1');
    const failed = progressCardOf({ status: 'failed', progress: lastReport, stats: null });
    assert.equal(failed.percent, 84);
    assert.equal(failed.text.files, '0 / 1');
  });

  it("recognises restic's raw backup summary line, only in a backup's log", () => {
    const summary = { payload: '{"message_type":"summary","files_new":3,"snapshot_id":"8699278c"}' };
    assert.equal(isBackupSummaryLine('backup', summary), true);
    assert.equal(isBackupSummaryLine('check', summary), false);
    assert.equal(isBackupSummaryLine('backup', { payload: '{"message_type":"error","error":{}}' }), false);
    assert.equal(isBackupSummaryLine('backup', { payload: 'Files: 3 new' }), false);
  });
});
