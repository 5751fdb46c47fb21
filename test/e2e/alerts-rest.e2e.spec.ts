import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HttpReceiver, refusedPort } from '@rf/alerts/testing';
import { seedAlertLog, type SeededAlert } from '../support/alert-seed';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { RestClient } from '../support/rest-client';

/*
 * The alert routes (docs/alerts.md, "Contract") against the real control plane
 * process: alerts raised into its log before it started, operators
 * acknowledging them, admins editing rules and channels, and "Send test" to a
 * real HTTP receiver whose signature the test checks itself. Roles are
 * enforced and no secret ever comes back in an answer or reaches the logs.
 */

const SIGNING_SECRET = `signing-${randomUUID()}`;
const URL_TOKEN = `tok${randomUUID().replace(/-/g, '')}`;
const HOST = { id: randomUUID(), hostname: 'db-7' };
const OTHER = { id: randomUUID(), hostname: 'web-3' };
const hour = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();
const ALERTS: SeededAlert[] = [
  {
    id: randomUUID(),
    rule: 'agent_offline',
    severity: 'warning',
    host: HOST,
    summary: 'db-7 has been offline for 3 hours',
    raisedAt: hour(3),
  },
  {
    id: randomUUID(),
    rule: 'log_lines_dropped',
    severity: 'warning',
    host: OTHER,
    summary: 'the agent on web-3 dropped 120 log lines',
    raisedAt: hour(2),
  },
  {
    id: randomUUID(),
    rule: 'backup_anomaly',
    severity: 'error',
    host: OTHER,
    summary: 'a backup of web-3 changed 48,210 files (median of the last 10: 35)',
    raisedAt: hour(1),
  },
];

interface AlertBody {
  id: string;
  rule: string;
  severity: string;
  state: string;
  summary: string;
  host: { id: string; hostname: string | null } | null;
  acknowledged_by: string | null;
  acknowledged_by_name: string | null;
  ack_note: string | null;
  acknowledged_at: string | null;
}
interface ErrorBody {
  error: { code: string; message: string; field?: string; fields?: Record<string, string[]> };
}
interface ChannelBody {
  id: string;
  kind: string;
  name: string;
  settings: Record<string, unknown>;
  routing: Record<string, unknown> | null;
  last_deliveries: unknown[];
}

