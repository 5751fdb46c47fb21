import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALERT_RULES, alertRuleSettingsIssues, hostOverridesIssues } from './alert-events';
import { clone, HOST, SAMPLE_EVENTS, SAMPLE_METADATA } from './catalog-samples.testing';
import { CHANNEL_FIELDS, CHANNEL_KINDS, channelSettingsIssues, type ChannelKind } from './channel-settings';
import { toEventData } from './event-codec';
import type { FleetEvent } from './events';
import { alertStream, ALERT_RULES_STREAM, channelStream, deliveryStream, parseStreamName } from './streams';
import { isCatalogError } from './validation';

const event = (type: string, data: unknown): FleetEvent => ({ type, data }) as FleetEvent;

function rejects(type: string, data: unknown, field: string, text?: RegExp): void {
  assert.throws(
    () => toEventData(event(type, data), SAMPLE_METADATA),
    (e: unknown) => {
      assert.ok(isCatalogError(e, 'invalid_event'), String(e));
      assert.equal(e.field, field, e.message);
      if (text) assert.match(e.message, text);
      return true;
    },
  );
}

const SEALED = clone(SAMPLE_EVENTS.RepositoryConfigured.password);

/** Valid plain settings for every kind, as an operator would enter them. */
const PLAIN: { [K in ChannelKind]: Record<string, unknown> } = {
  webhook: { url: 'https://hooks.example.com/rf', secret: 'a-long-signing-secret' },
  slack: { url: 'https://hooks.slack.com/services/T000/B000/XXXX' },
  discord: { url: 'https://discord.com/api/webhooks/1/abc' },
  teams: { url: 'https://prod-00.westeurope.logic.azure.com/workflows/abc' },
  ntfy: { server: 'https://ntfy.example.com', topic: 'rf-alerts', token: 'tk_abc' },
  gotify: { server: 'http://127.0.0.1:8008', token: 'Aabc' },
  email: {
    host: 'smtp.example.com',
    port: 465,
    security: 'tls',
    username: 'rf',
    password: 'pw',
    from: 'fleet@example.com',
    to: ['ops@example.com'],
  },
  healthchecks: {
    url: 'https://hc-ping.com/0f8fad5b-d9cb-469f-a165-70867728950e',
    host_id: HOST,
    schedule_id: 's1',
  },
};

/** The same settings with every secret sealed. */
function sealed(kind: ChannelKind): Record<string, unknown> {
  const out = { ...PLAIN[kind] };
  for (const f of CHANNEL_FIELDS[kind]) if (f.secret && out[f.name] !== undefined) out[f.name] = SEALED;
  return out;
}

