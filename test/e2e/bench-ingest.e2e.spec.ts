import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';

/*
 * Keeps `npm run bench:ingest` runnable: a tiny run (3 agents, 1 s per phase)
 * must finish, print the side-by-side table and end with the JSON line whose
 * keys the issue and the README rely on. It asserts no speed: performance is
 * read from full bench runs, not from tests.
 */

const BENCH = path.join(__dirname, '..', 'bench', 'ingest.bench.js');

function runBench(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BENCH, ...args],
      { timeout: 120_000, maxBuffer: 4 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`bench failed: ${err.message}\n${stderr}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

describe('bench:ingest (smoke)', () => {
  it('measures the raw ack server and the control plane in one run and ends with the JSON line', async () => {
    const { stdout } = await runBench([
      '--agents',
      '3',
      '--seconds',
      '1',
      '--warmup',
      '1',
      '--rate',
      '50',
      '--json',
    ]);
    const lines = stdout.trim().split('\n');
    const result = JSON.parse(lines[lines.length - 1]!) as Record<string, number | null>;
    for (const key of [
      'envelopes_per_s',
      'ack_p50_ms',
      'ack_p99_ms',
      'rss_mb',
      'raw_envelopes_per_s',
      'raw_ack_p99_ms',
    ]) {
      assert.equal(typeof result[key], 'number', `${key} in ${lines[lines.length - 1]}`);
    }
    assert.equal(result.agents, 3);
    assert.equal(result.offered_per_s, 150);
    // Both servers acked what the agents sent: the control plane stored it, the raw server only answered.
    assert.ok(result.envelopes_acked! > 0, 'the control plane acked envelopes');
    assert.ok(result.raw_envelopes_per_s! > 0, 'the raw ack server acked envelopes');
    assert.ok(result.ack_p99_ms! >= result.ack_p50_ms!, 'p99 is not below p50');
    assert.ok(result.rss_mb! > 0, 'the control plane RSS was sampled');
    assert.match(stdout, /raw ack server\s+control plane/);
    assert.match(stdout, /envelope→ack p99/);
  });
});
