import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Global, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import Database from 'better-sqlite3';
import type { Timer } from '@rf/alerts';
import { HttpReceiver, type ReceivedRequest } from '@rf/alerts/testing';
import { EVENT_STORE, EventStoreModule, type EventStore } from '@rf/event-store';
import {
  type FleetEvent,
  fleetEvent,
  fromRecorded,
  hostStream,
  jobStream,
  type RecordedEvent,
  type Schedule,
  schedulesStream,
  toEventData,
} from '@rf/events';
import { AGENT_DISPATCH } from '../core/agent-dispatch.port';
import { AppConfig } from '../core/app-config';
import type { CommandContext } from '../core/command-context';
import { ConfigModule } from '../core/config.module';
import { MetricsModule } from '../core/metrics.module';
import { MetricsRegistry } from '../core/metrics.registry';
import { AgentSessions } from '../gateways/agent-sessions';
import { RepositoriesModule } from '../repositories/repositories.module';
import { AlertsModule } from './alerts.module';
import { ALERTS_TIMER, AlertsService } from './alerts.service';

/*
 * AlertsService in a Nest context over real files (events.db, readmodels.db,
 * secret.key), a real HTTP receiver and a manual clock: time rules across
 * restarts, delivery retries, and that neither a restart from the snapshot nor
 * a full replay of the log raises or sends anything twice.
 */

const DAY = 86_400_000;
const SECRET = 'webhook-secret-for-alerts-int-1';

