import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { comparePositions } from '@rf/events';
import { collectAsync, eventStoreContract, makeEvents, sqliteAppenderChildPath } from '../testing';
import type { EventStore } from '../event-store.port';
import { createSqliteEventStore } from './sqlite-event-store';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-sqlite-es-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshFile = () => path.join(dir, `events-${++files}.db`);

/** The file each store of the contract suite was opened on, for `reopen`. */
const fileOf = new WeakMap<EventStore, string>();
const openOn = (file: string): EventStore => {
  const store = createSqliteEventStore({ path: file });
  fileOf.set(store, file);
  return store;
};

eventStoreContract('sqlite', {
  open: async () => openOn(freshFile()),
  reopen: async (store) => {
    const file = fileOf.get(store);
    if (file === undefined) throw new Error('reopen: this store was not opened by the harness');
    await store.close();
    return openOn(file);
  },
  uniquePrefix: () => `t${randomUUID().slice(0, 8)}`,
  durability: {
    rounds: 4,
    prepare: async (round) => {
      const file = freshFile();
      const synchronous = round % 2 === 0 ? 'FULL' : 'NORMAL';
      return {
        label: `synchronous=${synchronous}`,
        spawnAppender: (stream) =>
          spawn(process.execPath, [sqliteAppenderChildPath(), file, stream, synchronous], {
            stdio: ['ignore', 'pipe', 'pipe'],
          }),
        reopen: async () => createSqliteEventStore({ path: file, synchronous }),
        cleanup: async () => {
          for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
        },
      };
    },
  },
});

describe('sqlite event store: file-specific behaviour', () => {
  it('keeps only the newest metadata entry of a stream, as EventStoreDB metastreams do (maxCount 1)', async () => {
    const file = freshFile();
    const store = createSqliteEventStore({ path: file });
    try {
      for (let i = 0; i < 50; i++)
        await store.setStreamMetadata(
          'node-a',
          { custom: { lease: i } },
          { expectedRevision: i === 0 ? 'no_stream' : i - 1 },
        );
      assert.deepEqual(await store.getStreamMetadata('node-a'), { custom: { lease: 49 } });
      // The revision still counts every write: a stale expected revision is refused.
      await assert.rejects(
        store.setStreamMetadata('node-a', { custom: { lease: 0 } }, { expectedRevision: 10 }),
      );
      await store.setStreamMetadata('node-a', { custom: { lease: 50 } }, { expectedRevision: 49 });
    } finally {
      await store.close();
    }
    const db = new Database(file, { readonly: true });
    try {
      const rows = db.prepare("SELECT revision FROM events WHERE stream = '$$node-a'").all() as {
        revision: number;
      }[];
      assert.deepEqual(rows, [{ revision: 50 }]);
    } finally {
      db.close();
    }
  });

  it('keeps events and continues positions and revisions after reopening the file', async () => {
    const file = freshFile();
    const first = createSqliteEventStore({ path: file, synchronous: 'NORMAL' });
    const a = await first.append('order-1', makeEvents(3));
    await first.close();
    const second = createSqliteEventStore({ path: file });
    try {
      const b = await second.append('order-1', makeEvents(1));
      assert.equal(b.nextExpectedRevision, 3);
      assert.ok(comparePositions(b.position, a.position) > 0);
      assert.equal((await collectAsync(second.readStream('order-1'))).length, 4);
    } finally {
      await second.close();
    }
  });

  it('a read-only second connection (the CLI) catches up from the same file', async () => {
    const file = freshFile();
    const writer = createSqliteEventStore({ path: file });
    const reader = createSqliteEventStore({ path: file, readonly: true });
    try {
      await writer.append('host-1', makeEvents(5));
      const seen = await collectAsync(reader.readAll());
      assert.equal(seen.length, 5);
      await assert.rejects(reader.append('host-1', makeEvents(1)), /read-only/);
    } finally {
      await reader.close();
      await writer.close();
    }
  });

  it('honours a configured maxAppendSize', async () => {
    const store = createSqliteEventStore({ path: freshFile(), maxAppendSize: 1000 });
    try {
      await store.append('joblog-1', [
        { id: randomUUID(), type: 'LogStreamLine', data: { p: 'x'.repeat(500) } },
      ]);
      await assert.rejects(
        store.append('joblog-1', [
          { id: randomUUID(), type: 'LogStreamLine', data: { p: 'x'.repeat(1500) } },
        ]),
        (err: Error & { code?: string; details?: { limit?: number } }) =>
          err.code === 'MaxAppendSizeExceeded' && err.details?.limit === 1000,
      );
    } finally {
      await store.close();
    }
  });

  it('rejects bad options with errors naming the option', () => {
    assert.throws(() => createSqliteEventStore({ path: '' }), /path/);
    assert.throws(
      () => createSqliteEventStore({ path: freshFile(), synchronous: 'OFF' as unknown as 'FULL' }),
      /synchronous/,
    );
    assert.throws(() => createSqliteEventStore({ path: freshFile(), maxAppendSize: -1 }), /maxAppendSize/);
  });
});

