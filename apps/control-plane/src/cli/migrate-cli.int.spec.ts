/**
 * `restic-fleet migrate` as a real process, from a copy of a recorded log
 * (test/fixtures/legacy-log) into a second real SQLite log through the same
 * EventStore port the EventStoreDB target uses: stopped mid-way and run
 * again, it ends with every event once, at the same revisions, stream
 * metadata and deletions carried over, and read models built from the target
 * equal to a rebuild from the source.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSqliteEventStore, isEventStoreError, readLogIdentity, type EventStore } from '@rf/event-store';
import type { RecordedEvent } from '@rf/events';
import {
  ALL_PROJECTIONS,
  dumpReadModels,
  openReadModelsDatabase,
  readModelsLogId,
  rebuildReadModels,
} from '@rf/projections';
import { repoRoot } from '../../../../test/support/control-plane.process';
import { controlPlaneBin, controlPlaneCli } from '../../../../test/support/fleet';
import { MIGRATED_READ_MODELS } from './migrate.command';

const probe = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: randomUUID(), type: 'MigrationProbe', data: { i } }));

async function all(store: EventStore): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of store.readAll()) out.push(e);
  return out;
}

async function readError(store: EventStore, stream: string): Promise<string> {
  try {
    for await (const _ of store.readStream(stream)) return 'readable';
    return 'empty';
  } catch (err) {
    return isEventStoreError(err) ? err.code : String(err);
  }
}

describe('restic-fleet migrate (SQLite log into a second SQLite log through the port)', () => {
  let dir: string;
  let target: string;
  let sourceEvents: RecordedEvent[];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-migrate-'));
    target = path.join(dir, 'target', 'events.db');
    const fixture = path.join(repoRoot(), 'test', 'fixtures', 'legacy-log');
    fs.copyFileSync(path.join(fixture, 'events.db'), path.join(dir, 'events.db'));
    const store = createSqliteEventStore({ path: path.join(dir, 'events.db') });
    try {
      // Besides the recorded log (joblog streams with maxAge): retention by count, a soft and a hard delete.
      await store.append('probe-counted', probe(5));
      await store.setStreamMetadata('probe-counted', { maxCount: 2 });
      await store.append('probe-soft', probe(2));
      await store.deleteStream('probe-soft');
      await store.append('probe-hard', probe(2));
      await store.deleteStream('probe-hard', { hard: true });
      sourceEvents = await all(store);
    } finally {
      await store.close();
    }
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('stops after --max-events with exit code 3, having copied that many events in order', async () => {
    const r = await controlPlaneCli(dir, [
      'migrate',
      '--to',
      `sqlite://${target}`,
      '--max-events',
      '25',
      '--batch-size',
      '4',
    ]);
    assert.equal(r.code, 3, r.stderr);
    const copied = Number(/copied (\d+) events/.exec(r.stdout)?.[1]);
    assert.ok(copied >= 25 && copied < 25 + 4, r.stdout);
    assert.match(r.stdout, /run the same command again to continue/);
    const store = createSqliteEventStore({ path: target, readonly: true });
    try {
      const held = await all(store);
      assert.deepEqual(
        held.map((e) => e.id),
        sourceEvents.slice(0, copied).map((e) => e.id),
        'a prefix of the source, in its order',
      );
    } finally {
      await store.close();
    }
  });

  it('a rerun continues without duplicates, carries metadata and deletions, verifies and builds the read models', async () => {
    const r = await controlPlaneCli(dir, ['migrate', '--to', `sqlite://${target}`]);
    assert.equal(r.code, 0, r.stderr);
    const copied = Number(/copied (\d+) events/.exec(r.stdout)?.[1]);
    assert.ok(copied > 0 && copied <= sourceEvents.length - 25, r.stdout);
    assert.match(r.stdout, new RegExp(`verified \\d+ streams, ${sourceEvents.length} events`));
    assert.match(r.stdout, /read models rebuilt from the target .* they match a rebuild from the source/);

    const source = createSqliteEventStore({ path: path.join(dir, 'events.db'), readonly: true });
    const copy = createSqliteEventStore({ path: target, readonly: true });
    try {
      const held = await all(copy);
      // Every event once: same ids, streams, revisions, types and data, in the source's order.
      assert.deepEqual(
        held.map((e) => [e.id, e.streamId, e.revision, e.type, JSON.stringify(e.data)]),
        sourceEvents.map((e) => [e.id, e.streamId, e.revision, e.type, JSON.stringify(e.data)]),
      );
      // Each copy carries its original time; positions are the target's own.
      for (let i = 0; i < held.length; i++) {
        const meta = held[i]!.metadata as Record<string, unknown>;
        assert.equal(meta.original_created, sourceEvents[i]!.created.toISOString());
      }
      const joblog = sourceEvents.find((e) => e.streamId.startsWith('joblog-'))!.streamId;
      assert.deepEqual(await copy.getStreamMetadata(joblog), await source.getStreamMetadata(joblog));
      assert.deepEqual(await copy.getStreamMetadata('probe-counted'), { maxCount: 2 });
      const counted: number[] = [];
      for await (const e of copy.readStream('probe-counted')) counted.push(e.revision);
      assert.deepEqual(counted, [3, 4], 'maxCount means the same revisions in the target');
      assert.notEqual(await readError(source, 'probe-soft'), 'readable');
      assert.equal(await readError(copy, 'probe-soft'), await readError(source, 'probe-soft'));
      assert.equal(await readError(copy, 'probe-hard'), 'StreamDeleted');

      // The target's read models: no checkpoint from the source's positions, rows equal to a rebuild from the source.
      const migrated = openReadModelsDatabase(path.join(dir, MIGRATED_READ_MODELS), { readonly: true });
      const reference = openReadModelsDatabase(path.join(dir, 'reference.db'));
      try {
        await rebuildReadModels(source, reference, ALL_PROJECTIONS);
        const fromTarget = dumpReadModels(migrated);
        assert.deepEqual(fromTarget, dumpReadModels(reference));
        assert.ok(
          Object.values(fromTarget).some((rows) => rows.length > 0),
          'the read models have rows',
        );
        const checkpoints = migrated.prepare('SELECT name, commit_pos FROM projection_state').all() as Array<{
          name: string;
          commit_pos: string | null;
        }>;
        const head = held.at(-1)!.position.commit.toString();
        assert.equal(checkpoints.length, ALL_PROJECTIONS.length);
        for (const c of checkpoints) assert.equal(c.commit_pos, head, `${c.name} is at the target's head`);
        // Stamped with the target's own log id, never the source's (serve on the target takes them, and only them).
        const targetLog = await readLogIdentity(copy);
        assert.ok(targetLog);
        assert.equal(readModelsLogId(migrated), targetLog);
        assert.notEqual(await readLogIdentity(source), targetLog);
      } finally {
        migrated.close();
        reference.close();
      }
    } finally {
      await source.close();
      await copy.close();
    }
  });

  it('a third run finds everything there: nothing copied, verified again', async () => {
    const r = await controlPlaneCli(dir, ['migrate', '--to', `sqlite://${target}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /copied 0 events/);
    assert.match(r.stdout, new RegExp(`verified \\d+ streams, ${sourceEvents.length} events`));
  });

  it('refuses a target that holds streams of another log, naming them, and says a rerun continues', async () => {
    const other = path.join(dir, 'other', 'events.db');
    const store = createSqliteEventStore({ path: other });
    await store.append('host-someone-else', probe(1));
    await store.close();
    const r = await controlPlaneCli(dir, ['migrate', '--to', `sqlite://${other}`]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /holds 1 streams that are not in this log \(host-someone-else/);
  });

  it('refuses bad usage with exit code 2: no --to, the source itself, a bad number', async () => {
    const none = await controlPlaneCli(dir, ['migrate']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--to is required/);
    const self = await controlPlaneCli(dir, ['migrate', '--to', `sqlite://${path.join(dir, 'events.db')}`]);
    assert.equal(self.code, 2);
    assert.match(self.stderr, /names the source log itself/);
    const bad = await controlPlaneCli(dir, ['migrate', '--to', `sqlite://${target}`, '--max-events', '0']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--max-events must be a whole number of at least 1/);
    const url = await controlPlaneCli(dir, ['migrate', '--to', 'esdb://admin:s3cret@127.0.0.1:1?tls=maybe']);
    assert.equal(url.code, 2);
    assert.doesNotMatch(url.stderr, /s3cret/);
  });
});

describe('restic-fleet migrate killed mid-copy (SIGKILL), then run again', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-migrate-kill-'));
  const target = path.join(dir, 'target', 'events.db');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('ends with every event once, in order, after a kill part-way', async () => {
    const source = createSqliteEventStore({ path: path.join(dir, 'events.db') });
    let events: RecordedEvent[];
    try {
      // 20,000 events in 20 streams, appended in interleaved runs of 100.
      for (let round = 0; round < 10; round++)
        for (let s = 0; s < 20; s++) await source.append(`probe-${s}`, probe(100));
      events = await all(source);
    } finally {
      await source.close();
    }
    const child = spawn(
      process.execPath,
      [controlPlaneBin(), 'migrate', '--to', `sqlite://${target}`, '--batch-size', '5'],
      { env: { PATH: process.env.PATH ?? '', HOME: dir, RF_DATA_DIR: dir }, stdio: 'ignore' },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // Killed once the target holds some events but not all.
    let held = 0;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      if (!fs.existsSync(target)) continue;
      let copy: EventStore | undefined;
      try {
        copy = createSqliteEventStore({ path: target, readonly: true });
        held = (await all(copy)).length;
      } catch {
        // The file exists before its schema does: look again.
        continue;
      } finally {
        await copy?.close();
      }
      if (held > 0) break;
    }
    child.kill('SIGKILL');
    await exited;
    assert.ok(held > 0 && held < events.length, `killed part-way (${held} of ${events.length} copied)`);

    const rerun = await controlPlaneCli(dir, ['migrate', '--to', `sqlite://${target}`]);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.match(rerun.stdout, new RegExp(`verified 20 streams, ${events.length} events`));
    const copy = createSqliteEventStore({ path: target, readonly: true });
    try {
      const ids = (await all(copy)).map((e) => e.id);
      assert.equal(new Set(ids).size, ids.length, 'no event twice');
      assert.deepEqual(
        ids,
        events.map((e) => e.id),
      );
    } finally {
      await copy.close();
    }
  });
});
