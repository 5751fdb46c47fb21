import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { ControlPlaneProcess } from '../support/control-plane.process';
import { controlPlaneBin, runNode } from '../support/fleet';

/*
 * A node whose read models come from one log, started against another, must
 * refuse rather than skip or misread events (docs/architecture.md, "Log identity").
 * Real `restic-fleet serve` processes on real SQLite logs.
 */
describe('read models are tied to the log they were built from (e2e)', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-logid-'));
  const dataDir = path.join(root, 'node');
  const otherLog = path.join(root, 'other', 'events.db');
  fs.mkdirSync(dataDir, { recursive: true });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('refuses to start on another log with what to do, and a full rebuild moves the read models over', async () => {
    // A first node builds read models (and state snapshots at shutdown) from its own log.
    const first = await ControlPlaneProcess.start({ dataDir });
    await first.stop();

    // A second, fresh log: a node serving it alone gives it its own identity.
    const otherDir = path.dirname(otherLog);
    fs.mkdirSync(otherDir, { recursive: true });
    const other = await ControlPlaneProcess.start({ dataDir: otherDir });
    await other.stop();

    // The first node's data dir pointed at the other log: refused before listening.
    const env = { RF_EVENTSTORE: `sqlite://${otherLog}` };
    await assert.rejects(ControlPlaneProcess.start({ dataDir, env }), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.match(err.message, /exited with 2 before listening/);
      assert.match(
        err.message,
        /refusing to start: the read models in .* were built from log [0-9a-f-]{36}, but RF_EVENTSTORE names log [0-9a-f-]{36}/,
      );
      assert.match(
        err.message,
        /Point RF_EVENTSTORE back at the log they came from, or move .*readmodels\.db away/,
      );
      return true;
    });

    // Back on its own log it starts as before.
    const again = await ControlPlaneProcess.start({ dataDir });
    await again.stop();

    // A partial rebuild cannot move read models to another log; a full one can.
    const cliEnv = { PATH: process.env.PATH ?? '', HOME: dataDir, RF_DATA_DIR: dataDir, ...env };
    const partial = await runNode(controlPlaneBin(), ['projections', 'rebuild', '--name', 'hosts'], cliEnv);
    assert.equal(partial.code, 2, partial.stderr);
    assert.match(partial.stderr, /rebuild all of them \(without --name\) to move them to this log/);
    const full = await runNode(controlPlaneBin(), ['projections', 'rebuild'], cliEnv);
    assert.equal(full.code, 0, full.stderr);
    const moved = await ControlPlaneProcess.start({ dataDir, env });
    assert.match(moved.logText(), /listening on/);
    await moved.stop();
  });
});
