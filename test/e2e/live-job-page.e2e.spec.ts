import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, signIn } from '../support/browser';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess, repoRoot } from '../support/control-plane.process';
import { RestClient } from '../support/rest-client';
import type { ScriptedAgent } from '../support/scripted-agent';
import { LineStreamer, onlineAgent, startedJob } from './live-tail.helpers';

/*
 * The job page in a real browser (chromium) against the real control plane,
 * watching a job that a scripted agent streams over a real WebSocket.
 * Screenshots go to test-artifacts/ (gitignored).
 */

const ARTIFACTS = path.join(repoRoot(), 'test-artifacts');
const WAIT_MS = 20_000;

describe('job page /jobs/{id} (e2e, browser)', () => {
  let cp: ControlPlaneProcess;
  let admin: RestClient;
  let browser: Browser;
  let page: Page;
  const agents: ScriptedAgent[] = [];

  before(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    cp = await ControlPlaneProcess.start();
    admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    context.setDefaultTimeout(WAIT_MS);
    page = await context.newPage();
    await signIn(page, cp.url);
  });

  after(async () => {
    for (const a of agents) a.terminate();
    await browser?.close();
    await cp?.stop();
    cp?.removeDataDir();
  });

  async function runningJob(): Promise<{ agent: ScriptedAgent; jobId: string }> {
    const { agent, identity } = await onlineAgent(cp.url, admin);
    agents.push(agent);
    return { agent, jobId: await startedJob(admin, agent, identity.agentId) };
  }

  async function progress(agent: ScriptedAgent, jobId: string, fraction: number): Promise<void> {
    const env = agent.send(
      'job.progress',
      {
        job_id: jobId,
        percent_done: fraction,
        files_done: Math.round(fraction * 1200),
        total_files: 1200,
        bytes_done: Math.round(fraction * 3 * 1024 ** 3),
        total_bytes: 3 * 1024 ** 3,
        eta_seconds: Math.round((1 - fraction) * 90),
        throughput_bps: 48 * 1024 ** 2,
      },
      jobId,
    );
    await agent.waitForAcks([env.id]);
  }

  const lineCount = () => page.locator('#log .line').count();
  const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, name), fullPage: true });

  it('follows a running job live: progress to 100 %, lines, the Follow pill, then the finished state', async () => {
    const { agent, jobId } = await runningJob();
    const streamer = new LineStreamer(agent, jobId, 64, 'scanning /srv/data');
    await streamer.run(40, WAIT_MS);
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    await page.goto(`${cp.url}/jobs/${jobId}`);
    assert.equal(await page.locator('[data-testid=job-status]').textContent(), 'running');
    assert.equal(await lineCount(), 40, 'the persisted lines are rendered by the server');
    await page.waitForFunction(() => document.getElementById('log-state')?.textContent === 'live');
    assert.equal(sockets.length, 1);
    assert.match(sockets[0]!, /\/api\/jobs\/.+\/stream\?after_seq=40$/);

    await progress(agent, jobId, 0.25);
    await streamer.run(260, WAIT_MS);
    await page.waitForFunction(() => document.querySelectorAll('#log .line').length === 300);
    await page.waitForFunction(() => document.getElementById('p-percent')?.textContent === '25.0 %');
    const atBottom = () =>
      page.evaluate(() => {
        const log = document.getElementById('log')!;
        return log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
      });
    assert.equal(await atBottom(), true, 'the log follows new lines');
    assert.equal(await page.getAttribute('#follow', 'aria-pressed'), 'true');
    await shot('job-page-running.png');

    // Scrolling up detaches: new lines arrive but the view stays put.
    await page.evaluate(() => {
      const log = document.getElementById('log')!;
      log.scrollTop = 0;
      log.dispatchEvent(new Event('scroll'));
    });
    await page.waitForFunction(
      () => document.getElementById('follow')?.getAttribute('aria-pressed') === 'false',
    );
    assert.equal(await page.locator('#follow').textContent(), 'Follow');
    await streamer.run(200, WAIT_MS);
    await page.waitForFunction(() => document.querySelectorAll('#log .line').length === 500);
    assert.equal(await page.evaluate(() => document.getElementById('log')!.scrollTop), 0);
    await shot('job-page-detached.png');
    // The pill re-attaches, by keyboard too.
    await page.focus('#follow');
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      () => document.getElementById('follow')?.getAttribute('aria-pressed') === 'true',
    );
    assert.equal(await atBottom(), true, 'Follow scrolls to the newest line');

    await progress(agent, jobId, 1);
    await page.waitForFunction(() => document.getElementById('p-percent')?.textContent === '100.0 %');
    assert.equal(await page.getAttribute('#progress-bar', 'aria-valuenow'), '100');
    const finished = agent.send(
      'job.finished',
      {
        job_id: jobId,
        status: 'succeeded',
        exit_code: 0,
        finished_at: new Date().toISOString(),
        stats: { snapshot_id: 'a1b2c3d4', files_new: 1200, data_added: 3 * 1024 ** 3, total_duration: 62.5 },
      },
      jobId,
    );
    await agent.waitForAcks([finished.id]);
    await page.waitForFunction(() => document.body.dataset['jobEnded'] === 'succeeded');
    assert.equal(await page.locator('[data-testid=job-status]').textContent(), 'succeeded');
    assert.equal(await page.locator('[data-testid=cancel-job]').count(), 0, 'no Cancel once finished');
    await page.waitForFunction(() =>
      /New files/.test(document.getElementById('final-stats')?.textContent ?? ''),
    );
    assert.equal(await page.locator('#final-stats').isVisible(), true);
    assert.match((await page.locator('#final-stats').textContent()) ?? '', /a1b2c3d4/);
    assert.equal(await page.locator('#log-state').textContent(), 'finished');
    await shot('job-page-finished.png');

    // A finished job renders from the log alone: every line, no socket.
    sockets.length = 0;
    await page.goto(`${cp.url}/jobs/${jobId}`);
    assert.equal(await lineCount(), 500);
    assert.equal(await page.locator('[data-testid=job-status]').textContent(), 'succeeded');
    await page.waitForTimeout(300);
    assert.equal(sockets.length, 0, 'no WebSocket for a finished job');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot('job-page-finished-dark.png');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('shows the failure summary with advice, and cancels a running job with the CSRF-protected button', async () => {
    const failing = await runningJob();
    await page.goto(`${cp.url}/jobs/${failing.jobId}`);
    await page.waitForFunction(() => document.getElementById('log-state')?.textContent === 'live');
    const stderr = failing.agent.send(
      'log.stream',
      {
        job_id: failing.jobId,
        seq: 1,
        ts: new Date().toISOString(),
        stream: 'stderr',
        payload: 'Fatal: unable to create lock in backend: repository is already locked',
      },
      failing.jobId,
    );
    const fin = failing.agent.send(
      'job.finished',
      {
        job_id: failing.jobId,
        status: 'failed',
        exit_code: 1,
        finished_at: new Date().toISOString(),
        error: 'Fatal: unable to create lock in backend: repository is already locked by PID 4242',
        error_code: 'repo_locked',
      },
      failing.jobId,
    );
    await failing.agent.waitForAcks([stderr.id, fin.id]);
    await page.waitForFunction(() => document.body.dataset['jobEnded'] === 'failed');
    // The line sent in the same batch as job.finished is shown before the end.
    assert.equal(await lineCount(), 1);
    assert.match((await page.locator('#log .line.stderr').textContent()) ?? '', /already locked/);
    assert.equal(await page.locator('#failure').isVisible(), true);
    assert.match((await page.locator('#failure-error').textContent()) ?? '', /already locked/);
    assert.match((await page.locator('#failure-advice').textContent()) ?? '', /unlock job/);
    await shot('job-page-failed.png');

    const { agent, jobId } = await runningJob();
    await page.goto(`${cp.url}/jobs/${jobId}`);
    await page.click('[data-testid=cancel-job]');
    await page.waitForURL(/\?cancel=requested$/);
    await agent.waitFor(
      (e) => e.type === 'command.cancel' && e.payload.job_id === jobId,
      WAIT_MS,
      'command.cancel',
    );
    await page.waitForFunction(() => !document.getElementById('cancel-note')?.hidden);
    assert.equal(await page.locator('[data-testid=cancel-job]').count(), 0, 'Cancel is offered once');

    // A form post without the CSRF token is refused.
    const forged = await page.evaluate(async (id) => {
      const res = await fetch(`/jobs/${id}/cancel`, { method: 'POST', redirect: 'manual' });
      return res.status;
    }, jobId);
    assert.ok(forged === 403 || forged === 401, `cancel without CSRF token answered ${forged}`);
  });
});
