import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSqliteEventStore, type EventStore } from '@rf/event-store';
import {
  channelStream,
  type EventMetadataInput,
  type FleetEvent,
  fleetEvent,
  fromRecorded,
  hostStream,
  jobStream,
  schedulesStream,
  type Schedule,
  toEventData,
} from '@rf/events';
import { sealChannelSettings } from './channels/channel-config';
import { ChannelSender } from './channels/channel-sender';
import { HttpReceiver } from './channels/testing/http-receiver.testing';
import { Notifier } from './delivery/notifier';
import { testSealer } from './delivery/testing/memory-log.testing';
import { AlertRulesProcess } from './rules/alert-rules.process';
import type { WatchedEvent } from './rules/fleet-watch.state';

/**
 * The rules and the notifier on a real embedded log (SQLite file), across
 * restarts: decisions and delivery records are appended with their derived
 * ids, a repeated append is a no-op, and a process rebuilt from the file
 * decides and delivers nothing twice.
 */

const META: EventMetadataInput = {
  actor: { kind: 'system', id: 'alerts-test' },
  correlation_id: 'alerts-test',
  causation_id: 'alerts-test',
  received_at: new Date().toISOString(),
};
const H = 3_600_000;
const sealer = testSealer();

async function append(store: EventStore, stream: string, event: FleetEvent, id?: string): Promise<void> {
  await store.append(stream, [toEventData(event, META, id)]);
}

/** Everything in the log, as the rules see it. */
async function history(store: EventStore): Promise<WatchedEvent[]> {
  const out: WatchedEvent[] = [];
  for await (const r of store.readAll()) out.push(fromRecorded(r) as WatchedEvent);
  return out;
}

async function rulesFrom(store: EventStore): Promise<AlertRulesProcess> {
  const p = new AlertRulesProcess({ watchingSince: new Date() });
  for (const e of await history(store)) p.apply(e);
  return p;
}

async function count(store: EventStore, type: string): Promise<number> {
  return (await history(store)).filter((e) => e.type === type).length;
}

