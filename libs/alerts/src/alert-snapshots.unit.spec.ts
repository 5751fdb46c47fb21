import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SealedChannelSettings } from '@rf/events';
import { DeliveryPlanner } from './delivery/delivery-planner';
import { recordFields } from './delivery/notifier';
import { AlertRulesProcess } from './rules/alert-rules.process';
import { FleetLog, HOUR, LiveRules, MINUTE } from './rules/alert-rules.testing';
import { FleetWatch } from './rules/fleet-watch.state';

/**
 * A state restored from its snapshot and then fed the rest of the log decides
 * exactly as one that folded the whole log: the control plane starts from the
 * snapshot instead of replaying history (docs/alerts.md, "How the rules run").
 */

const SEALED = { alg: 'aes-256-gcm', key_id: 'k', iv: 'AAAA', tag: 'AAAA', ciphertext: 'AAAA' } as const;
const WEBHOOK: SealedChannelSettings = { url: SEALED, secret: SEALED };

/** A fleet with something of every kind in the fold: schedules, failures, locks, history, open and acknowledged alerts. */
function busyFleet(): { log: FleetLog; rules: LiveRules } {
  const log = new FleetLog('2024-05-01T00:00:00Z');
  const rules = new LiveRules(log);
  log.enrol('h1', 'web-1').connect('h1', 'web-1').enrol('h2', 'db-1').connect('h2', 'db-1');
  log.schedules('h1', 1, [{ id: 'nightly', cron: '0 2 * * *' }]).applied('h1', 1);
  log.schedules('h2', 1, [{ id: 'hourly', cron: '0 * * * *' }]);
  log.append('ChannelConfigured', {
    channel_id: 'hook',
    kind: 'webhook',
    name: 'hook',
    settings: WEBHOOK,
    routing: { reminder_hours: 1 },
    configured_at: log.iso,
  });
  for (let i = 0; i < 4; i++)
    log.after(HOUR).job(`b${i}`, 'h1', 'backup', 'succeeded', {
      schedule: 'nightly',
      stats: { files_new: 3, files_changed: 2, data_added: 1000, total_bytes_processed: 50_000 },
    });
  log.after(MINUTE).job('f1', 'h2', 'backup', 'failed', {
    error: 'repository is already locked',
    error_code: 'repository_locked',
  });
  log.after(MINUTE).job('f2', 'h2', 'prune', 'failed', {
    error: 'repository is already locked',
    error_code: 'repository_locked',
  });
  rules.evaluate();
  log.after(MINUTE).disconnect('h1');
  log.after(20 * MINUTE);
  const raised = rules.evaluate();
  const offline = raised.find((d) => d.event.type === 'AlertRaised' && d.event.data.rule === 'agent_offline');
  assert.ok(offline, 'the fleet has an offline host');
  log.ack(offline.event.data.alert_id);
  log.request('q1', 'h1', 'backup', { schedule: 'nightly' });
  return { log, rules };
}

describe('alert state snapshots', () => {
  it('the rules restored from a snapshot decide what the full replay decides, now and later', () => {
    const { log, rules } = busyFleet();
    rules.catchUp();
    const json = JSON.parse(JSON.stringify(rules.process.watch.toSnapshot())) as unknown;
    const restored = new AlertRulesProcess({
      watchingSince: new Date(log.now),
      watch: FleetWatch.fromSnapshot(json),
    });
    const replayed = new AlertRulesProcess({ watchingSince: new Date(log.now) });
    for (const e of log.events) replayed.apply(e);
    const before = log.events.length;
    log.after(MINUTE).finish('q1', 'failed', { error: 'boom' }).connect('h1', 'web-1');
    log.after(3 * 24 * HOUR);
    for (const e of log.events.slice(before)) {
      restored.apply(e);
      replayed.apply(e);
    }
    const now = new Date(log.now);
    const history = (p: AlertRulesProcess) => p.watch.hosts.get('h1')?.backupHistory;
    assert.equal([...(history(replayed)?.values() ?? [])][0]?.length, 4, 'four backups of history');
    assert.deepEqual(history(restored), history(replayed), 'the backup history survives the snapshot');
    const expected = replayed.evaluate(now);
    assert.ok(expected.length >= 3, `the later round decides something (${expected.length})`);
    assert.deepEqual(restored.evaluate(now), expected);
    assert.deepEqual(
      [...restored.watch.openAlerts()].map((a) => [a.alertId, a.acknowledged]),
      [...replayed.watch.openAlerts()].map((a) => [a.alertId, a.acknowledged]),
    );
  });

  it('the delivery planner restored from a snapshot owes what the full replay owes, handed-out attempts included', () => {
    const { log } = busyFleet();
    const full = new DeliveryPlanner();
    for (const e of log.events) full.apply(e);
    // One notification handed out and its outcome never recorded (a crash mid-delivery): still owed after restore.
    const handedOut = full.takeDue(log.now);
    assert.ok(handedOut.length >= 2, 'alerts were routed to the channel');
    const first = handedOut[0]!;
    log.append('NotificationSent', { ...recordFields(first), sent_at: log.iso });
    full.apply(log.events[log.events.length - 1]!);
    const restored = DeliveryPlanner.fromSnapshot(JSON.parse(JSON.stringify(full.toSnapshot())));
    const replayed = new DeliveryPlanner();
    for (const e of log.events) replayed.apply(e);
    const ids = (p: DeliveryPlanner, at: number) =>
      p
        .due(at)
        .map((d) => `${d.deliveryId} ${d.attempt}`)
        .sort();
    for (const at of [log.now, log.now + 2 * HOUR]) assert.deepEqual(ids(restored, at), ids(replayed, at));
    assert.deepEqual(
      restored
        .takeDue(log.now)
        .map((d) => d.deliveryId)
        .sort(),
      handedOut
        .slice(1)
        .map((d) => d.deliveryId)
        .sort(),
      'what was handed out but not recorded is handed out again; the recorded one is not',
    );
    assert.equal(restored.channels.get('hook')?.routing?.reminder_hours, 1);
  });

  it('a snapshot that is not one is refused with an error naming the part', () => {
    assert.throws(() => FleetWatch.fromSnapshot({ hosts: [] }), /hosts in the alerts snapshot is not a map/);
    assert.throws(
      () => DeliveryPlanner.fromSnapshot('x'),
      /the delivery planner in the alerts snapshot is not an object/,
    );
  });
});
