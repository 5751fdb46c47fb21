import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChannelRouting, FleetEventDataMap, SealedChannelSettings } from '@rf/events';
import { FleetLog, HOUR, MINUTE } from '../rules/alert-rules.testing';
import { DeliveryPlanner, type DueDelivery } from './delivery-planner';
import { deliveryId } from './delivery-ids';
import { recordFields } from './notifier';

const SEALED = { alg: 'aes-256-gcm', key_id: 'k', iv: 'AAAA', tag: 'AAAA', ciphertext: 'AAAA' } as const;
const WEBHOOK: SealedChannelSettings = { url: SEALED, secret: SEALED };

class DeliveryLog extends FleetLog {
  channel(
    id: string,
    routing?: ChannelRouting,
    kind: FleetEventDataMap['ChannelConfigured']['kind'] = 'webhook',
    settings = WEBHOOK,
  ): this {
    return this.append('ChannelConfigured', {
      channel_id: id,
      kind,
      name: id,
      settings,
      ...(routing ? { routing } : {}),
      configured_at: this.iso,
    });
  }

  raise(id: string, o: Partial<FleetEventDataMap['AlertRaised']> = {}): this {
    return this.append('AlertRaised', {
      alert_id: id,
      rule: 'job_failed',
      severity: 'error',
      subject: `host:h1/kind:backup`,
      host_id: 'h1',
      hostname: 'web-1',
      summary: 'backup job failed on web-1',
      details: {},
      raised_at: this.iso,
      ...o,
    });
  }

  resolve(id: string): this {
    return this.append('AlertResolved', {
      alert_id: id,
      reason: 'a later backup job succeeded',
      resolved_at: this.iso,
    });
  }

  sent(d: DueDelivery): this {
    return this.append('NotificationSent', { ...recordFields(d), sent_at: this.iso });
  }

  failed(d: DueDelivery, retryInMs?: number): this {
    return this.append('NotificationFailed', {
      ...recordFields(d),
      error: 'connection refused by 127.0.0.1:9 — is the receiver running?',
      failed_at: this.iso,
      ...(retryInMs !== undefined ? { retry_at: new Date(this.now + retryInMs).toISOString() } : {}),
    });
  }
}

/** Folds the log into a fresh planner (a restart) and returns it. */
function plannerOf(log: FleetLog): DeliveryPlanner {
  const p = new DeliveryPlanner();
  for (const e of log.events) p.apply(e);
  return p;
}

const summary = (ds: readonly DueDelivery[]) =>
  ds.map((d) => `${d.channel.id} ${d.transition}${d.reminder ?? ''} #${d.attempt}`);

