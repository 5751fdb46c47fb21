import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DiffResponse } from '../../services/snapshot-browse.service';
import { compareRows, type Side } from './snapshot-compare.presenter';

const diff: DiffResponse = {
  from: 'a'.repeat(64),
  to: 'b'.repeat(64),
  added: [
    { path: '/data/photos/dog.jpg', type: 'file' },
    { path: '/data/new', type: 'dir' },
  ],
  removed: [{ path: '/data/readme.md', type: 'file' }],
  changed: [
    { path: '/data/docs/todo.txt', type: 'file', modifier: 'M' },
    { path: '/data/docs/big.bin', type: 'file', modifier: 'M' },
  ],
  stats: {
    changed_files: 2,
    added: { files: 1, dirs: 1, others: 0, bytes: 20_000 },
    removed: { files: 1, dirs: 0, others: 0, bytes: 7 },
  },
};

const SIZES: Record<Side, Record<string, number>> = {
  from: { '/data/readme.md': 7, '/data/docs/todo.txt': 17 },
  to: { '/data/photos/dog.jpg': 20_000, '/data/docs/todo.txt': 15 },
};

describe('compareRows', () => {
  it('gives each file its size on both sides and the change; folders and unknown sizes stay null', () => {
    const { rows, totals } = compareRows(diff, (side, p) => SIZES[side][p] ?? null);
    assert.deepEqual(
      rows.map((r) => [r.kind, r.path, r.before, r.after, r.delta]),
      [
        ['added', '/data/photos/dog.jpg', null, 20_000, 20_000],
        ['added', '/data/new', null, null, null],
        ['removed', '/data/readme.md', 7, null, -7],
        ['changed', '/data/docs/todo.txt', 17, 15, -2],
        ['changed', '/data/docs/big.bin', null, null, null],
      ],
    );
    assert.deepEqual(totals, { added: 2, removed: 1, changed: 2, grown: 20_000, shrunk: -9, net: 19_991 });
  });

  it('never asks for the size of a folder', () => {
    const asked: string[] = [];
    compareRows(diff, (side, p) => {
      asked.push(`${side}:${p}`);
      return null;
    });
    assert.ok(!asked.some((a) => a.endsWith('/data/new')), asked.join(', '));
    assert.equal(asked.length, 6);
  });
});
