/**
 * A full disk under the agent's outbox and state files: a write that stops
 * short must fail, never leave a torn record that counts as written. Runs on
 * a real tiny tmpfs where this process may mount one (root), else with the
 * same byte budget enforced at the repositories' write boundary.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { memoryLogger } from './memory-logger.testing';
import { DroppedRange, OutboxEnvelope, OutboxRepository } from './outbox.repository';
import { SmallDisk } from './small-disk.testing';
import { JsonStateFile } from './state-file.repository';

let n = 0;
function env(type: string, payload: object = {}): OutboxEnvelope {
  n++;
  return { id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, type, job_id: 'j', payload };
}

const waitUntil = async (what: string, probe: () => boolean, timeoutMs = 10_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('agent state on a full disk', () => {
  let disk: SmallDisk;

  beforeEach(() => {
    disk = SmallDisk.open();
  });
  afterEach(() => disk.dispose());

  it(`outbox: a short write fails the flush, is cut back, stays unsendable, and is written once there is room`, async (t) => {
    t.diagnostic(`disk: ${disk.kind}`);
    const logger = memoryLogger();
    const stateDir = path.join(disk.dir, 'state');
    const open = (): OutboxRepository =>
      new OutboxRepository({
        dir: stateDir,
        logger,
        write: disk.write,
        makeLogDropped: (r: DroppedRange) => env('log.dropped', { ...r }),
      });
    const ob = open();
    const first = env('job.started');
    ob.enqueue(first);
    await ob.flush();
    assert.deepEqual(
      ob.takeSendable(10).map((e) => e.id),
      [first.id],
    );
    const goodSize = fs.statSync(ob.file).size;

    disk.fillLeaving(4096);
    const big = env('job.finished', { error: 'z'.repeat(40_000) });
    ob.enqueue(big);
    await assert.rejects(ob.flush(), /outbox write failed: ENOSPC/);
    assert.equal(fs.statSync(ob.file).size, goodSize, 'the partly written record was cut off the file');
    assert.deepEqual(ob.takeSendable(10), [], 'an envelope that did not reach the disk is not sendable');
    assert.match(ob.failing ?? '', /ENOSPC/);
    assert.ok(logger.records.some((r) => r.level === 'error' && /write failed/.test(r.msg)));

    disk.freeAll();
    await waitUntil('the retry to write the envelope', () => ob.failing === undefined);
    assert.deepEqual(
      ob.takeSendable(10).map((e) => e.id),
      [big.id],
    );
    assert.ok(logger.records.some((r) => /writes succeed again/.test(r.msg)));
    ob.close();

    const again = open();
    assert.deepEqual(
      again.takeSendable(10).map((e) => e.id),
      [first.id, big.id],
      'the file reloads with both envelopes and no torn line',
    );
    assert.ok(!logger.records.some((r) => /unreadable|torn/.test(r.msg)), 'nothing unreadable on reload');
    again.close();
  });

  it('state file: a short write of the new content throws and leaves the old content and no temp file', (t) => {
    t.diagnostic(`disk: ${disk.kind}`);
    const parse = (o: Record<string, unknown>): { items: string[] } => ({ items: o.items as string[] });
    const state = new JsonStateFile(path.join(disk.dir, 'schedules.json'), 1, parse, disk.write);
    state.write({ items: ['nightly'] });

    disk.fillLeaving(4096);
    assert.throws(() => state.write({ items: Array.from({ length: 2000 }, (_, i) => `schedule-${i}`) }), {
      code: 'ENOSPC',
    });
    assert.deepEqual(state.read(), { items: ['nightly'] }, 'the previous content is intact');
    assert.deepEqual(
      fs.readdirSync(disk.dir).filter((f) => f.endsWith('.tmp')),
      [],
      'the torn temp file is removed',
    );
    disk.freeAll();
    state.write({ items: ['nightly', 'weekly'] });
    assert.deepEqual(state.read(), { items: ['nightly', 'weekly'] });
  });
});
