import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createSqliteEventStore, type EventStore } from '@rf/event-store';
import { type FleetEvent, legacyRepositoryId, toEventData } from '@rf/events';
import { launchChromium, signIn } from '../support/browser';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { eventually } from '../support/fleet';
import { RestClient } from '../support/rest-client';
import { enrolHost, ScriptedAgent, type AgentIdentity } from '../support/scripted-agent';

/*
 * The Repositories page, a repository's page and a host with two
 * repositories, in chromium against the real control plane. Hosts and their
 * own repositories come through the REST API and a scripted agent; what no
 * route writes yet (a shared repository, its attachments, listings, sizes and
 * jobs holding its lock) is appended as real catalog events to the control
 * plane's own log file, which the running server follows like any other
 * writer's (docs/architecture.md, "Event store"). Screenshots go to
 * $RF_SHOTS_DIR (default test-artifacts/).
 */

const WAIT_MS = 20_000;
const SHOTS =
  process.env.RF_SHOTS_DIR ?? path.join(process.env.RF_REPO_ROOT ?? process.cwd(), 'test-artifacts');
const NOW = Date.now();
const SECRET = `s3cr3t-${randomUUID()}`;
const ago = (hours: number): string => new Date(NOW - hours * 3_600_000).toISOString();
const snapshot = (hostname: string, time: string) => ({
  id: randomUUID().replace(/-/g, '').repeat(2),
  short_id: randomUUID().slice(0, 8),
  time,
  hostname,
  paths: ['/srv'],
});

