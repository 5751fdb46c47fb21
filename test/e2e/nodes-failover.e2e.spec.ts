import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JOB_TERMINAL_STATUSES, type RecordedEvent } from '@rf/events';
import { resticBinariesForTests } from '@rf/restic/testing';
import { launchChromium, signIn } from '../support/browser';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess, repoRoot } from '../support/control-plane.process';
import { dumpReadModelsOf as dump, readStream, streamMetadata } from '../support/event-log.reader';
import {
  controlPlaneBin,
  eventually,
  FleetAgent,
  freePort,
  runNode,
  writeRandomFiles,
} from '../support/fleet';
import { RestClient } from '../support/rest-client';

/** Short enough for a test, longer than an agent's reconnect (200 ms..1 s backoff). */
const LEASE_S = 8;
/** Short, so a job wrongly judged lost would show within the test. */
const GRACE_S = 3;
const TERMINAL: readonly string[] = JOB_TERMINAL_STATUSES;
const REPO_PASSWORD = `nodes-failover-${Date.now()}`;

interface HostBody {
  id: string;
  online: boolean;
  node_id: string | null;
  status: string;
}
interface JobBody {
  id: string;
  status: string;
  error: string | null;
  progress: { bytes_done: number | null } | null;
}

/*
 * Two control-plane processes on one embedded log, three real agents each
 * listing both URLs (docs/architecture.md, "Several nodes"): orders given on
 * B reach agents connected to A; A is SIGKILLed, its agents move to B, no host
 * stays offline and no running job is lost; a session made on A works on B;
 * a rebuild on either node's data gives the same read models.
 */
