import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { TreeCacheRepository, type TreeEntry } from './tree-cache.repository';

const entry = (name: string, type = 'file'): TreeEntry => ({
  name,
  type,
  size: name.length,
  mtime: '2026-12-05T01:03:38.090678462Z',
  mode: 0o644,
});

describe('TreeCacheRepository (real SQLite file)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-tree-cache-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('pages a committed listing and finds one entry by name', () => {
    const cache = new TreeCacheRepository(path.join(dir, 'a.db'), 1 << 20);
    const w = cache.writer('r1', 's1', '/srv');
    for (let i = 0; i < 2500; i++) w.add(entry(`f-${String(i).padStart(4, '0')}`));
    assert.equal(cache.page('r1', 's1', '/srv', 0, 10), null, 'invisible before commit');
    w.commit();
    const first = cache.page('r1', 's1', '/srv', 0, 1000)!;
    assert.equal(first.entries.length, 1000);
    assert.equal(first.entries[0]!.name, 'f-0000');
    const rest: TreeEntry[] = [...first.entries];
    let next = first.next;
    while (next !== null) {
      const p = cache.page('r1', 's1', '/srv', next, 1000)!;
      rest.push(...p.entries);
      next = p.next;
    }
    assert.equal(rest.length, 2500);
    assert.equal(rest[2499]!.name, 'f-2499');
    assert.deepEqual(cache.entry('r1', 's1', '/srv', 'f-0042'), entry('f-0042'));
    assert.equal(cache.entry('r1', 's1', '/srv', 'missing'), null);
    assert.equal(cache.entry('r1', 's1', '/other', 'f-0042'), undefined);
    cache.close();
  });

  it('drops an aborted listing and a crash leftover, and keeps the first of two complete ones', () => {
    const file = path.join(dir, 'b.db');
    let cache = new TreeCacheRepository(file, 1 << 20);
    const aborted = cache.writer('r1', 's1', '/a');
    aborted.add(entry('x'));
    aborted.abort();
    assert.equal(cache.page('r1', 's1', '/a', 0, 10), null);
    const leftover = cache.writer('r1', 's1', '/b');
    leftover.add(entry('y'));
    cache.close();
    cache = new TreeCacheRepository(file, 1 << 20);
    assert.equal(cache.sizeBytes, 0, 'the incomplete listing was removed on open');
    const one = cache.writer('r1', 's1', '/c');
    const two = cache.writer('r1', 's1', '/c');
    one.add(entry('first'));
    two.add(entry('second'));
    one.commit();
    two.commit();
    assert.deepEqual(
      cache.page('r1', 's1', '/c', 0, 10)!.entries.map((e) => e.name),
      ['first'],
    );
    cache.close();
  });

  it('evicts the least recently used listings past its size', () => {
    let clock = 0;
    const cache = new TreeCacheRepository(path.join(dir, 'c.db'), 20_000, () => ++clock);
    const fill = (p: string): void => {
      const w = cache.writer('r1', 's1', p);
      for (let i = 0; i < 60; i++) w.add(entry(`${p}-${i}`));
      w.commit();
    };
    fill('/one');
    fill('/two');
    assert.ok(cache.page('r1', 's1', '/one', 0, 1), 'touch /one so /two is the oldest');
    fill('/three');
    fill('/four');
    assert.ok(cache.sizeBytes <= 20_000, `size ${cache.sizeBytes} within the bound`);
    assert.ok(cache.page('r1', 's1', '/four', 0, 1), 'the newest stays');
    assert.equal(cache.page('r1', 's1', '/two', 0, 1), null, 'the least recently used went first');
    cache.close();
  });
});
