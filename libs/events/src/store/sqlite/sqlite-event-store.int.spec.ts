import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { comparePositions } from '../event-store.port';
import { collectAsync, eventStoreContract, makeEvents } from '../testing/event-store.contract';
import { createSqliteEventStore } from './sqlite-event-store';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-sqlite-es-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshFile = () => path.join(dir, `events-${++files}.db`);

eventStoreContract('sqlite', {
  open: async () => createSqliteEventStore({ path: freshFile() }),
  uniquePrefix: () => `t${randomUUID().slice(0, 8)}`,
  durability: {
    rounds: 4,
    prepare: async (round) => {
      const file = freshFile();
      const synchronous = round % 2 === 0 ? 'FULL' : 'NORMAL';
      return {
        label: `synchronous=${synchronous}`,
        spawnAppender: (stream) =>
          spawn(
            process.execPath,
            [path.join(__dirname, 'testing', 'sqlite-appender.child.js'), file, stream, synchronous],
            {
              stdio: ['ignore', 'pipe', 'pipe'],
            },
          ),
        reopen: async () => createSqliteEventStore({ path: file, synchronous }),
        cleanup: async () => {
          for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
        },
      };
    },
  },
});

describe('sqlite event store: file-specific behaviour', () => {
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
