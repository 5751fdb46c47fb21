/**
 * The alert pages in a real browser (Debian chromium + playwright-core)
 * against the real control plane process: alerts raised into its log before
 * it started, the top bar's count, the dashboard and host page, acknowledging
 * with a note, Settings → Notifications (field-level errors, Send test to a
 * real HTTP receiver, deliveries with their errors after a restart) and the
 * rule settings; roles hide and refuse what they may not do. Screenshots go to
 * test-artifacts/ (and RF_SHOTS_DIR when set) for a human to look at.
 */
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { HttpReceiver, refusedPort } from '@rf/alerts/testing';
import { deliveryStream, fleetEvent } from '@rf/events';
import { appendToStoppedLog, seedAlertLog, type SeededAlert } from '../support/alert-seed';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess, repoRoot } from '../support/control-plane.process';
import { freePort } from '../support/fleet';
import { RestClient } from '../support/rest-client';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
const SIGNING_SECRET = `signing-${randomUUID()}`;
const DB = { id: randomUUID(), hostname: 'db-7' };
const WEB = { id: randomUUID(), hostname: 'web-3' };
const ago = (min: number) => new Date(Date.now() - min * 60_000).toISOString();
const ALERTS: SeededAlert[] = [
  {
    id: randomUUID(),
    rule: 'agent_offline',
    severity: 'warning',
    host: DB,
    summary: 'db-7 has been offline for more than 15 minutes (disconnected: connection reset)',
    raisedAt: ago(95),
  },
  {
    id: randomUUID(),
    rule: 'log_lines_dropped',
    severity: 'warning',
    host: WEB,
    summary: 'the agent on web-3 dropped 120 log lines of job 4f2a… (its outbox was full)',
    raisedAt: ago(25),
  },
  {
    id: randomUUID(),
    rule: 'backup_anomaly',
    severity: 'error',
    host: WEB,
    summary:
      'a backup of web-3 changed 48,210 files and added 61 GiB (median of the last 10: 35 files, 120 MiB): mass encryption or a vanished mount?',
    raisedAt: ago(7),
  },
];

