import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { baseName, normalizeSnapshotPath, parentOf, permissionBits } from './snapshot-path';

describe('snapshot paths', () => {
  it('normalises slashes and defaults to the root', () => {
    assert.deepEqual(normalizeSnapshotPath(undefined), { ok: true, path: '/' });
    assert.deepEqual(normalizeSnapshotPath('//srv//data/'), { ok: true, path: '/srv/data' });
  });

  it('refuses relative paths, dot segments and NUL with a reason', () => {
    assert.equal(normalizeSnapshotPath('srv').ok, false);
    assert.equal(normalizeSnapshotPath('/srv/../etc').ok, false);
    assert.equal(normalizeSnapshotPath('/srv/./x').ok, false);
    assert.equal(normalizeSnapshotPath('/a\0b').ok, false);
  });

  it('splits parent and name', () => {
    assert.equal(parentOf('/srv/data/f.txt'), '/srv/data');
    assert.equal(parentOf('/srv'), '/');
    assert.equal(baseName('/srv/data/f.txt'), 'f.txt');
  });

  it('maps Go file modes to Unix permission bits', () => {
    assert.equal(permissionBits(2147484141), 0o755);
    assert.equal(permissionBits(420), 0o644);
    assert.equal(permissionBits((1 << 23) | 0o755), 0o4755);
  });
});
