import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import type { RecordedEvent } from '@rf/events';
import { ALL_PROJECTIONS } from '../read-models/all.projections';
import { at, fleetHistory, planned, recordAll, type PlannedEvent } from '../testing/fleet-events.fixture';
import { dumpReadModels } from './dump-read-models';
import {
  defineProjection,
  projectionEvent,
  liveTables,
  type KeyedTable,
  type ProjectionDefinition,
  handlesStream,
} from './projection.definition';
import { InMemoryView } from './projection.view';
import { KeyFilter, SqliteProjectionView } from './sqlite-projection.view';
import { ProjectionBatchApplier } from './projection-batch.applier';
import { isProjectionError } from './projection.errors';
import { createTables, ReadModelWriter } from './read-model.writer';

const agent = { kind: 'agent', id: 'h0' };
const line = (job: string, seq: number, payload = `p${seq}`): PlannedEvent =>
  planned(
    `joblog-${job}`,
    'LogStreamLine',
    { job_id: job, seq, ts: at(seq), stream: 'stdout', payload },
    agent,
  );

/** A fleet history plus the awkward cases: resends, out-of-order lines and outcomes, unknown jobs. */
function awkwardHistory(): RecordedEvent[] {
  const base = fleetHistory({ hosts: 3, jobsPerHost: 4, linesPerJob: 6 });
  const repeatedStats = base.find((p) => p.event.type === 'RepoStatsReported')!;
  const extra: PlannedEvent[] = [
    line('j-0-0', 2, 'a resend'),
    line('j-0-0', 9),
    line('j-0-0', 7),
    line('j-0-0', 7),
    line('j-unknown', 3),
    planned(
      'job-j-0-1',
      'JobLost',
      { job_id: 'j-0-1', host_id: 'h0', reason: 'late guess', lost_at: at(99_000) },
      { kind: 'system', id: 'control-plane' },
    ),
    planned(
      'job-j-late',
      'JobRequested',
      { job_id: 'j-late', host_id: 'h1', kind: 'backup', args: { paths: ['/srv'] }, requested_at: at(1) },
      { kind: 'user', id: 'u-alice' },
    ),
    planned(
      'job-j-late',
      'JobLost',
      { job_id: 'j-late', host_id: 'h1', reason: 'away', lost_at: at(100_000) },
      { kind: 'system', id: 'control-plane' },
    ),
    planned(
      'job-j-late',
      'JobFinished',
      { job_id: 'j-late', status: 'warning', exit_code: 3, finished_at: at(100_500), dropped_log_lines: 4 },
      { kind: 'agent', id: 'h1' },
    ),
    planned(
      'joblog-j-late',
      'LogLinesDropped',
      { job_id: 'j-late', from_seq: 0, to_seq: 5, count: 6 },
      agent,
    ),
    planned(
      'snapshots-h2',
      'SnapshotsReported',
      { host_id: 'h2', snapshots: [], reported_at: at(101_000) },
      { kind: 'agent', id: 'h2' },
    ),
    repeatedStats,
    planned('user-u1', 'UserLoggedIn', { user_id: 'u1', at: at(102_000) }),
  ];
  return recordAll([...base, ...extra]);
}

/** The rows the pure projections give over plain maps (each fed the streams it declares), shaped like `dumpReadModels`. */
function inMemoryDump(events: readonly RecordedEvent[]): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const p of ALL_PROJECTIONS) {
    const view = new InMemoryView(p.tables);
    for (const r of events) {
      const e = projectionEvent(r);
      if (e !== null && handlesStream(p, e.streamId)) p.evolve(view, e);
    }
    for (const t of Object.keys(p.tables)) out[t] = view.rows(t);
  }
  return out;
}

