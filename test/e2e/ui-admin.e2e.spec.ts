/**
 * The admin UI end to end: a real control plane process, a real agent process
 * enrolled through the UI's "Add host" command, real restic, and Debian's
 * chromium driven by playwright-core. Screenshots of every page go to
 * test-artifacts/ (gitignored) for a human to look at.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess, repoRoot } from '../support/control-plane.process';

const STEP_TIMEOUT = 90_000;
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
];

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `probe` until it returns a value (not undefined/false), bounded by `timeoutMs`. */
async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined | false>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

interface JobJson {
  id: string;
  status: string;
  kind: string;
}

describe('admin UI (browser, real control plane, real agent, real restic)', { timeout: 600_000 }, () => {
  let cp: ControlPlaneProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** A host page opened before the first snapshot existed; its restore section must fill in by itself. */
  let openedBeforeSnapshot: Page | undefined;
  let agent: ChildProcess | undefined;
  let agentLog = '';
  let work: string;
  let artifacts: string;
  let hostId = '';
  let hostName = '';
  const jobIds: Record<string, string> = {};
  const missing: string[] = [];

  const shot = async (name: string, p: Page = page): Promise<void> => {
    await p.screenshot({ path: path.join(artifacts, `ui-${name}.png`), fullPage: true });
  };

  /** The job as the REST API sees it, through the browser's own session. */
  const job = async (id: string): Promise<JobJson> => {
    const res = await page.request.get(`${cp.url}/api/jobs/${id}`);
    assert.equal(res.status(), 200, `GET /api/jobs/${id}`);
    return (await res.json()) as JobJson;
  };

  const waitJob = (id: string, statuses: string[], timeoutMs = STEP_TIMEOUT): Promise<JobJson> =>
    waitFor(`job ${id} to reach ${statuses.join('/')}`, timeoutMs, async () => {
      const j = await job(id);
      return statuses.includes(j.status) ? j : undefined;
    });

  const jobIdFromUrl = (url: string): string => {
    const m = /\/jobs\/([^/?#]+)$/.exec(url);
    assert.ok(m, `expected to land on /jobs/{id}, got ${url}`);
    return decodeURIComponent(m[1]!);
  };

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-ui-e2e-'));
    artifacts = path.join(repoRoot(), 'test-artifacts');
    fs.mkdirSync(artifacts, { recursive: true });
    const port = await freePort();
    cp = await ControlPlaneProcess.start({
      port,
      env: { RF_PUBLIC_URL: `http://127.0.0.1:${port}` },
    });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    page = await context.newPage();
    page.setDefaultTimeout(30_000);
  });

  after(async () => {
    if (agent && agent.exitCode === null) {
      agent.kill('SIGTERM');
      await Promise.race([
        new Promise((r) => agent!.once('exit', r)),
        new Promise((r) => setTimeout(r, 10_000)),
      ]);
      if (agent.exitCode === null) agent.kill('SIGKILL');
    }
    await browser?.close();
    await cp?.stop();
    cp?.removeDataDir();
    if (work) fs.rmSync(work, { recursive: true, force: true });
    if (missing.length) process.stdout.write(`# ui e2e: missing pieces: ${missing.join('; ')}\n`);
  });

  it('sends a visitor to the login page and says plainly when the password is wrong', async () => {
    await page.goto(`${cp.url}/`);
    assert.match(page.url(), /\/login\?next=%2F$/);
    await shot('login');
    await page.fill('#username', ADMIN_USER);
    await page.fill('#password', 'not-the-password');
    await page.click('button[type=submit]');
    await page.waitForSelector('#login-error:has-text("Wrong username or password")');
    await page.fill('#password', ADMIN_PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${cp.url}/`);
    assert.equal(await page.textContent('[data-testid=current-user]'), ADMIN_USER);
    // Empty state tells the user what to do next.
    await page.waitForSelector('text=No hosts yet');
    assert.equal(await page.locator('.empty >> text=Add host').count(), 1);
    await shot('dashboard-empty');
  });

  it('adds a host: the one-line command from Settings enrols a real agent', async () => {
    await page.click('.page-head >> text=Add host');
    await page.waitForURL(/\/settings#add-host$/);
    await page.click('[data-testid=create-enrolment]');
    const command = (await page.locator('[data-testid=enrol-command]').textContent()) ?? '';
    await shot('settings-enrol');
    const server = /^curl -fsSL (\S+)\/agent\/install\.sh \| sudo sh -s -- --token \S+$/.exec(command)?.[1];
    const token = /--token (\S+)/.exec(command)?.[1];
    assert.equal(server, cp.url, `command names this control plane: ${command}`);
    assert.ok(token, `command carries a token: ${command}`);

    const cli = path.join(repoRoot(), 'dist', 'apps', 'agent', 'src', 'cli.js');
    const configPath = path.join(work, 'agent', 'agent.yaml');
    const enrol = spawnSync(
      process.execPath,
      [cli, 'enrol', '--server', server, '--token', token, '--config', configPath],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    assert.equal(enrol.status, 0, `enrol failed: ${enrol.stdout}${enrol.stderr}`);
    const restic = spawnSync('sh', ['-c', 'command -v restic'], { encoding: 'utf8' }).stdout.trim();
    agent = spawn(process.execPath, [cli, 'run', '--config', configPath], {
      env: { PATH: process.env.PATH ?? '', HOME: work, RF_RESTIC_BIN: restic || '/usr/bin/restic' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stdout!.on('data', (d: Buffer) => (agentLog += d.toString()));
    agent.stderr!.on('data', (d: Buffer) => (agentLog += d.toString()));

    // The dashboard's 5 s poll shows the host online without a reload.
    await page.goto(`${cp.url}/`);
    await waitFor('the host to show online on the dashboard', 30_000, async () =>
      (await page.textContent('[data-testid=hosts-online]'))?.trim() === '1 / 1' ? true : undefined,
    );
    // The partial keeps refreshing on its own (htmx polling every 5 s), without a reload.
    const polled = await page.waitForResponse((r) => r.url().endsWith('/ui/partials/dashboard'), {
      timeout: 8_000,
    });
    assert.equal(polled.status(), 200);
    const link = page.locator('#fleet-live table a[href^="/hosts/"]').first();
    hostName = ((await link.textContent()) ?? '').trim();
    hostId = decodeURIComponent(((await link.getAttribute('href')) ?? '').replace('/hosts/', ''));
    assert.ok(hostId, 'host link present');
    assert.equal(await page.locator('#fleet-live .dot.online').count(), 1);
    await shot('dashboard-host');
  });

  it('configures the repository: password is write-only and field errors show next to the field', async () => {
    await page.goto(`${cp.url}/hosts/${encodeURIComponent(hostId)}`);
    assert.equal((await page.textContent('h1'))?.trim(), hostName);
    assert.equal((await page.textContent('[data-testid=password-state]'))?.trim(), 'not set');
    // Missing password: the error sits next to the password field.
    await page.fill('#repo-url', path.join(work, 'repo'));
    await page.click('#repository button[type=submit]');
    await page.waitForSelector('#repo-password-err');
    assert.match((await page.textContent('#repo-password-err')) ?? '', /password/);
    // A URL with an embedded password is refused by the service, named as url.
    await page.fill('#repo-url', 'rest:http://user:secret@127.0.0.1:1/repo');
    await page.fill('#repo-password', 'repo-password-1');
    await page.click('#repository button[type=submit]');
    await page.waitForSelector('#repo-url-err');
    assert.match((await page.textContent('#repo-url-err')) ?? '', /url/);
    await page.fill('#repo-url', path.join(work, 'repo'));
    await page.fill('#repo-password', 'repo-password-1');
    await page.click('#repository button[type=submit]');
    await page.waitForSelector('#repository .notice.ok');
    assert.equal((await page.textContent('[data-testid=password-state]'))?.trim(), 'set');
    const html = await page.content();
    assert.ok(!html.includes('repo-password-1'), 'the password is never shown back');
    // The dashboard names the configured repository even before any stats exist.
    await page.goto(`${cp.url}/`);
    const repoCell = ((await page.textContent('#fleet-live [data-testid=repository]')) ?? '').trim();
    assert.ok(repoCell.includes(path.join(work, 'repo')), `repository column: ${repoCell}`);
    assert.equal((await page.textContent('#fleet-live [data-testid=repo-size]'))?.trim(), 'size unknown');
    await shot('dashboard-size-unknown');
    await page.goto(`${cp.url}/hosts/${encodeURIComponent(hostId)}`);
  });

  it('saves a schedule with a human-readable cron preview and shows desired vs applied versions', async () => {
    await page.fill('#sch-0-id', 'nightly');
    await page.fill('#sch-0-cron', '0 2 * * *');
    await page.waitForSelector('#sch-0-cron-preview:has-text("02:00")');
    await page.fill('#sch-0-paths', path.join(work, 'data'));
    await page.click('#schedules fieldset >> nth=0 >> summary');
    await page.fill('#sch-0-keep_daily', '0');
    await page.click('#schedules button[type=submit]');
    // The catalog names the bad retention field; it is shown next to it.
    await page.waitForSelector('#schedules .field-error');
    assert.match((await page.locator('#schedules fieldset').first().textContent()) ?? '', /keep_daily/);
    await page.fill('#sch-0-keep_daily', '7');
    await page.click('#schedules button[type=submit]');
    await page.waitForSelector('#schedules .notice.ok');
    assert.equal((await page.textContent('[data-testid=desired-version]'))?.trim(), 'v1');
    await waitFor('the agent to apply schedule v1', 30_000, async () => {
      await page.goto(`${cp.url}/hosts/${encodeURIComponent(hostId)}`);
      return (await page.textContent('[data-testid=applied-version]'))?.trim() === 'v1' ? true : undefined;
    });
  });

  it('inits the repository and backs up now, landing on the job page and reaching 100 %', async () => {
    fs.mkdirSync(path.join(work, 'data', 'docs'), { recursive: true });
    for (let i = 0; i < 20; i++) {
      fs.writeFileSync(path.join(work, 'data', 'docs', `file-${i}.txt`), `content ${i}\n`.repeat(2000 + i));
    }
    await page.goto(`${cp.url}/hosts/${encodeURIComponent(hostId)}`);
    await page.click('[data-testid=run-init]');
    await page.waitForURL(/\/jobs\/[^/]+$/);
    jobIds['init'] = jobIdFromUrl(page.url());
    const init = await waitJob(jobIds['init'], ['succeeded', 'warning', 'failed']);
    assert.equal(init.status, 'succeeded', `init: ${JSON.stringify(init)}\n${agentLog.slice(-2000)}`);

    await page.goto(`${cp.url}/hosts/${encodeURIComponent(hostId)}`);
    // No snapshot yet: the restore section waits for one instead of offering an empty form.
    assert.equal(
      await page.locator('[data-testid=restore-waiting]').count(),
      1,
      'restore waits for a snapshot',
    );
    const waiting = await page.request.get(
      `${cp.url}/ui/partials/hosts/${encodeURIComponent(hostId)}/restore`,
    );
    assert.equal(waiting.status(), 200);
    const waitingHtml = await waiting.text();
    assert.ok(
      waitingHtml.includes('data-testid="restore-waiting"') && waitingHtml.includes('hx-trigger="every 5s"'),
      waitingHtml,
    );
    openedBeforeSnapshot = await page.context().newPage();
    await openedBeforeSnapshot.goto(page.url());
    assert.equal(
      await page.inputValue('#run-paths'),
      path.join(work, 'data'),
      'prefilled from the backup schedule',
    );
    const landed = page.waitForURL(/\/jobs\/[^/]+$/);
    await page.click('[data-testid=backup-now]');
    await landed;
    jobIds['backup'] = jobIdFromUrl(page.url());
    const jobPage = await page.request.get(page.url());
    if (jobPage.status() === 200) {
      // The live job page belongs to another area; check its progress bar and log when it is there.
      await waitFor('the job page progress bar at 100 %', STEP_TIMEOUT, async () => {
        const now = await page.locator('[role=progressbar]').first().getAttribute('aria-valuenow');
        return now === '100' ? true : undefined;
      });
      // Once finished, the page shows restic's totals in words (Result card) and in the progress card.
      await waitFor('the Result card with the backup totals', STEP_TIMEOUT, async () =>
        ((await page.textContent('#final-stats')) ?? '').includes('Files processed') ? true : undefined,
      );
      const finished = (await (await page.request.get(`${cp.url}/api/jobs/${jobIds['backup']}`)).json()) as {
        stats: { total_files_processed: number };
      };
      const files = finished.stats.total_files_processed.toLocaleString('en-US');
      for (const view of ['live page', 'reloaded page']) {
        await waitFor(`the final totals in the progress card (${view})`, 15_000, async () =>
          (await page.textContent('#p-files'))?.trim() === `${files} / ${files}` ? true : undefined,
        );
        assert.equal((await page.textContent('#p-percent'))?.trim(), '100.0 %', view);
        assert.equal(await page.locator('#progress-bar').getAttribute('aria-valuenow'), '100', view);
        const log = (await page.textContent('#log')) ?? '';
        assert.ok(!log.includes('"message_type":"summary"'), 'no raw summary JSON under the Result card');
        if (view === 'reloaded page' && log.trim() === '')
          assert.match((await page.textContent('#log-note')) ?? '', /summary, which is in the Result above/);
        if (view === 'live page') await page.reload();
      }
      await page.waitForTimeout(600); // let the bar's width transition finish for the screenshot
      await shot('job-page');
    } else {
      missing.push(`job page GET /jobs/{id} answered ${jobPage.status()}`);
    }
    const backup = await waitJob(jobIds['backup'], ['succeeded', 'warning', 'failed']);
    assert.equal(backup.status, 'succeeded', `backup: ${JSON.stringify(backup)}\n${agentLog.slice(-2000)}`);
  });

  it('shows the snapshot on the host page and the finished jobs in the table', async () => {
    await page.goto(`${cp.url}/hosts/${encodeURIComponent(hostId)}`);
    await waitFor('the snapshot on the host page (live refresh)', 30_000, async () =>
      (await page.locator('[data-testid=snapshots-table] tbody tr').count()) > 0 ? true : undefined,
    );
    const row = (await page.locator('[data-testid=snapshots-table] tbody tr').first().textContent()) ?? '';
    assert.ok(row.includes(path.join(work, 'data')), `snapshot row names the path: ${row}`);
    // The page opened before the backup swaps its waiting placeholder for the form without a reload.
    assert.ok(openedBeforeSnapshot, 'a host page was opened before the first snapshot');
    await openedBeforeSnapshot.locator('#restore-target').waitFor({ state: 'attached', timeout: 20_000 });
    assert.equal(await openedBeforeSnapshot.locator('[data-testid=restore-waiting]').count(), 0);
    await openedBeforeSnapshot.close();
    // A restore without a target is refused by the catalog; the message names the field, next to the form.
    await page.click('text=Restore a snapshot');
    await page.click('form:has(#restore-target) [data-testid=restore-start]');
    const restoreError = page.locator('form:has(#restore-target) .field-error');
    await restoreError.waitFor();
    assert.match((await restoreError.textContent()) ?? '', /^target: /);
    await page.click('[data-testid=run-stats]');
    await page.waitForURL(/\/jobs\/[^/]+$/);
    jobIds['stats'] = jobIdFromUrl(page.url());
    await waitJob(jobIds['stats'], ['succeeded', 'warning', 'failed']);
    // The stats job records the repository size; the chart draws it (uPlot renders a canvas).
    await waitFor('the repository size chart', 30_000, async () => {
      await page.goto(`${cp.url}/hosts/${encodeURIComponent(hostId)}`);
      return (await page.locator('[data-chart=repo-size] canvas').count()) > 0 ? true : undefined;
    });
    await shot('host');
    await page.setViewportSize({ width: 390, height: 844 });
    await shot('host-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('cancels a long backup from the jobs list', async () => {
    const big = path.join(work, 'big');
    fs.mkdirSync(big);
    // A sparse file costs no disk but makes restic read (and hash) 40 GiB of zeros.
    fs.closeSync(fs.openSync(path.join(big, 'zeros.img'), 'w'));
    fs.truncateSync(path.join(big, 'zeros.img'), 40 * 1024 ** 3);
    await page.goto(`${cp.url}/hosts/${encodeURIComponent(hostId)}`);
    await page.fill('#run-paths', big);
    await page.click('[data-testid=backup-now]');
    await page.waitForURL(/\/jobs\/[^/]+$/);
    jobIds['long'] = jobIdFromUrl(page.url());
    await waitJob(jobIds['long'], ['running']);
    await page.goto(`${cp.url}/jobs?host=${encodeURIComponent(hostId)}&status=running`);
    await shot('jobs-running');
    await page.click('[data-testid=cancel-job]');
    const cancelled = await waitJob(jobIds['long'], ['cancelled', 'failed', 'succeeded']);
    assert.equal(cancelled.status, 'cancelled');
    await page.goto(`${cp.url}/jobs`);
    await page.waitForSelector('table >> text=cancelled');
    await shot('jobs');
  });

  it('finds each action in the audit trail under the user name', async () => {
    await page.goto(`${cp.url}/hosts/${encodeURIComponent(hostId)}`);
    await page.click('text=Audit trail');
    await page.waitForURL(/\/audit\?host=/);
    const hostTrail = (await page.textContent('[data-testid=audit-table]')) ?? '';
    for (const action of ['RepositoryConfigured', 'SchedulesChanged', 'JobRequested', 'JobCancelRequested']) {
      assert.ok(hostTrail.includes(action), `host trail has ${action}`);
    }
    // Each job row links to that job's own trail.
    await page.goto(`${cp.url}/audit?job=${encodeURIComponent(jobIds['long']!)}`);
    const jobTrail = (await page.textContent('[data-testid=audit-table]')) ?? '';
    assert.ok(jobTrail.includes('JobRequested') && jobTrail.includes('JobCancelRequested'), jobTrail);
    await page.goto(`${cp.url}/audit?actor=${ADMIN_USER}`);
    const rows = await page.locator('[data-testid=audit-table] tbody tr').allTextContents();
    const byAdmin = (action: string) => rows.filter((r) => r.includes(action) && r.includes(ADMIN_USER));
    assert.ok(byAdmin('EnrolmentTokenCreated').length >= 1, 'enrolment token by admin');
    assert.ok(byAdmin('RepositoryConfigured').length >= 1, 'repository by admin');
    assert.ok(byAdmin('SchedulesChanged').length >= 1, 'schedules by admin');
    assert.ok(byAdmin('JobRequested').length >= 4, 'init, backup, stats and long backup by admin');
    assert.ok(byAdmin('JobCancelRequested').length >= 1, 'cancel by admin');
    await shot('audit');
  });

  it("the dashboard stacks each day's job outcomes as bars, with the day's numbers on hover", async () => {
    const jobs = (await (
      await page.request.get(`${cp.url}/api/jobs?host=${encodeURIComponent(hostId)}`)
    ).json()) as {
      jobs: Array<{ status: string; finished_at: string | null }>;
    };
    const today = new Date().toISOString().slice(0, 10);
    const expected: Record<string, number> = { succeeded: 0, warning: 0, failed: 0, cancelled: 0, lost: 0 };
    for (const j of jobs.jobs)
      if (j.finished_at?.startsWith(today) && j.status in expected) expected[j.status]!++;
    assert.ok(expected['succeeded']! > 0 && expected['cancelled']! > 0, JSON.stringify(expected));

    await page.goto(`${cp.url}/`);
    await page.locator('[data-chart=outcomes] canvas').waitFor();
    const legend = async (): Promise<Record<string, string>> => {
      const rows = await page.locator('[data-chart=outcomes] .u-legend .u-series').all();
      const out: Record<string, string> = {};
      for (const row of rows) {
        const label = ((await row.locator('.u-label').textContent()) ?? '').trim();
        out[label] = ((await row.locator('.u-value').textContent()) ?? '').trim();
      }
      return out;
    };
    const idle = await legend();
    for (const status of Object.keys(expected))
      assert.ok(status in idle, `the legend names ${status}: ${JSON.stringify(idle)}`);
    assert.equal(
      idle['Day'],
      'last 30 days',
      'no "--": without a hovered day the legend shows 30-day totals',
    );
    const plot = (await page.locator('[data-chart=outcomes] .u-over').boundingBox())!;
    // 30 days, each a slot of the plot's width; today is the last slot.
    await page.mouse.move(plot.x + plot.width * (29.5 / 30), plot.y + plot.height - 2);
    await waitFor("today's counts in the legend", 10_000, async () =>
      (await legend())['Day'] === today ? true : undefined,
    );
    const hovered = await legend();
    for (const [status, n] of Object.entries(expected))
      assert.equal(hovered[status], String(n), `${status} today`);
    // The size column shows the repository's size once a stats job has reported it.
    assert.notEqual((await page.textContent('#fleet-live [data-testid=repo-size]'))?.trim(), 'size unknown');
    await shot('dashboard');
  });

  it('settings: creates an API token shown once and a viewer who sees no write buttons', async () => {
    await page.goto(`${cp.url}/settings`);
    await page.fill('#tok-name', 'ci-reports');
    await page.click('#api-tokens button[type=submit]');
    const token = ((await page.textContent('[data-testid=new-api-token]')) ?? '').trim();
    assert.ok(token.length > 20, 'token shown');
    const expiry = ((await page.textContent('[data-testid=new-api-token-expiry]')) ?? '').trim();
    const inAYear = new Date(Date.now() + 365 * 86_400_000).toISOString().slice(0, 10);
    assert.ok(expiry.startsWith(inAYear), `expires in a year (${inAYear}): ${expiry}`);
    await page.goto(`${cp.url}/settings`);
    assert.ok(!(await page.content()).includes(token), 'shown only once');
    await page.fill('#nu-name', 'vera');
    await page.selectOption('#nu-role', 'viewer');
    await page.fill('#nu-pass', 'viewer-password-123');
    await page.click('#users form.filters button[type=submit]');
    await page.waitForSelector('#users .notice.ok');
    await shot('settings');

    const viewerContext = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      colorScheme: 'dark',
    });
    const viewer = await viewerContext.newPage();
    try {
      await viewer.goto(`${cp.url}/login`);
      await viewer.fill('#username', 'vera');
      await viewer.fill('#password', 'viewer-password-123');
      await viewer.click('button[type=submit]');
      await viewer.waitForURL(`${cp.url}/`);
      await viewer.goto(`${cp.url}/hosts/${encodeURIComponent(hostId)}`);
      assert.equal(await viewer.locator('[data-testid=backup-now]').count(), 0);
      assert.equal(await viewer.locator('[data-testid=cancel-job]').count(), 0);
      assert.equal(await viewer.locator('#repository button[type=submit]').count(), 0);
      assert.equal(await viewer.locator('nav >> text=Audit').count(), 0);
      await shot('host-viewer-dark', viewer);
    } finally {
      await viewerContext.close();
    }
  });

  it('switches to the dark theme with the toggle and keeps it across pages', async () => {
    await page.goto(`${cp.url}/`);
    await page.click('#theme-toggle');
    assert.equal(await page.getAttribute('html', 'data-theme'), 'dark');
    await page.goto(`${cp.url}/jobs`);
    assert.equal(await page.getAttribute('html', 'data-theme'), 'dark');
    await page.goto(`${cp.url}/`);
    await shot('dashboard-dark');
    await page.click('text=Log out');
    await page.waitForURL(/\/login$/);
    const res = await page.request.get(`${cp.url}/api/hosts`);
    assert.equal(res.status(), 401, 'the session is gone after logout');
  });
});
