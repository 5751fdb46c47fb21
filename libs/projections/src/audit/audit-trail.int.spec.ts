import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type Database from 'better-sqlite3';
import { createSqliteEventStore, type EventStore } from '@rf/event-store';
import { openReadModelsDatabase } from '../engine/read-models.database';
import { rebuildReadModels } from '../engine/read-models.rebuilder';
import { ALL_PROJECTIONS } from '../read-models/all.projections';
import { HostsQuery } from '../queries/hosts.query';
import { appendAll } from '../testing/event-log.helpers';
import { fleetHistory } from '../testing/fleet-events.fixture';
import { AuditQuery, AuditTrailIndex, type AuditFilter } from './audit.query';

// The actor filter through the audit-trail read model must give exactly the lines of a scan of
// the log, on a real SQLite log and readmodels.db.
describe('audit trail: the actor filter through the audit-trail read model', () => {
  let dir: string;
  let store: EventStore;
  let db: Database.Database;
  let scan: AuditQuery;
  let indexed: AuditQuery;
  let hostId: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-audit-trail-'));
    store = createSqliteEventStore({ path: path.join(dir, 'events.db') });
    await appendAll(store, fleetHistory({ hosts: 3, jobsPerHost: 30, linesPerJob: 20 }));
    db = openReadModelsDatabase(path.join(dir, 'readmodels.db'));
    await rebuildReadModels(store, db, ALL_PROJECTIONS);
    const hosts = new HostsQuery(db);
    const names = { hostName: (id: string) => hosts.get(id)?.hostname ?? undefined };
    hostId = hosts.list()[1]!.id;
    scan = new AuditQuery(store, names);
    // A small page, so the filters below read the index over several rounds.
    indexed = new AuditQuery(store, names, new AuditTrailIndex(db, 16));
  });

  after(async () => {
    db.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('matches a scan of the log for users, agents by hostname or id, schedules, and nobody', async () => {
    const filters: AuditFilter[] = [
      { actor: 'alice' },
      { actor: 'U-ALICE' },
      { actor: 'alice', limit: 7 },
      { actor: 'web-01' },
      { actor: 'agent web-02', limit: 250 },
      { actor: hostId },
      { actor: 'schedule nightly' },
      { actor: 'alice', stream: 'schedules' },
      { actor: 'alice', since: new Date(Date.now() - 3_600_000) },
      { actor: 'nobody' },
    ];
    for (const f of filters) {
      const want = await scan.lines(f);
      const got = await indexed.lines(f);
      assert.deepEqual(got, want, `filter ${JSON.stringify(f)}`);
    }
    assert.ok((await indexed.lines({ actor: 'alice' })).length > 10, 'the fixture has operator actions');
    assert.ok(
      (await indexed.lines({ actor: 'web-01' })).length > 3 * 16,
      'several index pages of agent events',
    );
  });

  it('indexes every event but the job log telemetry', async () => {
    let others = 0;
    let telemetry = 0;
    for await (const e of store.readAll()) {
      if (e.streamId.startsWith('joblog-')) telemetry++;
      else others++;
    }
    assert.ok(telemetry > 0);
    const rows = db.prepare('SELECT COUNT(*) AS c FROM audit_trail').get() as { c: number };
    assert.equal(rows.c, others);
  });
});