describe('alerts on a real SQLite event log', () => {
  let dir: string;
  let file: string;
  let rx: HttpReceiver;
  const t0 = Date.now();
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-alerts-'));
    file = path.join(dir, 'events.db');
    rx = await HttpReceiver.start();
    const store = createSqliteEventStore({ path: file });
    const at = (ms: number) => new Date(t0 + ms).toISOString();
    await append(
      store,
      hostStream('h1'),
      fleetEvent('HostEnrolled', {
        host_id: 'h1',
        hostname: 'web-1',
        os: 'linux',
        arch: 'amd64',
        agent_secret_hash: 'x',
        enrolment_token_id: 'et',
        enrolled_at: at(0),
      }),
    );
    await append(
      store,
      hostStream('h1'),
      fleetEvent('AgentConnected', {
        host_id: 'h1',
        protocol_version: 1,
        agent_version: '0.1.0',
        restic_version: '0.17.0',
        hostname: 'web-1',
        os: 'linux',
        arch: 'amd64',
        connected_at: at(0),
      }),
    );
    const schedules = [
      { id: 'nightly', kind: 'backup', cron: '0 2 * * *', enabled: true, paths: ['/srv'] },
    ] as Schedule[];
    await append(
      store,
      schedulesStream('h1'),
      fleetEvent('SchedulesChanged', { host_id: 'h1', version: 1, schedules }),
    );
    await append(
      store,
      schedulesStream('h1'),
      fleetEvent('SchedulesApplied', { host_id: 'h1', version: 1, applied_at: at(0) }),
    );
    await append(
      store,
      channelStream('hook'),
      fleetEvent('ChannelConfigured', {
        channel_id: 'hook',
        kind: 'webhook',
        name: 'ops',
        configured_at: at(0),
        settings: sealChannelSettings(
          'webhook',
          { url: rx.url('/rf'), secret: 'a-secret-of-some-length' },
          sealer,
        ),
      }),
    );
    await append(
      store,
      jobStream('j1'),
      fleetEvent('JobRequested', {
        job_id: 'j1',
        host_id: 'h1',
        kind: 'backup',
        args: { paths: ['/srv'] },
        schedule_id: 'nightly',
        requested_at: at(0),
      }),
    );
    await append(
      store,
      jobStream('j1'),
      fleetEvent('JobFinished', {
        job_id: 'j1',
        status: 'failed',
        exit_code: 12,
        finished_at: at(60_000),
        error: 'wrong password',
        error_code: 'wrong_password',
      }),
    );
    await store.close();
  });
  after(async () => {
    await rx.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('raises once, even when the same decisions are appended twice or after a restart', async () => {
    let store = createSqliteEventStore({ path: file });
    // Two days later nothing has succeeded: the failed job and the overdue schedule.
    const now = new Date(t0 + 48 * H);
    const decisions = (await rulesFrom(store)).evaluate(now);
    assert.deepEqual(
      decisions.map((d) => (d.event.type === 'AlertRaised' ? d.event.data.rule : d.event.type)).sort(),
      ['backup_overdue', 'job_failed'],
    );
    for (const d of decisions)
      await store.append(d.stream, [toEventData(d.event, META, d.eventId)], {
        expectedRevision: 'no_stream',
      });
    // A second node (or this one before it saw its own append) appends the same decisions: no-ops.
    for (const d of decisions)
      await store.append(d.stream, [toEventData(d.event, META, d.eventId)], {
        expectedRevision: 'no_stream',
      });
    assert.equal(await count(store, 'AlertRaised'), 2);
    await store.close();

    store = createSqliteEventStore({ path: file });
    assert.deepEqual(
      (await rulesFrom(store)).evaluate(new Date(t0 + 72 * H)),
      [],
      'a restart decides nothing again',
    );
    await store.close();
  });

  it('delivers each alert once across a restart, and a success resolves and notifies', async () => {
    let store = createSqliteEventStore({ path: file });
    const log = {
      append: async (stream: string, records: ReadonlyArray<{ id: string; event: FleetEvent }>) => {
        await store.append(
          stream,
          records.map((r) => toEventData(r.event, META, r.id)),
        );
      },
    };
    const deliverAll = async (): Promise<void> => {
      const n = new Notifier({ sender: new ChannelSender(), sealer, log });
      for (const e of await history(store)) n.apply(e);
      n.wake();
      await n.idle();
      await n.close();
    };
    await deliverAll();
    assert.equal(rx.requests.length, 2);
    assert.equal(await count(store, 'NotificationSent'), 2);
    await store.close();

    // Restart: the records are in the file; nothing is sent again.
    store = createSqliteEventStore({ path: file });
    await deliverAll();
    assert.equal(rx.requests.length, 2);

    // The next backup of the schedule succeeds: both alerts resolve, and the resolutions go out once.
    await append(
      store,
      jobStream('j2'),
      fleetEvent('JobRequested', {
        job_id: 'j2',
        host_id: 'h1',
        kind: 'backup',
        args: { paths: ['/srv'] },
        schedule_id: 'nightly',
        requested_at: new Date(t0 + 73 * H).toISOString(),
      }),
    );
    await append(
      store,
      jobStream('j2'),
      fleetEvent('JobFinished', {
        job_id: 'j2',
        status: 'succeeded',
        exit_code: 0,
        finished_at: new Date(t0 + 73 * H).toISOString(),
      }),
    );
    const resolutions = (await rulesFrom(store)).evaluate(new Date(t0 + 74 * H));
    assert.deepEqual(
      resolutions.map((d) => d.event.type),
      ['AlertResolved', 'AlertResolved'],
    );
    for (const d of resolutions) await store.append(d.stream, [toEventData(d.event, META, d.eventId)]);
    await deliverAll();
    await deliverAll();
    assert.deepEqual(
      rx.requests.map((r) => JSON.parse(r.body).event),
      ['alert.raised', 'alert.raised', 'alert.resolved', 'alert.resolved'],
    );
    assert.ok(rx.requests.every((r) => JSON.parse(r.body).alert.host.hostname === 'web-1'));
    await store.close();
  });
});
