import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { createSqliteEventStore, type EventStore } from '@rf/event-store';
import {
  ALL_PROJECTIONS,
  dumpReadModels,
  openReadModelsDatabase,
  ProjectionRunner,
  rebuildReadModels,
  type AuditLine,
} from '@rf/projections';

const repoRoot = (): string => {
  if (process.env.RF_REPO_ROOT) return process.env.RF_REPO_ROOT;
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
};

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `restic-fleet …` as a real process with a bounded wait. */
function cli(args: string[], dataDir: string, timeoutMs = 60_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot(), 'bin', 'restic-fleet.js'), ...args], {
      env: { ...process.env, RF_DATA_DIR: dataDir, RF_EVENTSTORE: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`restic-fleet ${args.join(' ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const meta = (kind: string, id: string, name?: string) => ({
  actor: { kind, id, ...(name ? { name } : {}) },
  correlation_id: 'c',
  causation_id: 'c',
  received_at: '2026-11-01T00:00:00.000Z',
  schema_version: 1,
});

async function appendJob(store: EventStore, jobId: string, hostId: string, lines: number): Promise<void> {
  await store.append(`job-${jobId}`, [
    {
      id: randomUUID(),
      type: 'JobRequested',
      data: {
        job_id: jobId,
        host_id: hostId,
        kind: 'backup',
        args: { paths: ['/srv'] },
        requested_at: '2026-11-01T00:00:00.000Z',
      },
      metadata: meta('user', 'u-alice', 'alice'),
    },
  ]);
  const batch = Array.from({ length: lines }, (_, seq) => ({
    id: randomUUID(),
    type: 'LogStreamLine',
    data: { job_id: jobId, seq, ts: '2026-11-01T00:00:01.000Z', stream: 'stdout', payload: `line ${seq}` },
    metadata: meta('agent', hostId),
  }));
  await store.append(`joblog-${jobId}`, batch);
  await store.append(`job-${jobId}`, [
    {
      id: randomUUID(),
      type: 'JobFinished',
      data: { job_id: jobId, status: 'succeeded', exit_code: 0, finished_at: '2026-11-01T00:00:02.000Z' },
      metadata: meta('agent', hostId),
    },
  ]);
}

describe('projections rebuild and audit CLIs (real processes, real files)', () => {
  let dir: string;
  let store: EventStore;
  let db: Database.Database;
  let runner: ProjectionRunner;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-projcli-'));
    store = createSqliteEventStore({ path: path.join(dir, 'events.db'), synchronous: 'NORMAL' });
    await store.append('host-h1', [
      {
        id: randomUUID(),
        type: 'HostEnrolled',
        data: {
          host_id: 'h1',
          hostname: 'web-01',
          os: 'linux',
          arch: 'amd64',
          agent_secret_hash: 'x',
          enrolment_token_id: 'e',
          enrolled_at: '2026-11-01T00:00:00.000Z',
        },
        metadata: meta('system', 'enrolment'),
      },
    ]);
    for (let j = 0; j < 20; j++) await appendJob(store, `job${j}`, 'h1', 100);
    // What `serve` does: a live runner on readmodels.db in this process.
    db = openReadModelsDatabase(path.join(dir, 'readmodels.db'));
    runner = new ProjectionRunner(store, db, ALL_PROJECTIONS, { batchSize: 200 });
    runner.start();
    assert.equal(await runner.whenCaughtUp(20_000), true);
  });

  after(async () => {
    await runner.stop();
    db.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('rebuilds while the runner is live and appends continue; both end identical to a fresh replay', async () => {
    let appending = true;
    const writer = (async () => {
      for (let j = 100; appending && j < 400; j++) await appendJob(store, `job${j}`, 'h1', 20);
    })();
    const ran = await cli(['projections', 'rebuild'], dir);
    appending = false;
    await writer;
    assert.equal(ran.code, 0, ran.stderr);
    // It names every projection it rebuilt, in order.
    assert.match(
      ran.stdout,
      new RegExp(`^rebuilt ${ALL_PROJECTIONS.map((p) => p.name).join(', ')} from \\d+ events`),
    );
    assert.match(ran.stderr, /\[#+\] 100%/);
    const head = await store.headPosition();
    await runner.waitForPosition(head!, 20_000);

    const reference = openReadModelsDatabase(path.join(dir, 'reference.db'));
    try {
      await rebuildReadModels(store, reference, ALL_PROJECTIONS);
      assert.deepEqual(dumpReadModels(db, ALL_PROJECTIONS), dumpReadModels(reference, ALL_PROJECTIONS));
    } finally {
      reference.close();
    }
    const generation = db.prepare("SELECT value FROM read_models_meta WHERE key = 'generation'").get() as {
      value: number;
    };
    assert.equal(generation.value, 1);
  });

  it('rejects an unknown projection name, naming the option, and changes nothing', async () => {
    const before = dumpReadModels(db, ALL_PROJECTIONS);
    const ran = await cli(['projections', 'rebuild', '--name', 'nope'], dir);
    assert.equal(ran.code, 2);
    assert.match(ran.stderr, /--name: unknown projection "nope"; known: hosts, jobs/);
    assert.deepEqual(dumpReadModels(db, ALL_PROJECTIONS), before);
  });

  it('prints the audit trail as JSON lines, without job log telemetry unless asked', async () => {
    const ran = await cli(['audit', '--json', '--actor', 'alice', '--limit', '3'], dir);
    assert.equal(ran.code, 0, ran.stderr);
    const lines = ran.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditLine);
    assert.equal(lines.length, 3);
    for (const l of lines) {
      assert.equal(l.actor, 'alice');
      assert.match(l.summary, /^alice requested a backup of web-01 \(job job\d+\)$/);
    }
    const all = await cli(['audit', '--json'], dir);
    assert.ok(!all.stdout.includes('"LogStreamLine"'), 'telemetry left out by default');
    const telemetry = await cli(['audit', '--json', '--stream', 'joblog-job0'], dir);
    assert.equal(telemetry.stdout.trim().split('\n').length, 100);
  });

  it('prints a human table and rejects a bad --since naming the option', async () => {
    const table = await cli(['audit', '--stream', 'job-job1'], dir);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^TIME\s+ACTOR\s+ACTION\s+SUMMARY\n/);
    assert.match(
      table.stdout,
      /agent web-01\s+JobFinished\s+agent web-01 finished job job1 succeeded \(exit 0\)/,
    );
    const bad = await cli(['audit', '--since', 'last tuesday'], dir);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--since: expected an ISO time or an age/);
  });
});
