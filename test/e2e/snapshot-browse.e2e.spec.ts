/**
 * Snapshot browse, search, diff, download and restore end to end
 * (docs/browse.md): the real control plane, two real agents — alpha on restic
 * 0.14 (Debian), bravo on 0.19 — each backing up to a local repository. Every
 * query runs through the agent that made the snapshot; downloads are compared
 * byte for byte with the originals and appear in the audit trail; a paused
 * client downloading a large file keeps both processes' memory flat, and
 * closing it stops restic.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import YAML from 'yaml';
import { legacyRepositoryId } from '@rf/events';
import { resticBinariesForTests } from '@rf/restic/testing';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { eventually, FleetAgent, resticPidsInGroup, sleep } from '../support/fleet';
import { RestClient } from '../support/rest-client';
import { jobFinished } from '../support/host-jobs';

const JOB_TIMEOUT = 120_000;
const REPO_PASSWORD = `browse-${Date.now()}-pw`;
/** The large file of the flow-control check: far more than any buffer on the way. */
const BIG_BYTES = 192 * 1024 * 1024;
/** RSS growth allowed while a paused client holds a download of BIG_BYTES. */
const RSS_SLACK_BYTES = 48 * 1024 * 1024;

interface Entry {
  name: string;
  type: string;
  size: number;
  mtime: string;
  mode: number;
}
interface TreeBody {
  path: string;
  snapshot_id: string;
  entries: Entry[];
  next_cursor?: string;
  cached: boolean;
}
interface DiffBody {
  added: Array<{ path: string; type: string }>;
  removed: Array<{ path: string; type: string }>;
  changed: Array<{ path: string; type: string; modifier: string }>;
  stats: { changed_files: number; added: { files: number }; removed: { files: number } };
}
interface Member {
  readonly name: string;
  readonly label: string;
  readonly agent: FleetAgent;
  readonly data: string;
  repo: string;
  first: string;
  second: string;
}

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Every file under `dir` as relative path → SHA-256. */
function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(dir, p), sha256(fs.readFileSync(p)));
    }
  };
  walk(dir);
  return out;
}

function makeData(dir: string): void {
  fs.mkdirSync(path.join(dir, 'docs', 'reports', '2026'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'photos'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'docs', 'reports', '2026', 'q3 résumé.pdf'), randomBytes(300_000));
  fs.writeFileSync(path.join(dir, 'docs', 'reports', 'summary.txt'), 'quarterly summary\n'.repeat(500));
  fs.writeFileSync(path.join(dir, 'docs', 'todo.txt'), 'write the report\n');
  fs.writeFileSync(path.join(dir, 'photos', 'cat.jpg'), randomBytes(50_000));
  fs.writeFileSync(path.join(dir, 'readme.md'), '# data\n');
}