describe('SQLite projection view (the generic writer)', () => {
  const events = awkwardHistory();
  const expected = inMemoryDump(events);

  for (const size of [1, 7, 1000]) {
    it(`stores exactly what the pure projections hold over plain maps (batches of ${size})`, () => {
      const db = new Database(':memory:');
      const writer = new ReadModelWriter(db, ALL_PROJECTIONS);
      writer.install();
      for (let i = 0; i < events.length; i += size) writer.applyBatch(events.slice(i, i + size));
      assert.deepEqual(dumpReadModels(db), expected);
      assert.ok((expected['job_log_lines'] ?? []).length > 3 * 4 * 6, 'the history has log lines');
      db.close();
    });
  }

  for (const size of [7, 1000]) {
    it(`over tables that start empty (a replay's), stores the same rows, batches of ${size} written one after another`, () => {
      const db = new Database(':memory:');
      for (const p of ALL_PROJECTIONS) createTables(db, p, liveTables);
      // Rows it wrote in earlier batches are looked up again; rows it never wrote are known absent.
      const applier = new ProjectionBatchApplier(db, ALL_PROJECTIONS, liveTables, true);
      for (let i = 0; i < events.length; i += size) {
        for (const e of events.slice(i, i + size)) applier.evolve(e);
        applier.flush();
      }
      assert.deepEqual(dumpReadModels(db), expected);
      db.close();
    });
  }

  it('knows every key it was given, and few it was not', () => {
    const filter = new KeyFilter();
    const given = Array.from(
      { length: 50_000 },
      (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    );
    for (const k of given) filter.add(k);
    assert.ok(given.every((k) => filter.mayHave(k)));
    const others = Array.from({ length: 50_000 }, (_, i) => `job-${i}-other`);
    const wrong = others.filter((k) => filter.mayHave(k)).length;
    assert.ok(wrong < 50, `${wrong} of 50,000 keys never given read as maybe there`);
  });

  it('reads its own writes within a batch, deletes, and refuses to patch a missing row', () => {
    const counter: ProjectionDefinition = defineProjection<{
      counts: KeyedTable<{ host: string; n: number }, 'host'>;
    }>({
      name: 'counts',
      version: 1,
      tables: {
        counts: {
          kind: 'keyed',
          key: ['host'],
          columns: { host: 'TEXT PRIMARY KEY', n: 'INTEGER NOT NULL' },
        },
      },
      indexes: [],
      evolve(view, e) {
        if (e.type === 'AgentConnected') {
          const c = view.get('counts', { host: e.data.host_id });
          if (c === undefined) view.put('counts', { host: e.data.host_id, n: 1 });
          else view.patch('counts', { host: e.data.host_id }, { n: c.n + 1 });
        } else if (e.type === 'HostRevoked') view.delete('counts', { host: e.data.host_id });
        else if (e.type === 'HostEnrolled') view.patch('counts', { host: e.data.host_id }, { n: 0 });
      },
    });
    const connected = (host: string): PlannedEvent =>
      planned(`host-${host}`, 'AgentConnected', { host_id: host, connected_at: at(1) }, agent);
    const batch = recordAll([
      connected('a'),
      connected('a'),
      connected('b'),
      planned('host-b', 'HostRevoked', { host_id: 'b', revoked_at: at(2) }),
      connected('a'),
    ]);
    const db = new Database(':memory:');
    const writer = new ReadModelWriter(db, [counter]);
    writer.install();
    writer.applyBatch(batch);
    assert.deepEqual(db.prepare('SELECT host, n FROM counts').all(), [{ host: 'a', n: 3 }]);

    const enrolUnknown = recordAll([
      planned('host-z', 'HostEnrolled', {
        host_id: 'z',
        hostname: 'z',
        os: 'linux',
        arch: 'amd64',
        enrolled_at: at(3),
      }),
    ]).map((r) => ({ ...r, position: { commit: 10n, prepare: 10n } }));
    assert.throws(
      () => writer.applyBatch(enrolUnknown),
      (err: unknown) => isProjectionError(err, 'InvalidArgument') && /does not exist/.test(err.message),
    );
    const memory = new InMemoryView(counter.tables);
    assert.throws(
      () => counter.evolve(memory, projectionEvent(enrolUnknown[0]!)!),
      (err: unknown) => isProjectionError(err, 'InvalidArgument'),
    );
    assert.deepEqual(db.prepare('SELECT host, n FROM counts').all(), [{ host: 'a', n: 3 }]);
    db.close();
  });

  it('writes back only the columns a batch changed in the rows it read, and nothing for a row put back unchanged', () => {
    const db = new Database(':memory:');
    db.exec(`
      CREATE TABLE agents (host TEXT PRIMARY KEY, status TEXT NOT NULL, n INTEGER NOT NULL);
      CREATE INDEX agents_by_status ON agents (status);
      CREATE TABLE status_writes (host TEXT NOT NULL);
      CREATE TRIGGER agents_status AFTER UPDATE OF status ON agents BEGIN INSERT INTO status_writes VALUES (new.host); END;
      INSERT INTO agents VALUES ('a', 'idle', 0), ('b', 'idle', 0);
    `);
    const tables = {
      agents: {
        kind: 'keyed',
        key: ['host'],
        columns: { host: 'TEXT PRIMARY KEY', status: 'TEXT NOT NULL', n: 'INTEGER NOT NULL' },
      },
    } as const;
    const view = new SqliteProjectionView(db, tables, liveTables);
    const rows = (): unknown[] => db.prepare('SELECT host, status, n FROM agents ORDER BY host').all();
    const statusWrites = (): number =>
      (db.prepare('SELECT count(*) AS n FROM status_writes').get() as { n: number }).n;
    const changes = (): number => (db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;

    // A counter on a row read in this batch: the indexed column is not written.
    const a = view.get('agents', { host: 'a' })!;
    view.patch('agents', { host: 'a' }, { n: Number(a['n']) + 1 });
    view.flush();
    assert.deepEqual(rows(), [
      { host: 'a', status: 'idle', n: 1 },
      { host: 'b', status: 'idle', n: 0 },
    ]);
    assert.equal(statusWrites(), 0);

    // A row read and put back as it was: no write at all.
    const before = changes();
    view.put('agents', { ...view.get('agents', { host: 'b' })! });
    view.flush();
    assert.equal(changes(), before);

    // A changed indexed column is written; a row read, deleted and put again ends as put.
    view.put('agents', { ...view.get('agents', { host: 'a' })!, status: 'busy' });
    view.get('agents', { host: 'b' });
    view.delete('agents', { host: 'b' });
    view.put('agents', { host: 'b', status: 'idle', n: 7 });
    view.flush();
    assert.deepEqual(rows(), [
      { host: 'a', status: 'busy', n: 1 },
      { host: 'b', status: 'idle', n: 7 },
    ]);
    assert.equal(statusWrites(), 1);

    // Rows this batch did not read are upserted whole, new or not.
    view.put('agents', { host: 'a', status: 'idle', n: 2 });
    view.put('agents', { host: 'c', status: 'new', n: 0 });
    view.flush();
    assert.deepEqual(rows(), [
      { host: 'a', status: 'idle', n: 2 },
      { host: 'b', status: 'idle', n: 7 },
      { host: 'c', status: 'new', n: 0 },
    ]);
    db.close();
  });

  it('builds the rows of a group replacement only when the batch keeps it, once, in both views', () => {
    const tables = {
      files: {
        kind: 'group',
        key: ['host'],
        columns: { host: 'TEXT NOT NULL', name: 'TEXT NOT NULL' },
        constraints: 'PRIMARY KEY (host, name)',
      },
    } as const;
    const db = new Database(':memory:');
    db.exec('CREATE TABLE files (host TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (host, name))');
    const sqlite = new SqliteProjectionView(db, tables, liveTables);
    const memory = new InMemoryView(tables);
    const built: string[] = [];
    const rowsOf =
      (host: string, ...names: string[]) =>
      (): { host: string; name: string }[] => {
        built.push(`${host}:${names.join(',')}`);
        return names.map((name) => ({ host, name }));
      };

    const replaceTwice = (view: SqliteProjectionView | InMemoryView): void => {
      view.replaceGroup('files', { host: 'a' }, rowsOf('a', 'x', 'y'));
      view.replaceGroup('files', { host: 'b' }, [{ host: 'b', name: 'z' }]);
      view.replaceGroup('files', { host: 'a' }, rowsOf('a', 'w'));
    };
    replaceTwice(sqlite);
    assert.deepEqual(built, []);
    sqlite.flush();
    // The SQLite view built only the batch's last replacement of a, when writing it.
    assert.deepEqual(built, ['a:w']);
    // The in-memory view (unit specs) applies each replacement at once, to the same rows.
    replaceTwice(memory);
    assert.deepEqual(built, ['a:w', 'a:x,y', 'a:w']);
    const expected = [
      { host: 'a', name: 'w' },
      { host: 'b', name: 'z' },
    ];
    assert.deepEqual(db.prepare('SELECT host, name FROM files ORDER BY host, name').all(), expected);
    assert.deepEqual(memory.rows('files'), expected);

    // A later batch: the kept function of the earlier one is not called again.
    sqlite.replaceGroup('files', { host: 'b' }, rowsOf('b', 'v'));
    sqlite.flush();
    assert.deepEqual(built.slice(3), ['b:v']);
    assert.deepEqual(db.prepare("SELECT name FROM files WHERE host = 'b'").pluck().all(), ['v']);
    db.close();
  });
});
