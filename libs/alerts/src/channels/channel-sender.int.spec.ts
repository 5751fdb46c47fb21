import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { OpenedChannel } from './channel-config';
import { ChannelSender } from './channel-sender';
import type { AlertNotice, JobPing } from './notice';
import {
  deliveryFailure,
  HttpReceiver,
  refusedPort,
  selfSignedCertificate,
} from './testing/http-receiver.testing';

/** Every HTTP channel against a real receiver on 127.0.0.1, which checks what arrives. */

const SECRET = 'a-signing-secret-for-the-test';
const notice: AlertNotice = {
  type: 'alert',
  event: 'alert.raised',
  deliveryId: '0b5d8a0e-7c1f-5e2a-9d3b-4f6a8c0e2b4d',
  sentAt: new Date(),
  alert: {
    id: 'a1',
    rule: 'agent_offline',
    severity: 'warning',
    state: 'open',
    summary: 'web-1 has been offline since 2024-05-01 11:00 UTC (more than 15 min)',
    host: { id: 'h1', hostname: 'web-1' },
    raised_at: '2024-05-01T11:15:01.000Z',
  },
};

/** The receiver's own check of a webhook signature; it shares no code with the sender. */
function verifySignature(secret: string, headers: Record<string, unknown>, body: string): boolean {
  const ts = String(headers['x-rf-timestamp']);
  const given = String(headers['x-rf-signature']);
  if (!given.startsWith('sha256=')) return false;
  const want = createHmac('sha256', secret).update(ts).update('.').update(body).digest();
  const got = Buffer.from(given.slice('sha256='.length), 'hex');
  return got.length === want.length && timingSafeEqual(got, want);
}