describe(
  'two nodes on one log: routed orders and failover (e2e, real agents, real restic)',
  { timeout: 600_000 },
  () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-nodes-fo-'));
    const logDir = path.join(root, 'log');
    const shared = {
      RF_EVENTSTORE: `sqlite://${path.join(logDir, 'events.db')}`,
      RF_SECRET_KEY_FILE: path.join(root, 'secret.key'),
      RF_NODE_LEASE_S: String(LEASE_S),
      RF_JOB_LOST_GRACE_S: String(GRACE_S),
      RF_HEARTBEAT_INTERVAL_S: '2',
    };
    const dirA = path.join(root, 'a');
    const dirB = path.join(root, 'b');
    let a: ControlPlaneProcess | undefined;
    let b: ControlPlaneProcess | undefined;
    let onA: RestClient;
    let onB: RestClient;
    const agents: FleetAgent[] = [];
    const data: string[] = [];

    const host = async (client: RestClient, id: string): Promise<HostBody> =>
      (await client.get<HostBody>(`/api/hosts/${id}`)).body;

    const job = async (client: RestClient, id: string): Promise<JobBody> => {
      const res = await client.get<JobBody>(`/api/jobs/${id}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body;
    };

    const requestJob = async (
      client: RestClient,
      hostId: string,
      body: Record<string, unknown>,
    ): Promise<string> => {
      const res = await client.post<{ job_id: string }>(`/api/hosts/${hostId}/jobs`, body);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      return res.body.job_id;
    };

    const waitJob = (
      client: RestClient,
      id: string,
      statuses: readonly string[] = TERMINAL,
    ): Promise<JobBody> =>
      eventually(
        `job ${id} to reach ${statuses.join('|')}`,
        async () => {
          const j = await job(client, id);
          return statuses.includes(j.status) ? j : undefined;
        },
        120_000,
        200,
      );

    /** A backup of 4 MiB of fresh random data, throttled to 384 KiB/s: it runs for about ten seconds. */
    const slowBackup = (client: RestClient, hostId: string, name: string): Promise<string> => {
      const big = path.join(root, 'data', name);
      writeRandomFiles(big, 4, 1024 * 1024);
      return requestJob(client, hostId, { kind: 'backup', paths: [big], limit_upload_kib: 384 });
    };

    before(async () => {
      fs.mkdirSync(logDir, { recursive: true });
      fs.mkdirSync(dirA, { recursive: true });
      fs.mkdirSync(dirB, { recursive: true });
      const [portA, portB] = [await freePort(), await freePort()];
      a = await ControlPlaneProcess.start({
        dataDir: dirA,
        port: portA,
        env: { ...shared, RF_NODE_ID: 'node-a' },
      });
      b = await ControlPlaneProcess.start({
        dataDir: dirB,
        port: portB,
        env: { ...shared, RF_NODE_ID: 'node-b' },
      });
      onA = await RestClient.login(a.url, ADMIN_USER, ADMIN_PASSWORD);
      onB = onA.at(b.url);
      const restic = resticBinariesForTests()[0];
      assert.ok(restic, 'a restic binary for tests');
      for (const name of ['alpha', 'bravo', 'charlie']) {
        const agent = new FleetAgent({
          dir: path.join(root, 'agents', name),
          resticBin: restic.bin,
          // `server` (A, from enrolment) first, then B: the agent uses A while it answers.
          config: {
            servers: [b.url],
            reconnect_initial_ms: 200,
            reconnect_max_ms: 1000,
            heartbeat_interval_s: 2,
          },
        });
        await agent.enrol(onA, a.url);
        agent.start();
        agents.push(agent);
        const src = path.join(root, 'data', name);
        writeRandomFiles(src, 8, 16 * 1024);
        data.push(src);
      }
    });

    after(async () => {
      for (const agent of agents) await agent.stop().catch(() => undefined);
      await a?.stop().catch(() => undefined);
      await b?.stop().catch(() => undefined);
      fs.rmSync(root, { recursive: true, force: true });
    });

    it('B sees the agents connected through A (node_id), and orders given on B reach them', async () => {
      for (const agent of agents) {
        await eventually(
          `${agent.agentId} online through A, as B sees it`,
          async () => {
            const h = await host(onB, agent.agentId);
            return h.online && h.node_id === 'node-a';
          },
          60_000,
        );
      }
      // config.update (a repository), then a job run, both given on B.
      for (const [i, agent] of agents.entries()) {
        const put = await onB.put(`/api/hosts/${agent.agentId}/repository`, {
          url: path.join(root, 'repos', String(i)),
          password: REPO_PASSWORD,
        });
        assert.equal(put.status, 200, JSON.stringify(put.body));
      }
      const inits = await Promise.all(
        agents.map((agent) => requestJob(onB, agent.agentId, { kind: 'init' })),
      );
      for (const id of inits) {
        const done = await waitJob(onB, id);
        assert.equal(done.status, 'succeeded', done.error ?? '');
      }
      // schedule.set given on B: applied by the agent on A (SchedulesApplied at the new version).
      const alpha = agents[0]!;
      const put = await onB.put(`/api/hosts/${alpha.agentId}/schedules`, {
        schedules: [{ id: 'nightly', kind: 'backup', cron: '0 3 * * *', enabled: true, paths: [data[0]!] }],
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      // Read-your-writes across nodes: the same client reads on A right after writing on B.
      const onAgain = await onA.get<{ version: number }>(`/api/hosts/${alpha.agentId}/schedules`);
      assert.equal(onAgain.body.version, 1, JSON.stringify(onAgain.body));
      await eventually(
        'the schedule applied by the agent connected to A',
        async () =>
          (await onB.get<{ in_sync: boolean }>(`/api/hosts/${alpha.agentId}/schedules`)).body.in_sync,
        30_000,
      );
      // command.cancel given on B, for a slow backup running on an agent connected to A.
      const slow = await slowBackup(onB, agents[1]!.agentId, 'big-cancel');
      await waitJob(onB, slow, ['running']);
      const cancel = await onB.post(`/api/jobs/${slow}/cancel`);
      assert.ok(cancel.status < 300, JSON.stringify(cancel.body));
      const cancelled = await waitJob(onB, slow);
      assert.equal(cancelled.status, 'cancelled', JSON.stringify(cancelled));
      const alphaHost = await readStream(logDir, `host-${alpha.agentId}`);
      const connected = alphaHost.filter((e) => e.type === 'AgentConnected');
      assert.ok(connected.length >= 1);
      assert.equal(
        (connected.at(-1)!.data as { node_id?: string }).node_id,
        'node-a',
        'AgentConnected names its node',
      );
    });

    it('A is SIGKILLed: its agents move to B, none stays offline, a running job is not lost, the session goes on', async () => {
      const long = await slowBackup(onA, agents[2]!.agentId, 'big-long');
      await eventually(
        'the long backup running with bytes uploaded',
        async () => {
          const j = await job(onA, long);
          if (TERMINAL.includes(j.status)) throw new Error(`ended early: ${JSON.stringify(j)}`);
          return j.status === 'running' && (j.progress?.bytes_done ?? 0) > 0;
        },
        60_000,
        100,
      );
      const before = new Map<string, number>();
      for (const agent of agents)
        before.set(agent.agentId, (await readStream(logDir, `host-${agent.agentId}`)).length);
      const lease = await streamMetadata(logDir, 'node-node-a');
      assert.ok(lease.custom?.['lease'], `node A holds a lease: ${JSON.stringify(lease)}`);

      const killedAt = Date.now();
      await a!.kill();
      for (const agent of agents) {
        await eventually(
          `${agent.agentId} connected through B`,
          async () => {
            const h = await host(onB, agent.agentId);
            return h.online && h.node_id === 'node-b';
          },
          LEASE_S * 1000,
          100,
        );
      }
      // The session made on A keeps working on B, writes included (CSRF token from A).
      const me = await onB.get<{ name: string }>('/api/auth/me');
      assert.equal(me.status, 200);
      assert.equal(me.body.name, ADMIN_USER);
      const token = await onB.post('/api/enrolment-tokens', {});
      assert.ok(token.status < 300, JSON.stringify(token.body));

      const done = await waitJob(onB, long);
      assert.equal(done.status, 'succeeded', JSON.stringify(done));
      // Past A's lease and the lost-job grace: B judged A's agents, found them all with it.
      await new Promise((r) =>
        setTimeout(r, Math.max(0, killedAt + (LEASE_S + GRACE_S + 2) * 1000 - Date.now())),
      );
      const lifecycle = (await readStream(logDir, `job-${long}`)).map((e) => e.type);
      assert.ok(!lifecycle.includes('JobLost'), `the running job was never lost: ${lifecycle.join(', ')}`);
      assert.equal(lifecycle.filter((t) => t === 'JobFinished').length, 1, lifecycle.join(', '));
      for (const agent of agents) {
        const after = (await readStream(logDir, `host-${agent.agentId}`)).slice(before.get(agent.agentId));
        assertNoLongOutage(after, LEASE_S * 1000);
        const last = after
          .filter((e) => e.type === 'AgentConnected' || e.type === 'AgentDisconnected')
          .at(-1);
        assert.equal(
          last?.type,
          'AgentConnected',
          `${agent.agentId}: ${after.map((e) => e.type).join(', ')}`,
        );
        assert.equal((last!.data as { node_id?: string }).node_id, 'node-b');
        assert.equal((await host(onB, agent.agentId)).status, 'online');
      }
    });

    it('the host page on B names the node holding the agent (browser)', async () => {
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        await signIn(page, b!.url);
        await page.goto(`${b!.url}/hosts/${agents[2]!.agentId}`);
        assert.equal((await page.textContent('[data-testid=host-node]'))?.trim(), 'via node node-b');
        const dirs = [
          path.join(repoRoot(), 'test-artifacts'),
          ...(process.env.RF_SHOTS_DIR ? [process.env.RF_SHOTS_DIR] : []),
        ];
        for (const dir of dirs) {
          fs.mkdirSync(dir, { recursive: true });
          await page.screenshot({ path: path.join(dir, 'nodes-host-page.png'), fullPage: true });
        }
      } finally {
        await browser.close();
      }
    });

    it('projections rebuild on either node gives the same read models, equal to B live', async () => {
      for (const agent of agents) await agent.stop();
      assert.equal(await b!.stop(), 0);
      const live = dump(dirB);
      for (const dir of [dirA, dirB]) {
        const r = await runNode(
          controlPlaneBin(),
          ['projections', 'rebuild'],
          { PATH: process.env.PATH ?? '', HOME: dir, RF_DATA_DIR: dir, ...shared },
          180_000,
        );
        assert.equal(r.code, 0, r.stderr);
      }
      const rebuiltA = dump(dirA);
      const rebuiltB = dump(dirB);
      assert.deepEqual(Object.keys(rebuiltA).sort(), Object.keys(live).sort());
      for (const table of Object.keys(live)) {
        assert.deepEqual(rebuiltA[table], rebuiltB[table], `table ${table}: A and B rebuilt`);
        assert.deepEqual(rebuiltB[table], live[table], `table ${table}: B rebuilt and live`);
      }
      assert.ok((live.jobs?.length ?? 0) >= 5, 'the jobs of both nodes are in the read models');
    });
  },
);

/** Every AgentDisconnected in `events` is followed by an AgentConnected within `boundMs` (log time). */
function assertNoLongOutage(events: readonly RecordedEvent[], boundMs: number): void {
  for (const [i, e] of events.entries()) {
    if (e.type !== 'AgentDisconnected') continue;
    const back = events.slice(i + 1).find((x) => x.type === 'AgentConnected');
    assert.ok(back, `an AgentDisconnected with no AgentConnected after it: ${JSON.stringify(e.data)}`);
    const gone = Date.parse((e.data as { disconnected_at: string }).disconnected_at);
    const returned = Date.parse((back.data as { connected_at: string }).connected_at);
    assert.ok(returned - gone <= boundMs, `offline ${returned - gone} ms, more than ${boundMs} ms`);
  }
}