describe('sqlite event store: idempotency, scans and shutdown', () => {
  it('an any-retry after reopening the file is still idempotent (recent ids are warmed from the log)', async () => {
    const file = freshFile();
    const events = makeEvents(3);
    const first = createSqliteEventStore({ path: file });
    const original = await first.append('host-1', events);
    await first.append('host-2', makeEvents(2));
    await first.close();
    const second = createSqliteEventStore({ path: file });
    try {
      const retry = await second.append('host-1', events);
      assert.equal(retry.nextExpectedRevision, original.nextExpectedRevision);
      assert.equal(comparePositions(retry.position, original.position), 0);
      assert.equal((await collectAsync(second.readStream('host-1'))).length, 3);
    } finally {
      await second.close();
    }
  });

  it('warms only the newest appends on open (recentIdsOnOpen), and refuses a bad count', async () => {
    const file = freshFile();
    const older = makeEvents(1);
    const newest = makeEvents(2);
    const first = createSqliteEventStore({ path: file });
    await first.append('host-1', older);
    const original = await first.append('host-2', newest);
    await first.close();
    const second = createSqliteEventStore({ path: file, recentIdsOnOpen: 1 });
    try {
      const retry = await second.append('host-2', newest);
      assert.equal(comparePositions(retry.position, original.position), 0);
      // The older append was not read back: a retry of it with `any` is stored again.
      await second.append('host-1', older);
      assert.equal((await collectAsync(second.readStream('host-1'))).length, 2);
    } finally {
      await second.close();
    }
    assert.throws(
      () => createSqliteEventStore({ path: file, recentIdsOnOpen: -1 }),
      /recentIdsOnOpen must be an integer >= 0/,
    );
  });

  it('a long readAll yields to the event loop between pages', async () => {
    const store = createSqliteEventStore({ path: freshFile(), synchronous: 'NORMAL' });
    try {
      for (let i = 0; i < 5; i++) await store.append(`joblog-${i}`, makeEvents(1000));
      let ticks = 0;
      const timer = setInterval(() => ticks++, 0);
      let seen = 0;
      let ticksWhileReading = 0;
      try {
        for await (const event of store.readAll()) {
          seen++;
          assert.ok(event.revision >= 0);
          if (seen === 4500) ticksWhileReading = ticks;
        }
      } finally {
        clearInterval(timer);
      }
      assert.equal(seen, 5000);
      assert.ok(ticksWhileReading > 0, 'timers ran during the scan');
    } finally {
      await store.close();
    }
  });

  it('closing the store ends live subscriptions with Closed', async () => {
    const store = createSqliteEventStore({ path: freshFile() });
    await store.append('host-1', makeEvents(1));
    const failure = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no error after close within 5 s')), 5_000);
      store.subscribeToAll().subscribe({
        next: (item) => {
          if (item.kind === 'caughtUp') void store.close();
        },
        error: (err: unknown) => {
          clearTimeout(timer);
          resolve(err);
        },
      });
    });
    const err = (await failure) as { code?: string };
    assert.equal(err.code, 'Closed');
  });
});

