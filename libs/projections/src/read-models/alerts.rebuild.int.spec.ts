import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type Database from 'better-sqlite3';
import { createSqliteEventStore, type EventStore } from '@rf/event-store';
import { dumpReadModels } from '../engine/dump-read-models';
import { ProjectionRunner } from '../engine/projection.runner';
import { openReadModelsDatabase } from '../engine/read-models.database';
import { rebuildReadModels } from '../engine/read-models.rebuilder';
import { AlertsQuery } from '../queries/alerts.query';
import { NotificationsQuery } from '../queries/notifications.query';
import { alertHistory } from '../testing/alert-events.fixture';
import { appendAll } from '../testing/event-log.helpers';
import { fleetHistory } from '../testing/fleet-events.fixture';
import { ALL_PROJECTIONS } from './all.projections';

/*
 * The alert history survives a rebuild (docs/alerts.md): the read models a live
 * runner built from a real log, and the ones `projections rebuild` builds from
 * the same log, are identical row by row, in the live tables the app reads.
 */
describe('alerts and notifications read models: live runner vs rebuild (real SQLite log)', () => {
  let dir: string;
  let store: EventStore;
  let live: Database.Database;
  let rebuilt: Database.Database;
  let runner: ProjectionRunner;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-alerts-rebuild-'));
    store = createSqliteEventStore({ path: path.join(dir, 'events.db') });
    live = openReadModelsDatabase(path.join(dir, 'live.db'));
    rebuilt = openReadModelsDatabase(path.join(dir, 'rebuilt.db'));
    runner = new ProjectionRunner(store, live, ALL_PROJECTIONS, { batchSize: 7, flushMs: 10 });
    runner.start();
    const history = [...fleetHistory({ hosts: 3, jobsPerHost: 2, linesPerJob: 2 }), ...alertHistory(12)];
    // Half before the runner catches up, half while it is live.
    await appendAll(store, history.slice(0, history.length / 2));
    await runner.whenCaughtUp(10_000);
    await appendAll(store, history.slice(history.length / 2));
    const head = await store.headPosition();
    assert.ok(head);
    await runner.waitForPosition(head, 10_000);
  });

  after(async () => {
    await runner.stop();
    live.close();
    rebuilt.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('rebuild gives identical alerts, channels and deliveries tables', async () => {
    await rebuildReadModels(store, rebuilt, ALL_PROJECTIONS, { batchSize: 50 });
    const a = dumpReadModels(live, ALL_PROJECTIONS);
    const b = dumpReadModels(rebuilt, ALL_PROJECTIONS);
    assert.deepEqual(b, a);
    assert.equal(a['alerts']!.length, 12);
    assert.equal(a['notification_channels']!.length, 1, 'c2 was removed');
    assert.equal(a['notification_deliveries']!.length, 12 + 6);
  });

  it('the queries read the history: open first (acknowledged count as open), then resolved; filters by host and rule', () => {
    const alerts = new AlertsQuery(live);
    const all = alerts.list({ state: 'all' });
    assert.equal(all.length, 12);
    const firstResolved = all.findIndex((x) => x.state === 'resolved');
    assert.equal(firstResolved, 6);
    assert.ok(all.slice(0, 6).every((x) => x.state !== 'resolved'));
    assert.equal(alerts.openCount(), 6);
    assert.deepEqual(
      alerts
        .list({ state: 'open' })
        .map((x) => x.id)
        .sort(),
      ['a1', 'a11', 'a3', 'a5', 'a7', 'a9'],
    );
    assert.equal(alerts.get('a3')?.state, 'acknowledged');
    assert.equal(alerts.get('a3')?.acknowledged?.note, 'looking at it (3)');
    assert.equal(alerts.get('a3')?.acknowledged?.byName, 'alice');
    assert.deepEqual(
      alerts
        .list({ state: 'all', hostId: 'h1' })
        .map((x) => x.id)
        .sort(),
      ['a1', 'a10', 'a4', 'a7'],
    );
    assert.equal(alerts.list({ state: 'all', rule: 'backup_overdue' }).length, 0);
    assert.equal(alerts.list({ state: 'resolved' }).length, 6);
  });

  it('a channel lists its latest deliveries, newest first, with the alert they were about', () => {
    const q = new NotificationsQuery(live);
    const [c1] = q.channels();
    assert.equal(c1?.name, 'ops webhook (errors)');
    assert.deepEqual(c1?.routing, { min_severity: 'error' });
    assert.deepEqual(c1?.settings, { url: { set: true }, secret: { set: true } });
    const last = q.deliveries('c1', 3);
    assert.equal(last.length, 3);
    assert.ok(last[0]!.at >= last[1]!.at && last[1]!.at >= last[2]!.at);
    assert.ok(last.every((d) => d.result === 'sent' && d.alertSummary !== null));
  });
});