describe('repositories in the UI (e2e, browser)', { timeout: 300_000 }, () => {
  let cp: ControlPlaneProcess;
  let admin: RestClient;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let store: EventStore;
  let agentA: ScriptedAgent;
  let webA: AgentIdentity;
  let webB: AgentIdentity;
  /** The shared repository, registered through the Repositories page's form. */
  let OFFSITE = '';
  const jobs = { forget: randomUUID(), prune: randomUUID(), backup: randomUUID() };

  /** Appends one catalog event to the control plane's log, as the control plane itself would record it. */
  const append = async (stream: string, event: FleetEvent): Promise<void> => {
    const meta = {
      actor: { kind: 'system' as const, id: 'repositories-ui-e2e' },
      correlation_id: randomUUID(),
      causation_id: randomUUID(),
      received_at: new Date().toISOString(),
    };
    await store.append(stream, [toEventData(event, meta)]);
  };

  /**
   * What no route writes: snapshot listings, size reports, and jobs that hold
   * and wait for the shared repository's lock, as catalog events.
   */
  const seedActivity = async (): Promise<void> => {
    const ownA = legacyRepositoryId(webA.agentId);
    // web-a's own repository holds a snapshot of it from 2 h ago; offsite only one from 3 days ago.
    await append(`snapshots-${webA.agentId}`, {
      type: 'SnapshotsReported',
      data: {
        host_id: webA.agentId,
        repository_id: ownA,
        snapshots: [snapshot(webA.hostname, ago(50)), snapshot(webA.hostname, ago(2))],
        reported_at: ago(1.9),
      },
    });
    await append(`snapshots-${webB.agentId}`, {
      type: 'SnapshotsReported',
      data: {
        host_id: webB.agentId,
        repository_id: OFFSITE,
        snapshots: [snapshot(webA.hostname, ago(72)), snapshot(webB.hostname, ago(1))],
        reported_at: ago(0.9),
      },
    });
    for (const [repo, points] of [
      [
        ownA,
        [
          [72, 1.0e9],
          [48, 1.2e9],
          [24, 1.25e9],
          [2, 1.4e9],
        ],
      ],
      [
        OFFSITE,
        [
          [70, 3.1e9],
          [30, 3.3e9],
          [1, 3.2e9],
        ],
      ],
    ] as const)
      for (const [hours, size] of points)
        await append(`repository-${repo}`, {
          type: 'RepoStatsReported',
          data: {
            host_id: repo === OFFSITE ? webB.agentId : webA.agentId,
            repository_id: repo,
            total_size_bytes: size,
            snapshot_count: 2,
            reported_at: ago(hours),
          },
        });
    // A forget on offsite that ran 5 h ago on web-b, a prune running there now, and web-a's backup waiting for it.
    const request = (
      jobId: string,
      hostId: string,
      kind: 'forget' | 'prune' | 'backup',
      args: object,
      at: string,
    ) =>
      append(`job-${jobId}`, {
        type: 'JobRequested',
        data: { job_id: jobId, host_id: hostId, kind, args, repository_id: OFFSITE, requested_at: at },
      } as FleetEvent);
    await request(jobs.forget, webB.agentId, 'forget', { policy: { keep_daily: 7 } }, ago(5.2));
    for (const [type, data] of [
      ['JobDispatched', { host_id: webB.agentId, dispatched_at: ago(5.1) }],
      ['JobStarted', { kind: 'forget', started_at: ago(5.1) }],
      ['JobFinished', { status: 'succeeded', exit_code: 0, finished_at: ago(5) }],
    ] as const)
      await append(`job-${jobs.forget}`, { type, data: { job_id: jobs.forget, ...data } } as FleetEvent);
    await request(jobs.prune, webB.agentId, 'prune', {}, ago(0.2));
    await append(`job-${jobs.prune}`, {
      type: 'JobDispatched',
      data: { job_id: jobs.prune, host_id: webB.agentId, dispatched_at: ago(0.19) },
    });
    await append(`job-${jobs.prune}`, {
      type: 'JobStarted',
      data: { job_id: jobs.prune, kind: 'prune', started_at: ago(0.18) },
    });
    await request(jobs.backup, webA.agentId, 'backup', { paths: ['/srv'] }, ago(0.1));
  };

  const shot = async (name: string): Promise<void> => {
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  };

  /** The same page in the dark theme (charts redraw with its colours), then back to light. */
  const darkShot = async (name: string): Promise<void> => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.evaluate(() => document.dispatchEvent(new Event('rf:theme')));
    await shot(name);
    await page.emulateMedia({ colorScheme: 'light' });
    await page.evaluate(() => document.dispatchEvent(new Event('rf:theme')));
  };

  before(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    cp = await ControlPlaneProcess.start();
    admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
    webA = await enrolHost(admin, `web-a-${randomUUID().slice(0, 4)}`);
    webB = await enrolHost(admin, `web-b-${randomUUID().slice(0, 4)}`);
    for (const [host, url] of [
      [webA, '/srv/restic/web-a'],
      [webB, 'sftp:backup@nas.example:/srv/restic/web-b'],
    ] as const) {
      const put = await admin.put(`/api/hosts/${host.agentId}/repository`, { url, password: 'pw-not-shown' });
      assert.equal(put.status, 200, JSON.stringify(put.body));
    }
    agentA = new ScriptedAgent(cp.url.replace(/^http/, 'ws'), webA);
    await agentA.connect();
    await agentA.waitForAcks([agentA.hello({ capabilities: ['repositories'] }).id]);

    store = createSqliteEventStore({ path: path.join(cp.dataDir, 'events.db') });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1360, height: 900 }, colorScheme: 'light' });
    context.setDefaultTimeout(WAIT_MS);
    page = await context.newPage();
    await signIn(page, cp.url);
  });

  after(async () => {
    agentA?.terminate();
    await store?.close();
    await browser?.close();
    await cp?.stop();
    cp?.removeDataDir();
  });

  it('registers a repository, stores its secrets without showing them, and attaches two hosts, through the forms', async () => {
    await page.click('nav.nav a[href="/repositories"]');
    await page.waitForURL(`${cp.url}/repositories`);
    assert.equal(await page.getAttribute('nav.nav a[href="/repositories"]', 'aria-current'), 'page');
    // Bad input is refused with the field named, keeping what was typed (but never a password).
    await page.fill('#reg-name', 'offsite');
    await page.fill('#reg-url', 'rest:https://backup.example:8000/fleet');
    await page.fill('#reg-password', '');
    await page.click('[data-testid=register-repository]');
    await page.waitForSelector('#register .field-error');
    assert.match(await page.innerText('#register'), /password should not be empty/);
    assert.equal(await page.inputValue('#reg-name'), 'offsite');
    // A URL with a password in it is refused and not shown again.
    await page.fill('#reg-url', `rest:https://backup:${SECRET}@backup.example:8000/fleet`);
    await page.fill('#reg-password', SECRET);
    await page.click('[data-testid=register-repository]');
    await page.waitForFunction(() =>
      document.querySelector('#register')?.textContent?.includes('url must not embed a password'),
    );
    assert.deepEqual([await page.inputValue('#reg-url'), await page.inputValue('#reg-password')], ['', '']);
    assert.ok(!(await page.content()).includes(SECRET), 'a refused secret came back in the page');
    await page.fill('#reg-url', 'rest:https://backup.example:8000/fleet');
    await page.fill('#reg-password', SECRET);
    await page.fill('#reg-credential', `cred-${SECRET}`);
    await page.click('[data-testid=register-repository]');
    await page.waitForURL(/\/repositories\/[0-9a-f-]{36}$/);
    OFFSITE = new URL(page.url()).pathname.split('/').pop() ?? '';
    assert.equal((await page.textContent('[data-testid=repository-title]'))?.trim(), 'offsite');
    assert.equal(
      (await page.textContent('#repository-settings [data-testid=password-state]'))?.trim(),
      'set',
    );
    for (const host of [webA, webB]) {
      await page.selectOption('#attach-host', host.agentId);
      await page.click('[data-testid=attach-form] button[type=submit]');
      await page.waitForSelector(`#repository-attach [data-testid="detach-${host.agentId}"]`);
    }
    // Secrets are replaced whole, from empty fields: nothing typed before is ever sent back.
    assert.equal(await page.inputValue('#sec-password'), '');
    await page.fill('#sec-password', `${SECRET}-2`);
    await page.click('[data-testid=secrets-form] button[type=submit]');
    await page.waitForSelector('#repository-settings .notice.ok');
    assert.equal(await page.inputValue('#sec-password'), '');
    const repo = await admin.get<{
      password_set: boolean;
      credential_set: boolean;
      hosts: Array<{ id: string }>;
    }>(`/api/repositories/${OFFSITE}`);
    assert.equal(repo.status, 200, JSON.stringify(repo.body));
    assert.deepEqual(
      [repo.body.password_set, repo.body.hosts.map((h) => h.id).sort()],
      [true, [webA.agentId, webB.agentId].sort()],
    );
    assert.ok(!(await page.content()).includes(SECRET), 'a repository secret reached the page');
    await seedActivity();
  });

  it('lists every repository with its hosts, size, last maintenance and who holds its lock', async () => {
    await page.goto(`${cp.url}/repositories`);
    const row = page.locator(`[data-testid=repository-row][data-repository-id="${OFFSITE}"]`);
    await eventually(
      'the offsite repository with its running prune',
      async () =>
        ((await row.locator('[data-testid=repository-lock]').textContent()) ?? '').includes('prune'),
      WAIT_MS,
    );
    // The service refuses what the select cannot offer: no repository on a host with two, or one it is not attached to.
    for (const [repositoryId, status, message] of [
      [undefined, 400, /has 2 repositories; name one in repository_id/],
      [legacyRepositoryId(webB.agentId), 409, /is not attached to repository/],
    ] as const) {
      const refused = await admin.put<{ error: { code: string; message: string; field?: string } }>(
        `/api/hosts/${webA.agentId}/schedules`,
        {
          schedules: [
            {
              id: 'stray',
              kind: 'backup',
              cron: '0 4 * * *',
              enabled: true,
              paths: ['/srv'],
              ...(repositoryId ? { repository_id: repositoryId } : {}),
            },
          ],
        },
      );
      assert.equal(refused.status, status, JSON.stringify(refused.body));
      assert.equal(refused.body.error.field, 'schedules.0.repository_id');
      assert.match(refused.body.error.message, message);
    }
    await page.reload();
    assert.equal(await page.locator('[data-testid=repository-row]').count(), 3);
    assert.equal((await row.locator('[data-testid=repository-name]').textContent())?.trim(), 'offsite');
    const hosts = (await row.locator('[data-testid=repository-hosts]').textContent()) ?? '';
    assert.ok(hosts.includes(webA.hostname) && hosts.includes(webB.hostname), hosts);
    assert.equal(
      (await row.locator('[data-testid=repository-lock] .badge').first().textContent())?.trim(),
      `exclusive: prune on ${webB.hostname}`,
    );
    assert.equal((await row.locator('[data-testid=repository-waiting]').textContent())?.trim(), '1 waiting');
    const maintenance = (await row.locator('[data-testid=repository-maintenance]').textContent()) ?? '';
    assert.match(maintenance.replace(/\s+/g, ' '), /forget 5 h ago succeeded/);
    assert.match(maintenance.replace(/\s+/g, ' '), /prune never/);
    assert.match((await row.locator('[data-testid=repository-size]').textContent()) ?? '', /3\.0 GiB/);
    // The size history draws as a sparkline.
    await eventually(
      'the sparklines',
      async () => (await page.locator('[data-chart=sparkline] canvas').count()) === 2,
      WAIT_MS,
    );
    // web-b's own repository has no size report yet.
    const ownB = page.locator(
      `[data-testid=repository-row][data-repository-id="${legacyRepositoryId(webB.agentId)}"]`,
    );
    assert.equal((await ownB.locator('[data-testid=repository-size]').textContent())?.trim(), 'size unknown');
    assert.ok(!(await page.content()).includes(SECRET));
    await shot('repositories');
    await darkShot('repositories-dark');
  });

  it('shows a repository: its lock holder, why the backup waits, its maintenance, snapshots and jobs', async () => {
    await page.click(`[data-repository-id="${OFFSITE}"] [data-testid=repository-name]`);
    await page.waitForURL(`${cp.url}/repositories/${OFFSITE}`);
    assert.equal((await page.textContent('[data-testid=repository-title]'))?.trim(), 'offsite');
    const holders = await page.innerText('[data-testid=lock-holders]');
    assert.match(holders.replace(/\s+/g, ' '), new RegExp(`prune on ${webB.hostname} exclusive running`));
    const waiting = await page.innerText('[data-testid=lock-waiting]');
    assert.match(
      waiting.replace(/\s+/g, ' '),
      new RegExp(
        `backup for ${webA.hostname} shared waiting for prune on repository offsite, running on host ${webB.hostname}`,
      ),
    );
    const snaps = (await page.textContent('[data-testid=repository-snapshot-hosts]')) ?? '';
    assert.ok(snaps.includes(webA.hostname) && snaps.includes(webB.hostname), snaps);
    const maintenance = await page.innerText('[data-testid=repository-maintenance]');
    assert.match(maintenance.replace(/\s+/g, ' '), new RegExp(`forget 5 h ago succeeded ${webB.hostname}`));
    for (const id of Object.values(jobs))
      assert.equal((await page.locator(`a[href="/jobs/${id}"]`).count()) > 0, true, id);
    await eventually(
      'the size chart',
      async () => (await page.locator('[data-chart=repo-size] canvas').count()) === 1,
      WAIT_MS,
    );
    await shot('repository');
    await darkShot('repository-dark');
  });

  it('shows a host with two repositories, the 3-2-1 line, and schedules that pick their repository', async () => {
    await page.goto(`${cp.url}/hosts/${webA.agentId}`);
    assert.equal(
      (await page.textContent('[data-testid=copies-line]'))?.trim(),
      '1 of 2 repositories hold a snapshot younger than 26 h',
    );
    const rows = page.locator('[data-testid=host-repository]');
    assert.equal(await rows.count(), 2);
    // The host's own repository first, then the shared one.
    assert.equal(await rows.nth(0).getAttribute('data-repository-id'), legacyRepositoryId(webA.agentId));
    assert.equal(await rows.nth(1).getAttribute('data-repository-id'), OFFSITE);
    assert.match(
      (await rows.nth(0).locator('[data-testid=host-repository-latest]').textContent()) ?? '',
      /2 h ago/,
    );
    assert.match(
      (await rows.nth(1).locator('[data-testid=host-repository-latest]').textContent()) ?? '',
      /3 d ago/,
    );
    assert.match((await rows.nth(1).textContent()) ?? '', new RegExp(webB.hostname));

    const select = page.locator('[data-testid=schedule-row] [data-testid=schedule-repository]').last();
    assert.deepEqual(
      await select.locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value)),
      [legacyRepositoryId(webA.agentId), OFFSITE],
    );
    const row = page.locator('[data-testid=schedule-row]').last();
    await row.locator('input[name$="[id]"]').fill('offsite-nightly');
    await row.locator('input[name$="[cron]"]').fill('0 3 * * *');
    await row.locator('textarea[name$="[paths]"]').fill('/srv');
    await select.selectOption(OFFSITE);
    await page.click('#schedules button[type=submit]');
    await page.waitForSelector('#schedules .notice.ok');
    const saved = await admin.get<{ schedules: Array<{ id: string; repository_id?: string }> }>(
      `/api/hosts/${webA.agentId}/schedules`,
    );
    assert.equal(saved.status, 200, JSON.stringify(saved.body));
    assert.equal(saved.body.schedules.find((s) => s.id === 'offsite-nightly')?.repository_id, OFFSITE);
    await page.reload();
    assert.equal(
      await page
        .locator('[data-testid=schedule-row]')
        .first()
        .locator('[data-testid=schedule-repository]')
        .inputValue(),
      OFFSITE,
    );
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot('host-two-repositories');
    await darkShot('host-two-repositories-dark');
  });

  it('lists every repository of a host on the dashboard, keeping "size unknown" for one without a report', async () => {
    await page.goto(`${cp.url}/`);
    const cellOf = async (hostId: string) =>
      (
        (await page
          .locator(`#fleet-live tr:has(a[href="/hosts/${hostId}"]) [data-testid=repository]`)
          .textContent()) ?? ''
      ).replace(/\s+/g, ' ');
    const a = await cellOf(webA.agentId);
    assert.match(a, new RegExp(`${webA.hostname} 1\\.3 GiB`));
    assert.match(a, /offsite 3\.0 GiB/);
    const b = await cellOf(webB.agentId);
    assert.match(b, new RegExp(`${webB.hostname} size unknown`));
    assert.match(b, /offsite 3\.0 GiB/);
    await shot('dashboard-repositories');
  });

  it('runs a job on a repository from its page, and says why a busy host cannot be detached nor the repository removed', async () => {
    await page.goto(`${cp.url}/repositories/${OFFSITE}`);
    await page.selectOption('#rj-kind', 'check');
    await page.selectOption('#rj-host', webA.agentId);
    await page.click('[data-testid=repository-run]');
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/).catch(async (err: unknown) => {
      throw new Error(`no job page: ${await page.innerText('#repository-run')}`, { cause: err });
    });
    const jobId = new URL(page.url()).pathname.split('/').pop() ?? '';
    await page.goto(`${cp.url}/repositories/${OFFSITE}`);
    assert.equal((await page.locator(`#repository-live a[href="/jobs/${jobId}"]`).count()) > 0, true);

    // web-b runs the prune: it cannot be detached, and the repository cannot be removed, until that ends.
    await page.click(`[data-testid="detach-${webB.agentId}"]`);
    await page.waitForSelector('[data-testid=attach-error]');
    assert.match(
      await page.innerText('[data-testid=attach-error]'),
      /wait for them to finish or cancel them before detaching it/,
    );
    page.once('dialog', (d) => void d.accept());
    await page.click('[data-testid=remove-repository]');
    await page.waitForSelector('#remove-result .field-error');
    assert.match(
      await page.innerText('#remove-result'),
      /repository offsite has .*; wait for them to finish or cancel them before removing it/,
    );
    assert.equal((await admin.get(`/api/repositories/${OFFSITE}`)).status, 200);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot('repository-forms');
  });

  it('shows a viewer the repositories without any form', async () => {
    const username = `viewer-${randomUUID().slice(0, 8)}`;
    const created = await admin.post('/api/users', {
      username,
      role: 'viewer',
      password: 'viewer-password-123',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const viewerContext = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    try {
      const viewer = await viewerContext.newPage();
      await signIn(viewer, cp.url, username, 'viewer-password-123');
      await viewer.goto(`${cp.url}/repositories`);
      assert.equal(await viewer.locator('[data-testid=repository-row]').count(), 3);
      assert.equal(
        await viewer
          .locator('form')
          .filter({ hasNot: viewer.locator('[action="/logout"]') })
          .count(),
        1,
      );
      await viewer.goto(`${cp.url}/repositories/${OFFSITE}`);
      assert.equal(
        await viewer
          .locator('#repository-settings, #repository-attach, #repository-run, #repository-remove')
          .count(),
        0,
      );
      // A viewer's post is refused by role, not by a form that happens to be missing.
      const csrf = await viewer.getAttribute('form[action="/logout"] input[type=hidden]', 'value');
      const res = await viewer.request.post(`${cp.url}/repositories/${OFFSITE}/remove`, {
        form: { _csrf: csrf ?? '' },
      });
      assert.equal(res.status(), 403);
    } finally {
      await viewerContext.close();
    }
  });
});
