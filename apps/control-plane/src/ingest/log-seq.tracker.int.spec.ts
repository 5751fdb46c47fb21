import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createSqliteEventStore, type EventStore } from '@rf/event-store';
import { jobLogStream } from '@rf/events';
import { LogSeqTracker } from './log-seq.tracker';

const line = (jobId: string, seq: number) => ({
  id: randomUUID(),
  type: 'LogStreamLine',
  data: { job_id: jobId, seq, ts: new Date().toISOString(), stream: 'stdout', payload: `line ${seq}` },
});
const progress = (jobId: string) => ({
  id: randomUUID(),
  type: 'JobProgress',
  data: {
    job_id: jobId,
    percent_done: 0.5,
    files_done: 1,
    total_files: 2,
    bytes_done: 1,
    total_bytes: 2,
    throughput_bps: 1,
    ts: new Date().toISOString(),
  },
});

describe('LogSeqTracker (real SQLite event store)', () => {
  let dir: string;
  let store: EventStore;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-logseq-'));
    store = createSqliteEventStore({ path: path.join(dir, 'events.db') });
  });
  after(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts at 0 for a job with no log, and claims each seq once', async () => {
    const t = new LogSeqTracker(store);
    await t.prepare('job-a');
    assert.equal(t.claim('job-a', 1), true);
    assert.equal(t.claim('job-a', 2), true);
    assert.equal(t.claim('job-a', 2), false, 'a repeat in the same batch is a resend');
    assert.equal(t.claim('job-a', 1), false);
    assert.equal(t.claim('job-a', 5), true, 'a gap (lines the agent dropped) is fine');
  });

  it('reloads the high-water mark from the stream, past trailing progress events, in a new process', async () => {
    const jobId = randomUUID();
    await store.append(jobLogStream(jobId), [line(jobId, 1), line(jobId, 2), line(jobId, 3)]);
    // More progress after the last line than any fixed look-back would cover.
    for (let i = 0; i < 5; i++)
      await store.append(
        jobLogStream(jobId),
        Array.from({ length: 100 }, () => progress(jobId)),
      );
    const fresh = new LogSeqTracker(store); // as after a control-plane restart: the id cache plays no part
    await fresh.prepare(jobId);
    assert.equal(fresh.claim(jobId, 3), false);
    assert.equal(fresh.claim(jobId, 4), true);
  });

  it('after forget(), trusts the stream again', async () => {
    const jobId = randomUUID();
    await store.append(jobLogStream(jobId), [line(jobId, 1)]);
    const t = new LogSeqTracker(store);
    await t.prepare(jobId);
    assert.equal(t.claim(jobId, 2), true); // claimed, but suppose its append then failed
    t.forget(jobId);
    await t.prepare(jobId);
    assert.equal(t.claim(jobId, 2), true, 'the line that failed to append is accepted when resent');
  });
});
