/**
 * The snapshot pages in a real browser (docs/browse.md): the real control
 * plane, two real agents — alpha on restic 0.14 (Debian) took the snapshots,
 * bravo on 0.19 is attached to alpha's repository — and Debian's chromium.
 * Keyboard navigation down to a nested file and its download (bytes checked),
 * search, the compare view's size deltas, and the restore dialog onto bravo
 * with a dry-run preview and then the real restore and its job page. Light and
 * dark screenshots go to /work/shots/browse-ui.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { legacyRepositoryId } from '@rf/events';
import { resticBinariesForTests } from '@rf/restic/testing';
import { launchChromium, signIn } from '../support/browser';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { eventually, FleetAgent } from '../support/fleet';
import { RestClient } from '../support/rest-client';

const JOB_TIMEOUT = 120_000;
const SHOTS = '/work/shots/browse-ui';
const VIEWER = { username: 'viewer-1', password: 'viewer-password-123' };

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

describe('snapshot browser, search, compare and restore dialog in a browser (e2e, real agents and restic)', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-browse-ui-'));
  let cp: ControlPlaneProcess;
  let admin: RestClient;
  let browser: Browser;
  let page: Page;
  let alpha: FleetAgent;
  let bravo: FleetAgent;
  let repo = '';
  let first = '';
  let second = '';
  const data = path.join(root, 'data');
  const pdf = path.join(data, 'docs', 'reports', '2026', 'q3 résumé.pdf');

  async function runJob(hostId: string, body: Record<string, unknown>): Promise<string> {
    const res = await admin.post<{ job_id: string }>(`/api/hosts/${hostId}/jobs`, body);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return eventually(
      `job ${res.body.job_id}`,
      async () => {
        const j = await admin.get<{ status: string; error: string | null }>(`/api/jobs/${res.body.job_id}`);
        if (['failed', 'cancelled', 'lost'].includes(j.body.status))
          throw new Error(`job ${res.body.job_id} ${j.body.status}: ${j.body.error ?? ''}`);
        return j.body.status === 'succeeded' ? j.body.status : undefined;
      },
      JOB_TIMEOUT,
      250,
    );
  }

  async function backup(known: readonly string[]): Promise<string> {
    await runJob(alpha.agentId, { kind: 'backup', paths: [data] });
    return eventually(
      'the new snapshot listed',
      async () => {
        const res = await admin.get<{ snapshots: Array<{ id: string }> }>(
          `/api/hosts/${alpha.agentId}/snapshots`,
        );
        return res.body.snapshots.map((s) => s.id).find((id) => !known.includes(id));
      },
      30_000,
    );
  }

  async function login(username: string, password: string): Promise<Page> {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 860 },
      acceptDownloads: true,
    });
    const p = await context.newPage();
    p.setDefaultTimeout(30_000);
    await signIn(p, cp.url, username, password);
    return p;
  }

  /** A full-page screenshot in the light theme, then the dark one. */
  async function shots(name: string): Promise<void> {
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.screenshot({ path: path.join(SHOTS, `${name}-${scheme}.png`), fullPage: true });
    }
    await page.emulateMedia({ colorScheme: 'light' });
  }

  /** Waits for the folder `name` to be the page shown, with its scripts running. */
  async function inFolder(name: string): Promise<void> {
    await page.waitForSelector(`[data-testid=breadcrumbs] [aria-current=page]:has-text("${name}")`);
    await page.waitForLoadState('load');
  }

  /** Waits for the keyboard focus to be on the row of `name`. */
  async function focusOn(name: string): Promise<void> {
    await page.waitForFunction((n) => document.activeElement?.getAttribute('data-name') === n, name);
  }

  /** Moves the browser's selection (and focus) to `name` with the arrow keys and j/k. */
  async function selectByKeys(name: string): Promise<void> {
    if ((await page.evaluate(() => document.activeElement?.tagName)) !== 'TR')
      await page.keyboard.press('Home');
    const names = await page.$$eval('table.browse tbody tr', (rows) =>
      rows.map((r) => [r.getAttribute('data-name') ?? '', r.getAttribute('aria-selected') ?? '']),
    );
    const from = names.findIndex(([, sel]) => sel === 'true');
    const to = names.findIndex(([n]) => n === name);
    assert.ok(to >= 0, `${name} is listed: ${names.map(([n]) => n).join(', ')}`);
    for (let i = from; i < to; i++) await page.keyboard.press(i % 2 ? 'j' : 'ArrowDown');
    for (let i = from; i > to; i--) await page.keyboard.press(i % 2 ? 'k' : 'ArrowUp');
    assert.equal(
      await page.getAttribute(`table.browse tbody tr[data-name="${name}"]`, 'aria-selected'),
      'true',
    );
  }

  before(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    const bins = resticBinariesForTests();
    const r014 = bins.find((b) => b.label === '0.14');
    const r019 = bins.find((b) => b.label === '0.19');
    assert.ok(r014 && r019, 'restic 0.14 (/usr/bin) and 0.19 (.cache/restic) are both needed');
    fs.mkdirSync(path.join(data, 'docs', 'reports', '2026'), { recursive: true });
    fs.mkdirSync(path.join(data, 'photos'), { recursive: true });
    fs.writeFileSync(pdf, Buffer.from(Array.from({ length: 120_000 }, (_, i) => (i * 7919) % 251)));
    fs.writeFileSync(path.join(data, 'docs', 'reports', 'summary.txt'), 'quarterly summary\n'.repeat(500));
    fs.writeFileSync(path.join(data, 'docs', 'todo.txt'), 'write the report\n');
    fs.writeFileSync(path.join(data, 'photos', 'cat.jpg'), Buffer.alloc(50_000, 7));
    fs.writeFileSync(path.join(data, 'readme.md'), '# data\n');
    fs.mkdirSync(path.join(root, 'cp'));
    cp = await ControlPlaneProcess.start({ dataDir: path.join(root, 'cp'), startTimeoutMs: 60_000 });
    admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
    const created = await admin.post('/api/users', { ...VIEWER, role: 'viewer' });
    assert.ok(created.status === 201 || created.status === 200, JSON.stringify(created.body));
    alpha = new FleetAgent({ dir: path.join(root, 'agents', 'alpha'), resticBin: r014.bin });
    bravo = new FleetAgent({ dir: path.join(root, 'agents', 'bravo'), resticBin: r019.bin });
    for (const a of [alpha, bravo]) {
      await a.enrol(admin, cp.url);
      a.start();
      await eventually(
        'agent online',
        async () => (await admin.get<{ online: boolean }>(`/api/hosts/${a.agentId}`)).body.online,
        30_000,
      );
    }
    const put = await admin.put(`/api/hosts/${alpha.agentId}/repository`, {
      url: path.join(root, 'repo'),
      password: `browse-ui-${Date.now()}`,
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    repo = legacyRepositoryId(alpha.agentId);
    await runJob(alpha.agentId, { kind: 'init' });
    first = await backup([]);
    // One change of each kind, then the second snapshot.
    fs.writeFileSync(path.join(data, 'docs', 'todo.txt'), 'report written\n');
    fs.writeFileSync(path.join(data, 'photos', 'dog.jpg'), Buffer.alloc(20_000, 3));
    fs.rmSync(path.join(data, 'readme.md'));
    second = await backup([first]);
    const attach = await admin.post(`/api/repositories/${repo}/hosts`, { host_id: bravo.agentId });
    assert.equal(attach.status, 200, JSON.stringify(attach.body));
    browser = await launchChromium();
    page = await login(ADMIN_USER, ADMIN_PASSWORD);
  });

  after(async () => {
    await browser?.close();
    for (const a of [alpha, bravo]) await a?.stop();
    await cp?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('walks to a nested file by keyboard alone and downloads it, byte for byte', async () => {
    await page.goto(`${cp.url}/hosts/${encodeURIComponent(alpha.agentId)}`);
    await page.click('[data-testid=browse-snapshot]'); // the newest snapshot's row
    await page.waitForSelector('table.browse[role=grid]');
    assert.match(page.url(), new RegExp(`/repositories/${repo}/snapshots/${second}/browse`));
    for (const seg of [...data.split('/').filter(Boolean), 'docs', 'reports', '2026']) {
      await selectByKeys(seg);
      await page.keyboard.press('Enter');
      await inFolder(seg);
    }
    await selectByKeys('q3 résumé.pdf');
    const focused = await page.evaluate(() => document.activeElement?.getAttribute('data-name'));
    assert.equal(focused, 'q3 résumé.pdf', 'the selected row has the focus');
    await shots('browser');
    const download = page.waitForEvent('download');
    await page.keyboard.press('Enter');
    const file = await (await download).path();
    assert.equal(sha256(fs.readFileSync(file)), sha256(fs.readFileSync(pdf)));
    // Backspace goes up, with the folder we came from selected; h goes up again.
    await page.keyboard.press('Backspace');
    await inFolder('reports');
    assert.equal(await page.getAttribute('tr[data-name="2026"]', 'aria-selected'), 'true');
    await focusOn('2026');
    await page.keyboard.press('h');
    await inFolder('docs');
    assert.equal(await page.getAttribute('tr[data-name="reports"]', 'aria-selected'), 'true');
    await focusOn('reports');
  });

  it('"/" focuses the search; it finds a file in both snapshots and opens its folder', async () => {
    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'browse-search');
    await page.keyboard.type('summary.txt');
    // Held back a moment, the search shows its working line (the screenshot of the loading state).
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/search?**', async (route) => {
      await held;
      await route.continue();
    });
    await page.keyboard.press('Enter');
    await page.waitForSelector('#search-busy.htmx-request', { state: 'visible' });
    await shots('search-loading');
    release();
    await page.waitForSelector('[data-testid=search-table]');
    await page.unroute('**/search?**');
    const rows = await page.locator('[data-testid=search-table] tbody tr').allTextContents();
    assert.equal(rows.length, 2, rows.join(' | '));
    for (const sid of [first, second])
      assert.ok(
        rows.some(
          (r) => r.includes(sid.slice(0, 8)) && r.includes('reports/summary.txt') && r.includes('8.8 KiB'),
        ),
        rows.join(' | '),
      );
    await shots('search');
    const none = page.locator('#browse-search');
    await none.fill('no-such-file-*.xyz');
    await none.press('Enter');
    await page.waitForSelector('[data-testid=search-results]:has-text("No snapshot holds a match")');
    await none.fill('summary.txt');
    await none.press('Enter');
    await page.waitForSelector('[data-testid=search-open]');
    await page.locator('[data-testid=search-open]').first().click();
    await inFolder('reports');
    assert.equal(await page.getAttribute('tr[data-name="summary.txt"]', 'aria-selected'), 'true');
  });

  it('compare shows the three changes with their size deltas and totals, filtered by kind', async () => {
    await page.goto(`${cp.url}/hosts/${encodeURIComponent(alpha.agentId)}`);
    await page.click('summary:has-text("Restore a snapshot")');
    assert.equal(await page.inputValue('#restore-snapshot'), second, 'the newest snapshot first');
    await shots('host-restore');
    await page.click('[data-testid=compare-snapshots]');
    await page.waitForSelector('[data-testid=compare-table]');
    const rows = await page.$$eval('[data-testid=compare-table] tbody tr', (trs) =>
      trs.map((tr) => [
        tr.getAttribute('data-kind') ?? '',
        tr.getAttribute('data-path') ?? '',
        tr.querySelector('[data-testid=delta]')?.textContent?.trim() ?? '',
      ]),
    );
    assert.deepEqual(rows, [
      ['added', `${data}/photos/dog.jpg`, '+19.5 KiB'],
      ['removed', `${data}/readme.md`, '\u22127 B'],
      ['changed', `${data}/docs/todo.txt`, '\u22122 B'],
    ]);
    assert.equal((await page.textContent('[data-testid=total-net]'))?.trim(), '+19.5 KiB');
    await shots('compare');
    await page.click('[data-testid=filter-removed]');
    assert.deepEqual(
      await page.$$eval('[data-testid=compare-table] tbody tr:not([hidden])', (trs) =>
        trs.map((tr) => tr.getAttribute('data-kind')),
      ),
      ['removed'],
    );
    assert.equal(await page.getAttribute('[data-testid=filter-removed]', 'aria-pressed'), 'true');
  });

  it('restore dialog: a folder onto the second host, dry-run preview, then the restore and its job page', async () => {
    const target = path.join(root, 'restored');
    const docs = `${data}/docs`;
    await page.goto(
      `${cp.url}/repositories/${repo}/snapshots/${first}/browse?path=${encodeURIComponent(docs)}`,
    );
    await page.click('[data-testid=restore-open]');
    await page.waitForSelector('dialog#restore-dialog[open] [data-testid=restore-form]');
    assert.equal(await page.inputValue('#restore-include'), docs, 'restore this folder');
    // The origin (alpha, restic 0.14) comes first; the dialog says it cannot do a dry run.
    assert.equal(await page.inputValue('#restore-host'), alpha.agentId);
    assert.match(
      (await page.textContent('[data-testid=restore-old-restic]')) ?? '',
      /restic 0\.14\.\d+: a dry-run preview and an overwrite policy need restic ≥ 0\.17/,
    );
    await page.click('[data-testid=restore-preview-button]');
    await page.waitForSelector('#restore-err-preview');
    assert.match((await page.textContent('#restore-err-preview')) ?? '', /needs restic ≥ 0\.17/);
    await shots('restore-dialog-old-restic');
    // bravo (restic 0.19): no note; an empty target is refused next to its field.
    await page.selectOption('#restore-host', bravo.agentId);
    assert.equal(await page.isHidden('[data-testid=restore-old-restic]'), true);
    await page.click('[data-testid=restore-start]');
    await page.waitForSelector('#restore-err-target');
    assert.match((await page.textContent('#restore-err-target')) ?? '', /^target: /);
    assert.equal(await page.getAttribute('#restore-target', 'aria-invalid'), 'true');
    assert.equal(await page.inputValue('#restore-host'), bravo.agentId, 'the choice survives the refusal');
    await page.fill('#restore-target', target);
    await page.click('[data-testid=restore-preview-button]');
    await page.waitForSelector('[data-testid=restore-preview][data-status=succeeded]', {
      timeout: JOB_TIMEOUT,
    });
    assert.match((await page.textContent('[data-testid=restore-preview-total]')) ?? '', /^3 files, /);
    const listed = await page.locator('[data-testid=restore-preview] tbody tr').allTextContents();
    for (const f of ['todo.txt', 'summary.txt', 'q3 résumé.pdf'])
      assert.ok(
        listed.some((l) => l.includes(f)),
        listed.join(' | '),
      );
    assert.equal(fs.existsSync(target), false, 'a dry run writes nothing');
    await shots('restore-dialog');
    await page.click('[data-testid=restore-start]');
    await page.waitForURL(/\/jobs\/[^/]+$/);
    await page.waitForSelector('[data-testid=job-status]:has-text("succeeded")', { timeout: JOB_TIMEOUT });
    await shots('restore-job');
    const restored = path.join(target, data.slice(1), 'docs');
    assert.equal(fs.readFileSync(path.join(restored, 'todo.txt'), 'utf8'), 'write the report\n');
    assert.equal(
      sha256(fs.readFileSync(path.join(restored, 'reports', '2026', 'q3 résumé.pdf'))),
      sha256(fs.readFileSync(pdf)),
    );
    assert.equal(fs.existsSync(path.join(target, data.slice(1), 'photos')), false, 'only the folder');
  });

  it('a viewer opens snapshots from the repository page, browses and searches, but sees no download or restore action', async () => {
    const viewer = await login(VIEWER.username, VIEWER.password);
    try {
      await viewer.goto(
        `${cp.url}/repositories/${repo}/snapshots/${first}/browse?path=${encodeURIComponent(`${data}/docs`)}`,
      );
      await viewer.waitForSelector('table.browse[role=grid]');
      for (const sel of [
        '[data-testid=restore-open]',
        '[data-testid=file-download]',
        '[data-testid=download-folder-tar]',
        'dialog#restore-dialog',
      ])
        assert.equal(await viewer.locator(sel).count(), 0, sel);
      const dialog = await viewer.request.get(
        `${cp.url}/ui/partials/repositories/${repo}/restore?snapshot=${first}`,
      );
      assert.equal(dialog.status(), 403);
      // The repository page lists every host's snapshots of the repository; each opens in the browser.
      await viewer.goto(`${cp.url}/repositories/${repo}`);
      assert.equal(await viewer.locator('[data-testid=repository-snapshots] tbody tr').count(), 2);
      await viewer.locator('[data-testid=repository-browse-snapshot]').first().click();
      await viewer.waitForSelector('table.browse[role=grid]');
      assert.match(viewer.url(), new RegExp(`/repositories/${repo}/snapshots/${second}/browse`));
      await viewer.fill('#browse-search', 'todo.txt');
      await viewer.press('#browse-search', 'Enter');
      await viewer.waitForSelector('[data-testid=search-open]');
      assert.equal(await viewer.locator('[data-testid=search-download]').count(), 0);
    } finally {
      await viewer.context().close();
    }
  });
});
