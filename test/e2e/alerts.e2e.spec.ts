/**
 * Alerts end to end: a real control plane process, a real agent running real
 * restic on a local repository, a webhook receiver in this process that
 * checks every X-RF-Signature itself, and a real SMTP server for e-mail. Failing and recovering backups, an
 * anomaly from a real backup, an agent killed and back, a schedule whose
 * backups stop, and a control plane SIGKILLed around a delivery.
 */
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HttpReceiver, type ReceivedRequest, selfSignedCertificate, SmtpReceiver } from '@rf/alerts/testing';
import { resticBinariesForTests } from '@rf/restic/testing';
import { configureChannel, setAlertRules } from '../support/alert-channels';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { readStream } from '../support/event-log.reader';
import { eventually, FleetAgent, freePort, writeRandomFiles } from '../support/fleet';
import { RestClient } from '../support/rest-client';

const SECRET = 'e2e-webhook-secret-0123456789';
const PASSWORD = `alerts-e2e-${Date.now()}-pw`;
const JOB_TIMEOUT = 90_000;
/** The smallest threshold the rules take (60 s) plus evaluation and delivery slack. */
const OFFLINE_WAIT = 150_000;

interface Notice {
  readonly event: string;
  readonly alert: {
    readonly id: string;
    readonly rule: string;
    readonly state: string;
    readonly summary: string;
    readonly job_id?: string;
  };
  readonly delivery: string;
}

/** The receiver's own signature check (HMAC-SHA256 of "<timestamp>.<raw body>"), then the parsed notice. */
function verified(r: ReceivedRequest): Notice {
  const ts = String(r.headers['x-rf-timestamp']);
  const sig = String(r.headers['x-rf-signature'] ?? '').replace(/^sha256=/, '');
  const expected = createHmac('sha256', SECRET).update(`${ts}.${r.body}`).digest('hex');
  assert.equal(sig.length, expected.length, 'a sha256 signature');
  assert.ok(timingSafeEqual(Buffer.from(expected), Buffer.from(sig)), 'the signature verifies');
  assert.ok(Math.abs(Date.now() / 1000 - Number(ts)) < 600, 'a fresh timestamp');
  const body = JSON.parse(r.body) as Omit<Notice, 'delivery'>;
  assert.equal(r.headers['x-rf-event'], body.event);
  return { ...body, delivery: String(r.headers['x-rf-delivery']) };
}

