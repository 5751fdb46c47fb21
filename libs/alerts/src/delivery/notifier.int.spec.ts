import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { alertStream, channelStream, type ChannelRouting, type FleetEventDataMap } from '@rf/events';
import { sealChannelSettings } from '../channels/channel-config';
import { ChannelSender } from '../channels/channel-sender';
import { HttpReceiver } from '../channels/testing/http-receiver.testing';
import { type DeliveryOutcome, Notifier } from './notifier';
import { MemoryLog, testSealer } from './testing/memory-log.testing';

/** The notifier end to end in one process: a log, real receivers on 127.0.0.1, real timers. */

const sealer = testSealer();
const SECRET = 'notifier-test-signing-secret';
const FAST_RETRY = { baseMs: 40, capMs: 200, giveUpAfterMs: 60_000 };

function webhookChannel(log: MemoryLog, id: string, url: string, routing?: ChannelRouting): void {
  log.add(channelStream(id), 'ChannelConfigured', {
    channel_id: id,
    kind: 'webhook',
    name: id,
    settings: sealChannelSettings('webhook', { url, secret: SECRET }, sealer),
    ...(routing ? { routing } : {}),
    configured_at: new Date().toISOString(),
  });
}

function raise(log: MemoryLog, alertId: string, o: Partial<FleetEventDataMap['AlertRaised']> = {}): void {
  log.add(alertStream(alertId), 'AlertRaised', {
    alert_id: alertId,
    rule: 'job_failed',
    severity: 'error',
    subject: `host:h1/kind:${alertId}`,
    host_id: 'h1',
    hostname: 'web-1',
    summary: `backup job failed on web-1 (${alertId})`,
    details: {},
    raised_at: new Date().toISOString(),
    ...o,
  });
}