describe('alert and channel events', () => {
  it('live in their own stream categories, apart from the alert streams', () => {
    assert.deepEqual(parseStreamName(alertStream('a1')), { category: 'alert', id: 'a1' });
    assert.deepEqual(parseStreamName(ALERT_RULES_STREAM), { category: 'alertrules', id: 'fleet' });
    assert.equal(ALERT_RULES_STREAM.startsWith('alert-'), false);
    assert.deepEqual(parseStreamName(channelStream('c1')), { category: 'channel', id: 'c1' });
    assert.deepEqual(parseStreamName(deliveryStream('a1')), { category: 'delivery', id: 'a1' });
  });

  it('refuses an unknown rule, severity or an oversized details object in AlertRaised', () => {
    rejects(
      'AlertRaised',
      { ...SAMPLE_EVENTS.AlertRaised, rule: 'disk_full' },
      'data.rule',
      /backup_overdue/,
    );
    rejects('AlertRaised', { ...SAMPLE_EVENTS.AlertRaised, severity: 'critical' }, 'data.severity');
    rejects(
      'AlertRaised',
      { ...SAMPLE_EVENTS.AlertRaised, details: { x: 'y'.repeat(20_000) } },
      'data.details',
    );
    rejects('AlertRaised', { ...SAMPLE_EVENTS.AlertRaised, subject: '' }, 'data.subject');
  });

  it('checks rule settings key by key with messages that say what is allowed', () => {
    const d = (rules: unknown, host_overrides?: unknown) => ({
      ...SAMPLE_EVENTS.AlertRulesChanged,
      rules,
      host_overrides,
    });
    rejects('AlertRulesChanged', d({ disk_full: {} }), 'data.rules.disk_full', /not a known rule/);
    rejects(
      'AlertRulesChanged',
      d({ job_failed: { threshold_s: 600 } }),
      'data.rules.job_failed.threshold_s',
      /only backup_overdue, agent_offline, schedules_not_applied take a threshold/,
    );
    rejects(
      'AlertRulesChanged',
      d({ agent_offline: { threshold_s: 5 } }),
      'data.rules.agent_offline.threshold_s',
    );
    rejects(
      'AlertRulesChanged',
      d({ agent_offline: { enabled: 'yes' } }),
      'data.rules.agent_offline.enabled',
    );
    rejects('AlertRulesChanged', d({ agent_offline: { mute: true } }), 'data.rules.agent_offline.mute');
    rejects('AlertRulesChanged', d({}, { 'bad host': {} }), 'data.host_overrides.bad host');
    rejects(
      'AlertRulesChanged',
      d({}, { [HOST]: { agent_offline: { severity: 'fatal' } } }),
      `data.host_overrides.${HOST}.agent_offline.severity`,
    );
    assert.deepEqual(alertRuleSettingsIssues({}, 'rules'), []);
    assert.deepEqual(hostOverridesIssues({ [HOST]: { job_failed: { enabled: false } } }, 'o'), []);
  });

  it('accepts every channel kind with sealed secrets and refuses a plain secret in the log', () => {
    for (const kind of CHANNEL_KINDS) {
      const data = { ...SAMPLE_EVENTS.ChannelConfigured, kind, settings: sealed(kind) };
      assert.equal(
        toEventData(event('ChannelConfigured', data), SAMPLE_METADATA).type,
        'ChannelConfigured',
        kind,
      );
      const secretField = CHANNEL_FIELDS[kind].find((f) => f.secret);
      if (secretField === undefined) continue;
      const leaked = { ...data, settings: { ...sealed(kind), [secretField.name]: 'plain text' } };
      rejects('ChannelConfigured', leaked, `data.settings.${secretField.name}`, /must be an object/);
    }
  });

  it('validates plain settings field by field, naming the field and what it must be', () => {
    for (const kind of CHANNEL_KINDS)
      assert.deepEqual(channelSettingsIssues(kind, PLAIN[kind], 'settings', 'plain'), [], kind);
    const issues = (kind: ChannelKind, patch: Record<string, unknown>) =>
      channelSettingsIssues(kind, { ...PLAIN[kind], ...patch }, 'settings', 'plain');
    assert.deepEqual(issues('slack', { url: 'ftp://x' }), [
      { field: 'settings.url', message: 'settings.url must start with https:// or http://' },
    ]);
    assert.match(issues('webhook', { url: 'https://u:p@h/' })[0].message, /must not contain a user name/);
    assert.match(issues('webhook', { secret: 'short' })[0].message, /16 to 1024 characters/);
    assert.match(issues('ntfy', { topic: 'no spaces' })[0].message, /settings.topic must be 1-64/);
    assert.match(issues('email', { port: 70_000 })[0].message, /settings.port must be a port number/);
    assert.match(issues('email', { security: 'ssl' })[0].message, /must be one of: starttls, tls/);
    assert.match(issues('email', { to: ['ops@example.com', 'nope'] })[0].message, /"nope" is not one/);
    assert.match(issues('email', { to: [] })[0].message, /list of 1 to 50/);
    assert.match(issues('email', { host: 'smtp example' })[0].message, /host name or IP address/);
    assert.match(issues('gotify', { token: 'a\r\nX-Evil: 1' })[0].message, /without line breaks/);
    assert.match(
      issues('healthchecks', { verbose: true })[0].message,
      /not a setting of a healthchecks channel/,
    );
    const missing = channelSettingsIssues('email', { host: 'smtp.example.com' }, 'settings', 'plain');
    assert.deepEqual(
      missing.map((i) => i.field),
      ['settings.security', 'settings.from', 'settings.to'],
    );
  });

  it('lets an edit leave a stored secret out, and only that secret', () => {
    const withoutUrl = { secret: 'a-long-signing-secret' };
    assert.equal(channelSettingsIssues('webhook', withoutUrl, 's', 'plain').length, 1);
    assert.deepEqual(channelSettingsIssues('webhook', withoutUrl, 's', 'plain', new Set(['url'])), []);
    assert.equal(channelSettingsIssues('webhook', {}, 's', 'plain', new Set(['url'])).length, 1);
  });

  it('checks routing and reminders', () => {
    const d = (routing: unknown) => ({ ...SAMPLE_EVENTS.ChannelConfigured, routing });
    rejects(
      'ChannelConfigured',
      d({ rules: [] }),
      'data.routing.rules',
      new RegExp(`1 to ${ALERT_RULES.length} items`),
    );
    rejects('ChannelConfigured', d({ rules: ['nope'] }), 'data.routing.rules');
    rejects('ChannelConfigured', d({ min_severity: 'fatal' }), 'data.routing.min_severity');
    rejects(
      'ChannelConfigured',
      d({ reminder_hours: -1 }),
      'data.routing.reminder_hours',
      /0 \(no reminders\)/,
    );
    assert.equal(toEventData(event('ChannelConfigured', d({})), SAMPLE_METADATA).type, 'ChannelConfigured');
  });

  it('ties a delivery record to an alert, or to a job for pings, and numbers reminders', () => {
    const sent = SAMPLE_EVENTS.NotificationSent;
    rejects('NotificationSent', { ...sent, reminder: undefined }, 'data.reminder', /required for a reminder/);
    rejects('NotificationSent', { ...sent, transition: 'raised' }, 'data.reminder', /only for reminders/);
    rejects('NotificationSent', { ...sent, transition: 'start', reminder: undefined }, 'data.job_id');
    rejects(
      'NotificationFailed',
      { ...SAMPLE_EVENTS.NotificationFailed, alert_id: undefined },
      'data.alert_id',
    );
    const ping = { ...sent, transition: 'success', reminder: undefined, alert_id: undefined, job_id: 'j1' };
    assert.equal(toEventData(event('NotificationSent', ping), SAMPLE_METADATA).type, 'NotificationSent');
    const gaveUp = { ...SAMPLE_EVENTS.NotificationFailed, retry_at: undefined };
    assert.equal(
      toEventData(event('NotificationFailed', gaveUp), SAMPLE_METADATA).type,
      'NotificationFailed',
    );
  });
});