describe('alerts end to end (real control plane, real agent, real restic, signed webhooks)', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-alerts-e2e-'));
  const cpDir = path.join(root, 'cp');
  const repo = path.join(root, 'repo');
  const failing = path.join(root, 'data', 'docs');
  const many = path.join(root, 'data', 'many');
  // The SMTP server's self-signed certificate, trusted by the control plane the way an operator would: NODE_EXTRA_CA_CERTS.
  const tls = selfSignedCertificate();
  const caFile = path.join(root, 'smtp-ca.pem');
  fs.writeFileSync(caFile, tls.cert);
  const env = {
    NODE_EXTRA_CA_CERTS: caFile,
    RF_HEARTBEAT_INTERVAL_S: '2',
    RF_ALERTS_EVALUATE_MS: '500',
    RF_NOTIFY_RETRY_BASE_MS: '500',
  };
  let cpPort = 0;
  let cp: ControlPlaneProcess;
  let admin: RestClient;
  let rx: HttpReceiver;
  let smtp: SmtpReceiver;
  let agent: FleetAgent;
  let hostId = '';
  let webhookId = '';

  const startControlPlane = async (): Promise<void> => {
    cp = await ControlPlaneProcess.start({ dataDir: cpDir, port: cpPort, env, startTimeoutMs: 60_000 });
    admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
  };

  const notices = (): Notice[] => rx.requests.filter((r) => r.status === 200).map(verified);

  /** Waits for an accepted webhook of `event` about `rule` (after the first `skip` requests). */
  const notice = (event: string, rule: string, skip = 0, timeoutMs = JOB_TIMEOUT): Promise<Notice> =>
    eventually(
      `a signed ${event} webhook about ${rule}`,
      () =>
        rx.requests
          .slice(skip)
          .filter((r) => r.status === 200)
          .map(verified)
          .find((n) => n.event === event && n.alert.rule === rule),
      timeoutMs,
      200,
    );

  async function runJob(
    body: Record<string, unknown>,
  ): Promise<{ id: string; status: string; error: string | null; stats: Record<string, unknown> | null }> {
    const res = await admin.post<{ job_id: string }>(`/api/hosts/${hostId}/jobs`, body);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return eventually(
      `job ${res.body.job_id} to end`,
      async () => {
        const j = await admin.get<{
          id: string;
          status: string;
          error: string | null;
          stats: Record<string, unknown> | null;
        }>(`/api/jobs/${res.body.job_id}`);
        return ['succeeded', 'warning', 'failed', 'lost', 'cancelled'].includes(j.body.status)
          ? j.body
          : undefined;
      },
      JOB_TIMEOUT,
      250,
    );
  }

  const setPassword = async (password: string): Promise<void> => {
    const put = await admin.put(`/api/hosts/${hostId}/repository`, { url: repo, password });
    assert.equal(put.status, 200, JSON.stringify(put.body));
  };

  const online = async (): Promise<boolean> =>
    (await admin.get<{ online: boolean }>(`/api/hosts/${hostId}`)).body.online === true;

  before(async () => {
    const restic = resticBinariesForTests()[0];
    assert.ok(restic, 'a restic binary');
    rx = await HttpReceiver.start();
    smtp = await SmtpReceiver.start({}, tls);
    fs.mkdirSync(cpDir, { recursive: true });
    cpPort = await freePort();
    await startControlPlane();
    writeRandomFiles(failing, 5, 4096);
    fs.mkdirSync(many, { recursive: true });
    for (let i = 0; i < 1500; i++) fs.writeFileSync(path.join(many, `n${i}.txt`), `note ${i}\n`);
    agent = new FleetAgent({
      dir: path.join(root, 'agent'),
      resticBin: restic.bin,
      config: { reconnect_initial_ms: 200, reconnect_max_ms: 1000, heartbeat_interval_s: 2 },
    });
    hostId = await agent.enrol(admin, cp.url);
    agent.start();
    await eventually('the agent online', online, 30_000);
    await setPassword(PASSWORD);
    const init = await runJob({ kind: 'init' });
    assert.equal(init.status, 'succeeded', init.error ?? '');
    webhookId = await configureChannel(cpDir, {
      kind: 'webhook',
      name: 'ops',
      settings: { url: rx.url('/hook'), secret: SECRET },
    });
    await configureChannel(cpDir, {
      kind: 'email',
      name: 'on-call mail',
      settings: {
        host: '127.0.0.1',
        port: smtp.port,
        security: 'starttls',
        username: 'rf',
        password: 'mail-pass',
        from: 'fleet@example.com',
        to: ['ops@example.com'],
      },
      routing: { rules: ['job_failed'] },
    });
    await setAlertRules(cpDir, {
      rules: { agent_offline: { threshold_s: 60 }, backup_overdue: { threshold_s: 60 } },
    });
  });

  after(async () => {
    await agent?.stop().catch(() => undefined);
    await cp?.stop().catch(() => undefined);
    await rx?.close();
    await smtp?.close();
    if (process.env.RF_KEEP_ALERTS_DIR) console.log(`alerts e2e dir kept: ${root}`);
    else fs.rmSync(root, { recursive: true, force: true });
  });

  it('a backup failing on a wrong repository password raises job_failed; the next good backup resolves it; both arrive signed', async () => {
    await setPassword('not-the-repository-password');
    const bad = await runJob({ kind: 'backup', paths: [failing] });
    assert.equal(bad.status, 'failed');
    const raised = await notice('alert.raised', 'job_failed');
    assert.equal(raised.alert.state, 'open');
    assert.equal(raised.alert.job_id, bad.id);
    assert.match(raised.alert.summary, /backup job failed/);
    await setPassword(PASSWORD);
    const good = await runJob({ kind: 'backup', paths: [failing] });
    assert.equal(good.status, 'succeeded', good.error ?? '');
    const resolved = await notice('alert.resolved', 'job_failed');
    assert.equal(resolved.alert.id, raised.alert.id);
    assert.equal(resolved.alert.state, 'resolved');
    assert.notEqual(resolved.delivery, raised.delivery);
    assert.ok(!cp.logText().includes(SECRET), 'the webhook secret never reaches the control plane log');
  });

  it('the job_failed alert and its resolution also arrive by e-mail through a real SMTP server (STARTTLS, login)', async () => {
    const mails = await eventually(
      'two e-mails',
      () => (smtp.received.length >= 2 ? smtp.received : undefined),
      30_000,
    );
    for (const m of mails) {
      assert.equal(m.secure, true, 'STARTTLS was used');
      assert.equal(m.user, 'rf');
      assert.deepEqual(m.envelopeTo, ['ops@example.com']);
      assert.equal(m.mail.from?.value[0]?.address, 'fleet@example.com');
      assert.ok(m.mail.messageId, 'a Message-ID (derived from the delivery id)');
    }
    const [raised, resolved] = [mails[0]!, mails[1]!];
    assert.match(`${raised.mail.subject ?? ''} ${raised.mail.text ?? ''}`, /backup job failed/);
    assert.match(`${resolved.mail.subject ?? ''} ${resolved.mail.text ?? ''}`, /resolved/i);
    assert.notEqual(raised.mail.messageId, resolved.mail.messageId);
    assert.ok(!cp.logText().includes('mail-pass'), 'the SMTP password never reaches the control plane log');
  });

  it('a real backup after most of the data set changed raises backup_anomaly', async () => {
    for (let i = 0; i < 3; i++) {
      const j = await runJob({ kind: 'backup', paths: [many] });
      assert.equal(j.status, 'succeeded', j.error ?? '');
    }
    assert.equal(
      notices().filter((n) => n.alert.rule === 'backup_anomaly').length,
      0,
      'steady backups are no anomaly',
    );
    for (let i = 0; i < 1400; i++)
      fs.writeFileSync(path.join(many, `n${i}.txt`), `encrypted ${i} ${'x'.repeat(40)}\n`);
    const changed = await runJob({ kind: 'backup', paths: [many] });
    assert.equal(changed.status, 'succeeded', changed.error ?? '');
    assert.ok(Number(changed.stats?.['files_changed']) >= 1400, JSON.stringify(changed.stats));
    const anomaly = await notice('alert.raised', 'backup_anomaly');
    assert.equal(anomaly.alert.job_id, changed.id);
    assert.match(anomaly.alert.summary, /changed or added 1[,.\u202f ]?4\d\d files/);
  });

  it('a receiver answering 500 twice, then 200, gets the notice three times under one delivery id and one NotificationSent', async () => {
    const skip = rx.requests.length;
    rx.answer(500, 500);
    await setPassword('not-the-repository-password');
    const bad = await runJob({ kind: 'backup', paths: [failing] });
    assert.equal(bad.status, 'failed');
    const raised = await notice('alert.raised', 'job_failed', skip);
    const attempts = rx.requests.slice(skip).filter((r) => r.headers['x-rf-delivery'] === raised.delivery);
    assert.deepEqual(
      attempts.map((r) => r.status),
      [500, 500, 200],
    );
    attempts.forEach(verified);
    const records = await eventually(
      'the three attempts recorded',
      async () => {
        const types = (await readStream(cpDir, `delivery-${raised.alert.id}`))
          .filter((e) => (e.data as { channel_id: string }).channel_id === webhookId)
          .map((e) => `${e.type}#${(e.data as { attempt: number }).attempt}`);
        return types.includes('NotificationSent#3') ? types : undefined;
      },
      30_000,
    );
    assert.deepEqual(records, ['NotificationFailed#1', 'NotificationFailed#2', 'NotificationSent#3']);
    await setPassword(PASSWORD);
    const good = await runJob({ kind: 'backup', paths: [failing] });
    assert.equal(good.status, 'succeeded', good.error ?? '');
    await notice('alert.resolved', 'job_failed', skip);
  });

  it('an agent killed for longer than the threshold raises agent_offline, and its schedule backup_overdue; its return resolves both', async () => {
    // A backup every 20 s: with the 60 s grace, overdue 80 s after the last success.
    const put = await admin.put(`/api/hosts/${hostId}/schedules`, {
      schedules: [{ id: 'often', kind: 'backup', cron: '*/20 * * * * *', enabled: true, paths: [failing] }],
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    await eventually(
      'the schedule applied',
      async () => (await admin.get<{ in_sync: boolean }>(`/api/hosts/${hostId}/schedules`)).body.in_sync,
      30_000,
    );
    const skip = rx.requests.length;
    await agent.killGroup();
    const offline = await notice('alert.raised', 'agent_offline', skip, OFFLINE_WAIT);
    assert.equal(offline.alert.state, 'open');
    const overdue = await notice('alert.raised', 'backup_overdue', skip, OFFLINE_WAIT);
    assert.match(overdue.alert.summary, /schedule often/);
    agent.start();
    await eventually('the agent back online', online, 30_000);
    const back = await notice('alert.resolved', 'agent_offline', skip, 30_000);
    assert.equal(back.alert.id, offline.alert.id);
    const ran = await notice('alert.resolved', 'backup_overdue', skip, JOB_TIMEOUT);
    assert.equal(ran.alert.id, overdue.alert.id);
    const off = await admin.put(`/api/hosts/${hostId}/schedules`, { schedules: [] });
    assert.equal(off.status, 200);
  });

  it('a control plane SIGKILLed before a delivery was accepted delivers it after restart; an accepted one is not delivered again', async () => {
    // The receiver takes the request and never answers: the notification is out, not accepted.
    rx.hangUp(true);
    await setPassword('not-the-repository-password');
    const bad = await runJob({ kind: 'backup', paths: [failing] });
    assert.equal(bad.status, 'failed');
    await eventually('the raised notice in flight', () => rx.hanging.length > 0, 30_000);
    await cp.kill();
    rx.hangUp(false);
    for (const res of rx.hanging.splice(0)) res.destroy();
    const before = rx.requests.length;
    await startControlPlane();
    const delivered = await notice('alert.raised', 'job_failed', before, 60_000);
    assert.equal(delivered.alert.job_id, bad.id);
    const sent = await eventually(
      'NotificationSent for it in the log',
      async () =>
        (await readStream(cpDir, `delivery-${delivered.alert.id}`)).find(
          (e) => e.type === 'NotificationSent' && (e.data as { transition: string }).transition === 'raised',
        ),
      30_000,
    );
    assert.equal(
      (sent.data as { attempt: number }).attempt,
      1,
      'the first attempt was never recorded, so this is attempt 1',
    );

    // Accepted and recorded: a SIGKILL now and a restart deliver nothing again.
    await cp.kill();
    const afterAccepted = rx.requests.length;
    await startControlPlane();
    await eventually('the agent back online', online, 30_000);
    await setPassword(PASSWORD);
    const good = await runJob({ kind: 'backup', paths: [failing] });
    assert.equal(good.status, 'succeeded', good.error ?? '');
    const resolved = await notice('alert.resolved', 'job_failed', afterAccepted);
    assert.equal(resolved.alert.id, delivered.alert.id);
    // The resolution went out after the second restart, so the notifier ran: the raised notice was not among it.
    const deliveries = notices().filter((n) => n.delivery === delivered.delivery);
    assert.equal(
      deliveries.length,
      1,
      'exactly one accepted delivery of the raised notice across both crashes',
    );
  });
});
