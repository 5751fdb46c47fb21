import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sameSnapshotId } from './json-fields';
import { describeResticError, parseBackupLine, parseBackupStatus } from './restic-backup.parser';
import { parseSnapshots } from './restic-snapshots.parser';

describe('backup line parser: shapes the fixtures do not all show', () => {
  it('describes every error shape: {message} (0.17.1+), Go {Op,Path,Err} (≤0.16), {} (0.17.0), string', () => {
    assert.equal(
      describeResticError({ message: 'open /x: permission denied' }),
      'open /x: permission denied',
    );
    assert.equal(
      describeResticError({ Op: 'lstat', Path: '/x', Err: 2 }),
      'lstat /x: no such file or directory',
    );
    assert.equal(describeResticError({ Op: 'read', Path: '/x', Err: 99 }), 'read /x: errno 99');
    assert.equal(describeResticError({}), 'unknown error');
    assert.equal(describeResticError(null), 'unknown error');
    assert.equal(describeResticError('plain'), 'plain');
  });

  it('tolerates wrong types, nulls and unknown fields with defaults', () => {
    const s = parseBackupStatus({
      percent_done: 'half',
      total_files: null,
      bytes_done: 10,
      current_files: [1, '/a', null],
      brand_new_field: { x: 1 },
    });
    assert.deepEqual([s.percentDone, s.totalFiles, s.bytesDone, s.currentFiles], [0, 0, 10, ['/a']]);
    assert.equal(parseBackupStatus({ percent_done: 7 }).percentDone, 1);
  });

  it('keeps unknown message types and broken JSON without throwing', () => {
    assert.deepEqual(parseBackupLine('{"message_type":"future_thing","x":1}'), {
      type: 'other',
      messageType: 'future_thing',
      value: { message_type: 'future_thing', x: 1 },
    });
    assert.deepEqual(parseBackupLine('{"message_type":"status",'), {
      type: 'text',
      text: '{"message_type":"status",',
    });
    assert.equal(parseBackupLine('{"action":"unchanged","item":"/etc/"}').type, 'verbose_status');
  });

  it('snapshot ids of 8 and 64 chars match by prefix, case-insensitively; empty never matches', () => {
    const long = 'e1d28d1199fe9db0c6a9367754b687819c3291e146747cdb2119e772b2494b7a';
    assert.equal(sameSnapshotId('e1d28d11', long), true);
    assert.equal(sameSnapshotId(long.toUpperCase(), 'e1d28d11'), true);
    assert.equal(sameSnapshotId('e1d28d12', long), false);
    assert.equal(sameSnapshotId('', long), false);
  });

  it('snapshots: null, an object or non-JSON text give an empty list', () => {
    assert.deepEqual(parseSnapshots(['null']), []);
    assert.deepEqual(parseSnapshots(['{"id":"x"}']), []);
    assert.deepEqual(parseSnapshots(['reading repository password from stdin']), []);
    assert.equal(parseSnapshots([{ id: 'abc', tags: null, paths: null }])[0]?.shortId, 'abc');
  });
});
