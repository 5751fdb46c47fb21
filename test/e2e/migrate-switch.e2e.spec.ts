/**
 * Switching a control plane to a migrated log, as docs/eventstoredb.md says:
 * real `restic-fleet serve` and `restic-fleet migrate` processes, the target a
 * second SQLite log through the same EventStore port an EventStoreDB target
 * uses. The old read models are refused on the new log; the migrated ones are
 * taken, and the users, hosts and jobs are all there.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { ADMIN_PASSWORD, ADMIN_USER, ControlPlaneProcess } from '../support/control-plane.process';
import { controlPlaneCli } from '../support/fleet';
import { RestClient } from '../support/rest-client';
import { enrolHost } from '../support/scripted-agent';

describe('switching to a migrated log (e2e)', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-migrate-switch-'));
  const dataDir = path.join(root, 'node');
  const target = path.join(root, 'target', 'events.db');
  fs.mkdirSync(dataDir, { recursive: true });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('the old read models are refused on the new log, the migrated ones serve the same fleet', async () => {
    const first = await ControlPlaneProcess.start({ dataDir });
    let hostId: string;
    let hostname: string;
    let jobId: string;
    try {
      const admin = await RestClient.login(first.url, ADMIN_USER, ADMIN_PASSWORD);
      const identity = await enrolHost(admin);
      hostId = identity.agentId;
      hostname = identity.hostname;
      const job = await admin.post<{ job_id: string }>(`/api/hosts/${hostId}/jobs`, { kind: 'check' });
      assert.equal(job.status, 202, JSON.stringify(job.body));
      jobId = job.body.job_id;
    } finally {
      await first.stop();
    }

    const migrated = await controlPlaneCli(dataDir, ['migrate', '--to', `sqlite://${target}`]);
    assert.equal(migrated.code, 0, migrated.stderr);
    assert.match(migrated.stdout, /they match a rebuild from the source/);

    const env = { RF_EVENTSTORE: `sqlite://${target}` };
    await assert.rejects(ControlPlaneProcess.start({ dataDir, env }), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.match(
        err.message,
        /were built from log [0-9a-f-]{36}, but RF_EVENTSTORE names log [0-9a-f-]{36}/,
      );
      return true;
    });

    for (const suffix of ['', '-wal', '-shm'])
      fs.rmSync(path.join(dataDir, `readmodels.db${suffix}`), { force: true });
    fs.renameSync(path.join(dataDir, 'readmodels.migrated.db'), path.join(dataDir, 'readmodels.db'));
    const switched = await ControlPlaneProcess.start({ dataDir, env });
    try {
      // The bootstrap admin is a user of the copied log: its password still works.
      const admin = await RestClient.login(switched.url, ADMIN_USER, ADMIN_PASSWORD);
      const host = await admin.get<{ id: string; hostname: string }>(`/api/hosts/${hostId}`);
      assert.equal(host.status, 200, JSON.stringify(host.body));
      assert.equal(host.body.hostname, hostname);
      const job = await admin.get<{ kind: string; host_id: string }>(`/api/jobs/${jobId}`);
      assert.equal(job.status, 200, JSON.stringify(job.body));
      assert.equal(job.body.kind, 'check');
      assert.equal(job.body.host_id, hostId);
    } finally {
      await switched.stop();
    }
  });
});