/** A clock the test moves; timers fire when it passes them. */
class ManualClock implements Timer {
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private seq = 0;
  constructor(public current: number) {}
  now(): number {
    return this.current;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.push({ at: this.current + Math.max(0, ms), fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  /** Moves to `to`, firing what falls due in time order. */
  advanceTo(to: number): void {
    for (;;) {
      const due = this.timers.filter((t) => t.at <= to).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.current = Math.max(this.current, due.at);
      due.fn();
    }
    this.current = to;
  }
}

const ADMIN: CommandContext = {
  actor: { kind: 'user', id: 'u-admin', name: 'admin' },
  correlationId: 'c-int',
};

const actorOf = (e: RecordedEvent): string => (e.metadata as { actor: { id: string } }).actor.id;

/** The receiver's own check of the signature (never the code under test's). */
function assertSigned(r: ReceivedRequest): {
  event: string;
  alert: { id: string; rule: string; state: string };
} {
  const ts = String(r.headers['x-rf-timestamp']);
  const sig = String(r.headers['x-rf-signature']).replace(/^sha256=/, '');
  const expected = createHmac('sha256', SECRET).update(`${ts}.${r.body}`).digest('hex');
  assert.ok(timingSafeEqual(Buffer.from(expected), Buffer.from(sig)), 'the signature verifies');
  return JSON.parse(r.body) as { event: string; alert: { id: string; rule: string; state: string } };
}

describe('AlertsService (Nest, real SQLite log and snapshot, real receiver, manual clock)', () => {
  let dir: string;
  let rx: HttpReceiver;
  let app: INestApplicationContext | undefined;
  const t0 = Date.now();
  const clock = new ManualClock(t0);

  /** Boots the alerts with the manual clock bound (the production binding is the system clock). */
  const start = async (): Promise<AlertsService> => {
    const config = AppConfig.fromEnv({ RF_DATA_DIR: dir, RF_ALERTS_EVALUATE_MS: '60000' });
    @Global()
    @Module({
      providers: [
        AgentSessions,
        { provide: AGENT_DISPATCH, useExisting: AgentSessions },
        { provide: ALERTS_TIMER, useValue: clock },
      ],
      exports: [AGENT_DISPATCH, ALERTS_TIMER],
    })
    class Ports {}
    @Module({
      imports: [
        ConfigModule.forRoot(config),
        EventStoreModule.forRoot({ config: config.eventStore }),
        MetricsModule,
        RepositoriesModule,
        Ports,
        AlertsModule,
      ],
    })
    class TestModule {}
    app = await NestFactory.createApplicationContext(TestModule, { logger: false });
    await app.init();
    return app.get(AlertsService);
  };

  const stop = async (): Promise<void> => {
    await app?.close();
    app = undefined;
  };

  const store = (): EventStore => app!.get<EventStore>(EVENT_STORE);

  async function append(stream: string, ...events: FleetEvent[]): Promise<void> {
    const meta = {
      actor: { kind: 'agent' as const, id: 'h1' },
      correlation_id: randomUUID(),
      causation_id: randomUUID(),
      received_at: new Date().toISOString(),
    };
    const { position } = await store().append(
      stream,
      events.map((e) => toEventData(e, meta)),
    );
    // The alerts state follows the log on its own; wait until it has these events.
    const alerts = app!.get(AlertsService);
    for (let i = 0; i < 200; i++) {
      const lag = await alerts.lag();
      if (lag.position !== null && lag.position.commit >= position.commit) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('the alerts state did not apply the appended events');
  }

  async function all(): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    for await (const e of store().readAll()) out.push(e);
    return out;
  }

  const ofType = async (type: string) => (await all()).filter((e) => e.type === type);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-alerts-svc-'));
    rx = await HttpReceiver.start();
  });

  after(async () => {
    await stop();
    await rx.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('raises backup_overdue after a restart when the deadline passed while it was down, once, and resolves it', async () => {
    let alerts = await start();
    const { id: channelId } = await alerts.configureChannel(
      { kind: 'webhook', name: 'ops hook', settings: { url: rx.url('/hook'), secret: SECRET } },
      ADMIN,
    );
    // The channel's secrets are sealed in the log: neither the URL nor the secret appears in it.
    const configured = (await ofType('ChannelConfigured'))[0]!;
    assert.doesNotMatch(JSON.stringify(configured.data), new RegExp(`${SECRET}|/hook`));
    assert.deepEqual(await alerts.sendTest(channelId), { delivered: true });
    await rx.received(1);
    assert.equal(assertSigned(rx.requests[0]!).event, 'test');

    const at = new Date(t0).toISOString();
    await append(
      hostStream('h1'),
      fleetEvent('HostEnrolled', {
        host_id: 'h1',
        hostname: 'web-1',
        os: 'linux',
        arch: 'amd64',
        agent_secret_hash: 'x',
        enrolment_token_id: 'et',
        enrolled_at: at,
      }),
      fleetEvent('AgentConnected', {
        host_id: 'h1',
        protocol_version: 1,
        agent_version: '0.1.0',
        restic_version: '0.17.0',
        hostname: 'web-1',
        os: 'linux',
        arch: 'amd64',
        connected_at: at,
      }),
    );
    const schedules = [{ id: 'nightly', kind: 'backup', cron: '0 2 * * *', enabled: true, paths: ['/srv'] }];
    await append(
      schedulesStream('h1'),
      fleetEvent('SchedulesChanged', { host_id: 'h1', version: 1, schedules: schedules as Schedule[] }),
      fleetEvent('SchedulesApplied', { host_id: 'h1', version: 1, applied_at: at }),
    );
    clock.advanceTo(t0 + 60_000);
    await alerts.evaluate();
    assert.equal((await ofType('AlertRaised')).length, 0, 'a schedule set up now is not overdue');
    await stop();

    // Down for three days: the daily backup's deadline (interval + grace) passed meanwhile.
    clock.advanceTo(t0 + 3 * DAY);
    alerts = await start();
    const raised = await ofType('AlertRaised');
    assert.equal(raised.length, 1, 'raised at start, from the catch-up evaluation');
    const alert = fromRecorded(raised[0]!);
    assert.ok(alert.type === 'AlertRaised');
    assert.equal(alert.data.rule, 'backup_overdue');
    assert.equal(alert.data.subject, 'host:h1/schedule:nightly');
    assert.equal(actorOf(raised[0]!), 'alerts', 'the rules append as the alerts system actor (audit trail)');
    await alerts.deliveriesIdle();
    await rx.received(2);
    const notice = assertSigned(rx.requests[1]!);
    assert.deepEqual(
      [notice.event, notice.alert.rule, notice.alert.id],
      ['alert.raised', 'backup_overdue', alert.data.alert_id],
    );
    assert.equal((await ofType('NotificationSent')).length, 1);

    // A second round and the timer decide nothing new.
    await alerts.evaluate();
    clock.advanceTo(t0 + 3 * DAY + 120_000);
    await alerts.evaluate();
    assert.equal((await ofType('AlertRaised')).length, 1);
    const metrics = await app!.get(MetricsRegistry).registry.getSingleMetricAsString('rf_alerts_open');
    assert.match(metrics, /rf_alerts_open\{rule="backup_overdue",severity="error"[^}]*\} 1/);
    await stop();

    // From the snapshot: nothing replayed, nothing raised or sent again.
    const requestsBefore = rx.requests.length;
    alerts = await start();
    const total = (await all()).length;
    const applied = (await alerts.lag()).eventsApplied;
    assert.ok(applied <= 2, `the state came from its snapshot (${applied} of ${total} events applied)`);
    await alerts.evaluate();
    await alerts.deliveriesIdle();
    await stop();

    // Without the snapshot: the whole log replayed, and still nothing raised or sent again.
    const db = new Database(path.join(dir, 'readmodels.db'));
    assert.equal(db.prepare("DELETE FROM state_snapshots WHERE name = 'alerts'").run().changes, 1);
    db.close();
    alerts = await start();
    assert.ok((await alerts.lag()).eventsApplied > 5, 'the state was replayed from the log');
    await alerts.evaluate();
    await alerts.deliveriesIdle();
    assert.equal(rx.requests.length, requestsBefore, 'no notification was sent again');
    assert.equal((await ofType('AlertRaised')).length, 1);
    assert.equal((await ofType('NotificationSent')).length, 1);

    // A backup of the schedule succeeds: resolved, and the resolution delivered.
    const finishedAt = new Date(clock.now()).toISOString();
    await append(
      jobStream('j-ok'),
      fleetEvent('JobRequested', {
        job_id: 'j-ok',
        host_id: 'h1',
        kind: 'backup',
        args: { paths: ['/srv'] },
        schedule_id: 'nightly',
        requested_at: finishedAt,
      }),
      fleetEvent('JobFinished', {
        job_id: 'j-ok',
        status: 'succeeded',
        exit_code: 0,
        finished_at: finishedAt,
      }),
    );
    clock.advanceTo(clock.now() + 1000);
    await alerts.evaluate();
    const resolved = await ofType('AlertResolved');
    assert.equal(resolved.length, 1);
    await alerts.deliveriesIdle();
    await rx.received(requestsBefore + 1);
    const resolution = assertSigned(rx.requests[requestsBefore]!);
    assert.deepEqual([resolution.event, resolution.alert.state], ['alert.resolved', 'resolved']);
  });

  it('retries a receiver that answers 500 twice, on the backoff, and records exactly one accepted delivery', async () => {
    const alerts = app ? app.get(AlertsService) : await start();
    const first = rx.requests.length;
    rx.answer(500, 500);
    const at = new Date(clock.now()).toISOString();
    await append(
      jobStream('j-bad'),
      fleetEvent('JobRequested', {
        job_id: 'j-bad',
        host_id: 'h1',
        kind: 'check',
        args: {},
        requested_at: at,
      }),
      fleetEvent('JobFinished', {
        job_id: 'j-bad',
        status: 'failed',
        exit_code: 1,
        error: 'Fatal: wrong password or no key found',
        finished_at: at,
      }),
    );
    clock.advanceTo(clock.now() + 1000);
    await alerts.evaluate();
    const raised = (await ofType('AlertRaised'))
      .map(fromRecorded)
      .filter((e) => e.type === 'AlertRaised' && e.data.rule === 'job_failed');
    assert.equal(raised.length, 1);
    await alerts.deliveriesIdle();
    await rx.received(first + 1);
    // The first retry is 30 s after the failure, the second 60 s after that.
    clock.advanceTo(clock.now() + 29_000);
    await alerts.deliveriesIdle();
    assert.equal(rx.requests.length, first + 1, 'no retry before its time');
    clock.advanceTo(clock.now() + 2_000);
    await rx.received(first + 2);
    await alerts.deliveriesIdle();
    clock.advanceTo(clock.now() + 61_000);
    await rx.received(first + 3);
    await alerts.deliveriesIdle();
    clock.advanceTo(clock.now() + DAY / 2);
    await alerts.deliveriesIdle();
    const got = rx.requests.slice(first);
    assert.deepEqual(
      got.map((r) => r.status),
      [500, 500, 200],
      'three attempts, the last accepted, none after',
    );
    assert.equal(
      new Set(got.map((r) => r.headers['x-rf-delivery'])).size,
      1,
      'one delivery id for every attempt',
    );
    const alertId = raised[0]!.type === 'AlertRaised' ? raised[0]!.data.alert_id : '';
    const records = (await all()).filter((e) => e.streamId === `delivery-${alertId}`).map((e) => e.type);
    assert.deepEqual(records, ['NotificationFailed', 'NotificationFailed', 'NotificationSent']);
  });

  it('acknowledges once, refuses unknown and resolved alerts, and validates rules and channels with field errors', async () => {
    const alerts = app ? app.get(AlertsService) : await start();
    const open = alerts.openAlerts().find((a) => a.rule === 'job_failed');
    assert.ok(open);
    await alerts.acknowledge(open.alertId, ADMIN, 'looking at it');
    await alerts.acknowledge(open.alertId, ADMIN);
    const acks = await ofType('AlertAcknowledged');
    assert.equal(acks.length, 1, 'a second acknowledgement is a no-op');
    assert.equal(actorOf(acks[0]!), 'u-admin', 'the acknowledging user is in the audit metadata');
    await assert.rejects(alerts.acknowledge(randomUUID(), ADMIN), { code: 'not_found' });
    const resolvedId = fromRecorded((await ofType('AlertResolved'))[0]!);
    assert.ok(resolvedId.type === 'AlertResolved');
    await assert.rejects(alerts.acknowledge(resolvedId.data.alert_id, ADMIN), { code: 'conflict' });

    await assert.rejects(
      alerts.setRules({ rules: { agent_offline: { threshold_s: 5 } } }, ADMIN),
      (err: unknown) => {
        const e = err as { code: string; details: { field?: string } };
        assert.equal(e.code, 'invalid_input');
        assert.match(String(e.details.field), /rules\.agent_offline\.threshold_s/);
        return true;
      },
    );
    const config = await alerts.setRules({ rules: { job_failed: { severity: 'warning' } } }, ADMIN);
    assert.equal(config.rules.job_failed?.severity, 'warning');

    await assert.rejects(
      alerts.configureChannel(
        { kind: 'webhook', name: 'bad', settings: { url: 'ftp://x', secret: 'short' } },
        ADMIN,
      ),
      { code: 'invalid_input' },
    );
    const refused = await alerts.configureChannel(
      { kind: 'webhook', name: 'nobody home', settings: { url: 'http://127.0.0.1:9/x', secret: SECRET } },
      ADMIN,
    );
    const answer = await alerts.sendTest(refused.id);
    assert.equal(answer.delivered, false);
    assert.ok(!answer.delivered);
    assert.match(answer.error, /127\.0\.0\.1:9/);
    await alerts.removeChannel(refused.id, ADMIN);
    await assert.rejects(alerts.sendTest(refused.id), { code: 'not_found' });
  });
});
