/**
 * The migration into a real EventStoreDB/KurrentDB (`ESDB_TEST_URL`, e.g. the
 * CI job in .ci/esdb.sh): an embedded log copied in two runs (the first
 * stopped part-way), every event once at its revision, stream metadata and
 * deletions carried over, and a third run that finds nothing to copy. The
 * server may be shared with other suites: the source's streams get a prefix of
 * their own, and only they are compared.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createEventStore,
  createSqliteEventStore,
  parseEventStoreConfig,
  type EventStore,
} from '@rf/event-store';
import type { RecordedEvent } from '@rf/events';
import { LogMigration } from './log-migration.service';

const url = process.env['ESDB_TEST_URL'];

const probe = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    id: randomUUID(),
    type: 'MigrationProbe',
    data: { i },
    metadata: { correlation_id: 'c' },
  }));

async function streamIds(store: EventStore, stream: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.readStream(stream)) out.push(e.id);
  return out;
}

if (url) {
  describe('log migration into EventStoreDB (ESDB_TEST_URL)', () => {
    let dir: string;
    let source: EventStore;
    let target: EventStore;
    const events: RecordedEvent[] = [];
    const p = `mig${randomUUID().replace(/-/g, '').slice(0, 10)}`;

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-migrate-esdb-'));
      source = createSqliteEventStore({ path: path.join(dir, 'events.db') });
      for (let i = 0; i < 12; i++) await source.append(`${p}-job-${i}`, probe(3 + (i % 4)));
      await source.append(`${p}-joblog-0`, probe(40));
      await source.setStreamMetadata(`${p}-joblog-0`, { maxAge: 7_776_000 });
      await source.append(`${p}-counted`, probe(6));
      await source.setStreamMetadata(`${p}-counted`, { maxCount: 2 });
      await source.append(`${p}-soft`, probe(2));
      await source.deleteStream(`${p}-soft`);
      await source.append(`${p}-hard`, probe(2));
      await source.deleteStream(`${p}-hard`, { hard: true });
      for await (const e of source.readAll()) events.push(e);
      target = createEventStore(parseEventStoreConfig({ RF_EVENTSTORE: url }));
    });

    after(async () => {
      await source?.close();
      await target?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('stops after maxEvents, then a second run copies the rest without duplicates', async () => {
      const first = await new LogMigration(source, target, { batchSize: 5, maxEvents: 30 }).copy();
      assert.equal(first.complete, false);
      assert.ok(first.copied >= 30 && first.copied < 35, JSON.stringify(first));
      const second = await new LogMigration(source, target).copy();
      assert.equal(second.complete, true);
      assert.equal(first.copied + second.copied, events.length, JSON.stringify({ first, second }));
      for (const stream of new Set(events.map((e) => e.streamId))) {
        if (stream === `${p}-soft` || stream === `${p}-hard` || stream === `${p}-counted`) continue;
        assert.deepEqual(
          await streamIds(target, stream),
          events.filter((e) => e.streamId === stream).map((e) => e.id),
          stream,
        );
      }
    });

    it('carries metadata and deletions, verifies every stream of the source, and a rerun copies nothing', async () => {
      const migration = new LogMigration(source, target);
      assert.equal(await migration.copyMetadata(), 4);
      assert.deepEqual(await target.getStreamMetadata(`${p}-joblog-0`), { maxAge: 7_776_000 });
      assert.deepEqual(
        (await streamIds(target, `${p}-counted`)).length,
        2,
        'maxCount keeps the same last two events',
      );
      const verified = await migration.verify();
      assert.deepEqual(verified.mismatches, []);
      assert.equal(verified.events, events.length);
      const again = await new LogMigration(source, target).copy();
      assert.deepEqual(again, { copied: 0, present: 0, complete: true });
      assert.equal(await new LogMigration(source, target).copyMetadata(), 0);
    });
  });
} else {
  const reason =
    'log migration into EventStoreDB: skipped — ESDB_TEST_URL is not set (the CI job .ci/esdb.sh sets it)';
  console.log(reason);
  it(reason, { skip: reason }, () => undefined);
}