describe('ChannelSender against real HTTP receivers', () => {
  let rx: HttpReceiver;
  const sender = new ChannelSender({ http: { timeoutMs: 5_000 } });
  before(async () => {
    rx = await HttpReceiver.start();
  });
  after(() => rx.close());

  it('webhook: a signed JSON POST the receiver can verify and de-duplicate', async () => {
    await sender.send(
      { kind: 'webhook', settings: { url: rx.url('/hooks/rf?team=ops'), secret: SECRET } },
      notice,
    );
    const r = rx.requests.at(-1)!;
    assert.equal(r.method, 'POST');
    assert.equal(r.path, '/hooks/rf?team=ops');
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['x-rf-event'], 'alert.raised');
    assert.equal(r.headers['x-rf-delivery'], notice.deliveryId);
    const ts = Number(r.headers['x-rf-timestamp']);
    assert.ok(Math.abs(ts - Date.now() / 1000) < 60, 'a current Unix timestamp');
    assert.ok(verifySignature(SECRET, r.headers, r.body), 'signature checks out with the shared secret');
    assert.ok(!verifySignature('another-secret-entirely', r.headers, r.body));
    assert.ok(!verifySignature(SECRET, r.headers, r.body.replace('web-1', 'web-2')), 'a changed body fails');
    const body = JSON.parse(r.body);
    assert.deepEqual(Object.keys(body), ['event', 'alert', 'sent_at']);
    assert.deepEqual(body.alert, {
      id: 'a1',
      rule: 'agent_offline',
      severity: 'warning',
      state: 'open',
      summary: notice.alert.summary,
      host: { id: 'h1', hostname: 'web-1' },
      raised_at: '2024-05-01T11:15:01.000Z',
    });
  });

  it('slack, discord and teams: their incoming-webhook formats', async () => {
    await sender.send({ kind: 'slack', settings: { url: rx.url('/services/T0/B0/XYZ') } }, notice);
    const slack = JSON.parse(rx.requests.at(-1)!.body);
    assert.equal(slack.text, `Raised: agent_offline on web-1 (warning): ${notice.alert.summary}`);
    assert.equal(slack.blocks[0].type, 'header');
    assert.equal(slack.blocks[1].text.type, 'mrkdwn');

    await sender.send({ kind: 'discord', settings: { url: rx.url('/api/webhooks/1/tok') } }, notice);
    const discord = JSON.parse(rx.requests.at(-1)!.body);
    assert.equal(rx.requests.at(-1)!.path, '/api/webhooks/1/tok');
    assert.equal(discord.embeds.length, 1);
    assert.equal(discord.embeds[0].description, notice.alert.summary);

    await sender.send(
      { kind: 'teams', settings: { url: rx.url('/workflows/abc/triggers/manual/paths/invoke?sig=x') } },
      notice,
    );
    const teams = JSON.parse(rx.requests.at(-1)!.body);
    assert.equal(teams.attachments[0].content.type, 'AdaptiveCard');
    assert.equal(rx.requests.at(-1)!.headers['content-type'], 'application/json');
  });

  it('ntfy and gotify: topic, priority and the token where each server expects it', async () => {
    await sender.send(
      { kind: 'ntfy', settings: { server: rx.url('/ntfy'), topic: 'fleet-alerts', token: 'tk_123' } },
      notice,
    );
    const ntfy = rx.requests.at(-1)!;
    assert.equal(ntfy.path, '/ntfy/');
    assert.equal(ntfy.headers.authorization, 'Bearer tk_123');
    assert.deepEqual((({ topic, priority, tags }) => ({ topic, priority, tags }))(JSON.parse(ntfy.body)), {
      topic: 'fleet-alerts',
      priority: 4,
      tags: ['warning'],
    });
    await sender.send({ kind: 'gotify', settings: { server: rx.url(), token: 'AbCdEf' } }, notice);
    const gotify = rx.requests.at(-1)!;
    assert.equal(gotify.path, '/message');
    assert.equal(gotify.headers['x-gotify-key'], 'AbCdEf');
    assert.equal(JSON.parse(gotify.body).priority, 5);
  });

  it('healthchecks: /start, success and /fail pings on the check URL', async () => {
    const channel: OpenedChannel = {
      kind: 'healthchecks',
      settings: { url: rx.url('/ping/uuid-1'), host_id: 'h1', schedule_id: 's1' },
    };
    for (const transition of ['start', 'success', 'fail'] as const) {
      const ping: JobPing = {
        type: 'ping',
        transition,
        deliveryId: 'd',
        jobId: 'j1',
        detail: transition,
        sentAt: new Date(),
      };
      await sender.send(channel, ping);
    }
    assert.deepEqual(
      rx.requests.slice(-3).map((r) => `${r.method} ${r.path} ${r.body}`),
      [
        'POST /ping/uuid-1/start restic-fleet job j1: start',
        'POST /ping/uuid-1 restic-fleet job j1: success',
        'POST /ping/uuid-1/fail restic-fleet job j1: fail',
      ],
    );
    await assert.rejects(sender.send(channel, notice), /only takes job pings/);
  });

  it('says clearly when nothing listens, without the URL’s token', async () => {
    const port = await refusedPort();
    const err = await deliveryFailure(
      sender.send(
        { kind: 'slack', settings: { url: `http://127.0.0.1:${port}/services/SECRET-TOKEN` } },
        notice,
      ),
    );
    assert.equal(err.code, 'refused');
    assert.equal(err.message, `connection refused by 127.0.0.1:${port} — is the receiver running?`);
    assert.equal(err.retryable, true);
    assert.ok(!err.message.includes('SECRET-TOKEN'));
  });

  it('gives up on a receiver that does not answer within the timeout', async () => {
    const dead = (await HttpReceiver.start()).hangUp();
    try {
      const quick = new ChannelSender({ http: { timeoutMs: 300 } });
      const err = await deliveryFailure(
        quick.send({ kind: 'discord', settings: { url: dead.url('/x') } }, notice),
      );
      assert.equal(err.code, 'timeout');
      assert.equal(err.message, `no answer from 127.0.0.1:${dead.port} within 0.3 s`);
      assert.equal(dead.hanging.length, 1, 'the request did reach the receiver');
    } finally {
      await dead.close();
    }
  });

  it('quotes an error answer, retries 5xx and 429 but not other 4xx, and never follows a redirect', async () => {
    rx.answer(500, 429, 404, 302);
    const url = { kind: 'gotify' as const, settings: { server: rx.url(), token: 't' } };
    const e500 = await deliveryFailure(sender.send(url, notice));
    assert.equal(
      e500.message,
      `127.0.0.1:${rx.port} answered HTTP 500 Internal Server Error: receiver says 500`,
    );
    assert.equal(e500.retryable, true);
    assert.equal((await deliveryFailure(sender.send(url, notice))).retryable, true);
    const e404 = await deliveryFailure(sender.send(url, notice));
    assert.equal(e404.retryable, false);
    const before = rx.requests.length;
    const e302 = await deliveryFailure(sender.send(url, notice));
    assert.equal(e302.code, 'redirect');
    assert.match(e302.message, /notifications go only to the configured URL/);
    assert.equal(rx.requests.length, before + 1, 'the redirect target was not contacted');
  });

  it('refuses a receiver whose TLS certificate is not trusted', async () => {
    const { key, cert } = selfSignedCertificate();
    const server = https.createServer({ key, cert }, (_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const err = await deliveryFailure(
        sender.send(
          { kind: 'webhook', settings: { url: `https://127.0.0.1:${port}/h`, secret: SECRET } },
          notice,
        ),
      );
      assert.equal(err.code, 'tls');
      assert.match(
        err.message,
        new RegExp(`the TLS connection to 127.0.0.1:${port} failed \\(DEPTH_ZERO_SELF_SIGNED_CERT\\)`),
      );
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
