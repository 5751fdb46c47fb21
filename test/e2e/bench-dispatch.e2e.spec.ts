import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';

/*
 * Keeps `npm run bench:dispatch` runnable and checks what it counts: a small
 * fleet (24 hosts on 3 repositories, a third of the jobs exclusive, requested
 * faster than the repositories free up) must dispatch every job once, finish
 * them all, and never put a conflicting pair out at once. It asserts no
 * speed: performance is read from full bench runs, not from tests.
 */

const BENCH = path.join(__dirname, '..', 'bench', 'dispatch.bench.js');

function runBench(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BENCH, ...args],
      { timeout: 180_000, maxBuffer: 4 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`bench failed: ${err.message}\n${stdout}\n${stderr}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

describe('bench:dispatch (smoke)', () => {
  it('dispatches mixed shared and exclusive jobs on shared repositories without a lock conflict and ends with the JSON line', async () => {
    const { stdout } = await runBench([
      '--hosts',
      '24',
      '--repositories',
      '3',
      '--jobs',
      '150',
      '--rate',
      '60',
      '--exclusive-percent',
      '30',
      '--json',
    ]);
    const lines = stdout.trim().split('\n');
    const result = JSON.parse(lines[lines.length - 1]!) as Record<string, number>;
    for (const key of ['dispatch_p50_ms', 'dispatch_p99_ms', 'queued_dispatch_p99_ms', 'raw_append_p99_ms'])
      assert.equal(typeof result[key], 'number', `${key} in ${lines[lines.length - 1]}`);
    assert.equal(result.hosts, 24);
    assert.equal(result.repositories, 3);
    assert.equal(result.jobs, 150);
    assert.ok(result.exclusive_jobs! > 0, 'some jobs were exclusive');
    assert.equal(result.lock_conflicts, 0, 'no conflicting pair was ever out at once');
    assert.equal(result.double_dispatches, 0, 'no job was dispatched twice');
    assert.equal(result.unknown_dispatches, 0);
    assert.equal(result.not_finished, 0, 'every job was dispatched and finished');
    assert.ok(result.queued_dispatch_p99_ms! > 0, 'jobs waited behind others');
    assert.match(stdout, /lock conflicts dispatched\s+0/);
  });
});
