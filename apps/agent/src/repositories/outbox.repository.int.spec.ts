import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { memoryLogger } from './memory-logger.testing';
import { DroppedRange, OutboxEnvelope, OutboxRepository } from './outbox.repository';

let n = 0;
function env(type: string, jobId?: string, payload: object = {}): OutboxEnvelope {
  n++;
  return { id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, type, job_id: jobId, payload };
}

function line(jobId: string, seq: number, text = 'x'.repeat(100)): OutboxEnvelope {
  return env('log.stream', jobId, { job_id: jobId, seq, stream: 'stdout', payload: text });
}

describe('OutboxRepository (real files)', () => {
  let dir: string;
  let logger: ReturnType<typeof memoryLogger>;
  const open = (maxBytes?: number): OutboxRepository =>
    new OutboxRepository({
      dir,
      maxBytes,
      logger,
      makeLogDropped: (r: DroppedRange) => env('log.dropped', r.job_id, { ...r }),
    });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-outbox-'));
    logger = memoryLogger();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('makes envelopes sendable only after they are fsynced, in order', async () => {
    const ob = open();
    const a = env('job.started', 'j1');
    const b = env('log.stream', 'j1', { seq: 1 });
    ob.enqueue(a);
    ob.enqueue(b);
    assert.deepEqual(ob.takeSendable(10), [], 'nothing is sendable before the group fsync');
    await ob.flush();
    assert.deepEqual(
      ob.takeSendable(10).map((e) => e.id),
      [a.id, b.id],
    );
    assert.deepEqual(ob.takeSendable(10), [], 'each envelope is handed out once per connection');
    const text = fs.readFileSync(ob.file, 'utf8');
    assert.ok(text.includes(a.id) && text.includes(b.id), 'both envelopes are on disk');
    ob.close();
  });

  it('removes envelopes only on ack and resends the rest after a reconnect', async () => {
    const ob = open();
    const envs = [env('job.started', 'j'), env('log.stream', 'j'), env('job.finished', 'j')];
    for (const e of envs) ob.enqueue(e);
    await ob.flush();
    ob.takeSendable(10);
    assert.equal(ob.ack([envs[0].id, 'not-a-known-id']), 1);
    ob.rewindSend();
    assert.deepEqual(
      ob.takeSendable(10).map((e) => e.id),
      [envs[1].id, envs[2].id],
    );
    assert.equal(ob.size, 2);
    ob.close();
  });

  it('survives a restart: unacknowledged envelopes come back first-in first-out with their ids', async () => {
    const ob = open();
    const envs = Array.from({ length: 50 }, (_, i) => env('log.stream', 'j', { seq: i + 1 }));
    for (const e of envs) ob.enqueue(e);
    await ob.flush();
    ob.ack(envs.slice(0, 10).map((e) => e.id));
    ob.ack([envs[20].id]);
    ob.close();

    const again = open();
    const expected = envs.filter((_, i) => i >= 10 && i !== 20).map((e) => e.id);
    assert.equal(again.size, expected.length);
    assert.deepEqual(
      again.takeSendable(1000).map((e) => e.id),
      expected,
    );
    again.close();
  });

  it('ignores a torn last line (a crash mid-append) and keeps the complete records', async () => {
    const ob = open();
    const a = env('job.started', 'j');
    ob.enqueue(a);
    await ob.flush();
    ob.close();
    fs.appendFileSync(path.join(dir, 'outbox.log'), '{"o":"p","e":{"id":"half');
    const again = open();
    assert.deepEqual(
      again.takeSendable(10).map((e) => e.id),
      [a.id],
    );
    assert.ok(logger.records.some((r) => r.level === 'warn' && /torn last line/.test(r.msg)));
    again.close();
  });

  it('keeps and resends the readable prefix of an outbox with a bad line; the rest is set aside and reported', async () => {
    const ob = open();
    const kept = [
      env('job.started', 'j'),
      env('log.stream', 'j', { seq: 1 }),
      env('log.stream', 'j', { seq: 2 }),
    ];
    for (const e of kept) ob.enqueue(e);
    await ob.flush();
    ob.ack([kept[1].id]);
    ob.close();
    const lost = env('job.finished', 'j');
    fs.appendFileSync(
      path.join(dir, 'outbox.log'),
      `{"o":"p","e":{"id":"torn-in-the-middle"\n${JSON.stringify({ o: 'p', e: lost })}\n`,
    );

    const again = open();
    assert.deepEqual(
      again.takeSendable(10).map((e) => e.id),
      [kept[0].id, kept[2].id],
      'the records before the bad line (puts and acks) are kept and sent',
    );
    const aside = fs.readdirSync(dir).filter((f) => f.startsWith('outbox.log.corrupt-'));
    assert.equal(aside.length, 1, 'the bad part is kept for inspection');
    const asideText = fs.readFileSync(path.join(dir, aside[0]), 'utf8');
    assert.ok(asideText.startsWith('{"o":"p","e":{"id":"torn-in-the-middle"'), asideText);
    assert.ok(
      asideText.includes(lost.id) && !asideText.includes(kept[0].id),
      'only the bad part is set aside',
    );
    const err = logger.records.find((r) => r.level === 'error');
    assert.ok(err && /line 6 is unreadable; the 5 lines before it are kept/.test(err.msg), err?.msg);
    assert.equal((err.obj as { lines_set_aside: number }).lines_set_aside, 2);
    await again.flush();
    again.close();

    const third = open();
    assert.equal(third.size, 2, 'the main file was rewritten without the bad part');
    assert.equal(fs.readdirSync(dir).filter((f) => f.startsWith('outbox.log.corrupt-')).length, 1);
    third.close();
  });

  it('sets a file with an unreadable header aside whole and starts empty', () => {
    fs.writeFileSync(path.join(dir, 'outbox.log'), 'this is not json\n{"o":"p"}\n');
    const ob = open();
    assert.equal(ob.size, 0);
    const aside = fs.readdirSync(dir).filter((f) => f.startsWith('outbox.log.corrupt-'));
    assert.equal(aside.length, 1);
    assert.ok(fs.readFileSync(path.join(dir, aside[0]), 'utf8').includes('this is not json'));
    ob.close();
  });

  it('keeps drop counters across a restart and reports them when the job is taken', async () => {
    const ob = open(64 * 1024);
    let seq = 0;
    let accepted = 0;
    for (let i = 0; i < 1000; i++) if (ob.enqueue(line('j', ++seq))) accepted++;
    ob.enqueue(env('job.progress', 'j', { percent_done: 0.1 }));
    await ob.flush();
    ob.close();

    const again = open(64 * 1024);
    assert.deepEqual(again.jobsWithDrops(), ['j']);
    assert.deepEqual(again.takeDropped('j'), { logLines: 1000 - accepted, progress: 1 });
    await again.flush();
    const gap = again.takeSendable(100_000).find((e) => e.type === 'log.dropped');
    assert.deepEqual(gap?.payload, {
      job_id: 'j',
      from_seq: accepted + 1,
      to_seq: 1000,
      count: 1000 - accepted,
    });
    again.close();

    const third = open(64 * 1024);
    assert.deepEqual(third.jobsWithDrops(), [], 'taking the counters is durable too');
    third.close();
  });

  it('sets aside an outbox with another schema version', () => {
    fs.writeFileSync(path.join(dir, 'outbox.log'), '{"schema_version":99}\n');
    const ob = open();
    assert.equal(fs.readdirSync(dir).filter((f) => f.includes('.corrupt-')).length, 1);
    ob.close();
  });

  it('over the size cap drops log lines and progress but never lifecycle messages, and reports the gap', async () => {
    const ob = open(64 * 1024);
    ob.enqueue(env('job.started', 'j'));
    let accepted = 0;
    let seq = 0;
    // Nothing is acked (server away): fill well past the cap.
    for (let i = 0; i < 2000; i++) if (ob.enqueue(line('j', ++seq))) accepted++;
    assert.ok(accepted > 100 && accepted < 2000, `some lines accepted (${accepted}), the rest dropped`);
    assert.equal(ob.enqueue(env('job.progress', 'j', { percent_done: 0.5 })), false, 'progress is droppable');
    assert.equal(ob.enqueue(env('snapshots.report', 'j', {})), true, 'snapshots.report is never dropped');
    const dropped = ob.takeDropped('j');
    assert.equal(dropped.logLines, 2000 - accepted);
    assert.equal(dropped.progress, 1);
    assert.equal(ob.enqueue(env('job.finished', 'j', { dropped_log_lines: dropped.logLines })), true);
    await ob.flush();
    const all = ob.takeSendable(100_000);
    const gap = all.find((e) => e.type === 'log.dropped');
    assert.ok(gap, 'a durable log.dropped is queued');
    assert.deepEqual(gap.payload, {
      job_id: 'j',
      from_seq: accepted + 1,
      to_seq: 2000,
      count: 2000 - accepted,
    });
    assert.deepEqual(all.map((e) => e.type).slice(-3), ['snapshots.report', 'log.dropped', 'job.finished']);
    assert.ok(
      logger.records.some(
        (r) => r.level === 'warn' && /dropped 1\d* log lines|dropped \d+ log lines/.test(r.msg),
      ),
    );
    ob.close();
  });

  it('queues log.dropped as soon as lines of that job are accepted again', async () => {
    const ob = open(64 * 1024);
    const first: OutboxEnvelope[] = [];
    let seq = 0;
    for (let i = 0; i < 1000; i++) {
      const e = line('j', ++seq);
      if (ob.enqueue(e)) first.push(e);
    }
    await ob.flush();
    ob.takeSendable(100_000);
    ob.ack(first.map((e) => e.id));
    assert.equal(ob.enqueue(line('j', ++seq)), true);
    await ob.flush();
    const next = ob.takeSendable(10);
    assert.deepEqual(
      next.map((e) => e.type),
      ['log.dropped', 'log.stream'],
    );
    assert.deepEqual(next[0].payload, {
      job_id: 'j',
      from_seq: first.length + 1,
      to_seq: 1000,
      count: 1000 - first.length,
    });
    ob.close();
  });

  it('compacts the file once acknowledged records dominate and keeps the pending ones', async () => {
    const ob = open();
    const big = 'y'.repeat(2000);
    const envs = Array.from({ length: 3000 }, (_, i) => line('j', i + 1, big));
    for (const e of envs) ob.enqueue(e);
    await ob.flush();
    ob.takeSendable(100_000);
    ob.ack(envs.slice(0, 2990).map((e) => e.id));
    const fin = env('job.finished', 'j');
    ob.enqueue(fin);
    await ob.flush();
    const size = fs.statSync(ob.file).size;
    assert.ok(size < 1024 * 1024, `compacted to ${size} bytes`);
    ob.close();
    const again = open();
    assert.deepEqual(
      again.takeSendable(100).map((e) => e.id),
      [...envs.slice(2990).map((e) => e.id), fin.id],
    );
    again.close();
  });
});
