import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { comparePositions, type Position, type RecordedEvent } from '@rf/events';
import { pagesOf, readAllWithoutSystemEvents, type RawAllRead } from './esdb-all-reader';

const record = (n: number, streamId: string, type = 'Happened'): RecordedEvent => ({
  id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  type,
  streamId,
  revision: n,
  position: { commit: BigInt(n * 100), prepare: BigInt(n * 100) },
  data: { n },
  metadata: undefined,
  created: new Date(0),
});

/** A log with system records interleaved: 1..10 are application events, the rest are not. */
const log: RecordedEvent[] = [
  record(1, 'job-1'),
  record(2, '$$job-1', '$metadata'),
  record(3, 'job-1'),
  record(4, 'job-2'),
  record(5, '$stats-node', '$statsCollected'),
  record(6, 'job-2', '$streamDeleted'),
  record(7, 'host-a'),
  record(8, 'host-a'),
];

/**
 * An in-memory `$all` that answers like the server: forwards reads include
 * their start position; backwards reads include it or not (`backwardsInclusive`).
 */
function rawLog(backwardsInclusive: boolean, calls: string[] = []): RawAllRead {
  return async function* (from, direction, maxCount) {
    calls.push(`${direction}:${typeof from === 'object' ? from.commit : from}:${maxCount}`);
    const ordered = direction === 'forwards' ? log : [...log].reverse();
    let out = ordered;
    if (typeof from === 'object') {
      out = ordered.filter((e) => {
        const c = comparePositions(e.position, from);
        if (direction === 'forwards') return c >= 0;
        return backwardsInclusive ? c <= 0 : c < 0;
      });
    } else if (from === 'end' && direction === 'forwards') {
      out = [];
    } else if (from === 'start' && direction === 'backwards') {
      out = [];
    }
    yield* out.slice(0, maxCount);
  };
}

const ns = async (it: AsyncIterable<RecordedEvent>): Promise<number[]> => {
  const out: number[] = [];
  for await (const e of it) out.push(e.revision);
  return out;
};

const at = (n: number): Position => ({ commit: BigInt(n * 100), prepare: BigInt(n * 100) });

describe('readAllWithoutSystemEvents', () => {
  for (const inclusive of [true, false]) {
    const server = `a server whose backwards reads are ${inclusive ? 'inclusive' : 'exclusive'}`;

    it(`skips system streams and system event types, forwards and backwards (${server})`, async () => {
      const raw = rawLog(inclusive);
      assert.deepEqual(
        await ns(readAllWithoutSystemEvents(raw, 'start', 'forwards', undefined)),
        [1, 3, 4, 7, 8],
      );
      assert.deepEqual(
        await ns(readAllWithoutSystemEvents(raw, 'end', 'backwards', undefined)),
        [8, 7, 4, 3, 1],
      );
    });

    it(`counts maxCount in yielded events, not raw records (${server})`, async () => {
      const raw = rawLog(inclusive);
      assert.deepEqual(await ns(readAllWithoutSystemEvents(raw, 'start', 'forwards', 3)), [1, 3, 4]);
      assert.deepEqual(await ns(readAllWithoutSystemEvents(raw, 'end', 'backwards', 1)), [8]);
      assert.deepEqual(await ns(readAllWithoutSystemEvents(raw, 'start', 'forwards', 0)), []);
    });

    it(`treats the start position as inclusive in both directions (${server})`, async () => {
      const raw = rawLog(inclusive);
      assert.deepEqual(await ns(readAllWithoutSystemEvents(raw, at(3), 'forwards', undefined)), [3, 4, 7, 8]);
      assert.deepEqual(
        await ns(readAllWithoutSystemEvents(raw, at(7), 'backwards', undefined)),
        [7, 4, 3, 1],
      );
      assert.deepEqual(await ns(readAllWithoutSystemEvents(raw, at(7), 'backwards', 1)), [7]);
      assert.deepEqual(await ns(readAllWithoutSystemEvents(raw, at(7), 'backwards', 2)), [7, 4]);
      // Starting on a system record yields nothing for it.
      assert.deepEqual(await ns(readAllWithoutSystemEvents(raw, at(5), 'backwards', undefined)), [4, 3, 1]);
    });
  }

  it('stops reading once maxCount events were yielded', async () => {
    const calls: string[] = [];
    const seen: number[] = [];
    const raw: RawAllRead = async function* (from, direction, maxCount) {
      for await (const e of rawLog(true, calls)(from, direction, maxCount)) {
        seen.push(e.revision);
        yield e;
      }
    };
    assert.deepEqual(await ns(readAllWithoutSystemEvents(raw, 'start', 'forwards', 2)), [1, 3]);
    assert.deepEqual(seen, [1, 2, 3], 'nothing read past the second application event');
    assert.deepEqual(calls, [`forwards:start:${Number.MAX_SAFE_INTEGER}`]);
  });

  it('rejects a malformed start position, naming the field', async () => {
    await assert.rejects(
      ns(readAllWithoutSystemEvents(rawLog(true), { commit: 1, prepare: 1 } as never, 'forwards', undefined)),
      /fromPosition must be/,
    );
  });
});

describe('pagesOf', () => {
  const events = async function* (n: number): AsyncGenerator<RecordedEvent> {
    for (let i = 1; i <= n; i++) yield record(i, 'job-1');
  };
  const sizes = async (n: number, size: number): Promise<number[][]> => {
    const out: number[][] = [];
    for await (const page of pagesOf(events(n), size)) out.push(page.map((e) => e.revision));
    return out;
  };

  it('hands over consecutive events in pages of the given size, the last one shorter, never an empty one', async () => {
    assert.deepEqual(await sizes(7, 3), [[1, 2, 3], [4, 5, 6], [7]]);
    assert.deepEqual(await sizes(6, 3), [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(await sizes(0, 3), []);
  });
});
