/**
 * The agent-delivery pages in a real browser (Debian chromium, playwright-core):
 * Settings > Add host shows both install one-liners with a fresh token, copy
 * buttons and the expiry; a host running an older single-file agent is flagged
 * on the dashboard and gets an Update button on its page. Screenshots go to
 * test-artifacts/agent-delivery-*.png for a human to look at.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess, repoRoot } from '../support/control-plane.process';
import { eventually, freePort, runNode } from '../support/fleet';
import { buildAgentVersion, InstalledAgent } from '../support/installed-agent';

const OLD = '0.0.1';

describe('agent delivery in the admin UI (browser)', { timeout: 300_000 }, () => {
  let cp: ControlPlaneProcess;
  let browser: Browser;
  let page: Page;
  let work: string;
  let artifacts: string;
  let agent: InstalledAgent | undefined;
  let token = '';
  let served = '';

  const shot = (name: string): Promise<Buffer> =>
    page.screenshot({ path: path.join(artifacts, `agent-delivery-${name}.png`), fullPage: true });

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-delivery-ui-'));
    artifacts = path.join(repoRoot(), 'test-artifacts');
    fs.mkdirSync(artifacts, { recursive: true });
    const port = await freePort();
    cp = await ControlPlaneProcess.start({ port, env: { RF_PUBLIC_URL: `http://127.0.0.1:${port}` } });
    served =
      (await fetch(`${cp.url}/agent/restic-fleet-agent.js`, { method: 'HEAD' })).headers.get(
        'x-rf-agent-version',
      ) ?? '';
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      colorScheme: 'light',
    });
    page = await context.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(`${cp.url}/login`);
    await page.fill('#username', ADMIN_USER);
    await page.fill('#password', ADMIN_PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${cp.url}/`);
  });

  after(async () => {
    await agent?.stop();
    await browser?.close();
    await cp?.stop();
    cp?.removeDataDir();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('Add host shows both one-liners with a fresh token, copy buttons and the expiry', async () => {
    await page.goto(`${cp.url}/settings#add-host`);
    await page.fill('#enrol-minutes', '30');
    await page.click('[data-testid=create-enrolment]');
    const linux = ((await page.textContent('[data-testid=enrol-command]')) ?? '').trim();
    const windows = ((await page.textContent('[data-testid=enrol-command-windows]')) ?? '').trim();
    token = /--token (\S+)$/.exec(linux)?.[1] ?? '';
    assert.match(token, /^rfe_/);
    assert.equal(linux, `curl -fsSL ${cp.url}/agent/install.sh | sudo sh -s -- --token ${token}`);
    assert.equal(windows, `& ([scriptblock]::Create((irm '${cp.url}/agent/install.ps1'))) -Token '${token}'`);
    assert.equal(await page.locator('button[data-copy=enrol-command]').count(), 1);
    assert.equal(await page.locator('button[data-copy=enrol-command-windows]').count(), 1);
    const expires = ((await page.textContent('[data-testid=enrol-expires]')) ?? '').trim();
    assert.ok(expires.length > 0, 'the expiry is shown');
    // The token is listed as pending with the same expiry.
    assert.ok(((await page.textContent('#add-host table')) ?? '').includes('pending'));
    await shot('settings-add-host');
  });

  it('flags a host whose agent is older on the dashboard, and offers an Update on its page', async () => {
    const dir = path.join(work, 'host');
    fs.mkdirSync(dir);
    const file = path.join(dir, 'restic-fleet-agent.js');
    fs.copyFileSync(await buildAgentVersion(OLD, path.join(work, 'old-build')), file);
    const config = path.join(dir, 'agent.yaml');
    const enrol = await runNode(file, ['enrol', '--server', cp.url, '--config', config], {
      PATH: process.env.PATH ?? '',
      RF_ENROL_TOKEN: token,
    });
    assert.equal(enrol.code, 0, enrol.stderr);
    agent = new InstalledAgent(file, config, { HOME: work });
    agent.start();

    await page.goto(`${cp.url}/`);
    await eventually(
      'the dashboard to show the host online',
      async () => ((await page.textContent('[data-testid=hosts-online]')) ?? '').trim() === '1 / 1',
      30_000,
    );
    await page.waitForSelector('[data-testid=outdated-agents]');
    assert.match(
      (await page.textContent('[data-testid=outdated-agents]')) ?? '',
      new RegExp(`1 host runs an older agent than ${served.replace(/\./g, '\\.')}`),
    );
    assert.match((await page.textContent('#fleet-live [data-testid=agent-outdated]')) ?? '', /agent 0\.0\.1/);
    await shot('dashboard-outdated');

    await page.click('#fleet-live table a[href^="/hosts/"]');
    await page.waitForSelector('[data-testid=agent-version]');
    assert.equal((await page.textContent('[data-testid=agent-version]'))?.trim(), OLD);
    assert.match(
      (await page.textContent('[data-testid=agent-outdated]')) ?? '',
      new RegExp(`update available: ${served}`),
    );
    await page.click('[data-testid=agent-update]');
    await page.waitForSelector(`[data-testid=agent-update-note]:has-text("Offered agent ${served}")`);
    await shot('host-update');
    await eventually(
      'the agent to receive the offer',
      () => agent!.logged(/auto_update: true in agent\.yaml/),
      30_000,
    );
  });
});
