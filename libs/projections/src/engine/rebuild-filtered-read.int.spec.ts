import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { comparePositions } from '@rf/events';
import { createSqliteEventStore, type EventStore } from '@rf/event-store';
import { ALL_PROJECTIONS } from '../read-models/all.projections';
import { hostsProjection } from '../read-models/hosts.projection';
import { jobsProjection } from '../read-models/jobs.projection';
import { createTables, indexNames, ReadModelWriter } from './read-model.writer';
import { dumpReadModels } from './dump-read-models';
import { rebuildTables, streamPrefixesOf } from './projection.definition';
import { ProjectionStateRepository } from './projection-state.repository';
import { openReadModelsDatabase } from './read-models.database';
import { rebuildReadModels } from './read-models.rebuilder';
import { RebuildReplay } from './rebuild-replay';
import { agentConnected, fleetHistory, logLine } from '../testing/fleet-events.fixture';
import { appendAll } from '../testing/event-log.helpers';

/*
 * Replay threads read only the streams of their read models (docs/architecture.md, "Read
 * models"). A filtered read returns its last matching event, though it scanned further: the
 * position a thread reports must be the one it scanned to, or the rebuild's locked stretch
 * starts too early (slow) or, worse, a resume skips or repeats events.
 */
describe('rebuild with filtered reads of the log', () => {
  let dir: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-rebuild-filtered-'));
  });

  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('derives each read model’s read filter from its declared streams', () => {
    assert.deepEqual(streamPrefixesOf([jobsProjection]), ['job-', 'joblog-']);
    const rest = streamPrefixesOf(ALL_PROJECTIONS.filter((p) => p !== jobsProjection));
    assert.ok(rest !== undefined && !rest.includes('joblog-') && rest.includes('host-'));
    assert.equal(streamPrefixesOf(ALL_PROJECTIONS), undefined, 'all of them read every stream');
  });

  it('a replay whose log ends in streams it skips reaches the head, and resumes there exactly', async () => {
    const store = createSqliteEventStore({ path: path.join(dir, 'replay-events.db') });
    const db = openReadModelsDatabase(path.join(dir, 'replay-readmodels.db'));
    try {
      await appendAll(store, fleetHistory({ hosts: 2, jobsPerHost: 2, linesPerJob: 3 }));
      const lastHostEvent = (await appendAll(store, [agentConnected('h0', 900_000)]))!.position;
      // The tail: job telemetry only, which the hosts read model does not read.
      await appendAll(store, [logLine('j-tail', 1), logLine('j-tail', 2)]);
      const head = (await store.headPosition())!;
      assert.ok(comparePositions(head, lastHostEvent) > 0);

      createTables(db, hostsProjection, rebuildTables);
      const replay = new RebuildReplay(store, db, [hostsProjection], 1_000);
      await replay.run();
      assert.equal(
        comparePositions(replay.last!, head),
        0,
        'the position scanned to, not the last host event',
      );
      const applied = replay.eventsRead;
      const hostRows = db.prepare('SELECT id, last_seen FROM hosts__rebuild ORDER BY id').all();

      // Appended meanwhile: a host event and more telemetry. The next pass applies the host event once.
      const connected = (await appendAll(store, [agentConnected('h1', 950_000)]))!.position;
      await appendAll(store, [logLine('j-tail', 3)]);
      await replay.run();
      assert.equal(replay.eventsRead, applied + 1, 'only the new host event is applied');
      assert.equal(comparePositions(replay.last!, (await store.headPosition())!), 0);
      assert.ok(comparePositions(replay.last!, connected) > 0);
      const after = db.prepare('SELECT id, last_seen FROM hosts__rebuild ORDER BY id').all() as {
        id: string;
        last_seen: string | null;
      }[];
      const h1 = (rows: unknown[]) => (rows as { id: string }[]).find((h) => h.id === 'h1');
      assert.notDeepEqual(h1(after), h1(hostRows), 'the new host event changed h1');

      // A pass with nothing new changes nothing and stays at the head.
      await replay.run();
      assert.equal(replay.eventsRead, applied + 1);
    } finally {
      db.close();
      await store.close();
    }
  });

  it('indexes its tables on the threads: after rebuilds in a row and a restart each read model has every index of its definition once, on its live tables', async () => {
    const eventsPath = path.join(dir, 'indexes-events.db');
    const store: EventStore = createSqliteEventStore({ path: eventsPath });
    const db = openReadModelsDatabase(path.join(dir, 'indexes-readmodels.db'));
    try {
      await appendAll(store, fleetHistory({ hosts: 2, jobsPerHost: 2, linesPerJob: 3 }));
      const writer = new ReadModelWriter(db, ALL_PROJECTIONS);
      writer.install();
      db.pragma('wal_autocheckpoint = 777');
      const indexes = (): Map<string, string> =>
        new Map(
          (
            db
              .prepare("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
              .all() as { name: string; tbl_name: string }[]
          ).map((r) => [r.name, r.tbl_name]),
        );
      const named: string[][] = [];
      for (let round = 0; round < 3; round++) {
        await rebuildReadModels(store, db, ALL_PROJECTIONS, {
          parallel: { eventStore: { kind: 'sqlite', path: eventsPath } },
        });
        if (round === 2) writer.install();
        const now = indexes();
        const expected = ALL_PROJECTIONS.flatMap((p) => p.indexes);
        assert.equal(now.size, expected.length, 'no index left over');
        const names: string[] = [];
        for (const ix of expected) {
          const present = indexNames(ix).filter((n) => now.has(n));
          assert.equal(present.length, 1, `${ix.name} once`);
          assert.equal(now.get(present[0]!), ix.table, `${ix.name} on the live table`);
          names.push(present[0]!);
        }
        named.push(names);
      }
      assert.notDeepEqual(named[0], named[1], 'each rebuild took the names the live tables left free');
      assert.deepEqual(named[2], named[0]);
      assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 777, 'auto-checkpoint as it was');
      const rebuildLeft = db
        .prepare("SELECT name FROM sqlite_master WHERE name LIKE '%__rebuild'")
        .pluck()
        .all();
      assert.deepEqual(rebuildLeft, []);
    } finally {
      db.close();
      await store.close();
    }
  });

  for (const tail of ['job telemetry', 'host events'] as const) {
    it(`a two-thread rebuild of a log ending in ${tail} equals a one-thread rebuild, every read model at the head`, async () => {
      const eventsPath = path.join(dir, `threads-${tail.replace(' ', '-')}-events.db`);
      const store: EventStore = createSqliteEventStore({ path: eventsPath });
      const threads = openReadModelsDatabase(path.join(dir, `threads-${tail.replace(' ', '-')}-a.db`));
      const single = openReadModelsDatabase(path.join(dir, `threads-${tail.replace(' ', '-')}-b.db`));
      try {
        await appendAll(store, fleetHistory({ hosts: 3, jobsPerHost: 3, linesPerJob: 20 }));
        // Each tail is read by one thread only: telemetry by the jobs', host events by the other.
        await appendAll(
          store,
          tail === 'job telemetry'
            ? [logLine('j-tail', 1), logLine('j-tail', 2), logLine('j-tail', 3)]
            : [agentConnected('h0', 900_000), agentConnected('h1', 900_500)],
        );
        const head = (await store.headPosition())!;

        const parallel = await rebuildReadModels(store, threads, ALL_PROJECTIONS, {
          parallel: { eventStore: { kind: 'sqlite', path: eventsPath } },
        });
        await rebuildReadModels(store, single, ALL_PROJECTIONS);

        assert.equal(comparePositions(parallel.checkpoint!, head), 0);
        for (const [name, state] of new ProjectionStateRepository(threads).all()) {
          assert.equal(comparePositions(state.checkpoint!, head), 0, `${name} resumes after the head`);
        }
        assert.deepEqual(dumpReadModels(threads), dumpReadModels(single));
      } finally {
        threads.close();
        single.close();
        await store.close();
      }
    });
  }
});