describe('sqlite event store: opening files', () => {
  it('an empty log has no head position', async () => {
    const store = createSqliteEventStore({ path: freshFile() });
    try {
      assert.equal(await store.headPosition(), null);
      await assert.rejects(collectAsync(store.readStream('host-1')), /not found/);
    } finally {
      await store.close();
    }
  });

  it('opens a version 1 file (same records, one unused column more) and upgrades it to version 3', async () => {
    const file = freshFile();
    const v1 = new Database(file);
    v1.exec(`
      CREATE TABLE events (position INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, revision INTEGER NOT NULL,
        created INTEGER NOT NULL, system INTEGER NOT NULL DEFAULT 0, body TEXT NOT NULL);
      CREATE UNIQUE INDEX events_stream_revision ON events (stream, revision);
      CREATE TABLE streams (name TEXT PRIMARY KEY, last_revision INTEGER NOT NULL DEFAULT -1,
        state INTEGER NOT NULL DEFAULT 0, meta_revision INTEGER NOT NULL DEFAULT -1, meta TEXT) WITHOUT ROWID;
      PRAGMA user_version = 1;`);
    const id = randomUUID();
    v1.prepare('INSERT INTO events (stream, revision, created, system, body) VALUES (?, 0, 1, 0, ?)').run(
      'host-1',
      JSON.stringify([id, 'HostEnrolled', { n: 1 }, null, 'host-1', 0, 1]),
    );
    v1.prepare('INSERT INTO streams (name, last_revision) VALUES (?, 0)').run('host-1');
    v1.close();
    const store = createSqliteEventStore({ path: file });
    try {
      const next = await store.append('host-1', makeEvents(1), { expectedRevision: 0 });
      assert.equal(next.nextExpectedRevision, 1);
      await store.deleteStream('host-1', { expectedRevision: 1 });
      await assert.rejects(collectAsync(store.readStream('host-1')), /not found/);
      const all = await collectAsync(store.readAll());
      assert.equal(all[0]!.id, id);
    } finally {
      await store.close();
    }
  });

  it('opens a version 2 file (one event per row, no count column), upgrades it in place and keeps every position', async () => {
    const file = freshFile();
    const v2 = new Database(file);
    v2.pragma('journal_mode = WAL');
    v2.exec(`
      CREATE TABLE events (position INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, revision INTEGER NOT NULL,
        created INTEGER NOT NULL, system INTEGER NOT NULL DEFAULT 0, body TEXT NOT NULL);
      CREATE UNIQUE INDEX events_stream_revision ON events (stream, revision);
      CREATE TABLE streams (name TEXT PRIMARY KEY, state INTEGER NOT NULL DEFAULT 0,
        meta_revision INTEGER NOT NULL DEFAULT -1, meta TEXT) WITHOUT ROWID;
      PRAGMA user_version = 2;`);
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const insert = v2.prepare(
      'INSERT INTO events (stream, revision, created, system, body) VALUES (?, ?, 1, 0, ?)',
    );
    ids.forEach((id, r) =>
      insert.run(
        'joblog-1',
        r,
        JSON.stringify([id, 'LogStreamLine', { seq: r + 1 }, null, 'joblog-1', r, 1]),
      ),
    );
    v2.close();
    const readonly = createSqliteEventStore({ path: file, readonly: true });
    try {
      // The CLI may read an old file before any server upgraded it.
      assert.deepEqual(
        (await collectAsync(readonly.readAll())).map((e) => e.id),
        ids,
      );
    } finally {
      await readonly.close();
    }
    const store = createSqliteEventStore({ path: file });
    try {
      const before = await collectAsync(store.readAll());
      assert.deepEqual(
        before.map((e) => [e.id, e.revision, Number(e.position.commit)]),
        ids.map((id, r) => [id, r, r + 1]),
      );
      const more = makeEvents(4);
      const result = await store.append('joblog-1', more, { expectedRevision: 2 });
      assert.equal(result.nextExpectedRevision, 6);
      assert.equal(Number(result.position.commit), 7, 'positions continue after the old rows');
      const back = await collectAsync(
        store.readStream('joblog-1', { direction: 'backwards', fromRevision: 4 }),
      );
      assert.deepEqual(
        back.map((e) => e.id),
        [more[1]!.id, more[0]!.id, ...[...ids].reverse()],
      );
      // An idempotent retry of an old single-event row still matches it.
      const retried = await store.append(
        'joblog-1',
        [{ id: ids[1]!, type: 'LogStreamLine', data: { seq: 2 } }],
        {
          expectedRevision: 0,
        },
      );
      assert.equal(retried.nextExpectedRevision, 1);
    } finally {
      await store.close();
    }
    const check = new Database(file, { readonly: true });
    assert.equal(check.pragma('user_version', { simple: true }), 3);
    assert.deepEqual(check.prepare('SELECT count, revision FROM events ORDER BY position').all(), [
      ...[0, 1, 2].map((revision) => ({ count: 1, revision })),
      { count: 4, revision: 6 },
    ]);
    check.close();
  });

  it('stores an append as rows of at most 1024 events and reads a 2,500-event append back from any point', async () => {
    const file = freshFile();
    const store = createSqliteEventStore({
      path: file,
      synchronous: 'NORMAL',
      maxAppendSize: 8 * 1024 * 1024,
    });
    try {
      await store.append('other-1', makeEvents(1));
      const events = makeEvents(2500);
      const result = await store.append('joblog-1', events);
      assert.equal(result.nextExpectedRevision, 2499);
      assert.equal(Number(result.position.commit), 2501);
      const read = await collectAsync(store.readStream('joblog-1'));
      assert.deepEqual(
        read.map((e) => e.id),
        events.map((e) => e.id),
      );
      assert.deepEqual(
        read.map((e) => Number(e.position.commit)),
        events.map((_, i) => i + 2),
      );
      for (const r of [0, 1023, 1024, 1500, 2047, 2048, 2499]) {
        const back = await collectAsync(
          store.readStream('joblog-1', { direction: 'backwards', fromRevision: r, maxCount: 3 }),
        );
        assert.deepEqual(
          back.map((e) => e.revision),
          [r, r - 1, r - 2].filter((x) => x >= 0),
          `backwards from ${r}`,
        );
        const all = await collectAsync(store.readAll({ fromPosition: read[r]!.position, maxCount: 2 }));
        assert.deepEqual(
          all.map((e) => e.revision),
          [r, r + 1].filter((x) => x < 2500),
          `readAll from ${r}`,
        );
      }
      const retry = await store.append('joblog-1', events);
      assert.equal(retry.nextExpectedRevision, 2499, 'a retried large append is recognised');
    } finally {
      await store.close();
    }
    const db = new Database(file, { readonly: true });
    assert.deepEqual(
      db.prepare("SELECT count FROM events WHERE stream = 'joblog-1' ORDER BY position").pluck().all(),
      [1024, 1024, 452],
    );
    db.close();
  });

  it('after reopening, retrying a multi-event append with expected any writes nothing', async () => {
    const file = freshFile();
    const events = makeEvents(20);
    let store = createSqliteEventStore({ path: file });
    await store.append('joblog-1', makeEvents(3));
    const first = await store.append('joblog-1', events);
    await store.append('joblog-1', makeEvents(2));
    await store.close();
    store = createSqliteEventStore({ path: file });
    try {
      const retry = await store.append('joblog-1', events);
      assert.equal(retry.nextExpectedRevision, first.nextExpectedRevision);
      assert.equal((await collectAsync(store.readStream('joblog-1'))).length, 25);
    } finally {
      await store.close();
    }
  });

  it('refuses a file whose schema version it does not know, naming the file', async () => {
    const file = freshFile();
    const store = createSqliteEventStore({ path: file });
    await store.close();
    const other = new Database(file);
    other.pragma('user_version = 99');
    other.close();
    assert.throws(
      () => createSqliteEventStore({ path: file }),
      (err: Error) => err.message.includes(file) && /99/.test(err.message),
    );
  });
});

