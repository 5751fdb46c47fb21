/**
 * A host with two repositories, end to end: the real control plane, a real
 * agent per restic version (0.14 and 0.19), real restic, a local repository
 * (the host's own, set with PUT /api/hosts/{id}/repository) and one served by
 * `rclone serve restic` (registered with POST /api/repositories, attached).
 * A backup to each, then a `copy` requested with POST
 * /api/repositories/{id}/jobs; the copied snapshot is listed under the
 * destination (GET /api/repositories/{dest}/snapshots). A copy into a
 * repository never initialised initialises it with the source's chunker
 * parameters (checked with restic itself).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JOB_TERMINAL_STATUSES, legacyRepositoryId } from '@rf/events';
import { resticBinariesForTests, type ResticTestBinary } from '@rf/restic/testing';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { eventually, FleetAgent, RcloneRestServer, writeRandomFiles } from '../support/fleet';
import { RestClient } from '../support/rest-client';

const JOB_TIMEOUT = 120_000;
const TERMINAL: readonly string[] = JOB_TERMINAL_STATUSES;

interface JobBody {
  id: string;
  status: string;
  error: string | null;
  stats: Record<string, unknown> | null;
}
interface SnapshotBody {
  id: string;
  time: string | null;
  hostname: string | null;
  paths: string[];
  tags: string[];
  repository_id: string | null;
}

interface Member {
  readonly restic: ResticTestBinary;
  readonly agent: FleetAgent;
  readonly data: string;
  readonly localDir: string;
  readonly vaultDir: string;
  readonly localPassword: string;
  readonly offsitePassword: string;
  readonly vaultPassword: string;
  hostId: string;
  hostname: string;
  offsiteId: string;
  vaultId: string;
}

describe('a host with two repositories: backup to each, copy between them (e2e, real agents, restic 0.14 and 0.19)', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-repo-copy-'));
  let cp: ControlPlaneProcess;
  let admin: RestClient;
  let rest: RcloneRestServer;
  const members: Member[] = [];

  async function waitJob(id: string): Promise<JobBody> {
    let last: JobBody | undefined;
    try {
      return await eventually(
        `job ${id} to finish`,
        async () => {
          const res = await admin.get<JobBody>(`/api/jobs/${id}`);
          last = res.body;
          return res.status === 200 && TERMINAL.includes(res.body.status) ? res.body : undefined;
        },
        JOB_TIMEOUT,
        250,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last)}`);
    }
  }

  async function run(url: string, body: Record<string, unknown>): Promise<JobBody> {
    const res = await admin.post<{ job_id: string }>(url, body);
    assert.equal(res.status, 202, `${url} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
    const job = await waitJob(res.body.job_id);
    assert.equal(job.status, 'succeeded', `${String(body.kind)}: ${JSON.stringify(job)}`);
    return job;
  }

  async function snapshotsOf(repositoryId: string, hostId?: string): Promise<SnapshotBody[]> {
    const res = await admin.get<{ snapshots: SnapshotBody[] }>(
      `/api/repositories/${repositoryId}/snapshots${hostId ? `?host=${hostId}` : ''}`,
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.snapshots;
  }

  /** `restic cat config` of a repository, run here with the password in the environment only. */
  function chunkerPolynomial(bin: string, repo: string, password: string): string {
    const out = execFileSync(bin, ['cat', 'config', '--no-cache'], {
      env: { PATH: process.env.PATH ?? '', RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: password, HOME: root },
      encoding: 'utf8',
      timeout: 60_000,
    });
    const parsed = JSON.parse(out) as { chunker_polynomial?: unknown };
    assert.equal(typeof parsed.chunker_polynomial, 'string');
    return String(parsed.chunker_polynomial);
  }

  before(async () => {
    const bins = resticBinariesForTests();
    const wanted = ['0.14', '0.19'].map((label) => bins.find((b) => b.label === label));
    assert.ok(
      wanted.every((b) => b !== undefined),
      `restic 0.14 and 0.19 are needed; found ${bins.map((b) => b.version).join(', ')}`,
    );
    rest = await RcloneRestServer.start(path.join(root, 'rest'));
    cp = await ControlPlaneProcess.start({ startTimeoutMs: 60_000 });
    admin = await RestClient.login(cp.url, ADMIN_USER, ADMIN_PASSWORD);
    for (const restic of wanted as ResticTestBinary[]) {
      const dir = path.join(root, restic.label);
      const data = path.join(dir, 'src');
      writeRandomFiles(data, 12, 24 * 1024);
      const agent = new FleetAgent({
        dir: path.join(dir, 'agent'),
        resticBin: restic.bin,
        config: { reconnect_initial_ms: 200, reconnect_max_ms: 1000 },
      });
      const hostId = await agent.enrol(admin, cp.url);
      agent.start();
      members.push({
        restic,
        agent,
        data,
        localDir: path.join(dir, 'local-repo'),
        vaultDir: path.join(dir, 'vault-repo'),
        localPassword: `local-${restic.label}-${hostId.slice(0, 8)}`,
        offsitePassword: `offsite-${restic.label}-${hostId.slice(0, 8)}`,
        vaultPassword: `vault-${restic.label}-${hostId.slice(0, 8)}`,
        hostId,
        hostname: '',
        offsiteId: '',
        vaultId: '',
      });
    }
    for (const m of members) {
      const host = await eventually(
        `host ${m.hostId} online`,
        async () => {
          const res = await admin.get<{ online: boolean; hostname: string }>(`/api/hosts/${m.hostId}`);
          return res.body.online ? res.body : undefined;
        },
        30_000,
      );
      m.hostname = host.hostname;
    }
  });

  after(async () => {
    for (const m of members) await m.agent.stop().catch(() => undefined);
    await cp?.stop().catch(() => undefined);
    await rest?.stop().catch(() => undefined);
    cp?.removeDataDir();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('gives each host its own repository (local) and one on the REST server, plus an empty vault', async () => {
    for (const m of members) {
      const own = await admin.put(`/api/hosts/${m.hostId}/repository`, {
        url: m.localDir,
        password: m.localPassword,
      });
      assert.equal(own.status, 200, JSON.stringify(own.body));
      for (const [name, url, password, key] of [
        [
          `offsite-${m.restic.label}`,
          rest.repoUrl(`offsite-${m.restic.label}`),
          m.offsitePassword,
          'offsiteId',
        ],
        [`vault-${m.restic.label}`, m.vaultDir, m.vaultPassword, 'vaultId'],
      ] as const) {
        const reg = await admin.post<{ id: string }>('/api/repositories', { name, url });
        assert.equal(reg.status, 201, JSON.stringify(reg.body));
        m[key] = reg.body.id;
        assert.equal((await admin.put(`/api/repositories/${reg.body.id}/secrets`, { password })).status, 200);
        const attached = await admin.post(`/api/repositories/${reg.body.id}/hosts`, { host_id: m.hostId });
        assert.equal(attached.status, 200, JSON.stringify(attached.body));
      }
      const listed = await admin.get<{ repositories: Array<{ id: string; hosts: Array<{ id: string }> }> }>(
        '/api/repositories',
      );
      assert.deepEqual(
        listed.body.repositories
          .filter((r) => r.hosts.some((h) => h.id === m.hostId))
          .map((r) => r.id)
          .sort(),
        [legacyRepositoryId(m.hostId), m.offsiteId, m.vaultId].sort(),
      );
    }
  });

  it('backs up into each repository, the job naming it', async () => {
    await Promise.all(
      members.map(async (m) => {
        const local = legacyRepositoryId(m.hostId);
        const hostJobs = `/api/hosts/${m.hostId}/jobs`;
        await run(hostJobs, { kind: 'init', repository_id: local });
        await run(hostJobs, { kind: 'init', repository_id: m.offsiteId });
        await run(hostJobs, { kind: 'backup', repository_id: local, paths: [m.data], tags: ['local'] });
        await run(hostJobs, {
          kind: 'backup',
          repository_id: m.offsiteId,
          paths: [m.data],
          tags: ['offsite'],
        });
        assert.ok(fs.existsSync(path.join(m.localDir, 'config')), 'the local repository was initialised');
        await eventually(
          `both snapshot lists of ${m.restic.label}`,
          async () =>
            (await snapshotsOf(local)).length === 1 && (await snapshotsOf(m.offsiteId)).length === 1,
          JOB_TIMEOUT,
        );
        const [l] = await snapshotsOf(local);
        const [o] = await snapshotsOf(m.offsiteId);
        assert.deepEqual(l?.tags, ['local']);
        assert.deepEqual(o?.tags, ['offsite']);
        assert.equal(l?.repository_id, local);
        assert.equal(o?.repository_id, m.offsiteId);
      }),
    );
  });

  it('copies the local snapshot into the REST repository; the copy is listed under the destination', async () => {
    await Promise.all(
      members.map(async (m) => {
        const local = legacyRepositoryId(m.hostId);
        const [source] = await snapshotsOf(local);
        assert.ok(source);
        const copy = await run(`/api/repositories/${local}/jobs`, {
          kind: 'copy',
          to_repository_id: m.offsiteId,
        });
        assert.equal(copy.stats?.to_repository_id, m.offsiteId, JSON.stringify(copy.stats));
        const listed = await eventually(
          `the copied snapshot under ${m.offsiteId}`,
          async () => {
            const snaps = await snapshotsOf(m.offsiteId, m.hostId);
            return snaps.length === 2 ? snaps : undefined;
          },
          JOB_TIMEOUT,
        );
        const copied = listed.find((s) => s.tags.includes('local'));
        assert.ok(copied, `the copied snapshot (tag local) is listed: ${JSON.stringify(listed)}`);
        assert.equal(copied.time, source.time, 'a copy keeps the snapshot’s time');
        assert.deepEqual(copied.paths, source.paths);
        assert.equal(copied.hostname, m.hostname);
        assert.equal(copied.repository_id, m.offsiteId);
        assert.notEqual(copied.id, source.id, 'restic gives the copy its own id');
        assert.equal((await snapshotsOf(local)).length, 1, 'the source keeps its one snapshot');
      }),
    );
  });

  it('copies into a repository never initialised: it is initialised first, with the source’s chunker parameters', async () => {
    await Promise.all(
      members.map(async (m) => {
        const local = legacyRepositoryId(m.hostId);
        assert.ok(!fs.existsSync(path.join(m.vaultDir, 'config')));
        await run(`/api/repositories/${local}/jobs`, {
          kind: 'copy',
          to_repository_id: m.vaultId,
          host_id: m.hostId,
          snapshots: ['latest'],
        });
        assert.equal(
          chunkerPolynomial(m.restic.bin, m.vaultDir, m.vaultPassword),
          chunkerPolynomial(m.restic.bin, m.localDir, m.localPassword),
        );
        const vault = await eventually(
          `the vault's snapshot list`,
          async () => {
            const snaps = await snapshotsOf(m.vaultId);
            return snaps.length === 1 ? snaps : undefined;
          },
          JOB_TIMEOUT,
        );
        assert.deepEqual(vault[0]?.tags, ['local']);
      }),
    );
    const logs = cp.logText();
    for (const m of members)
      for (const secret of [m.localPassword, m.offsitePassword, m.vaultPassword])
        assert.ok(
          !logs.includes(secret) && !m.agent.logLines.join('\n').includes(secret),
          'a password reached a log',
        );
  });
});
