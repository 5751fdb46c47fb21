import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LiveLogMessage, LiveMessage } from './live-messages';
import { TailSubscriber, type LiveSocket } from './tail-subscriber';

/** A socket whose unsent bytes we control: `stall()` keeps bufferedAmount high, `drain()` flushes. */
class FakeSocket implements LiveSocket {
  bufferedAmount = 0;
  readonly sent: LiveMessage[] = [];
  closed: { code: number; reason: string } | null = null;
  private stalled = false;
  private callbacks: Array<(err?: Error) => void> = [];

  send(data: Buffer, _options: { binary: boolean }, cb: (err?: Error) => void): void {
    this.sent.push(JSON.parse(data.toString('utf8')) as LiveMessage);
    if (this.stalled) {
      this.bufferedAmount += data.length;
      this.callbacks.push(cb);
    } else queueMicrotask(() => cb());
  }

  close(code: number, reason: string): void {
    this.closed = { code, reason };
  }

  stall(): void {
    this.stalled = true;
  }

  drain(): void {
    this.stalled = false;
    this.bufferedAmount = 0;
    for (const cb of this.callbacks.splice(0)) cb();
  }

  get lines(): number[] {
    return this.sent.filter((m): m is LiveLogMessage => m.type === 'log').map((m) => m.seq);
  }
}

const line = (seq: number): LiveLogMessage => ({
  type: 'log',
  seq,
  ts: '2026-11-22T15:00:00.000Z',
  stream: 'stdout',
  payload: `line ${seq}`,
});

// One line (about 90 bytes) is more than the socket may hold unsent.
const LIMITS = { queueSize: 4, maxBufferedBytes: 50 };

describe('TailSubscriber (bounded queue with drop-and-mark)', () => {
  it('sends at once while the socket keeps up, and skips duplicate seqs', () => {
    const socket = new FakeSocket();
    const sub = new TailSubscriber(socket, LIMITS);
    for (const seq of [1, 2, 2, 3, 1, 4]) sub.offerLine(line(seq));
    assert.deepEqual(socket.lines, [1, 2, 3, 4]);
    assert.equal(sub.droppedLines, 0);
  });

  it('drops lines once the socket is backed up and the queue is full, then sends one marker for the gap in place', () => {
    const socket = new FakeSocket();
    const sub = new TailSubscriber(socket, LIMITS);
    socket.stall();
    for (let seq = 1; seq <= 20; seq++) sub.offerLine(line(seq));
    // Sent until bufferedAmount passed the limit (one line), then 4 queued, the rest dropped.
    assert.deepEqual(socket.lines, [1]);
    assert.equal(sub.queued, 4);
    assert.equal(sub.droppedLines, 15);
    socket.drain();
    sub.offerLine(line(21));
    assert.deepEqual(
      socket.sent.map((m) =>
        m.type === 'log' ? m.seq : m.type === 'dropped' ? `${m.from_seq}-${m.to_seq}` : m.type,
      ),
      [1, 2, 3, 4, 5, '6-20', 21],
    );
  });

  it('never drops status or end, keeps only the latest queued progress, and closes after the end is written', () => {
    const socket = new FakeSocket();
    const sub = new TailSubscriber(socket, LIMITS);
    socket.stall();
    for (let seq = 1; seq <= 10; seq++) sub.offerLine(line(seq));
    const progress = (p: number) =>
      ({
        type: 'progress',
        percent_done: p,
        files_done: 0,
        total_files: 0,
        bytes_done: 0,
        total_bytes: 0,
        eta_seconds: null,
        throughput_bps: 0,
        ts: '2026-11-22T15:00:00.000Z',
      }) as const;
    sub.offerProgress(progress(0.1));
    sub.offerProgress(progress(0.9));
    sub.end({ type: 'end', status: 'succeeded' });
    assert.equal(socket.closed, null);
    socket.drain();
    const types = socket.sent.map((m) => m.type);
    assert.deepEqual(types.filter((t) => t === 'progress').length, 1);
    const p = socket.sent.find((m) => m.type === 'progress');
    assert.equal(p?.type === 'progress' ? p.percent_done : -1, 0.9);
    const dropped = socket.sent.find((m) => m.type === 'dropped');
    assert.deepEqual(dropped, { type: 'dropped', from_seq: 6, to_seq: 10, reason: 'slow_consumer' });
    assert.equal(types[types.length - 1], 'end');
    assert.deepEqual(socket.closed, { code: 1000, reason: 'job finished' });
  });

  it('paces catch-up lines instead of dropping them, and starts after after_seq', async () => {
    const socket = new FakeSocket();
    const sub = new TailSubscriber(socket, LIMITS, 2);
    socket.stall();
    for (let seq = 1; seq <= 8; seq++) sub.pushCatchUpLine(line(seq));
    assert.equal(sub.droppedLines, 0);
    let roomy = false;
    const waiting = sub.waitForRoom().then(() => (roomy = true));
    await Promise.resolve();
    assert.equal(roomy, false, 'a full queue makes the catch-up wait');
    socket.drain();
    await waiting;
    assert.deepEqual(socket.lines, [3, 4, 5, 6, 7, 8]);
  });
});
