import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRestoreItemLine } from './restic-restore.parser';

// Real output of `restic restore --json --dry-run -vv` (restic 0.19.1).
const DRY_RUN_019 = [
  '{"message_type":"verbose_status","action":"restored","item":"/tmp/bui-d/a/b/f.txt","size":3}',
  '{"message_type":"verbose_status","action":"restored","item":"/tmp/bui-d/a/b","size":0}',
  '{"message_type":"summary","total_files":3,"files_restored":5,"total_bytes":3,"bytes_restored":3}',
];

describe('parseRestoreItemLine', () => {
  it('reads the items of a dry run and skips the summary', () => {
    assert.deepEqual(DRY_RUN_019.map(parseRestoreItemLine), [
      { action: 'restored', item: '/tmp/bui-d/a/b/f.txt', size: 3 },
      { action: 'restored', item: '/tmp/bui-d/a/b', size: 0 },
      undefined,
    ]);
  });

  it('ignores text, other JSON and items without a path', () => {
    assert.equal(parseRestoreItemLine('restoring <Snapshot 1a2b3c4d of [/x] at ...> to /t'), undefined);
    assert.equal(parseRestoreItemLine('{"message_type":"status","percent_done":1}'), undefined);
    assert.equal(parseRestoreItemLine('{"message_type":"verbose_status","action":"restored"}'), undefined);
    assert.equal(parseRestoreItemLine('[1,2]'), undefined);
  });
});