describe('snapshot browse, search, diff, download and restore (e2e, real agents, restic 0.14 and 0.19)', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-browse-'));
  let cp: ControlPlaneProcess;
  let admin: RestClient;
  const members: Member[] = [];

  const member = (name: string): Member => members.find((m) => m.name === name)!;

  type JobOutcome = { status: string; error: string | null };

  async function runJob(m: Member, body: Record<string, unknown>): Promise<JobOutcome> {
    return waitJob(await admin.post<{ job_id: string }>(`/api/hosts/${m.agent.agentId}/jobs`, body));
  }

  /** A job through the repository's route (POST /api/repositories/{id}/jobs). */
  async function runRepositoryJob(repositoryId: string, body: Record<string, unknown>): Promise<JobOutcome> {
    return waitJob(await admin.post<{ job_id: string }>(`/api/repositories/${repositoryId}/jobs`, body));
  }

  async function waitJob(res: { status: number; body: { job_id: string } }): Promise<JobOutcome> {
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return jobFinished(admin, res.body.job_id, JOB_TIMEOUT);
  }

  /** Backs up the member's data and answers the new snapshot's full id. */
  async function backup(m: Member, known: readonly string[]): Promise<string> {
    const done = await runJob(m, { kind: 'backup', paths: [m.data] });
    assert.equal(done.status, 'succeeded', done.error ?? '');
    return eventually(
      `${m.name}'s new snapshot listed`,
      async () => {
        const res = await admin.get<{ snapshots: Array<{ id: string }> }>(
          `/api/hosts/${m.agent.agentId}/snapshots`,
        );
        return res.body.snapshots.map((s) => s.id).find((id) => !known.includes(id));
      },
      30_000,
    );
  }

  const treeUrl = (m: Member, sid: string, p: string, extra = ''): string =>
    `/api/repositories/${m.repo}/snapshots/${sid}/tree?path=${encodeURIComponent(p)}${extra}`;
  const downloadUrl = (m: Member, sid: string, p: string, extra = ''): string =>
    `/api/repositories/${m.repo}/snapshots/${sid}/download?path=${encodeURIComponent(p)}${extra}`;

  /** GET with the admin's cookie, the body as bytes. */
  async function fetchBytes(url: string): Promise<{ status: number; headers: Headers; body: Buffer }> {
    const res = await fetch(cp.url + url, {
      headers: { cookie: admin.cookieHeader() },
      signal: AbortSignal.timeout(60_000),
    });
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
  }

  before(async () => {
    const bins = resticBinariesForTests();
    const r014 = bins.find((b) => b.label === '0.14');
    const r019 = bins.find((b) => b.label === '0.19');
    assert.ok(r014 && r019, 'restic 0.14 (/usr/bin) and 0.19 (.cache/restic) are both needed');
    fs.mkdirSync(path.join(root, 'cp'));
    cp = await ControlPlaneProcess.start({ dataDir: path.join(root, 'cp'), startTimeoutMs: 60_000 });
    admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
    for (const [name, bin] of [
      ['alpha', r014],
      ['bravo', r019],
    ] as const) {
      const data = path.join(root, 'data', name);
      makeData(data);
      const agent = new FleetAgent({ dir: path.join(root, 'agents', name), resticBin: bin.bin });
      await agent.enrol(admin, cp.url);
      agent.start();
      members.push({ name, label: bin.label, agent, data, repo: '', first: '', second: '' });
    }
    for (const m of members) {
      await eventually(
        `${m.name} online`,
        async () => (await admin.get<{ online: boolean }>(`/api/hosts/${m.agent.agentId}`)).body.online,
        30_000,
      );
      const put = await admin.put(`/api/hosts/${m.agent.agentId}/repository`, {
        url: path.join(root, 'repos', m.name),
        password: REPO_PASSWORD,
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      m.repo = legacyRepositoryId(m.agent.agentId);
      const init = await runJob(m, { kind: 'init' });
      assert.equal(init.status, 'succeeded', init.error ?? '');
    }
    // alpha also holds the large file of the flow-control check.
    const big = fs.openSync(path.join(member('alpha').data, 'big.bin'), 'w');
    for (let written = 0; written < BIG_BYTES; written += 8 * 1024 * 1024)
      fs.writeSync(big, randomBytes(8 * 1024 * 1024));
    fs.closeSync(big);
    for (const m of members) m.first = await backup(m, []);
  });

  after(async () => {
    for (const m of members) await m.agent.stop();
    await cp?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  for (const name of ['alpha', 'bravo']) {
    it(`${name}: walks the tree down to a nested file; the second visit comes from the cache`, async () => {
      const m = member(name);
      const rootPage = await admin.get<TreeBody>(treeUrl(m, m.first, '/'));
      assert.equal(rootPage.status, 200, JSON.stringify(rootPage.body));
      assert.equal(rootPage.body.snapshot_id, m.first);
      // Walk from / along the data directory's absolute path, then into docs/reports/2026.
      const segments = [...m.data.split('/').filter(Boolean), 'docs', 'reports', '2026'];
      let at = '/';
      for (const seg of segments) {
        const page = await admin.get<TreeBody>(treeUrl(m, m.first, at));
        assert.equal(page.status, 200, `${at}: ${JSON.stringify(page.body)}`);
        const dir = page.body.entries.find((e) => e.name === seg);
        assert.ok(dir, `${at} lists ${seg}: ${page.body.entries.map((e) => e.name).join(', ')}`);
        assert.equal(dir.type, 'dir');
        at = at === '/' ? `/${seg}` : `${at}/${seg}`;
      }
      const leaf = await admin.get<TreeBody>(treeUrl(m, m.first, at));
      assert.equal(leaf.body.cached, false, 'the first visit asked the agent');
      assert.deepEqual(
        leaf.body.entries.map((e) => [e.name, e.type, e.size, e.mode]),
        [['q3 résumé.pdf', 'file', 300_000, 0o644]],
      );
      assert.match(leaf.body.entries[0]!.mtime, /^\d{4}-\d\d-\d\dT/);
      const again = await admin.get<TreeBody>(treeUrl(m, m.first, at));
      assert.equal(again.body.cached, true, 'the second visit came from the cache');
      assert.deepEqual(again.body.entries, leaf.body.entries);
      // Paging: one entry per page through docs/.
      const docs = `${m.data}/docs`;
      const names: string[] = [];
      let cursor = '';
      for (let i = 0; i < 10; i++) {
        const page = await admin.get<TreeBody>(treeUrl(m, m.first, docs, `&limit=1${cursor}`));
        names.push(...page.body.entries.map((e) => e.name));
        if (!page.body.next_cursor) break;
        cursor = `&cursor=${page.body.next_cursor}`;
      }
      assert.deepEqual(names, ['reports', 'todo.txt']);
      const missing = await admin.get<{ error: { code: string } }>(treeUrl(m, m.first, `${m.data}/nope`));
      assert.equal(missing.status, 404);
    });

    it(`${name}: downloads a file with its name, type and length, byte for byte`, async () => {
      const m = member(name);
      const file = path.join(m.data, 'docs', 'reports', '2026', 'q3 résumé.pdf');
      const res = await fetchBytes(downloadUrl(m, m.first, file));
      assert.equal(res.status, 200, res.body.toString().slice(0, 300));
      assert.equal(res.headers.get('content-type'), 'application/pdf');
      assert.equal(res.headers.get('content-length'), '300000');
      assert.equal(
        res.headers.get('content-disposition'),
        `attachment; filename="q3 r_sum_.pdf"; filename*=UTF-8''q3%20r%C3%A9sum%C3%A9.pdf`,
      );
      assert.equal(sha256(res.body), sha256(fs.readFileSync(file)));
    });

    it(`${name}: downloads a folder as a tar, and as a zip, with every member intact`, async () => {
      const m = member(name);
      const folder = path.join(m.data, 'docs');
      const tarRes = await fetchBytes(downloadUrl(m, m.first, folder));
      assert.equal(tarRes.status, 200, tarRes.body.toString().slice(0, 300));
      assert.equal(tarRes.headers.get('content-type'), 'application/x-tar');
      assert.match(tarRes.headers.get('content-disposition') ?? '', /filename="docs\.tar"/);
      const out = path.join(root, `untar-${name}`);
      fs.mkdirSync(out, { recursive: true });
      fs.writeFileSync(path.join(out, 'docs.tar'), tarRes.body);
      const untar = spawnSync('tar', ['-xf', 'docs.tar'], { cwd: out });
      assert.equal(untar.status, 0, untar.stderr.toString());
      assert.deepEqual(tree(path.join(out, m.data.slice(1), 'docs')), tree(folder));
      const zipRes = await fetchBytes(downloadUrl(m, m.first, folder, '&format=zip'));
      assert.equal(zipRes.status, 200);
      assert.equal(zipRes.headers.get('content-type'), 'application/zip');
      assert.equal(zipRes.body.subarray(0, 4).toString('latin1'), 'PK\x03\x04');
    });
  }

  it('the admin UI: Browse from a snapshot row, breadcrumbs down to the file, a download link', async () => {
    const m = member('alpha');
    const shots = '/work/shots/browse';
    fs.mkdirSync(shots, { recursive: true });
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    try {
      const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
      page.setDefaultTimeout(30_000);
      await page.goto(`${cp.url}/login`);
      await page.fill('#username', ADMIN_USER);
      await page.fill('#password', ADMIN_PASSWORD);
      await page.click('button[type=submit]');
      await page.waitForURL(`${cp.url}/`);
      await page.goto(`${cp.url}/hosts/${encodeURIComponent(m.agent.agentId)}`);
      await page.click('[data-testid=browse-snapshot]');
      await page.waitForSelector('[data-testid=browse-table]');
      for (const seg of [...m.data.split('/').filter(Boolean), 'docs', 'reports']) {
        await page.click(`[data-testid=dir-link]:has-text("${seg}/")`);
        await page.waitForSelector(`[data-testid=breadcrumbs] [aria-current=page]:has-text("${seg}")`);
      }
      const rows = await page.locator('[data-testid=browse-table] tbody tr').allTextContents();
      assert.ok(
        rows.some((r) => r.includes('summary.txt') && r.includes('Download')),
        rows.join(' | '),
      );
      assert.ok(
        rows.some((r) => r.includes('2026/')),
        rows.join(' | '),
      );
      await page.screenshot({ path: path.join(shots, 'browser.png'), fullPage: true });
      const href = await page.getAttribute('[data-testid=file-download]', 'href');
      assert.ok(href?.includes('/download?path='), String(href));
      // A crumb goes back up.
      await page.click(`[data-testid=breadcrumbs] a:has-text("docs")`);
      await page.waitForSelector('[data-testid=breadcrumbs] [aria-current=page]:has-text("docs")');
      await page.goto(`${cp.url}/hosts/${encodeURIComponent(m.agent.agentId)}`);
      await page.screenshot({ path: path.join(shots, 'host-snapshots.png'), fullPage: true });
      // The host page's restore form: alpha has restic 0.14, so it says what a dry run and an overwrite policy need.
      await page.click('summary:has-text("Restore a snapshot")');
      await page.fill('#restore-target', path.join(root, 'ui-restore'));
      await page.selectOption('#restore-overwrite', 'if-newer');
      await page.click('[data-testid=restore-preview-button]');
      await page.waitForSelector('#restore-err-preview');
      assert.match((await page.textContent('#restore-err-preview')) ?? '', /needs restic ≥ 0\.17/);
      assert.match((await page.textContent('#restore-err-overwrite')) ?? '', /needs restic ≥ 0\.17/);
      assert.equal(fs.existsSync(path.join(root, 'ui-restore')), false, 'nothing ran');
      await page.screenshot({ path: path.join(shots, 'restore-dialog.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });

  it('change one file, add one, delete one, back up again: the diff shows exactly those three (both versions)', async () => {
    for (const m of members) {
      fs.writeFileSync(path.join(m.data, 'docs', 'todo.txt'), 'report written\n');
      fs.writeFileSync(path.join(m.data, 'photos', 'dog.jpg'), randomBytes(20_000));
      fs.rmSync(path.join(m.data, 'readme.md'));
      m.second = await backup(m, [m.first]);
      const res = await admin.get<DiffBody>(
        `/api/repositories/${m.repo}/diff?from=${m.first}&to=${m.second}`,
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.added, [{ path: `${m.data}/photos/dog.jpg`, type: 'file' }], m.label);
      assert.deepEqual(res.body.removed, [{ path: `${m.data}/readme.md`, type: 'file' }], m.label);
      assert.deepEqual(
        res.body.changed,
        [{ path: `${m.data}/docs/todo.txt`, type: 'file', modifier: 'M' }],
        m.label,
      );
      assert.equal(res.body.stats.added.files, 1);
      assert.equal(res.body.stats.removed.files, 1);
    }
  });

  it('the admin UI: Compare… shows the three changes between the two snapshots', async () => {
    const m = member('bravo');
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    try {
      const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
      page.setDefaultTimeout(30_000);
      await page.goto(`${cp.url}/login`);
      await page.fill('#username', ADMIN_USER);
      await page.fill('#password', ADMIN_PASSWORD);
      await page.click('button[type=submit]');
      await page.waitForURL(`${cp.url}/`);
      await page.goto(`${cp.url}/hosts/${encodeURIComponent(m.agent.agentId)}`);
      await page.click('[data-testid=compare-snapshots]');
      await page.waitForSelector('[data-testid=compare-stats]');
      const kinds = await page.$$eval('[data-testid=compare-table] tbody tr', (trs) =>
        trs.map((tr) => `${tr.getAttribute('data-kind')} ${tr.getAttribute('data-path')}`),
      );
      assert.deepEqual(kinds, [
        `added ${m.data}/photos/dog.jpg`,
        `removed ${m.data}/readme.md`,
        `changed ${m.data}/docs/todo.txt`,
      ]);
      await page.screenshot({ path: path.join('/work/shots/browse', 'compare.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });

  it('search finds a file in both snapshots (both versions)', async () => {
    for (const m of members) {
      const res = await admin.get<{ matches: Array<{ snapshot_id: string; path: string; size: number }> }>(
        `/api/repositories/${m.repo}/find?pattern=${encodeURIComponent('summary.txt')}`,
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const where = `${m.data}/docs/reports/summary.txt`;
      assert.deepEqual(
        res.body.matches.map((x) => [x.snapshot_id, x.path, x.size]).sort(),
        [
          [m.first, where, 9000],
          [m.second, where, 9000],
        ].sort(),
        m.label,
      );
    }
  });

  it('each download is in the audit trail: who fetched which path of which snapshot', async () => {
    const m = member('alpha');
    const res = await admin.get<{
      lines: Array<{ action: string; actor: string; summary: string; stream: string }>;
    }>(`/api/audit?stream=${encodeURIComponent(`repository-${m.repo}`)}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const downloads = res.body.lines.filter((l) => l.action === 'SnapshotDownloaded');
    assert.equal(downloads.length, 3, JSON.stringify(downloads));
    for (const l of downloads) assert.equal(l.actor, ADMIN_USER);
    assert.ok(
      downloads.some((l) => l.summary.includes('q3 résumé.pdf') && l.summary.includes(m.first.slice(0, 8))),
      JSON.stringify(downloads),
    );
    assert.ok(
      downloads.some((l) => l.summary.includes(`${m.data}/docs as .zip`)),
      JSON.stringify(downloads),
    );
  });

  it('a viewer may browse but not download', async () => {
    const m = member('alpha');
    const created = await admin.post('/api/users', {
      username: 'browse-viewer',
      role: 'viewer',
      password: 'viewer-password-123',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const viewer = await RestClient.login(cp.url, 'browse-viewer', 'viewer-password-123');
    assert.equal((await viewer.get(treeUrl(m, m.first, '/'))).status, 200);
    assert.equal((await viewer.get(downloadUrl(m, m.first, `${m.data}/docs/todo.txt`))).status, 403);
  });

  it('a paused client downloading a large file keeps control-plane and agent memory flat; closing it stops restic', async () => {
    const m = member('alpha');
    const agentPid = m.agent.pid!;
    const cpPid = cp.child.pid!;
    const base = { cp: rssBytes(cpPid), agent: rssBytes(agentPid) };
    const url = new URL(cp.url + downloadUrl(m, m.first, `${m.data}/big.bin`));
    let received = 0;
    const req = http.get(url, { headers: { cookie: admin.cookieHeader() } });
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-length'], String(BIG_BYTES));
    // Read a little, then stop reading: the client is "paused".
    await new Promise<void>((resolve) => {
      const onData = (chunk: Buffer): void => {
        received += chunk.length;
        if (received >= 4 * 1024 * 1024) {
          res.off('data', onData);
          res.pause();
          resolve();
        }
      };
      res.on('data', onData);
    });
    const peak = { cp: 0, agent: 0 };
    for (let i = 0; i < 16; i++) {
      await sleep(500);
      peak.cp = Math.max(peak.cp, rssBytes(cpPid));
      peak.agent = Math.max(peak.agent, rssBytes(agentPid));
    }
    const resticPids = resticPidsInGroup(agentPid);
    assert.equal(resticPids.length, 1, 'restic is still running, blocked on its output');
    const growth = { cp: peak.cp - base.cp, agent: peak.agent - base.agent };
    console.log(
      `# flow control: ${BIG_BYTES / 1048576} MiB file, client paused after ${(received / 1048576).toFixed(1)} MiB; ` +
        `RSS control plane ${(base.cp / 1048576).toFixed(1)} -> peak ${(peak.cp / 1048576).toFixed(1)} MiB, ` +
        `agent ${(base.agent / 1048576).toFixed(1)} -> peak ${(peak.agent / 1048576).toFixed(1)} MiB`,
    );
    assert.ok(growth.cp < RSS_SLACK_BYTES, `control plane RSS grew by ${growth.cp} bytes`);
    assert.ok(growth.agent < RSS_SLACK_BYTES, `agent RSS grew by ${growth.agent} bytes`);
    req.destroy();
    await eventually(
      'restic to stop after the client went away',
      () => resticPidsInGroup(agentPid).length === 0,
      20_000,
      100,
    );
    // The agent is still fine: the next query answers.
    const page = await admin.get<TreeBody>(treeUrl(m, m.first, m.data));
    assert.equal(page.status, 200);
  });

  it('restores a folder onto the other host, and a dry run needs restic 0.17+', async () => {
    const alpha = member('alpha');
    const bravo = member('bravo');
    // bravo (restic 0.19) is attached to alpha's repository, then restores alpha's docs there.
    const attach = await admin.post(`/api/repositories/${alpha.repo}/hosts`, {
      host_id: bravo.agent.agentId,
    });
    assert.equal(attach.status, 200, JSON.stringify(attach.body));
    const target = path.join(root, 'restored');
    const dry = await runRepositoryJob(alpha.repo, {
      kind: 'restore',
      host_id: bravo.agent.agentId,
      snapshot_id: alpha.first,
      target,
      include: [`${alpha.data}/docs`],
      dry_run: true,
    });
    assert.equal(dry.status, 'succeeded', dry.error ?? '');
    assert.equal(fs.existsSync(target), false, 'a dry run writes nothing');
    const real = await runRepositoryJob(alpha.repo, {
      // The names of the restore contract (docs/browse.md); the dry run above uses host_id/snapshot_id.
      kind: 'restore',
      target_host_id: bravo.agent.agentId,
      snapshot: alpha.first,
      target,
      include: [`${alpha.data}/docs`],
      overwrite: 'always',
    });
    assert.equal(real.status, 'succeeded', real.error ?? '');
    const restored = tree(path.join(target, alpha.data.slice(1), 'docs'));
    assert.equal(restored.get('todo.txt'), sha256('write the report\n'), 'the first snapshot’s version');
    assert.equal(
      restored.get(path.join('reports', 'summary.txt')),
      sha256('quarterly summary\n'.repeat(500)),
    );
    assert.equal(restored.size, 3);
    const old = await runJob(alpha, { kind: 'restore', snapshot_id: alpha.first, target, dry_run: true });
    assert.equal(old.status, 'failed');
    assert.match(old.error ?? '', /needs restic 0\.17 or newer on this host; it has 0\.14/);
  });

  it("a query's answer upload is refused without the agent's credential, for a query that is not open, and without the upgrade", async () => {
    const m = member('alpha');
    const doc = YAML.parse(fs.readFileSync(m.agent.configPath, 'utf8')) as {
      agent_id: string;
      agent_secret: string;
    };
    const bearer = `Bearer ${doc.agent_id}.${doc.agent_secret}`;
    const attempt = (headers: Record<string, string>): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = http.request(new URL(`${cp.url}/agent/queries/${randomUUID()}`), {
          headers,
          timeout: 10_000,
        });
        req.once('upgrade', (res, socket) => {
          socket.destroy();
          resolve(res.statusCode ?? 101);
        });
        req.once('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.once('timeout', () => req.destroy(new Error('no answer')));
        req.once('error', reject);
        req.end();
      });
    const upgrade = { Connection: 'Upgrade', Upgrade: 'restic-fleet-query', 'X-Query-Token': 'x'.repeat(43) };
    assert.equal(await attempt(upgrade), 401, 'no credential');
    assert.equal(await attempt({ ...upgrade, Authorization: `${bearer}x` }), 401, 'a wrong secret');
    assert.equal(await attempt({ ...upgrade, Authorization: bearer }), 404, 'no such query open');
    assert.equal(
      await attempt({ ...upgrade, Upgrade: 'websocket', Authorization: bearer }),
      400,
      'not the upload protocol',
    );
  });
});