describe('sqlite event store: a second process on the same file', () => {
  it('two writers on one file take turns: positions stay unique and increasing, nothing is overwritten', async () => {
    const file = freshFile();
    const one = createSqliteEventStore({ path: file });
    const two = createSqliteEventStore({ path: file });
    try {
      const written: string[] = [];
      for (let i = 0; i < 6; i++) {
        const events = makeEvents(i % 2 === 0 ? 5 : 1);
        await (i % 2 === 0 ? one : two).append(`s-${i % 3}`, events);
        written.push(...events.map((e) => e.id));
      }
      const all = await collectAsync(one.readAll());
      assert.deepEqual(
        all.map((e) => e.id),
        written,
      );
      assert.deepEqual(
        all.map((e) => Number(e.position.commit)),
        written.map((_, i) => i + 1),
      );
    } finally {
      await two.close();
      await one.close();
    }
  });

  it('a filtered live subscription passes over other streams and misses no match, whichever connection commits it', async () => {
    const file = freshFile();
    const server = createSqliteEventStore({ path: file });
    const cli = createSqliteEventStore({ path: file });
    try {
      // Rounds of rows outside the filter, then one match, alternating the writing connection:
      // the cursor moves past the rows that do not match, and never past a match it has not delivered.
      const matches = makeEvents(6);
      const seen = liveIds(server, ['host-'], matches.length, async () => {
        for (let r = 0; r < matches.length; r++) {
          const writer = r % 2 === 0 ? server : cli;
          for (let k = 0; k < 3; k++) await writer.append(`joblog-${r}-${k}`, makeEvents(50));
          await writer.append(`host-${r}`, [matches[r]!]);
          await new Promise((done) => setTimeout(done, r % 2 === 0 ? 0 : 150));
        }
      });
      assert.deepEqual(
        await seen,
        matches.map((e) => e.id),
      );
    } finally {
      await cli.close();
      await server.close();
    }
  });

  it('live subscriptions see commits made by another connection', async () => {
    const file = freshFile();
    const server = createSqliteEventStore({ path: file });
    const cli = createSqliteEventStore({ path: file });
    try {
      const written = makeEvents(2);
      const seen = liveIds(server, undefined, 2, () => cli.append('user-1', written));
      assert.deepEqual(
        await seen,
        written.map((e) => e.id),
      );
    } finally {
      await cli.close();
      await server.close();
    }
  });
});

/**
 * The ids of the first `count` events a live subscription to `$all` (from the
 * end, optionally filtered by prefixes) delivers once `write`, started as it
 * catches up, has run; rejects after 10 s.
 */
function liveIds(
  store: EventStore,
  prefixes: string[] | undefined,
  count: number,
  write: () => Promise<unknown>,
): Promise<string[]> {
  return new Promise<string[]>((resolve, reject) => {
    const ids: string[] = [];
    const timer = setTimeout(
      () => reject(new Error(`saw ${ids.length} of ${count} live events in 10 s`)),
      10_000,
    );
    const sub = store
      .subscribeToAll({ fromPosition: 'end', ...(prefixes ? { streamNamePrefixes: prefixes } : {}) })
      .subscribe({
        next: (item) => {
          if (item.kind === 'caughtUp') {
            write().catch(reject);
            return;
          }
          ids.push(item.event.id);
          if (ids.length === count) {
            clearTimeout(timer);
            sub.unsubscribe();
            resolve(ids);
          }
        },
        error: reject,
      });
  });
}
