/**
 * Shared repositories end to end: one control plane, three real agents (two
 * on restic 0.14, one on 0.19) attached to two shared repositories — a local
 * directory and one served by `rclone serve restic`. On each, three backups
 * run at once while a prune is requested: the prune starts only after they
 * end, a backup requested meanwhile waits for the prune, every job says why it
 * waits, and none fails on a lock. Then a forget schedule of the REST
 * repository runs once per tick on one host, keeps each host's snapshots
 * (retention per host), and fails over when the host whose turn it is goes
 * away (its agent killed).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { JOB_TERMINAL_STATUSES } from '@rf/events';
import { resticBinariesForTests } from '@rf/restic/testing';
import { jobIdForRepositoryFire } from '../../apps/control-plane/src/domain/repository-maintenance.rules';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess, repoRoot } from '../support/control-plane.process';
import { eventually, FleetAgent, RcloneRestServer, writeRandomFiles } from '../support/fleet';
import { RestClient } from '../support/rest-client';

const PASSWORD = `shared-repo-${Date.now()}-pw`;
const TERMINAL: readonly string[] = JOB_TERMINAL_STATUSES;
const JOB_TIMEOUT = 120_000;
/** 3 MiB of random data at 384 KiB/s: each backup runs ~8 s, long enough to request work behind it. */
const SLOW_KIB = 384;
const ARTIFACTS = path.join(repoRoot(), 'test-artifacts');

interface JobBody {
  id: string;
  host_id: string;
  kind: string;
  status: string;
  schedule_id: string | null;
  requested_at: string;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
  error_code: string | null;
  wait_reason: string | null;
}

interface Member {
  readonly name: string;
  readonly agent: FleetAgent;
  readonly data: string;
  readonly resticBin: string;
}