/** Polls (bounded) until `check` holds. */
async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('Notifier with real receivers', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const o of open.splice(0)) await o.close();
  });

  function start(log: MemoryLog, o: { timeoutMs?: number; outcomes?: DeliveryOutcome[] } = {}): Notifier {
    const n = new Notifier({
      sender: new ChannelSender({ http: { timeoutMs: o.timeoutMs ?? 5_000 } }),
      sealer,
      log,
      retry: FAST_RETRY,
      onOutcome: (x) => o.outcomes?.push(x),
    });
    open.push(n);
    log.follow(
      (e) => n.apply(e),
      () => n.wake(),
    );
    return n;
  }

  async function receiver(): Promise<HttpReceiver> {
    const rx = await HttpReceiver.start();
    open.push(rx);
    return rx;
  }

  it('a receiver that answers 500 twice then 200 gets exactly one accepted delivery', async () => {
    const rx = (await receiver()).answer(500, 500);
    const log = new MemoryLog();
    webhookChannel(log, 'hook', rx.url('/rf'));
    raise(log, 'a1');
    const outcomes: DeliveryOutcome[] = [];
    const notifier = start(log, { outcomes });
    await until(() => log.of('NotificationSent').length === 1, 'the delivery to be recorded');
    await notifier.idle();
    assert.deepEqual(
      rx.requests.map((r) => r.status),
      [500, 500, 200],
    );
    assert.equal(
      new Set(rx.requests.map((r) => r.headers['x-rf-delivery'])).size,
      1,
      'every attempt carries the same delivery id',
    );
    const failed = log.of('NotificationFailed');
    assert.deepEqual(
      failed.map((f) => [f.attempt, f.retry_at !== undefined]),
      [
        [1, true],
        [2, true],
      ],
    );
    assert.match(failed[0].error, /answered HTTP 500 Internal Server Error: receiver says 500/);
    const [sent] = log.of('NotificationSent');
    assert.equal(sent.attempt, 3);
    assert.equal(sent.transition, 'raised');
    assert.equal(sent.delivery_id, rx.requests[2].headers['x-rf-delivery']);
    assert.deepEqual(
      outcomes.map((o) => o.result),
      ['failed', 'failed', 'sent'],
    );
    // Nothing more is owed: waking again sends nothing.
    notifier.wake();
    await notifier.idle();
    assert.equal(rx.requests.length, 3);
  });

  it('after a restart, replaying the log re-sends nothing accepted and delivers what was still owed', async () => {
    const rx = await receiver();
    const log = new MemoryLog();
    webhookChannel(log, 'hook', rx.url('/rf'));
    raise(log, 'a1');
    const first = start(log);
    await until(() => log.of('NotificationSent').length === 1, 'the first delivery');
    await first.close();
    // The control plane dies right after raising a2, before delivering it.
    raise(log, 'a2');
    const restarted = start(log);
    await until(() => log.of('NotificationSent').length === 2, 'the owed delivery after restart');
    await restarted.idle();
    assert.deepEqual(
      rx.requests.map((r) => JSON.parse(r.body).alert.id),
      ['a1', 'a2'],
      'a1 is not sent again, a2 is sent once',
    );
    assert.deepEqual(restarted.planner.due(Date.now() + 3_600_000), []);
  });

  it('a dead receiver delays nobody else', async () => {
    const dead = (await receiver()).hangUp();
    const alive = await receiver();
    const log = new MemoryLog();
    webhookChannel(log, 'dead', dead.url('/x'));
    webhookChannel(log, 'alive', alive.url('/y'));
    for (const id of ['a1', 'a2', 'a3']) raise(log, id);
    start(log, { timeoutMs: 20_000 });
    await alive.received(3);
    await until(() => log.of('NotificationSent').length === 3, 'the live channel’s records');
    assert.equal(dead.hanging.length, 2, 'the dead channel holds its own two lanes, no more');
    assert.deepEqual(log.of('NotificationFailed'), [], 'its attempts are still waiting for an answer');
  });

  it('gives up at once on an answer that retrying cannot change, and records why', async () => {
    const rx = (await receiver()).answer(404);
    const log = new MemoryLog();
    webhookChannel(log, 'hook', rx.url('/gone'));
    raise(log, 'a1');
    const notifier = start(log);
    await until(() => log.of('NotificationFailed').length === 1, 'the failure record');
    await notifier.idle();
    const [failed] = log.of('NotificationFailed');
    assert.equal(failed.retry_at, undefined);
    assert.match(failed.error, /answered HTTP 404/);
    notifier.wake();
    await notifier.idle();
    assert.equal(rx.requests.length, 1);
  });

  it('sends the resolution notice once the alert resolves, under its own delivery id', async () => {
    const rx = await receiver();
    const log = new MemoryLog();
    webhookChannel(log, 'hook', rx.url('/rf'), { min_severity: 'warning' });
    raise(log, 'a1');
    raise(log, 'quiet', { severity: 'info' });
    start(log);
    await rx.received(1);
    await log.append(alertStream('a1'), [
      {
        id: 'resolved-a1',
        event: {
          type: 'AlertResolved',
          data: {
            alert_id: 'a1',
            reason: 'a later backup job succeeded',
            resolved_at: new Date().toISOString(),
          },
        },
      },
    ]);
    await rx.received(2);
    const [raised, resolved] = rx.requests.map((r) => ({
      body: JSON.parse(r.body),
      id: r.headers['x-rf-delivery'],
    }));
    assert.equal(raised.body.event, 'alert.raised');
    assert.equal(resolved.body.event, 'alert.resolved');
    assert.equal(resolved.body.alert.state, 'resolved');
    assert.notEqual(resolved.id, raised.id);
    await until(() => log.of('NotificationSent').length === 2, 'both records');
    assert.equal(rx.requests.length, 2, 'the info alert is below the channel’s minimum severity');
  });

  it('"Send test" reaches the receiver without recording anything', async () => {
    const rx = await receiver();
    const log = new MemoryLog();
    webhookChannel(log, 'hook', rx.url('/rf'));
    const notifier = start(log);
    await notifier.sendTest('hook');
    assert.equal(JSON.parse(rx.requests[0].body).event, 'test');
    assert.equal(rx.requests[0].headers['x-rf-event'], 'test');
    assert.deepEqual(log.of('NotificationSent'), []);
    await assert.rejects(notifier.sendTest('nope'), /channel nope does not exist/);
  });
});
