import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { createSqliteEventStore, type EventStore } from '@rf/event-store';
import { type Position, type RecordedEvent } from '@rf/events';
import { encodePosition, snapshotField } from './snapshot-fields';
import { SnapshottedState } from './snapshotted-state';
import type { StateSnapshotCodec } from './state-snapshots';

/** A small fold: how many `Counted` events of each stream it has seen. */
class Tally {
  position: Position | null = null;
  readonly counts = new Map<string, number>();
  apply(e: RecordedEvent): void {
    this.position = e.position;
    this.counts.set(e.streamId, (this.counts.get(e.streamId) ?? 0) + 1);
  }
}

const tallyCodec = (version = 1): StateSnapshotCodec<Tally> => ({
  name: 'tally',
  version,
  encode: (t) => ({ position: encodePosition(t.position), counts: [...t.counts] }),
  decode: (body) => {
    const o = snapshotField.record(body, 'snapshot');
    const t = new Tally();
    t.position = snapshotField.position(o['position']);
    for (const entry of snapshotField.list(o['counts'], 'counts')) {
      const [stream, n] = snapshotField.pair(entry, 'counts');
      t.counts.set(snapshotField.str(stream, 'stream'), snapshotField.num(n, 'count'));
    }
    return t;
  },
});

const events = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: randomUUID(), type: 'Counted', data: { i } }));