describe('DeliveryPlanner', () => {
  it('routes an alert to every channel without routing and to those whose routing takes it', () => {
    const log = new DeliveryLog('2024-05-01T10:00:00Z')
      .channel('all')
      .channel('errors', { min_severity: 'error' })
      .channel('offline-only', { rules: ['agent_offline'] })
      .channel('other-host', { hosts: ['h2'] })
      .channel('hc', undefined, 'healthchecks', { url: SEALED, host_id: 'h1', schedule_id: 's1' })
      .raise('a1');
    const due = plannerOf(log).due(log.now);
    assert.deepEqual(summary(due), ['all raised #1', 'errors raised #1']);
    assert.equal(due[0].deliveryId, deliveryId('a1', 'raised', 'all'));
    assert.equal(due[0].stream, 'delivery-a1');
    const notice = due[0].notice(new Date(log.now));
    assert.equal(notice.type, 'alert');
    if (notice.type === 'alert') {
      assert.equal(notice.event, 'alert.raised');
      assert.deepEqual(notice.alert.host, { id: 'h1', hostname: 'web-1' });
      assert.equal(notice.alert.state, 'open');
    }
    log.raise('a2', { severity: 'warning', subject: 'host:h1', rule: 'agent_offline' });
    assert.deepEqual(summary(plannerOf(log).due(log.now)).slice(2), [
      'all raised #1',
      'offline-only raised #1',
    ]);
  });

  it('owes nothing once accepted, and a replay of the log owes nothing either', () => {
    const log = new DeliveryLog('2024-05-01T10:00:00Z').channel('c').raise('a1');
    const p = plannerOf(log);
    const [d] = p.due(log.now);
    log.sent(d);
    p.apply(log.events.at(-1)!);
    assert.deepEqual(p.due(log.now + MINUTE), []);
    assert.deepEqual(plannerOf(log).due(log.now + MINUTE), []);
  });

  it('retries a failed attempt at its recorded time with the same delivery id, and stops when given up', () => {
    const log = new DeliveryLog('2024-05-01T10:00:00Z').channel('c').raise('a1');
    const [first] = plannerOf(log).due(log.now);
    log.failed(first, 30_000);
    assert.deepEqual(plannerOf(log).due(log.now + 29_000), []);
    const [second] = plannerOf(log).due(log.now + 30_000);
    assert.equal(second.attempt, 2);
    assert.equal(second.deliveryId, first.deliveryId);
    assert.equal(second.firstAttemptAt, log.now);
    assert.equal(plannerOf(log).nextDueAt(), log.now + 30_000);
    log.after(30_000).failed(second);
    assert.deepEqual(
      plannerOf(log)
        .due(log.now + 48 * HOUR)
        .filter((d) => d.transition === 'raised'),
      [],
    );
  });

  it('sends a resolution notice, dropping a raised notice still undelivered', () => {
    const log = new DeliveryLog('2024-05-01T10:00:00Z').channel('up').channel('down').raise('a1');
    const [up, down] = plannerOf(log).due(log.now);
    log.sent(up).failed(down, 60_000).after(MINUTE).resolve('a1');
    const due = plannerOf(log).due(log.now + HOUR);
    assert.deepEqual(summary(due), ['up resolved #1', 'down resolved #1']);
    const n = due[0].notice(new Date(log.now));
    assert.ok(n.type === 'alert' && n.event === 'alert.resolved' && n.alert.state === 'resolved');
    assert.ok(n.type === 'alert' && n.alert.resolution === 'a later backup job succeeded');
    const p = plannerOf(log);
    for (const d of due) {
      log.sent(d);
      p.apply(log.events.at(-1)!);
    }
    assert.deepEqual(p.size, { alerts: 0, pings: 0 }, 'a settled alert is forgotten');
  });

  it('reminds every N hours while open and unacknowledged, only the latest after a long gap', () => {
    const log = new DeliveryLog('2024-05-01T10:00:00Z')
      .channel('daily')
      .channel('hourly', { reminder_hours: 1 })
      .channel('never', { reminder_hours: 0 })
      .raise('a1');
    for (const d of plannerOf(log).due(log.now)) log.sent(d);
    assert.equal(plannerOf(log).nextDueAt(), log.now + HOUR);
    assert.deepEqual(summary(plannerOf(log).due(log.now + HOUR)), ['hourly reminder1 #1']);
    log.after(5 * HOUR + MINUTE);
    const later = plannerOf(log).due(log.now);
    assert.deepEqual(
      summary(later),
      ['hourly reminder5 #1'],
      'a control plane down for hours sends one reminder, not five',
    );
    assert.equal(later[0].deliveryId, deliveryId('a1', 'reminder', 'hourly', 5));
    log.sent(later[0]);
    assert.deepEqual(plannerOf(log).due(log.now + 30 * MINUTE), []);
    assert.deepEqual(summary(plannerOf(log).due(log.now + 19 * HOUR)), [
      'daily reminder1 #1',
      'hourly reminder24 #1',
    ]);
    log.ack('a1');
    assert.deepEqual(plannerOf(log).due(log.now + 48 * HOUR), [], 'an acknowledged alert is not reminded');
  });

  it('decides targets when the alert is raised; a removed channel gets nothing more', () => {
    const log = new DeliveryLog('2024-05-01T10:00:00Z')
      .channel('a')
      .raise('a1')
      .channel('b')
      .channel('a', { rules: ['agent_offline'] });
    assert.deepEqual(
      summary(plannerOf(log).due(log.now)),
      ['a raised #1'],
      'b came later; a’s new routing is for later alerts',
    );
    log.append('ChannelRemoved', { channel_id: 'a', removed_at: log.iso });
    assert.deepEqual(plannerOf(log).due(log.now), []);
    assert.deepEqual(plannerOf(log).size.alerts, 0);
  });

  it('pings a healthchecks channel on start and outcome of its schedule’s jobs only', () => {
    const log = new DeliveryLog('2024-05-01T10:00:00Z').channel('hc', undefined, 'healthchecks', {
      url: SEALED,
      host_id: 'h1',
      schedule_id: 's1',
    });
    log
      .request('j1', 'h1', 'backup', { schedule: 's1' })
      .append('JobStarted', { job_id: 'j1', kind: 'backup', started_at: log.iso });
    log
      .request('j2', 'h1', 'backup', { schedule: 'other' })
      .append('JobStarted', { job_id: 'j2', kind: 'backup', started_at: log.iso });
    log
      .request('j3', 'h1', 'backup')
      .append('JobStarted', { job_id: 'j3', kind: 'backup', started_at: log.iso });
    const [start] = plannerOf(log).due(log.now);
    assert.deepEqual(summary(plannerOf(log).due(log.now)), ['hc start #1']);
    assert.equal(start.stream, 'delivery-j1');
    log.sent(start).after(MINUTE).finish('j1', 'warning');
    const [ok] = plannerOf(log).due(log.now);
    assert.deepEqual(summary([ok]), ['hc success #1']);
    const n = ok.notice(new Date(log.now));
    assert.ok(n.type === 'ping' && n.detail === 'warning' && n.jobId === 'j1');
    log.sent(ok);
    assert.deepEqual(
      plannerOf(log).size.pings,
      1,
      'j1 is settled and forgotten; j2 still runs (j3 has no schedule)',
    );
    log
      .request('j4', 'h1', 'backup', { schedule: 's1' })
      .append('JobStarted', { job_id: 'j4', kind: 'backup', started_at: log.iso });
    log.finish('j4', 'failed', { error: 'Fatal: wrong password' });
    const due = plannerOf(log).due(log.now);
    assert.deepEqual(summary(due), ['hc fail #1'], 'an unsent start is dropped once the outcome is known');
    const fail = due[0].notice(new Date(log.now));
    assert.ok(fail.type === 'ping' && fail.detail === 'failed: Fatal: wrong password');
  });

  it('takeDue hands each owed notification out once, until its outcome is recorded or it is reopened', () => {
    const log = new DeliveryLog('2024-05-01T10:00:00Z')
      .channel('c')
      .raise('a1')
      .raise('a2', { subject: 'host:h1' });
    const p = plannerOf(log);
    const taken = p.takeDue(log.now);
    assert.deepEqual(summary(taken), ['c raised #1', 'c raised #1']);
    assert.deepEqual(p.takeDue(log.now + HOUR), [], 'handed out already');
    assert.equal(p.due(log.now).length, 2, 'still owed until recorded');
    log.failed(taken[0], 30_000).sent(taken[1]);
    for (const e of log.events.slice(-2)) p.apply(e);
    assert.equal(p.nextDueAt(), log.now + 30_000);
    assert.deepEqual(p.takeDue(log.now + 29_999), []);
    const [retry] = p.takeDue(log.now + 30_000);
    assert.equal(retry.attempt, 2);
    p.reopen(retry);
    assert.deepEqual(summary(p.takeDue(log.now + 30_000)), ['c raised #2'], 'a reopened delivery comes back');
  });
});