describe('alerts REST API (e2e: real control plane, real HTTP receiver)', () => {
  let cp: ControlPlaneProcess;
  let admin: RestClient;
  let operator: RestClient;
  let viewer: RestClient;
  let receiver: HttpReceiver;
  const answers: string[] = [];

  const remember = <T>(r: { status: number; body: T }) => {
    answers.push(JSON.stringify(r.body));
    return r;
  };

  before(async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-alerts-rest-'));
    await seedAlertLog(dataDir, [HOST, OTHER], ALERTS);
    cp = await ControlPlaneProcess.start({ dataDir });
    receiver = await HttpReceiver.start();
    admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
    for (const role of ['operator', 'viewer']) {
      const created = await admin.post('/api/users', {
        username: `${role}-1`,
        role,
        password: `${role}-password-123`,
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
    }
    operator = await RestClient.login(cp.url, 'operator-1', 'operator-password-123');
    viewer = await RestClient.login(cp.url, 'viewer-1', 'viewer-password-123');
  });

  after(async () => {
    await receiver?.close();
    await cp?.stop();
    cp?.removeDataDir();
  });

  it('a viewer lists open alerts, errors first, and filters by state, host and rule', async () => {
    const open = remember(await viewer.get<{ alerts: AlertBody[] }>('/api/alerts'));
    assert.equal(open.status, 200);
    assert.deepEqual(
      open.body.alerts.map((a) => a.rule),
      ['backup_anomaly', 'log_lines_dropped', 'agent_offline'],
    );
    assert.deepEqual(open.body.alerts[2]?.host, HOST);
    const onHost = await viewer.get<{ alerts: AlertBody[] }>(`/api/alerts?state=all&host=${OTHER.id}`);
    assert.deepEqual(onHost.body.alerts.map((a) => a.rule).sort(), ['backup_anomaly', 'log_lines_dropped']);
    const byRule = await viewer.get<{ alerts: AlertBody[] }>('/api/alerts?state=all&rule=agent_offline');
    assert.deepEqual(
      byRule.body.alerts.map((a) => a.id),
      [ALERTS[0]!.id],
    );
    const resolved = await viewer.get<{ alerts: AlertBody[] }>('/api/alerts?state=resolved');
    assert.deepEqual(resolved.body.alerts, []);
    const bad = await viewer.get<ErrorBody>('/api/alerts?state=closed&rule=nope');
    assert.equal(bad.status, 400);
    assert.ok(bad.body.error.fields?.['state'], JSON.stringify(bad.body));
    assert.ok(bad.body.error.fields?.['rule'], JSON.stringify(bad.body));
    assert.equal((await new RestClient(cp.url).get('/api/alerts')).status, 401);
  });

  it('a viewer cannot acknowledge; an operator can, with a note that the alert and the audit trail keep', async () => {
    const id = ALERTS[0]!.id;
    const refused = await viewer.post<ErrorBody>(`/api/alerts/${id}/ack`, { note: 'mine' });
    assert.equal(refused.status, 403);
    const acked = remember(
      await operator.post<AlertBody>(`/api/alerts/${id}/ack`, { note: 'the rack is being moved' }),
    );
    assert.equal(acked.status, 200, JSON.stringify(acked.body));
    assert.equal(acked.body.state, 'acknowledged');
    assert.equal(acked.body.ack_note, 'the rack is being moved');
    assert.equal(acked.body.acknowledged_by_name, 'operator-1');
    assert.match(acked.body.acknowledged_at ?? '', /^\d{4}-\d{2}-\d{2}T/);
    // A second acknowledgement changes nothing: the first one's note stays.
    const again = await admin.post<AlertBody>(`/api/alerts/${id}/ack`, { note: 'me too' });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.ack_note, 'the rack is being moved');
    assert.equal(again.body.acknowledged_by_name, 'operator-1');
    const missing = await operator.post<ErrorBody>(`/api/alerts/${randomUUID()}/ack`, {});
    assert.equal(missing.status, 404);
    const tooLong = await operator.post<ErrorBody>(`/api/alerts/${ALERTS[1]!.id}/ack`, {
      note: 'x'.repeat(3000),
    });
    assert.equal(tooLong.status, 400);
    assert.ok(tooLong.body.error.fields?.['note']);
    // Still open (acknowledged alerts are not resolved).
    const open = await viewer.get<{ alerts: AlertBody[] }>('/api/alerts?state=open');
    assert.equal(open.body.alerts.length, 3);
    const audit = await admin.get<{ lines: Array<{ action: string; actor: string; stream: string }> }>(
      `/api/audit?stream=alert-${id}`,
    );
    assert.ok(
      audit.body.lines.some((l) => l.action === 'AlertAcknowledged' && l.actor === 'operator-1'),
      JSON.stringify(audit.body),
    );
  });

  it('acknowledging an acknowledge-only alert resolves it (the rules process in serve), and it moves to the history', async () => {
    const anomaly = ALERTS[2]!.id;
    const acked = await operator.post<AlertBody>(`/api/alerts/${anomaly}/ack`, {
      note: 'a planned re-encode',
    });
    assert.equal(acked.status, 200, JSON.stringify(acked.body));
    let resolved: (AlertBody & { resolution: string | null }) | undefined;
    const deadline = Date.now() + 20_000;
    while (resolved === undefined && Date.now() < deadline) {
      const r = await viewer.get<{ alerts: Array<AlertBody & { resolution: string | null }> }>(
        '/api/alerts?state=resolved',
      );
      resolved = r.body.alerts.find((a) => a.id === anomaly);
      if (resolved === undefined) await new Promise((res) => setTimeout(res, 200));
    }
    assert.ok(resolved, 'the acknowledged anomaly was resolved');
    assert.equal(resolved.state, 'resolved');
    assert.equal(resolved.ack_note, 'a planned re-encode');
    assert.match(resolved.resolution ?? '', /acknowledged/);
    const open = await viewer.get<{ alerts: AlertBody[] }>('/api/alerts');
    assert.deepEqual(
      open.body.alerts.map((a) => a.rule),
      ['log_lines_dropped', 'agent_offline'],
    );
  });

  it('only an admin reads and replaces the rule settings; a wrong field is named', async () => {
    assert.equal((await operator.get('/api/alert-rules')).status, 403);
    assert.equal((await operator.put('/api/alert-rules', { rules: {} })).status, 403);
    const empty = await admin.get<{ rules: object; host_overrides: object }>('/api/alert-rules');
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.body, { rules: {}, host_overrides: {} });
    const wrong = await admin.put<ErrorBody>('/api/alert-rules', {
      rules: { job_failed: { threshold_s: 600 } },
    });
    assert.equal(wrong.status, 400);
    assert.ok(wrong.body.error.fields?.['rules.job_failed.threshold_s'], JSON.stringify(wrong.body));
    const badHost = await admin.put<ErrorBody>('/api/alert-rules', {
      rules: {},
      host_overrides: { [HOST.id]: { agent_offline: { threshold_s: 5 } } },
    });
    assert.equal(badHost.status, 400);
    assert.ok(
      badHost.body.error.fields?.[`host_overrides.${HOST.id}.agent_offline.threshold_s`],
      JSON.stringify(badHost.body),
    );
    const config = {
      rules: { agent_offline: { threshold_s: 1800, severity: 'error' }, backup_anomaly: { enabled: false } },
      host_overrides: { [HOST.id]: { agent_offline: { enabled: false } } },
    };
    const put = await admin.put('/api/alert-rules', config);
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.deepEqual((await admin.get('/api/alert-rules')).body, config);
  });

  it('channels: admin only, field-level errors per kind, secrets never answered, a test send the receiver can verify', async () => {
    assert.equal((await operator.get('/api/notification-channels')).status, 403);
    assert.equal(
      (await operator.post('/api/notification-channels', { kind: 'webhook', name: 'x', settings: {} }))
        .status,
      403,
    );
    const invalid = remember(
      await admin.post<ErrorBody>('/api/notification-channels', {
        kind: 'webhook',
        name: 'ops',
        settings: { url: 'ftp://example.com/hook', secret: 'short' },
        routing: { min_severity: 'loud' },
      }),
    );
    assert.equal(invalid.status, 400);
    assert.ok(invalid.body.error.fields?.['routing.min_severity'], JSON.stringify(invalid.body));
    const badSettings = await admin.post<ErrorBody>('/api/notification-channels', {
      kind: 'webhook',
      name: 'ops',
      settings: { url: 'ftp://example.com/hook', secret: 'short' },
    });
    assert.equal(badSettings.status, 400);
    assert.ok(badSettings.body.error.fields?.['settings.url'], JSON.stringify(badSettings.body));

    const url = receiver.url(`/hooks/${URL_TOKEN}`);
    const created = remember(
      await admin.post<{ id: string }>('/api/notification-channels', {
        kind: 'webhook',
        name: 'ops webhook',
        settings: { url, secret: SIGNING_SECRET },
        routing: { min_severity: 'warning', hosts: [HOST.id] },
      }),
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id;
    const one = remember(await admin.get<ChannelBody>(`/api/notification-channels/${id}`));
    assert.equal(one.status, 200);
    assert.deepEqual(one.body.settings, { url: { set: true }, secret: { set: true } });
    assert.deepEqual(one.body.routing, { min_severity: 'warning', hosts: [HOST.id] });
    remember(await admin.get('/api/notification-channels'));

    const test = remember(await admin.post<{ delivered: boolean }>(`/api/notification-channels/${id}/test`));
    assert.equal(test.status, 200, JSON.stringify(test.body));
    assert.deepEqual(test.body, { delivered: true });
    await receiver.received(1);
    const req = receiver.requests[0]!;
    assert.equal(req.path, `/hooks/${URL_TOKEN}`);
    assert.equal(req.headers['x-rf-event'], 'test');
    const ts = String(req.headers['x-rf-timestamp']);
    const expected = createHmac('sha256', SIGNING_SECRET).update(`${ts}.${req.body}`).digest('hex');
    assert.equal(req.headers['x-rf-signature'], `sha256=${expected}`);
    assert.equal((JSON.parse(req.body) as { event: string }).event, 'test');

    // An edit that leaves the secrets out keeps them: the next test is signed with the same secret.
    const renamed = remember(
      await admin.put<ChannelBody>(`/api/notification-channels/${id}`, {
        kind: 'webhook',
        name: 'ops webhook (renamed)',
        settings: {},
      }),
    );
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.equal(renamed.body.name, 'ops webhook (renamed)');
    assert.equal(renamed.body.routing, null);
    assert.equal((await admin.post(`/api/notification-channels/${id}/test`)).status, 200);
    await receiver.received(2);
    const second = receiver.requests[1]!;
    const ts2 = String(second.headers['x-rf-timestamp']);
    assert.equal(
      second.headers['x-rf-signature'],
      `sha256=${createHmac('sha256', SIGNING_SECRET).update(`${ts2}.${second.body}`).digest('hex')}`,
    );

    for (const a of answers) {
      assert.ok(!a.includes(SIGNING_SECRET), 'the signing secret came back in an answer');
      assert.ok(!a.includes(URL_TOKEN), 'the webhook URL came back in an answer');
    }
  });

  it('a test to a receiver that refuses or answers 500 is a 502 naming it by host and port only', async () => {
    const port = await refusedPort();
    const created = await admin.post<{ id: string }>('/api/notification-channels', {
      kind: 'slack',
      name: 'dead slack',
      settings: { url: `http://127.0.0.1:${port}/services/${URL_TOKEN}` },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const refused = remember(
      await admin.post<ErrorBody>(`/api/notification-channels/${created.body.id}/test`),
    );
    assert.equal(refused.status, 502);
    assert.equal(refused.body.error.code, 'delivery_failed');
    assert.match(refused.body.error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));

    receiver.answer(500);
    const moved = await admin.put(`/api/notification-channels/${created.body.id}`, {
      kind: 'slack',
      name: 'flaky slack',
      settings: { url: receiver.url(`/services/${URL_TOKEN}`) },
    });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    const failed = remember(
      await admin.post<ErrorBody>(`/api/notification-channels/${created.body.id}/test`),
    );
    assert.equal(failed.status, 502);
    assert.match(failed.body.error.message, /500/);
    for (const a of answers) assert.ok(!a.includes(URL_TOKEN));
  });

  it('a removed channel is gone; the channel events are in the audit trail; no secret reached the logs', async () => {
    const created = await admin.post<{ id: string }>('/api/notification-channels', {
      kind: 'ntfy',
      name: 'phones',
      settings: { topic: 'backups', token: `tk_${URL_TOKEN}` },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const listed = await admin.get<{ channels: ChannelBody[] }>('/api/notification-channels');
    const ntfy = listed.body.channels.find((c) => c.id === created.body.id);
    assert.deepEqual(ntfy?.settings, { topic: 'backups', token: { set: true } });
    assert.equal((await operator.delete(`/api/notification-channels/${created.body.id}`)).status, 403);
    assert.equal((await admin.delete(`/api/notification-channels/${created.body.id}`)).status, 204);
    assert.equal((await admin.get(`/api/notification-channels/${created.body.id}`)).status, 404);
    assert.equal((await admin.delete(`/api/notification-channels/${created.body.id}`)).status, 404);
    const audit = await admin.get<{ lines: Array<{ action: string; actor: string }> }>(
      `/api/audit?stream=channel-${created.body.id}`,
    );
    assert.deepEqual(audit.body.lines.map((l) => `${l.action} by ${l.actor}`).sort(), [
      'ChannelConfigured by admin',
      'ChannelRemoved by admin',
    ]);
    const logs = cp.logText();
    assert.ok(
      !logs.includes(SIGNING_SECRET) && !logs.includes(URL_TOKEN),
      'a channel secret reached the logs',
    );
  });

  it('publishes the routes in the OpenAPI document', async () => {
    const doc = await new RestClient(cp.url).get<{ paths: Record<string, unknown> }>(
      '/api/docs/openapi.json',
    );
    for (const p of [
      '/api/alerts',
      '/api/alerts/{id}/ack',
      '/api/alert-rules',
      '/api/notification-channels',
      '/api/notification-channels/{id}',
      '/api/notification-channels/{id}/test',
    ])
      assert.ok(p in doc.body.paths, `${p} missing`);
  });
});
