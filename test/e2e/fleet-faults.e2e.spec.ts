/**
 * The whole fleet end to end under faults: one control plane, three real
 * agents (two on restic 0.14, one on 0.19) backing up to a real REST backend
 * (`rclone serve restic` on loopback), then crashes, cut-offs, a full outbox
 * and a stale lock — and at the end a rebuild that must reproduce the live
 * read models, and an audit trail that must account for everything done.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { JOB_TERMINAL_STATUSES } from '@rf/events';
import { type AuditLine } from '@rf/projections';
import { resticBinariesForTests } from '@rf/restic/testing';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { dumpReadModelsOf as dump, readStream, typesOf } from '../support/event-log.reader';
import {
  controlPlaneCli,
  eventually,
  FleetAgent,
  freePort,
  killGroup,
  PausableProxy,
  RcloneRestServer,
  resticPidsInGroup,
  hasExited,
  sleep,
  writeRandomFiles,
} from '../support/fleet';
import { RestClient } from '../support/rest-client';

const GRACE_S = 6;
const REPO_PASSWORD = `fleet-repo-${Date.now()}-pw`;
const TERMINAL: readonly string[] = JOB_TERMINAL_STATUSES;
const JOB_TIMEOUT = 90_000;
/** Throttle for "mid-backup" scenarios: 4 MiB of random data at 512 KiB/s runs ~8 s. */
const SLOW_KIB = 512;
const BIG_FILES = 4;
const BIG_FILE_BYTES = 1024 * 1024;

interface JobBody {
  id: string;
  host_id: string;
  kind: string;
  status: string;
  actor: { kind: string; id: string | null; name: string | null } | null;
  schedule_id: string | null;
  started_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
  error: string | null;
  error_code: string | null;
  stats: Record<string, unknown> | null;
  last_seq: number | null;
  log_line_count: number | null;
  dropped_lines: number | null;
}

interface Member {
  readonly name: string;
  readonly agent: FleetAgent;
  readonly data: string;
  readonly resticLabel: string;
}