describe('SnapshottedState (real SQLite event store and readmodels.db)', () => {
  let dir: string;
  let store: EventStore;
  let snapshotFile: string;
  const started: SnapshottedState<Tally>[] = [];
  const notes: string[] = [];

  const follow = (options: { version?: number; everyEvents?: number } = {}): SnapshottedState<Tally> => {
    const s = new SnapshottedState<Tally>({
      name: 'the tally',
      store,
      snapshotFile,
      codec: tallyCodec(options.version),
      empty: () => new Tally(),
      streamPrefixes: ['tally-'],
      catchUpTimeoutMs: 10_000,
      snapshots: { everyEvents: options.everyEvents ?? 1_000_000 },
      report: { info: (m) => notes.push(m), warn: (_e, m) => notes.push(m) },
    });
    started.push(s);
    return s;
  };
  const applied = async (s: SnapshottedState<Tally>) => (await s.log.lag()).eventsApplied;
  const total = (t: Tally) => [...t.counts.values()].reduce((a, b) => a + b, 0);

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-snapshotted-'));
    store = createSqliteEventStore({ path: path.join(dir, 'events.db'), synchronous: 'NORMAL' });
    snapshotFile = path.join(dir, 'readmodels.db');
    notes.length = 0;
  });

  afterEach(async () => {
    for (const s of started.splice(0)) s.stop();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a restart reads only the events after the snapshot its clean stop saved', async () => {
    for (let i = 0; i < 5; i++) await store.append(`tally-${i}`, events(100));
    await store.append('other-1', events(50));
    const first = follow();
    await first.start();
    assert.equal(await applied(first), 500);
    assert.match(notes.join('\n'), /replaying from the log \(no tally snapshot yet\)/);
    first.stop();

    await store.append('tally-0', events(7));
    const second = follow();
    await second.start();
    assert.equal(await applied(second), 7, 'only the tail');
    assert.equal(total(second.state), 507);
    assert.equal(second.state.counts.get('tally-0'), 107);
    const live = await store.append('tally-9', events(3));
    await second.waitFor(live.position, 10_000);
    assert.equal(second.state.counts.get('tally-9'), 3);
  });

  it('saves on its count cadence, so a crash replays at most that many events', async () => {
    const s = follow({ everyEvents: 100 });
    await s.start();
    for (let i = 0; i < 3; i++) await store.append('tally-c', events(120));
    const head = (await store.headPosition())!;
    await s.waitFor(head, 10_000);
    const db = new Database(snapshotFile, { readonly: true });
    try {
      const row = db.prepare("SELECT commit_pos FROM state_snapshots WHERE name = 'tally'").get() as {
        commit_pos: string;
      };
      assert.ok(
        BigInt(row.commit_pos) >= head.commit - 120n,
        `saved at ${row.commit_pos}, head ${head.commit}`,
      );
    } finally {
      db.close();
    }
  });

  it('replays from the start when the version changed, the body is unreadable, or the snapshot is past the log', async () => {
    await store.append('tally-a', events(40));
    const first = follow();
    await first.start();
    first.stop();

    const newer = follow({ version: 2 });
    await newer.start();
    assert.equal(await applied(newer), 40);
    assert.match(notes.join('\n'), /tally snapshot has version 1, this build writes 2/);
    newer.stop();

    const db = new Database(snapshotFile);
    db.prepare("UPDATE state_snapshots SET body = '{\"counts\": 5}' WHERE name = 'tally'").run();
    db.close();
    const damaged = follow({ version: 2 });
    await damaged.start();
    assert.equal(await applied(damaged), 40);
    assert.equal(total(damaged.state), 40);
    assert.match(
      notes.join('\n'),
      /tally snapshot is unreadable: position must be an array|counts must be an array/,
    );
    damaged.stop();

    // A new, shorter log next to the old read models: the snapshot belongs to another log.
    await store.close();
    for (const suffix of ['', '-wal', '-shm'])
      fs.rmSync(path.join(dir, `events.db${suffix}`), { force: true });
    store = createSqliteEventStore({ path: path.join(dir, 'events.db'), synchronous: 'NORMAL' });
    await store.append('tally-b', events(2));
    const other = follow({ version: 2 });
    await other.start();
    assert.deepEqual([...other.state.counts], [['tally-b', 2]]);
    assert.match(notes.join('\n'), /past the log's head \(2\): it belongs to another log/);
  });

  it('a long catch-up goes on while it makes progress and says how far it got', async () => {
    // Several pages of the log (the store reads 2,048 at a time, yielding between pages).
    for (let i = 0; i < 12; i++) await store.append('tally-a', events(500));
    /** Takes about 0.1 ms per event: the whole replay is longer than the stall limit. */
    class SlowTally extends Tally {
      override apply(e: RecordedEvent): void {
        const until = performance.now() + 0.1;
        while (performance.now() < until);
        super.apply(e);
      }
    }
    const s = new SnapshottedState<SlowTally>({
      name: 'the slow tally',
      store,
      snapshotFile,
      codec: tallyCodec() as unknown as StateSnapshotCodec<SlowTally>,
      empty: () => new SlowTally(),
      streamPrefixes: ['tally-'],
      catchUpTimeoutMs: 150,
      progressEveryMs: 50,
      consumer: { batchSize: 20 },
      report: { info: (m) => notes.push(m), warn: (_e, m) => notes.push(m) },
    });
    try {
      await s.start();
      assert.equal(total(s.state), 6000);
      assert.ok(
        notes.some((n) =>
          /the slow tally: still catching up with the log after \d+ s, about \d+ events to go/.test(n),
        ),
        notes.join('\n'),
      );
    } finally {
      s.stop();
    }
  });

  it('start-up fails with a clear error when catching up makes no progress', async () => {
    await store.append('tally-a', events(10));
    const s = new SnapshottedState<Tally>({
      name: 'the stuck tally',
      store,
      snapshotFile,
      codec: tallyCodec(),
      empty: () => new Tally(),
      streamPrefixes: ['tally-'],
      catchUpTimeoutMs: 300,
      progressEveryMs: 50,
      consumer: { retryMs: 20, maxRetryMs: 50 },
      afterBatch: () => {
        throw new Error('the batch cannot be finished');
      },
      report: { info: (m) => notes.push(m), warn: (_e, m) => notes.push(m) },
    });
    await assert.rejects(
      s.start(),
      /the stuck tally made no progress catching up with the event log for 300 ms/,
    );
  });
});
