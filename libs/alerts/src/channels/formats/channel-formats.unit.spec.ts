import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import type { AlertNotice, JobPing } from '../notice';
import { discordRequest, slackRequest, teamsRequest } from './chat.format';
import { healthchecksRequest } from './healthchecks.format';
import { gotifyRequest, ntfyRequest } from './push.format';
import { webhookRequest } from './webhook.format';

const SENT = new Date('2024-05-01T12:00:00Z');
const raised: AlertNotice = {
  type: 'alert',
  event: 'alert.raised',
  deliveryId: '11111111-2222-5333-8444-555555555555',
  sentAt: SENT,
  alert: {
    id: 'a1',
    rule: 'job_failed',
    severity: 'error',
    state: 'open',
    summary: 'backup job failed on web-1: <b>wrong password</b> & more',
    host: { id: 'h1', hostname: 'web-1' },
    job_id: 'j1',
    raised_at: '2024-05-01T11:59:00.000Z',
  },
};
const resolved: AlertNotice = {
  ...raised,
  event: 'alert.resolved',
  alert: {
    ...raised.alert,
    state: 'resolved',
    resolved_at: '2024-05-01T12:30:00.000Z',
    resolution: 'a later backup job succeeded',
  },
};

describe('channel formats', () => {
  it('webhook: the documented body, headers and a signature over "<timestamp>.<body>"', () => {
    const req = webhookRequest({ url: 'https://hooks.example/rf', secret: 'sixteen-chars-at-least' }, raised);
    assert.equal(req.url, 'https://hooks.example/rf');
    assert.deepEqual(JSON.parse(req.body), {
      event: 'alert.raised',
      alert: {
        id: 'a1',
        rule: 'job_failed',
        severity: 'error',
        state: 'open',
        summary: raised.alert.summary,
        host: { id: 'h1', hostname: 'web-1' },
        job_id: 'j1',
        raised_at: '2024-05-01T11:59:00.000Z',
      },
      sent_at: '2024-05-01T12:00:00.000Z',
    });
    assert.equal(req.headers['x-rf-event'], 'alert.raised');
    assert.equal(req.headers['x-rf-delivery'], raised.deliveryId);
    assert.equal(req.headers['x-rf-timestamp'], '1714564800');
    const expected = createHmac('sha256', 'sixteen-chars-at-least')
      .update(`1714564800.${req.body}`)
      .digest('hex');
    assert.equal(req.headers['x-rf-signature'], `sha256=${expected}`);
    assert.equal(
      JSON.parse(webhookRequest({ url: 'https://h/', secret: 'x'.repeat(16) }, resolved).body).alert
        .resolved_at,
      '2024-05-01T12:30:00.000Z',
    );
  });

  it('slack: escaped mrkdwn with a text fallback', () => {
    const body = JSON.parse(slackRequest({ url: 'https://hooks.slack.com/services/x' }, raised).body);
    assert.equal(
      body.text,
      'Raised: job_failed on web-1 (error): backup job failed on web-1: <b>wrong password</b> & more',
    );
    assert.equal(
      body.blocks[1].text.text,
      'backup job failed on web-1: &lt;b&gt;wrong password&lt;/b&gt; &amp; more',
    );
  });

  it('discord: one embed, coloured by severity, no mentions', () => {
    const body = JSON.parse(discordRequest({ url: 'https://discord.com/api/webhooks/1/x' }, raised).body);
    assert.deepEqual(body.allowed_mentions, { parse: [] });
    assert.equal(body.embeds[0].title, 'Raised: job_failed on web-1 (error)');
    assert.equal(body.embeds[0].color, 0xe01e5a);
    assert.equal(JSON.parse(discordRequest({ url: 'https://d/' }, resolved).body).embeds[0].color, 0x2eb67d);
  });

  it('teams: an Adaptive Card message', () => {
    const body = JSON.parse(teamsRequest({ url: 'https://x.logic.azure.com/workflows/1' }, resolved).body);
    assert.equal(body.type, 'message');
    const card = body.attachments[0];
    assert.equal(card.contentType, 'application/vnd.microsoft.card.adaptive');
    assert.equal(card.content.type, 'AdaptiveCard');
    assert.equal(card.content.body[0].text, 'Resolved: job_failed on web-1 (error)');
    assert.ok(
      card.content.body.some((b: { text: string }) => b.text === 'Resolved: a later backup job succeeded'),
    );
  });

  it('ntfy and gotify: title, message and priority, the token in a header', () => {
    const ntfy = ntfyRequest({ server: 'https://ntfy.example/base', topic: 'rf', token: 'tk' }, raised);
    assert.equal(ntfy.url, 'https://ntfy.example/base/');
    assert.equal(ntfy.headers.authorization, 'Bearer tk');
    assert.deepEqual(
      { ...JSON.parse(ntfy.body), message: undefined },
      {
        topic: 'rf',
        title: 'Raised: job_failed on web-1 (error)',
        message: undefined,
        priority: 5,
        tags: ['rotating_light'],
      },
    );
    const gotify = gotifyRequest({ server: 'https://push.example/gotify/', token: 'AppTok' }, resolved);
    assert.equal(gotify.url, 'https://push.example/gotify/message');
    assert.equal(gotify.headers['x-gotify-key'], 'AppTok');
    assert.equal(JSON.parse(gotify.body).priority, 2);
  });

  it('healthchecks: /start, success and /fail on the configured URL, query kept', () => {
    const ping = (transition: JobPing['transition']): JobPing => ({
      type: 'ping',
      transition,
      deliveryId: 'd',
      jobId: 'j1',
      detail: 'failed: x',
      sentAt: SENT,
    });
    const s = { url: 'https://hc-ping.com/abc?rid=1', host_id: 'h1', schedule_id: 's1' };
    assert.equal(healthchecksRequest(s, ping('start')).url, 'https://hc-ping.com/abc/start?rid=1');
    assert.equal(healthchecksRequest(s, ping('success')).url, 'https://hc-ping.com/abc?rid=1');
    assert.equal(healthchecksRequest(s, ping('fail')).url, 'https://hc-ping.com/abc/fail?rid=1');
    assert.equal(healthchecksRequest(s, ping('log')).url, 'https://hc-ping.com/abc/log?rid=1');
    assert.equal(healthchecksRequest(s, ping('fail')).body, 'restic-fleet job j1: failed: x');
  });
});