describe('fleet end to end under faults (e2e, real processes, real restic, rclone REST backend)', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-fleet-'));
  const cpDataDir = path.join(root, 'cp');
  const cpEnv = { RF_JOB_LOST_GRACE_S: String(GRACE_S), RF_HEARTBEAT_INTERVAL_S: '2' };
  let cpPort = 0;
  let cp: ControlPlaneProcess | undefined;
  let admin: RestClient;
  let rclone: RcloneRestServer;
  let proxy: PausableProxy;
  const members: Member[] = [];
  /** Every job this suite asked for (by the operator), and the schedule ids it set. */
  const requested: Array<{ id: string; kind: string; hostId: string }> = [];
  let repositoriesConfigured = 0;
  let schedulesPut = 0;
  let enrolmentTokens = 0;
  let bigCounter = 0;
  /** Jobs a failing scenario left active, so later scenarios do not wait for them too. */
  const stuck = new Set<string>();

  const member = (name: string): Member => {
    const m = members.find((x) => x.name === name);
    if (!m) throw new Error(`no fleet member ${name}`);
    return m;
  };

  async function startControlPlane(): Promise<void> {
    cp = await ControlPlaneProcess.start({
      dataDir: cpDataDir,
      port: cpPort,
      env: cpEnv,
      startTimeoutMs: 60_000,
    });
    admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
  }

  async function requestJob(m: Member, body: Record<string, unknown>): Promise<string> {
    const res = await admin.post<{ job_id: string }>(`/api/hosts/${m.agent.agentId}/jobs`, body);
    assert.equal(res.status, 202, `${m.name} ${String(body.kind)}: ${JSON.stringify(res.body)}`);
    requested.push({ id: res.body.job_id, kind: String(body.kind), hostId: m.agent.agentId });
    return res.body.job_id;
  }

  async function job(id: string): Promise<JobBody> {
    const res = await admin.get<JobBody>(`/api/jobs/${id}`);
    if (res.status !== 200) throw new Error(`GET /api/jobs/${id}: ${res.status}`);
    return res.body;
  }

  async function waitJob(
    id: string,
    statuses: readonly string[] = TERMINAL,
    timeoutMs = JOB_TIMEOUT,
  ): Promise<JobBody> {
    let last: JobBody | undefined;
    try {
      return await eventually(
        `job ${id} to reach ${statuses.join('|')}`,
        async () => {
          last = await job(id);
          return statuses.includes(last.status) ? last : undefined;
        },
        timeoutMs,
        250,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last)}`);
    }
  }

  async function runJob(m: Member, body: Record<string, unknown>): Promise<JobBody> {
    return waitJob(await requestJob(m, body));
  }

  /** Every log line seq of a job, page by page. */
  async function logSeqs(id: string): Promise<number[]> {
    const seqs: number[] = [];
    let after = 0;
    for (let page = 0; page < 1000; page++) {
      const res = await admin.get<{ lines: Array<{ seq: number }>; next_after_seq: number }>(
        `/api/jobs/${id}/logs?after_seq=${after}&limit=500`,
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      seqs.push(...res.body.lines.map((l) => l.seq));
      if (res.body.lines.length === 0) return seqs;
      after = res.body.lines.at(-1)!.seq;
    }
    throw new Error('log paging did not end');
  }

  const range = (from: number, to: number): number[] =>
    Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

  /** The job's lifecycle in the log has exactly one outcome, and its telemetry no doubled seq. */
  async function assertOnceInLog(
    id: string,
  ): Promise<{ seqs: number[]; dropped: Array<{ from_seq: number; to_seq: number; count: number }> }> {
    const lifecycle = typesOf(await readStream(cpDataDir, `job-${id}`));
    // One JobFinished at most; a JobLost may precede it when the agent reports after the grace.
    const finished = lifecycle.filter((t) => t === 'JobFinished').length;
    const lost = lifecycle.filter((t) => t === 'JobLost').length;
    assert.ok(
      finished <= 1 && lost <= 1 && finished + lost >= 1,
      `one outcome for ${id}: ${lifecycle.join(', ')}`,
    );
    assert.ok(lifecycle.filter((t) => t === 'JobStarted').length <= 1, lifecycle.join(', '));
    const telemetry = await readStream(cpDataDir, `joblog-${id}`);
    const seqs = telemetry
      .filter((e) => e.type === 'LogStreamLine')
      .map((e) => (e.data as { seq: number }).seq);
    assert.equal(new Set(seqs).size, seqs.length, `no seq recorded twice for ${id}`);
    const dropped = telemetry
      .filter((e) => e.type === 'LogLinesDropped')
      .map((e) => e.data as { from_seq: number; to_seq: number; count: number });
    return { seqs, dropped };
  }

  /** A fresh directory of random data, so a backup of it uploads (and takes) real time. */
  function freshBig(m: Member): string {
    const dir = path.join(root, 'data', m.name, `big-${++bigCounter}`);
    writeRandomFiles(dir, BIG_FILES, BIG_FILE_BYTES);
    return dir;
  }

  async function waitRunning(id: string, minBytes = 1): Promise<void> {
    await eventually(
      `job ${id} to be running with bytes uploaded`,
      async () => {
        const res = await admin.get<JobBody & { progress: { bytes_done: number | null } | null }>(
          `/api/jobs/${id}`,
        );
        if (TERMINAL.includes(res.body.status))
          throw new Error(`job ended early: ${JSON.stringify(res.body)}`);
        return res.body.status === 'running' && (res.body.progress?.bytes_done ?? 0) >= minBytes;
      },
      JOB_TIMEOUT,
      100,
    );
  }

  async function waitIdle(m: Member): Promise<void> {
    await eventually(
      `${m.name} to have no active job`,
      async () => {
        const res = await admin.get<{ jobs: JobBody[] }>(`/api/jobs?host=${m.agent.agentId}&limit=500`);
        return res.body.jobs.every((j) => TERMINAL.includes(j.status) || stuck.has(j.id));
      },
      JOB_TIMEOUT,
      250,
    );
  }

  async function hostOnline(m: Member): Promise<boolean> {
    const res = await admin.get<{ online: boolean }>(`/api/hosts/${m.agent.agentId}`);
    return res.body.online === true;
  }

  before(async () => {
    const bins = resticBinariesForTests();
    const r014 = bins.find((b) => b.label === '0.14');
    const r019 = bins.find((b) => b.label === '0.19');
    assert.ok(
      r014 && r019,
      `restic 0.14 and 0.19 are needed; found ${bins.map((b) => b.version).join(', ')}`,
    );
    rclone = await RcloneRestServer.start(path.join(root, 'rest'));
    fs.mkdirSync(cpDataDir, { recursive: true });
    cpPort = await freePort();
    await startControlPlane();
    proxy = new PausableProxy('127.0.0.1', cpPort);
    await proxy.start();
    const fast = { reconnect_initial_ms: 200, reconnect_max_ms: 1000, heartbeat_interval_s: 2 };
    for (const [name, bin, config] of [
      ['alpha', r014, fast],
      ['bravo', r014, fast],
      // charlie reaches the control plane through a proxy we can pause, and keeps a small outbox.
      ['charlie', r019, { ...fast, outbox_max_bytes: 64 * 1024 }],
    ] as const) {
      const data = path.join(root, 'data', name, 'src');
      writeRandomFiles(data, 20, 16 * 1024);
      members.push({
        name,
        data,
        resticLabel: bin.label,
        agent: new FleetAgent({ dir: path.join(root, 'agents', name), resticBin: bin.bin, config }),
      });
    }
  });

  after(async () => {
    for (const m of members) await m.agent.stop().catch(() => undefined);
    await proxy?.stop().catch(() => undefined);
    await cp?.stop().catch(() => undefined);
    await rclone?.stop().catch(() => undefined);
    if (process.env.RF_KEEP_FLEET_DIR) console.log(`fleet dir kept: ${root}`);
    else fs.rmSync(root, { recursive: true, force: true });
  });

  it('enrols three agents with REST enrolment tokens, configures a REST repository each and initialises it', async () => {
    for (const m of members) {
      const server = m.name === 'charlie' ? proxy.url : cp!.url;
      await m.agent.enrol(admin, server);
      enrolmentTokens++;
      m.agent.start();
    }
    for (const m of members) {
      await eventually(`${m.name} online`, () => hostOnline(m), 30_000);
      const put = await admin.put(`/api/hosts/${m.agent.agentId}/repository`, {
        url: rclone.repoUrl(m.name),
        password: REPO_PASSWORD,
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      repositoriesConfigured++;
    }
    const inits = await Promise.all(members.map((m) => runJob(m, { kind: 'init' })));
    for (const [i, j] of inits.entries())
      assert.equal(j.status, 'succeeded', `${members[i]!.name}: ${j.error}`);
    for (const m of members)
      assert.ok(fs.existsSync(path.join(rclone.root, m.name, 'config')), `${m.name} repo exists`);
    const hosts = await admin.get<{ hosts: Array<{ id: string; restic_version?: string | null }> }>(
      '/api/hosts',
    );
    assert.equal(hosts.body.hosts.length, 3);
    const charlieHost = await admin.get<Record<string, unknown>>(
      `/api/hosts/${member('charlie').agent.agentId}`,
    );
    assert.match(JSON.stringify(charlieHost.body), /0\.19\./, 'charlie reports restic 0.19');
    assert.ok(!cp!.logText().includes(REPO_PASSWORD), 'the repository password never reaches the log');
  });

  it('fires a schedule every two seconds: ScheduleFired, then a backup requested by actor schedule succeeds', async () => {
    const m = member('alpha');
    const put = await admin.put(`/api/hosts/${m.agent.agentId}/schedules`, {
      schedules: [{ id: 'every-2s', kind: 'backup', cron: '*/2 * * * * *', enabled: true, paths: [m.data] }],
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    schedulesPut++;
    const fired = await eventually(
      'a ScheduleFired',
      async () =>
        (await readStream(cpDataDir, `schedules-${m.agent.agentId}`)).find((e) => e.type === 'ScheduleFired'),
      30_000,
    );
    const firedJob = (fired.data as { job_id?: string; schedule_id: string }).job_id;
    assert.equal((fired.data as { schedule_id: string }).schedule_id, 'every-2s');
    assert.ok(firedJob, 'the fire names the job it requested');
    const done = await waitJob(firedJob);
    assert.equal(done.status, 'succeeded', done.error ?? '');
    assert.equal(done.actor?.kind, 'schedule');
    assert.equal(done.schedule_id, 'every-2s');
    const off = await admin.put(`/api/hosts/${m.agent.agentId}/schedules`, { schedules: [] });
    assert.equal(off.status, 200);
    schedulesPut++;
    await eventually(
      'the empty schedule applied',
      async () =>
        (await admin.get<{ in_sync: boolean }>(`/api/hosts/${m.agent.agentId}/schedules`)).body.in_sync,
      30_000,
    );
    await waitIdle(m);
  });

  it('backs up every host, forgets with a retention policy and checks each repository (0.14 and 0.19)', async () => {
    for (const m of members) {
      for (let i = 0; i < 2; i++) {
        fs.writeFileSync(path.join(m.data, `changing-${i}.txt`), `round ${i} ${Date.now()}`);
        const b = await runJob(m, { kind: 'backup', paths: [m.data], tags: ['fleet'] });
        assert.equal(b.status, 'succeeded', `${m.name} backup: ${b.error}`);
      }
      const f = await runJob(m, { kind: 'forget', policy: { keep_last: 1 }, tags: ['fleet'] });
      assert.equal(f.status, 'succeeded', `${m.name} forget: ${f.error}`);
      const c = await runJob(m, { kind: 'check' });
      assert.equal(c.status, 'succeeded', `${m.name} check: ${c.error}`);
      const snaps = await eventually(
        `${m.name} snapshots after forget`,
        async () => {
          const res = await admin.get<{ snapshots: Array<{ tags?: string[] | null }> }>(
            `/api/hosts/${m.agent.agentId}/snapshots`,
          );
          const tagged = res.body.snapshots.filter((s) => (s.tags ?? []).includes('fleet'));
          return tagged.length === 1 ? res.body.snapshots : undefined;
        },
        20_000,
      );
      assert.ok(snaps.length >= 1);
    }
  });

  it('SIGKILL of the control plane mid-backup: restarted on the same data dir, the job completes, no log seq lost or doubled', async () => {
    const m = member('alpha');
    const id = await requestJob(m, { kind: 'backup', paths: [freshBig(m)], limit_upload_kib: SLOW_KIB });
    await waitRunning(id);
    await cp!.kill();
    await sleep(1000);
    await startControlPlane();
    const done = await waitJob(id);
    assert.equal(done.status, 'succeeded', done.error ?? '');
    const seqs = await logSeqs(id);
    assert.ok(seqs.length > 0, 'the backup logged lines');
    assert.deepEqual(seqs, range(1, seqs.length));
    assert.equal(done.last_seq, seqs.length);
    const inLog = await assertOnceInLog(id);
    assert.deepEqual(
      [...inLog.seqs].sort((a, b) => a - b),
      range(1, seqs.length),
    );
  });

  it('SIGKILL of an agent and its restic mid-backup: the job becomes lost after the grace', async () => {
    const m = member('bravo');
    const id = await requestJob(m, { kind: 'backup', paths: [freshBig(m)], limit_upload_kib: SLOW_KIB });
    await waitRunning(id);
    const killedAt = Date.now();
    const group = m.agent.pid;
    await m.agent.killGroup();
    try {
      // SIGKILL is delivered asynchronously: the agent's exit can be seen before restic's (a loaded host,
      // restic in uninterruptible I/O), so wait a bounded moment instead of sampling once.
      await eventually('restic to die with its agent', () => resticPidsInGroup(group).length === 0, 15_000);
      const lost = await waitJob(id, TERMINAL, GRACE_S * 1000 + 30_000);
      assert.equal(lost.status, 'lost');
      assert.ok(Date.now() - killedAt >= GRACE_S * 1000 - 500, 'not before the grace');
      await assertOnceInLog(id);
    } finally {
      // Bring bravo back whatever happened above, so one failure does not cascade into the tests after it.
      m.agent.start();
    }
    await eventually('bravo back online', () => hostOnline(m), 30_000);
    // The returning agent knows it was cut off mid-job and says so in the log; the job stays terminal.
    const late = await eventually(
      'the returning agent to report the interrupted job',
      async () => (await readStream(cpDataDir, `job-${id}`)).find((e) => e.type === 'JobFinished'),
      30_000,
    );
    assert.equal((late.data as { error_code?: string }).error_code, 'agent_restarted');
    assert.ok(['lost', 'failed'].includes((await job(id)).status));
    await assertOnceInLog(id);
  });

  it('an agent killed mid-backup that returns within the grace: the job does not hang, it ends with a clear status', async () => {
    const m = member('bravo');
    const id = await requestJob(m, { kind: 'backup', paths: [freshBig(m)], limit_upload_kib: SLOW_KIB });
    await waitRunning(id);
    const oldGroup = m.agent.pid;
    await m.agent.killAgentOnly();
    // restic is the agent's child in the agent's process group: it outlives a SIGKILL of the agent alone.
    const orphans = resticPidsInGroup(oldGroup);
    assert.equal(orphans.length, 1, 'restic outlives a SIGKILL of the agent alone (same group, reparented)');
    m.agent.start();
    await eventually('bravo back online within the grace', () => hostOnline(m), GRACE_S * 1000);
    stuck.add(id);
    const done = await waitJob(id, TERMINAL, GRACE_S * 1000 + 30_000);
    stuck.delete(id);
    // The agent that ran it is gone, so no report can come: the only honest outcome is a terminal,
    // explained status, never `succeeded` without a report and never `running` forever.
    assert.equal(done.status, 'failed', JSON.stringify(done));
    assert.equal(done.error_code, 'agent_restarted');
    assert.match(done.error ?? '', /agent stopped/);
    assert.match(done.error ?? '', /Unlock/);
    await assertOnceInLog(id);
    // Leave no orphan behind (it dies on its broken stdout pipe at its next status line), then clear its lock.
    await eventually('the orphaned restic to exit', () => orphans.every((p) => hasExited(p)), 60_000).catch(
      () => {
        for (const p of orphans) {
          try {
            process.kill(p, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      },
    );
    const unlock = await runJob(m, { kind: 'unlock' });
    assert.equal(unlock.status, 'succeeded', unlock.error ?? '');
    const next = await runJob(m, { kind: 'backup', paths: [m.data] });
    assert.equal(next.status, 'succeeded', next.error ?? '');
  });

  it('an agent cut off while a backup runs: its outbox drains on return, every envelope exactly once', async () => {
    const m = member('charlie');
    const id = await requestJob(m, { kind: 'backup', paths: [freshBig(m)], limit_upload_kib: SLOW_KIB });
    await waitRunning(id);
    await proxy.pause();
    await eventually('charlie seen offline', async () => !(await hostOnline(m)), 15_000);
    await sleep(2000);
    await proxy.resume();
    await eventually('charlie back online', () => hostOnline(m), 30_000);
    const done = await waitJob(id);
    assert.equal(done.status, 'succeeded', done.error ?? '');
    const seqs = await logSeqs(id);
    assert.deepEqual(seqs, range(1, seqs.length));
    const inLog = await assertOnceInLog(id);
    assert.equal(inLog.dropped.length, 0);
    assert.deepEqual(
      [...inLog.seqs].sort((a, b) => a - b),
      range(1, seqs.length),
    );
  });

  it('an outbox past its cap: log lines are dropped and counted; job.finished and snapshots.report still arrive', async () => {
    const m = member('charlie');
    // 0.19 prints one line per missing source path: 600 long missing paths overflow a 64 KiB outbox.
    const missing = Array.from({ length: 600 }, (_, i) =>
      path.join(root, 'nowhere', `${'x'.repeat(120)}-${i}`),
    );
    const slow = await requestJob(m, { kind: 'backup', paths: [freshBig(m)], limit_upload_kib: SLOW_KIB });
    const noisy = await requestJob(m, { kind: 'backup', paths: [m.data, ...missing] });
    await waitRunning(slow);
    await proxy.pause();
    const dropLog = await eventually(
      'the agent to log dropped lines',
      () => m.agent.logLines.find((l) => /dropped/i.test(l)),
      90_000,
    );
    await proxy.resume();
    const slowDone = await waitJob(slow);
    assert.equal(slowDone.status, 'succeeded', slowDone.error ?? '');
    const done = await waitJob(noisy);
    assert.equal(done.status, 'warning', `missing paths make 0.19 exit 3: ${JSON.stringify(done)}`);
    const { seqs, dropped } = await assertOnceInLog(noisy);
    assert.ok(dropped.length >= 1, 'log.dropped reached the log');
    const droppedCount = dropped.reduce((n, d) => n + d.count, 0);
    assert.ok(droppedCount > 0);
    const finished = (await readStream(cpDataDir, `job-${noisy}`)).find((e) => e.type === 'JobFinished');
    assert.equal((finished?.data as { dropped_log_lines?: number }).dropped_log_lines, droppedCount);
    assert.equal(done.dropped_lines, droppedCount);
    // Kept and dropped seqs together cover 1..N exactly once.
    const droppedSeqs = dropped.flatMap((d) => range(d.from_seq, d.to_seq));
    const all = [...seqs, ...droppedSeqs].sort((a, b) => a - b);
    assert.deepEqual(all, range(1, all.length));
    assert.ok(seqs.length > 0 && droppedSeqs.length > 0);
    assert.match(dropLog, /\d+/, 'the agent log says how many');
    // snapshots.report was not dropped: the noisy job's snapshot is listed.
    const snapshotId = String((done.stats as { snapshot_id?: string } | null)?.snapshot_id ?? '');
    assert.ok(snapshotId.length >= 8, JSON.stringify(done.stats));
    await eventually(
      'the snapshot of the noisy job to be listed',
      async () =>
        (
          await admin.get<{ snapshots: Array<{ id: string; short_id: string }> }>(
            `/api/hosts/${m.agent.agentId}/snapshots`,
          )
        ).body.snapshots.some((s) => s.id.startsWith(snapshotId.slice(0, 8))),
      20_000,
    );
    // The two jobs ran one after the other on one repository.
    assert.ok(
      Date.parse(done.started_at!) >= Date.parse(slowDone.finished_at ?? slowDone.started_at!) - 1000,
    );
  });

  it('two jobs on one repository at once: serialised by the agent, neither fails on a lock', async () => {
    const m = member('alpha');
    const first = await requestJob(m, {
      kind: 'backup',
      paths: [freshBig(m)],
      limit_upload_kib: SLOW_KIB * 2,
    });
    const second = await requestJob(m, { kind: 'check' });
    const [a, b] = [await waitJob(first), await waitJob(second)];
    assert.equal(a.status, 'succeeded', a.error ?? '');
    assert.equal(b.status, 'succeeded', b.error ?? '');
    const aLife = await readStream(cpDataDir, `job-${first}`);
    const bLife = await readStream(cpDataDir, `job-${second}`);
    const aFinished = aLife.find((e) => e.type === 'JobFinished')!;
    const bStarted = bLife.find((e) => e.type === 'JobStarted')!;
    assert.ok(
      BigInt(bStarted.position.commit) > BigInt(aFinished.position.commit),
      'the second job started only after the first finished',
    );
  });

  it('a stale restic lock: the backup fails naming the lock and the unlock advice; an unlock job fixes it', async () => {
    const m = member('alpha');
    const locksDir = path.join(rclone.root, m.name, 'locks');
    const before = new Set(fs.existsSync(locksDir) ? fs.readdirSync(locksDir) : []);
    // A restic `check` holds an exclusive lock; SIGKILL leaves it behind (RESTIC.md §5).
    const newLocks = (): string[] =>
      fs.existsSync(locksDir) ? fs.readdirSync(locksDir).filter((f) => !before.has(f)) : [];
    // The agent may still hold a short non-exclusive lock (e.g. its stats run after check): retry until ours is taken.
    let holderOutput = '';
    for (let attempt = 0; attempt < 20 && newLocks().length === 0; attempt++) {
      const holder = spawn(m.agent.options.resticBin, ['check', '--read-data', '--limit-download', '16'], {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: root,
          RESTIC_REPOSITORY: rclone.repoUrl(m.name),
          RESTIC_PASSWORD: REPO_PASSWORD,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      holderOutput = '';
      holder.stdout.on('data', (d: Buffer) => (holderOutput += d.toString()));
      holder.stderr.on('data', (d: Buffer) => (holderOutput += d.toString()));
      try {
        await eventually(
          'restic check to take its exclusive lock (or give up)',
          () => newLocks().length > 0 || holder.exitCode !== null,
          30_000,
          50,
        );
        // Let restic finish writing the lock and settle into reading data before the kill.
        if (newLocks().length > 0) await sleep(1500);
      } finally {
        killGroup(holder.pid, 'SIGKILL');
      }
      if (newLocks().length === 0) await sleep(500);
    }
    const stale = newLocks();
    assert.equal(stale.length, 1, `SIGKILL left the lock behind; restic said: ${holderOutput}`);
    assert.ok(fs.statSync(path.join(locksDir, stale[0]!)).size > 0);
    const failed = await runJob(m, { kind: 'backup', paths: [m.data] });
    assert.equal(failed.status, 'failed');
    assert.match(failed.error ?? '', /lock/i);
    assert.match(failed.error ?? '', /unlock/i);
    const unlock = await runJob(m, { kind: 'unlock' });
    assert.equal(unlock.status, 'succeeded', unlock.error ?? '');
    const next = await runJob(m, { kind: 'backup', paths: [m.data] });
    assert.equal(next.status, 'succeeded', next.error ?? '');
  });

  it('projections rebuild (real bin) yields read models identical to the live ones, table by table', async () => {
    for (const m of members) await waitIdle(m);
    for (const m of members) await m.agent.stop();
    await cp!.stop();
    // A clean boot with no agents: the live runner catches up with everything the shutdown appended.
    await startControlPlane();
    await eventually(
      'projections caught up',
      async () => {
        const metrics = await new RestClient(cp!.url).get<string>('/metrics');
        const lags = [...metrics.body.matchAll(/^rf_projection_lag_events(?:\{[^}]*\})? (\d+)$/gm)].map((x) =>
          Number(x[1]),
        );
        return lags.length > 0 && lags.every((l) => l === 0);
      },
      30_000,
    );
    assert.equal(await cp!.stop(), 0);
    const live = dump(cpDataDir);
    const r = await controlPlaneCli(cpDataDir, ['projections', 'rebuild']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /rebuilt .* from \d+ events/);
    const rebuilt = dump(cpDataDir);
    assert.deepEqual(Object.keys(rebuilt).sort(), Object.keys(live).sort());
    for (const table of Object.keys(live)) assert.deepEqual(rebuilt[table], live[table], `table ${table}`);
    assert.ok((live.jobs?.length ?? 0) >= requested.length, 'the jobs table holds every job');
  });

  it('audit --json lists every operator action and every job outcome the suite caused', async () => {
    const r = await controlPlaneCli(cpDataDir, ['audit', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as AuditLine);
    const byAdmin = lines.filter((l) => l.actor === ADMIN_USER);
    const count = (action: string): number => byAdmin.filter((l) => l.action === action).length;
    assert.equal(count('RepositoryConfigured'), repositoriesConfigured);
    assert.equal(count('SchedulesChanged'), schedulesPut);
    assert.ok(
      lines.filter((l) => /Enrolment/i.test(l.action) && l.actor === ADMIN_USER).length >= enrolmentTokens,
      'every enrolment token the operator created',
    );
    for (const j of requested) {
      if (stuck.has(j.id)) continue;
      const stream = `job-${j.id}`;
      const own = lines.filter((l) => l.stream === stream);
      assert.ok(
        own.some((l) => l.action === 'JobRequested' && l.actor === ADMIN_USER),
        `JobRequested by ${ADMIN_USER} for ${j.kind} ${j.id}`,
      );
      assert.ok(
        own.some((l) => l.action === 'JobFinished' || l.action === 'JobLost'),
        `an outcome for ${j.kind} ${j.id}: ${own.map((l) => l.action).join(', ')}`,
      );
    }
    const scheduled = lines.filter((l) => l.action === 'JobRequested' && l.actorKind === 'schedule');
    assert.ok(scheduled.length >= 1, 'the scheduled backups are attributed to the schedule');
    assert.ok(
      lines.some((l) => l.action === 'JobLost'),
      'the lost job is in the trail',
    );
  });
});
