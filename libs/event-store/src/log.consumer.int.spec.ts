import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { createEsdbEventStore } from './esdb/esdb-event-store';
import type { RecordedEvent } from '@rf/events';
import { LogConsumer } from './log.consumer';
import { createSqliteEventStore } from './sqlite/sqlite-event-store';
import { makeEvents } from './testing/event-store.contract';
import { logConsumerContract } from './testing/log-consumer.contract';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-consumer-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshFile = () => path.join(dir, `events-${++files}.db`);

logConsumerContract('sqlite', {
  open: async () => createSqliteEventStore({ path: freshFile(), synchronous: 'NORMAL' }),
  uniquePrefix: () => `t${randomUUID().slice(0, 8)}`,
});

const url = process.env['ESDB_TEST_URL'];
if (url) {
  logConsumerContract('esdb', {
    open: async () => createEsdbEventStore({ connectionString: url }),
    uniquePrefix: () => `t${randomUUID().replace(/-/g, '').slice(0, 12)}`,
  });
} else {
  const reason = 'LogConsumer esdb contract: skipped — ESDB_TEST_URL is not set';
  it(reason, { skip: reason }, () => undefined);
}

describe('LogConsumer over a real SQLite file', () => {
  it('catches up on a long log in full batches, then follows appends by another connection', async () => {
    const file = freshFile();
    const writer = createSqliteEventStore({ path: file, synchronous: 'NORMAL' });
    const reader = createSqliteEventStore({ path: file, readonly: true });
    try {
      for (let i = 0; i < 20; i++) await writer.append(`log-${i}`, makeEvents(1000));
      const sizes: number[] = [];
      const seen: RecordedEvent[] = [];
      const consumer = new LogConsumer(
        reader,
        (b) => {
          sizes.push(b.events.length);
          seen.push(...b.events);
        },
        { name: 'long-log consumer', batchSize: 500 },
      );
      consumer.start();
      try {
        assert.equal(await consumer.whenCaughtUp(15_000), true);
        assert.equal(seen.length, 20_000);
        assert.ok(sizes.filter((n) => n === 500).length >= 39, `mostly full batches: ${sizes.join(',')}`);
        // Another connection (as the CLI next to serve): seen through the file's data_version.
        const written = await writer.append('log-late', makeEvents(3));
        await consumer.waitForPosition(written.position, 15_000);
        assert.deepEqual(
          seen.slice(-3).map((e) => e.streamId),
          ['log-late', 'log-late', 'log-late'],
        );
      } finally {
        consumer.stop();
      }
    } finally {
      await reader.close();
      await writer.close();
    }
  });
});