describe('alert pages (browser, real control plane, real HTTP receiver)', { timeout: 300_000 }, () => {
  let cp: ControlPlaneProcess;
  let port: number;
  let dataDir: string;
  let browser: Browser;
  let page: Page;
  let receiver: HttpReceiver;
  let artifacts: string;
  let channelId = '';
  const shotDirs: string[] = [];

  const shot = async (name: string, p: Page = page): Promise<void> => {
    // The top bar is sticky: a page scrolled by the last action would show it mid-page.
    await p.evaluate(() => window.scrollTo(0, 0));
    for (const dir of shotDirs) await p.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
  };
  const login = async (p: Page, user: string, password: string): Promise<void> => {
    await p.goto(`${cp.url}/login`);
    await p.fill('#username', user);
    await p.fill('#password', password);
    await p.click('button[type=submit]');
    await p.waitForURL(`${cp.url}/`);
  };

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-alerts-ui-'));
    await seedAlertLog(dataDir, [DB, WEB], ALERTS);
    port = await freePort();
    cp = await ControlPlaneProcess.start({ dataDir, port });
    receiver = await HttpReceiver.start();
    artifacts = path.join(repoRoot(), 'test-artifacts');
    shotDirs.push(artifacts);
    if (process.env.RF_SHOTS_DIR) shotDirs.push(process.env.RF_SHOTS_DIR);
    for (const d of shotDirs) fs.mkdirSync(d, { recursive: true });
    const admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
    for (const role of ['operator', 'viewer'])
      assert.equal(
        (await admin.post('/api/users', { username: `${role}-1`, role, password: `${role}-password-123` }))
          .status,
        201,
      );
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      colorScheme: 'light',
    });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    await login(page, ADMIN_USER, ADMIN_PASSWORD);
  });

  after(async () => {
    await browser?.close();
    await receiver?.close();
    await cp?.stop();
    cp?.removeDataDir();
  });

  it('the top bar counts open alerts and the dashboard lists them, errors first', async () => {
    await page.goto(`${cp.url}/`);
    assert.equal((await page.textContent('[data-testid=open-alerts-count]'))?.replace(/\D/g, ''), '3');
    assert.equal(await page.textContent('[data-testid=dashboard-open-alerts]'), '3');
    const items = page.locator('[data-testid=dashboard-alerts] .alert-item');
    assert.equal(await items.count(), 3);
    assert.match((await items.nth(0).textContent()) ?? '', /Backup anomaly on web-3/);
    assert.match((await items.nth(2).textContent()) ?? '', /Agent offline on db-7/);
    await shot('dashboard-open-alert');
  });

  it('the host page shows only that host’s open alerts', async () => {
    await page.goto(`${cp.url}/hosts/${DB.id}`);
    const items = page.locator('[data-testid=host-alerts] .alert-item');
    assert.equal(await items.count(), 1);
    assert.match((await items.first().textContent()) ?? '', /offline for more than 15 minutes/);
  });

  it('an operator acknowledges with a note; the alert stays open, marked, and the filter narrows by host and rule', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const op = await ctx.newPage();
    await login(op, 'operator-1', 'operator-password-123');
    await op.goto(`${cp.url}/alerts`);
    assert.equal(await op.locator('[data-testid=open-alert]').count(), 3);
    const item = op.locator(`[data-alert-id="${ALERTS[0]!.id}"]`);
    await item.locator('input[name=note]').fill('rack move until noon, db-7 is down on purpose');
    await item.locator('button:has-text("Acknowledge")').click();
    await op.waitForSelector(`[data-alert-id="${ALERTS[0]!.id}"] [data-testid=alert-ack]`);
    const ack = (await op.textContent(`[data-alert-id="${ALERTS[0]!.id}"] [data-testid=alert-ack]`)) ?? '';
    assert.match(ack, /acknowledged by operator-1/);
    assert.match(ack, /rack move until noon/);
    assert.equal(await op.locator(`[data-alert-id="${ALERTS[0]!.id}"] form.ack-form`).count(), 0);
    assert.equal(await op.locator('[data-testid=open-alert]').count(), 3);

    await op.selectOption('#alert-host', WEB.id);
    await op.click('form.filters button[type=submit]');
    await op.waitForURL(/host=/);
    assert.equal(await op.locator('[data-testid=open-alert]').count(), 2);
    await op.selectOption('#alert-rule', 'log_lines_dropped');
    await op.click('form.filters button[type=submit]');
    await op.waitForURL(/rule=log_lines_dropped/);
    assert.equal(await op.locator('[data-testid=open-alert]').count(), 1);
    // Operators do not edit channels: no link, and the page is refused.
    const refused = await op.goto(`${cp.url}/settings/notifications`);
    assert.equal(refused?.status(), 403);
    await ctx.close();
  });

  it('a viewer sees alerts but no Acknowledge button, and cannot post one', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const viewer = await ctx.newPage();
    await login(viewer, 'viewer-1', 'viewer-password-123');
    await viewer.goto(`${cp.url}/alerts`);
    assert.equal(await viewer.locator('[data-testid=open-alert]').count(), 3);
    assert.equal(await viewer.locator('form.ack-form').count(), 0);
    const csrf = (await ctx.cookies()).find((c) => c.name === 'rf_csrf')?.value ?? '';
    const res = await viewer.request.post(`${cp.url}/alerts/${ALERTS[1]!.id}/ack`, {
      form: { note: 'not mine to ack', _csrf: csrf },
      headers: { 'x-csrf-token': csrf },
    });
    assert.equal(res.status(), 403);
    await ctx.close();
  });

  it('the Alerts page as admin: open first, acknowledged one marked', async () => {
    await page.goto(`${cp.url}/alerts`);
    assert.equal(await page.locator('[data-testid=open-alert]').count(), 3);
    await shot('alerts-page');
  });

  it('Settings → Notifications: field-level errors, then a webhook whose Send test the receiver verifies', async () => {
    await page.goto(`${cp.url}/settings`);
    await page.click('[data-testid=settings-notifications]');
    await page.waitForURL(`${cp.url}/settings/notifications`);
    await page.waitForSelector('text=No channels yet');
    await page.fill('#ch-name', 'ops webhook');
    await page.fill('#ch-s-url', 'ftp://example.com/hook');
    await page.fill('#ch-s-secret', 'short');
    await page.click('[data-testid=channel-form] button[type=submit]');
    await page.waitForSelector('#ch-s-url-err');
    assert.match((await page.textContent('#ch-s-url-err')) ?? '', /https:\/\/ or http:\/\//);
    assert.match((await page.textContent('#ch-s-secret-err')) ?? '', /16/);
    assert.equal(await page.inputValue('#ch-name'), 'ops webhook', 'the form keeps what was typed');
    assert.equal(await page.inputValue('#ch-s-secret'), '', 'but never a secret');
    await shot('notifications-errors');

    await page.fill('#ch-s-url', receiver.url('/hooks/ops'));
    await page.fill('#ch-s-secret', SIGNING_SECRET);
    await page.selectOption('#ch-min-sev', 'warning');
    await page.check(`input[name="routing[rules]"][value=job_failed]`);
    await page.check(`input[name="routing[rules]"][value=backup_overdue]`);
    await page.click('[data-testid=channel-form] button[type=submit]');
    await page.waitForSelector('[data-testid=channel-saved]');
    const channel = page.locator('[data-testid=channel]');
    assert.equal(await channel.count(), 1);
    channelId = (await channel.getAttribute('data-channel-id')) ?? '';
    const text = (await channel.textContent()) ?? '';
    assert.match(text, /warning and above/);
    assert.match(text, /rules: Backup overdue, Job failed/);
    assert.ok(!(await page.content()).includes(SIGNING_SECRET));
    assert.ok(!(await page.content()).includes('/hooks/ops'), 'the webhook URL is a secret too');

    await channel.locator('[data-testid=send-test]').click();
    await page.waitForSelector('[data-testid=test-result].ok');
    await receiver.received(1);
    const req = receiver.requests[0]!;
    const ts = String(req.headers['x-rf-timestamp']);
    assert.equal(
      req.headers['x-rf-signature'],
      `sha256=${createHmac('sha256', SIGNING_SECRET).update(`${ts}.${req.body}`).digest('hex')}`,
    );
  });

  it('a channel to a dead receiver: Send test shows the error naming host and port', async () => {
    const dead = await refusedPort();
    await page.goto(`${cp.url}/settings/notifications`);
    await page.fill('#ch-name', 'team slack');
    await page.selectOption('#ch-kind', 'slack');
    await page.waitForSelector('label:has-text("Slack incoming-webhook URL")');
    assert.equal(await page.inputValue('#ch-name'), 'team slack', 'the name survives a change of kind');
    await page.fill('#ch-s-url', `http://127.0.0.1:${dead}/services/T000/B000/XXXX`);
    await page.click('[data-testid=channel-form] button[type=submit]');
    await page.waitForSelector('[data-testid=channel-saved]');
    const slack = page.locator('[data-testid=channel]', { hasText: 'team slack' });
    await slack.locator('[data-testid=send-test]').click();
    await slack.locator('[data-testid=test-result].bad').waitFor();
    assert.match(
      (await slack.locator('[data-testid=test-result]').textContent()) ?? '',
      new RegExp(`127\\.0\\.0\\.1:${dead}`),
    );
    await shot('notifications-test-failed');
  });

  it('after the notifier delivered (log written across a restart), each channel lists its last deliveries with errors', async () => {
    await cp.stop();
    const alert = ALERTS[2]!.id;
    const now = Date.now();
    const iso = (s: number) => new Date(now - s * 1000).toISOString();
    const base = {
      channel_id: channelId,
      transition: 'raised' as const,
      delivery_id: randomUUID(),
      alert_id: alert,
    };
    await appendToStoppedLog(dataDir, [
      {
        stream: deliveryStream(alert),
        events: [
          fleetEvent('NotificationFailed', {
            ...base,
            attempt: 1,
            error: 'receiver 127.0.0.1:8080 answered 500: upstream down',
            failed_at: iso(400),
            retry_at: iso(370),
          }),
          fleetEvent('NotificationSent', { ...base, attempt: 2, sent_at: iso(360) }),
        ],
      },
      {
        stream: deliveryStream(ALERTS[1]!.id),
        events: [
          fleetEvent('NotificationFailed', {
            channel_id: channelId,
            transition: 'raised',
            delivery_id: randomUUID(),
            alert_id: ALERTS[1]!.id,
            attempt: 3,
            error: 'connection refused by 127.0.0.1:8080 — is the receiver running?',
            failed_at: iso(60),
            retry_at: new Date(now + 120_000).toISOString(),
          }),
        ],
      },
    ]);
    cp = await ControlPlaneProcess.start({ dataDir, port });
    await page.goto(`${cp.url}/settings/notifications`);
    const rows = page.locator(`[data-channel-id="${channelId}"] [data-testid=deliveries] tbody tr`);
    await rows.first().waitFor();
    assert.equal(await rows.count(), 2);
    assert.match(
      (await rows.nth(0).textContent()) ?? '',
      /retrying[\s\S]*connection refused by 127\.0\.0\.1:8080/,
    );
    assert.match((await rows.nth(1).textContent()) ?? '', /sent/);
    await shot('settings-notifications');
  });

  it('editing keeps the secrets when left empty; rule settings with a host override', async () => {
    await page.goto(`${cp.url}/settings/notifications/${channelId}/edit`);
    assert.match((await page.getAttribute('#ch-s-secret', 'placeholder')) ?? '', /leave empty to keep/);
    await page.fill('#ch-name', 'ops webhook (edited)');
    await page.click('[data-testid=channel-form] button[type=submit]');
    await page.waitForSelector('[data-testid=channel-saved]');
    const ops = page.locator(`[data-channel-id="${channelId}"]`);
    await ops.locator('[data-testid=send-test]').click();
    await ops.locator('[data-testid=test-result].ok').waitFor();
    await receiver.received(2);

    await page.goto(`${cp.url}/settings/alert-rules`);
    await page.fill('input[name="rules[agent_offline][threshold_min]"]', '0');
    await page.click('[data-testid=rules-form] button[type=submit]');
    await page.waitForSelector('text=enter whole minutes from 1 to 43200');
    await page.fill('input[name="rules[agent_offline][threshold_min]"]', '30');
    await page.selectOption('select[name="rules[backup_anomaly][enabled]"]', 'off');
    await page.click('[data-testid=rules-form] button[type=submit]');
    await page.waitForSelector('[data-testid=rules-saved]');
    await page.selectOption('#ov-host', DB.id);
    await page.selectOption('#ov-rule', 'agent_offline');
    await page.selectOption('#ov-enabled', 'off');
    await page.click('[data-testid=override-form] button[type=submit]');
    await page.waitForSelector('[data-testid=overrides] >> text=db-7');
    await shot('alert-rules');
    // Turning a rule off resolves its open alerts (the rules process in serve): they move to the history.
    const resolvedRow = '[data-testid=alert-history] >> text=the backup_anomaly rule was turned off';
    const deadline = Date.now() + 20_000;
    do await page.goto(`${cp.url}/alerts`);
    while ((await page.locator(resolvedRow).count()) === 0 && Date.now() < deadline);
    assert.equal(await page.locator(resolvedRow).count(), 1);
    await shot('alerts-page-history');
    const api = await page.request.get(`${cp.url}/api/alert-rules`);
    assert.deepEqual(await api.json(), {
      rules: { agent_offline: { threshold_s: 1800 }, backup_anomaly: { enabled: false } },
      host_overrides: { [DB.id]: { agent_offline: { enabled: false } } },
    });
  });

  it('dark theme: the Alerts page and Notifications', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
    const dark = await ctx.newPage();
    await login(dark, ADMIN_USER, ADMIN_PASSWORD);
    await dark.goto(`${cp.url}/alerts`);
    await shot('alerts-page-dark', dark);
    await dark.goto(`${cp.url}/settings/notifications`);
    await shot('settings-notifications-dark', dark);
    await dark.goto(`${cp.url}/`);
    await shot('dashboard-open-alert-dark', dark);
    await ctx.close();
  });
});
