import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Position } from '@rf/events';
import { formatPosition, parsePosition, WritePositions } from './write-positions';

const at = (n: number): Position => ({ commit: BigInt(n), prepare: BigInt(n) });

describe('WritePositions: read-your-writes per process and per request', () => {
  it('latest is the newest of this process and, inside a request, of what its client wrote elsewhere', async () => {
    const positions = new WritePositions();
    positions.note(at(10));
    const noted: Position[] = [];
    await positions.runRequest({ seen: at(25), noted: (p) => noted.push(p) }, async () => {
      assert.deepEqual(positions.latest, at(25));
      await new Promise((r) => setImmediate(r));
      positions.note(at(30));
      assert.deepEqual(positions.latest, at(30));
    });
    assert.deepEqual(noted, [at(30)]);
    assert.deepEqual(positions.latest, at(30), 'outside any request: this process only');
    positions.runRequest({ seen: null, noted: () => undefined }, () =>
      assert.deepEqual(positions.latest, at(30)),
    );
    positions.runRequest({ seen: at(5), noted: () => undefined }, () =>
      assert.deepEqual(positions.latest, at(30)),
    );
  });

  it('a position travels as commit.prepare; anything else is ignored', () => {
    const p = { commit: 12345678901234567n, prepare: 7n };
    assert.deepEqual(parsePosition(formatPosition(p)), p);
    for (const bad of [undefined, '', '1', '1.2.3', '-1.2', '1.x', `${'9'.repeat(21)}.1`])
      assert.equal(parsePosition(bad), null, String(bad));
  });
});
