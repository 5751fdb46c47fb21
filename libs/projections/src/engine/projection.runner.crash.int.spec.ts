import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createSqliteEventStore } from '@rf/event-store';
import { ProjectionRunner } from './projection.runner';
import { openReadModelsDatabase } from './read-models.database';
import { rebuildReadModels } from './read-models.rebuilder';
import { dumpReadModels } from './dump-read-models';
import { ALL_PROJECTIONS } from '../read-models/all.projections';
import { fleetHistory } from '../testing/fleet-events.fixture';
import { appendAll, projectionRunnerChildPath } from '../testing';

/** Starts the runner child and SIGKILLs it once its committed checkpoint passes `killAt`; resolves with that checkpoint. */
function runAndKill(
  eventsFile: string,
  readModelsFile: string,
  killAt: bigint,
  timeoutMs: number,
): Promise<bigint> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [projectionRunnerChildPath(), eventsFile, readModelsFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let seen = 0n;
    let buffer = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `runner child did not pass checkpoint ${killAt} within ${timeoutMs} ms (saw ${seen}); stderr: ${stderr}`,
        ),
      );
    }, timeoutMs);
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdout.on('data', (b: Buffer) => {
      buffer += b.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^checkpoint (\d+)$/.exec(line);
        if (m) seen = BigInt(m[1]!);
      }
      if (seen >= killAt && child.exitCode === null) child.kill('SIGKILL');
    });
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL' && seen >= killAt) resolve(seen);
      else reject(new Error(`runner child exited (${signal ?? _code}) before the kill; stderr: ${stderr}`));
    });
  });
}

describe('ProjectionRunner killed with SIGKILL mid catch-up', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-proj-crash-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('resumes after the kill without applying any event twice or skipping one', async () => {
    const eventsFile = path.join(dir, 'events.db');
    const readModelsFile = path.join(dir, 'readmodels.db');
    const store = createSqliteEventStore({ path: eventsFile, synchronous: 'NORMAL' });
    try {
      await appendAll(store, fleetHistory({ hosts: 4, jobsPerHost: 5, linesPerJob: 150 }));
      const head = (await store.headPosition())!;

      // Two kills at different points, then a clean finish in this process.
      const first = await runAndKill(eventsFile, readModelsFile, head.commit / 4n, 60_000);
      const second = await runAndKill(eventsFile, readModelsFile, first + head.commit / 4n, 60_000);
      assert.ok(
        second > first && second < head.commit,
        `killed mid-way (${first}, ${second} of ${head.commit})`,
      );

      const db = openReadModelsDatabase(readModelsFile);
      const runner = new ProjectionRunner(store, db, ALL_PROJECTIONS);
      try {
        const cp = runner.start().length === 0 ? runner.checkpoint() : null;
        assert.ok(cp !== null && cp.commit >= second, 'the committed checkpoint survived the kill');
        await runner.waitForPosition(head, 30_000);
        const reference = openReadModelsDatabase(path.join(dir, 'reference.db'));
        await rebuildReadModels(store, reference, ALL_PROJECTIONS);
        const dump = dumpReadModels(db);
        assert.deepEqual(dump, dumpReadModels(reference));
        reference.close();
        for (const job of dump['jobs']!) assert.equal(job['log_line_count'], 150, `job ${String(job['id'])}`);
        assert.equal(dump['job_log_lines']!.length, 4 * 5 * 150);
      } finally {
        await runner.stop();
        db.close();
      }
    } finally {
      await store.close();
    }
  });
});