describe('shared repositories: lock-aware dispatch and maintenance once per repository (e2e, real agents, restic 0.14 + 0.19)', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-shared-'));
  let cp: ControlPlaneProcess;
  let admin: RestClient;
  let rclone: RcloneRestServer;
  let browser: Browser;
  let page: Page;
  const members: Member[] = [];
  const repos: Record<'local' | 'rest', { id: string; url: string }> = {
    local: { id: '', url: '' },
    rest: { id: '', url: '' },
  };
  let bigCounter = 0;

  const job = async (id: string): Promise<JobBody> => {
    const res = await admin.get<JobBody>(`/api/jobs/${id}`);
    if (res.status !== 200) throw new Error(`GET /api/jobs/${id}: ${res.status}`);
    return res.body;
  };
  const waitJob = (id: string, statuses: readonly string[] = TERMINAL): Promise<JobBody> =>
    eventually(
      `job ${id} to reach ${statuses.join('|')}`,
      async () => {
        const j = await job(id);
        return statuses.includes(j.status) ? j : undefined;
      },
      JOB_TIMEOUT,
      250,
    );
  /** The job once dispatch has said why it waits. */
  const waiting = (id: string): Promise<JobBody> =>
    eventually(
      `job ${id} to say why it waits`,
      async () => {
        const j = await job(id);
        return j.wait_reason !== null ? j : undefined;
      },
      10_000,
    );
  const requestJob = async (m: Member, body: Record<string, unknown>): Promise<string> => {
    const res = await admin.post<{ job_id: string }>(`/api/hosts/${m.agent.agentId}/jobs`, body);
    assert.equal(res.status, 202, `${m.name} ${String(body.kind)}: ${JSON.stringify(res.body)}`);
    return res.body.job_id;
  };
  const hostOnline = async (m: Member): Promise<boolean> =>
    (await admin.get<{ online: boolean }>(`/api/hosts/${m.agent.agentId}`)).body.online === true;
  const freshBig = (m: Member): string => {
    const dir = path.join(root, 'data', m.name, `big-${++bigCounter}`);
    writeRandomFiles(dir, 3, 1024 * 1024);
    return dir;
  };
  const ms = (t: string | null): number => {
    assert.ok(t, 'timestamp set');
    return Date.parse(t);
  };
  /** The REST repository's snapshots, straight from restic: paths and hostname of each. */
  const snapshotsOf = (m: Member, url: string): Array<{ hostname: string; paths: string[] }> =>
    JSON.parse(
      execFileSync(m.resticBin, ['snapshots', '--json', '--no-lock'], {
        env: { PATH: process.env.PATH ?? '', RESTIC_REPOSITORY: url, RESTIC_PASSWORD: PASSWORD },
        encoding: 'utf8',
        timeout: 60_000,
      }),
    ) as Array<{ hostname: string; paths: string[] }>;

  before(async () => {
    const bins = resticBinariesForTests();
    const r014 = bins.find((b) => b.label === '0.14');
    const r019 = bins.find((b) => b.label === '0.19');
    assert.ok(
      r014 && r019,
      `restic 0.14 and 0.19 are needed; found ${bins.map((b) => b.version).join(', ')}`,
    );
    rclone = await RcloneRestServer.start(path.join(root, 'rest'));
    fs.mkdirSync(path.join(root, 'cp'), { recursive: true });
    cp = await ControlPlaneProcess.start({
      dataDir: path.join(root, 'cp'),
      env: { RF_HEARTBEAT_INTERVAL_S: '2' },
      startTimeoutMs: 60_000,
    });
    admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
    const fast = { reconnect_initial_ms: 200, reconnect_max_ms: 1000, heartbeat_interval_s: 2 };
    for (const [name, bin] of [
      ['alpha', r014],
      ['bravo', r014],
      ['charlie', r019],
    ] as const) {
      const data = path.join(root, 'data', name, 'src');
      writeRandomFiles(data, 10, 16 * 1024);
      const agent = new FleetAgent({
        dir: path.join(root, 'agents', name),
        resticBin: bin.bin,
        config: fast,
      });
      members.push({ name, agent, data, resticBin: bin.bin });
      await agent.enrol(admin, cp.url);
      agent.start();
    }
    for (const m of members) await eventually(`${m.name} online`, () => hostOnline(m), 30_000);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      timeout: 30_000,
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(20_000);
    page = await context.newPage();
    await page.goto(`${cp.url}/login`);
    await page.fill('#username', ADMIN_USER);
    await page.fill('#password', ADMIN_PASSWORD);
    await page.click('#login-form button[type=submit]');
    await page.waitForURL(`${cp.url}/`);
  });

  after(async () => {
    await browser?.close();
    for (const m of members) await m.agent.stop().catch(() => undefined);
    await cp?.stop().catch(() => undefined);
    await rclone?.stop().catch(() => undefined);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('registers a local and a REST repository shared by all three hosts and initialises each once', async () => {
    repos.local.url = path.join(root, 'local-repo');
    repos.rest.url = rclone.repoUrl('shared');
    for (const [name, repo] of Object.entries(repos)) {
      const created = await admin.post<{ id: string }>('/api/repositories', {
        name: `shared-${name}`,
        url: repo.url,
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      repo.id = created.body.id;
      const secrets = await admin.put(`/api/repositories/${repo.id}/secrets`, { password: PASSWORD });
      assert.equal(secrets.status, 200, JSON.stringify(secrets.body));
      for (const m of members) {
        const attached = await admin.post(`/api/repositories/${repo.id}/hosts`, { host_id: m.agent.agentId });
        assert.equal(attached.status, 200, JSON.stringify(attached.body));
      }
      const init = await waitJob(await requestJob(members[0]!, { kind: 'init', repository_id: repo.id }));
      assert.equal(init.status, 'succeeded', init.error ?? '');
    }
  });

  for (const which of ['local', 'rest'] as const) {
    it(`${which}: a prune requested while three hosts back up waits for them, backups requested after it wait for the prune, nothing fails on a lock`, async () => {
      const repositoryId = repos[which].id;
      const backups = await Promise.all(
        members.map((m) =>
          requestJob(m, {
            kind: 'backup',
            repository_id: repositoryId,
            paths: [m.data, freshBig(m)],
            limit_upload_kib: SLOW_KIB,
          }),
        ),
      );
      await Promise.all(backups.map((id) => waitJob(id, ['running', ...TERMINAL])));
      for (const id of backups)
        assert.equal((await job(id)).status, 'running', 'all three backups run at once');

      const prune = await requestJob(members[0]!, { kind: 'prune', repository_id: repositoryId });
      const pruneWaiting = await waiting(prune);
      assert.equal(pruneWaiting.status, 'queued');
      assert.match(
        pruneWaiting.wait_reason!,
        new RegExp(`^waiting for backup on repository shared-${which}, running on host `),
      );

      const later = await requestJob(members[1]!, {
        kind: 'backup',
        repository_id: repositoryId,
        paths: [members[1]!.data],
      });
      const laterWaiting = await waiting(later);
      assert.equal(laterWaiting.status, 'queued');
      assert.match(
        laterWaiting.wait_reason!,
        new RegExp(`^waiting behind prune queued on repository shared-${which} for host `),
      );

      // The job page says it too, and drops the line once the job leaves the queue.
      await page.goto(`${cp.url}/jobs/${later}`);
      const line = page.getByTestId('wait-reason');
      assert.equal((await line.textContent())?.trim(), `Queued: ${laterWaiting.wait_reason}`);
      await page.screenshot({ path: path.join(ARTIFACTS, `job-waiting-${which}.png`), fullPage: true });

      const done = await Promise.all([...backups, prune, later].map((id) => waitJob(id)));
      await line.waitFor({ state: 'detached' });
      for (const j of done) {
        assert.equal(j.status, 'succeeded', `${j.kind} on ${j.host_id}: ${j.error_code} ${j.error}`);
        assert.equal(j.wait_reason, null);
      }
      const [b1, b2, b3, p, l] = done as [JobBody, JobBody, JobBody, JobBody, JobBody];
      const lastBackupEnd = Math.max(ms(b1.finished_at), ms(b2.finished_at), ms(b3.finished_at));
      assert.ok(ms(p.started_at) >= lastBackupEnd, `prune started ${p.started_at} after the backups ended`);
      assert.ok(
        ms(l.started_at) >= ms(p.finished_at),
        `the later backup started ${l.started_at} after the prune ended ${p.finished_at}`,
      );
    });
  }

  it('runs a forget schedule of the repository once per tick on one host, keeping each host’s snapshots, and fails over when that host is offline', async () => {
    const repositoryId = repos.rest.id;
    const SCHEDULE = 'forget-shared';
    const forget = { id: SCHEDULE, kind: 'forget', cron: '*/3 * * * * *', retention: { keep_last: 1 } };
    const put = async (enabled: boolean): Promise<void> => {
      const res = await admin.put<{ version: number }>(`/api/repositories/${repositoryId}/schedules`, {
        schedules: [{ ...forget, enabled }],
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    };
    const fired = async (): Promise<JobBody[]> => {
      const res = await admin.get<{ jobs: JobBody[] }>('/api/jobs?limit=1000');
      return res.body.jobs
        .filter((j) => j.schedule_id === SCHEDULE)
        .sort((a, b) => ms(a.requested_at) - ms(b.requested_at));
    };
    const quiet = async (): Promise<JobBody[]> =>
      eventually(
        'the schedule’s jobs to end',
        async () => {
          const jobs = await fired();
          return jobs.every((j) => TERMINAL.includes(j.status)) ? jobs : undefined;
        },
        JOB_TIMEOUT,
      );

    await put(true);
    await eventually(
      'three forget runs',
      async () => (await fired()).filter((j) => j.status === 'succeeded').length >= 3,
      JOB_TIMEOUT,
      500,
    );
    await put(false);
    const first = await quiet();
    for (const j of first) {
      assert.equal(j.kind, 'forget');
      assert.equal(j.status, 'succeeded', `${j.host_id}: ${j.error}`);
      // One job per tick: its id is the one derived from repository, schedule and that tick.
      // (The request is stamped just after its tick; under load it may be a tick later.)
      const tick = Math.floor(ms(j.requested_at) / 3000) * 3000;
      const ids = [tick, tick - 3000].map((t) => jobIdForRepositoryFire(repositoryId, SCHEDULE, new Date(t)));
      assert.ok(ids.includes(j.id), `job ${j.id} is the only job of its tick`);
    }
    assert.equal(new Set(first.map((j) => j.id)).size, first.length);
    // Spread over the hosts: the first three ticks ran on three different hosts.
    assert.equal(new Set(first.slice(0, 3).map((j) => j.host_id)).size, 3);
    // Retention per host and paths: every (hostname, paths) group keeps its latest snapshot, so no
    // host's backups are forgotten because of another's. (The three agents share this machine's
    // hostname, so their groups differ by paths.)
    const groups = new Map<string, number>();
    for (const snap of snapshotsOf(members[0]!, repos.rest.url)) {
      const key = JSON.stringify([snap.hostname, [...snap.paths].sort()]);
      groups.set(key, (groups.get(key) ?? 0) + 1);
    }
    for (const [key, count] of groups) assert.equal(count, 1, `one snapshot kept for ${key}`);
    for (const m of members)
      assert.ok(
        [...groups.keys()].some((k) => k.includes(JSON.stringify(m.data))),
        `${m.name}'s backups keep a snapshot`,
      );

    // The host whose turn is next (least recently used) goes away; the next ticks run elsewhere.
    const lastRun = new Map(members.map((m) => [m.agent.agentId, -1]));
    first.forEach((j, i) => lastRun.set(j.host_id, i));
    const next = members.reduce((a, b) =>
      lastRun.get(b.agent.agentId)! < lastRun.get(a.agent.agentId)! ? b : a,
    );
    await next.agent.killGroup();
    await eventually(`${next.name} offline`, async () => !(await hostOnline(next)), 30_000);
    const before = first.length;
    await put(true);
    await eventually(
      'two more forget runs',
      async () => (await fired()).filter((j) => j.status === 'succeeded').length >= before + 2,
      JOB_TIMEOUT,
      500,
    );
    await put(false);
    const after = (await quiet()).slice(before);
    for (const j of after) {
      assert.equal(j.status, 'succeeded', `${j.host_id}: ${j.error}`);
      assert.notEqual(j.host_id, next.agent.agentId, `no tick ran on ${next.name} while it was offline`);
    }
    next.agent.start();
    await eventually(`${next.name} back online`, () => hostOnline(next), 30_000);
  });
});
