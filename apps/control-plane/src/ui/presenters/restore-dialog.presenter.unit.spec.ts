import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PREVIEW_ROWS, previewOf, resticLabel, supportsDryRun } from './restore-dialog.presenter';

const item = (path: string, size: number): string =>
  JSON.stringify({ message_type: 'verbose_status', action: 'restored', item: path, size });

describe('restore dialog presenter', () => {
  it('knows which restic can do a dry run (0.17+)', () => {
    assert.equal(supportsDryRun('0.14.0'), false);
    assert.equal(supportsDryRun('0.16.5'), false);
    assert.equal(supportsDryRun('0.17.0'), true);
    assert.equal(supportsDryRun('0.19.1'), true);
    assert.equal(supportsDryRun(null), false);
    assert.equal(resticLabel('0.19.1'), 'restic 0.19.1');
    assert.equal(resticLabel(null), 'restic (version unknown)');
  });

  it('lists the files a finished dry run would restore and counts the folders apart', () => {
    const p = previewOf({ id: 'j1', status: 'succeeded', error: null, errorCode: null }, [
      item('/srv/docs/a.txt', 3),
      item('/srv/docs/empty', 0),
      item('/srv/docs', 0),
      item('/srv', 0),
      '{"message_type":"summary","total_files":2}',
      'restic restore --json',
    ]);
    assert.equal(p.done, true);
    assert.equal(p.tooOld, false);
    assert.deepEqual(
      p.items.map((i) => [i.path, i.size]),
      [
        ['/srv/docs/a.txt', 3],
        ['/srv/docs/empty', 0],
      ],
    );
    assert.equal(p.folderCount, 2);
    assert.equal(p.fileCount, 2);
    assert.equal(p.totalBytes, 3);
    assert.equal(p.more, 0);
  });

  it('says when the host needs a newer restic, and caps the rows shown', () => {
    const old = previewOf(
      { id: 'j2', status: 'failed', error: 'needs restic 0.17', errorCode: 'restic_too_old' },
      [],
    );
    assert.equal(old.tooOld, true);
    assert.equal(old.done, true);
    const many = Array.from({ length: PREVIEW_ROWS + 5 }, (_, i) => item(`/f${i}`, 1));
    const running = previewOf({ id: 'j3', status: 'running', error: null, errorCode: null }, many);
    assert.equal(running.done, false);
    assert.equal(running.items.length, PREVIEW_ROWS);
    assert.equal(running.more, 5);
    assert.equal(running.fileCount, PREVIEW_ROWS + 5);
  });
});
