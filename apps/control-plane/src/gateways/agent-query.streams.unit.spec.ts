import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { encodeQueryChunk, makeEnvelope } from '@rf/events';
import { AppError } from '../core/app-error';
import { AgentQueryStreams, QUERY_WINDOW_BYTES } from './agent-query.streams';
import type { AgentSession, AgentSessions } from './agent-sessions';

const FRAME = 64 * 1024;

/**
 * A fake agent that obeys the credit rule: it sends 64 KiB frames while it has
 * credit, up to `total` bytes, then query.end.
 */
class FakeAgent implements AgentSession {
  readonly hostId = 'h1';
  readonly connectionId = 'c1';
  readonly connectedAt = 0;
  lastSeen = 0;
  readonly capabilities = new Set(['queries']);
  readonly sent: Array<{ type: string; payload: Record<string, unknown> }> = [];
  streams!: AgentQueryStreams;
  queryId = '';
  credit = 0;
  sentBytes = 0;
  maxAhead = 0;
  constructor(private readonly total: number) {}

  send(envelope: object): boolean {
    const e = envelope as { type: string; payload: Record<string, unknown> };
    this.sent.push(e);
    if (e.type === 'query.start') {
      this.queryId = String(e.payload.query_id);
      this.credit = Number(e.payload.credit);
    } else if (e.type === 'query.credit') this.credit += Number(e.payload.bytes);
    setImmediate(() => this.pump());
    return true;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private pump(): void {
    while (this.credit > 0 && this.sentBytes < this.total) {
      const n = Math.min(FRAME, this.credit, this.total - this.sentBytes);
      this.streams.chunk(this, encodeQueryChunk(this.queryId, Buffer.alloc(n, 7)));
      this.credit -= n;
      this.sentBytes += n;
    }
    if (this.sentBytes === this.total && this.total >= 0) {
      this.streams.answer(
        this,
        makeEnvelope('query.end', {
          query_id: this.queryId,
          bytes: this.total,
          exit_code: 0,
          restic_version: '0.14.0',
        }),
      );
      this.sentBytes = Number.POSITIVE_INFINITY;
    }
  }
}

function setUp(total: number): { agent: FakeAgent; streams: AgentQueryStreams } {
  const agent = new FakeAgent(total);
  const sessions = { get: (id: string) => (id === 'h1' ? agent : undefined) } as unknown as AgentSessions;
  const streams = new AgentQueryStreams(sessions);
  agent.streams = streams;
  return { agent, streams };
}

describe('AgentQueryStreams flow control (fake agent, real streams)', () => {
  it('a slow reader gets every byte while the agent is never more than one window ahead', async () => {
    const total = 12 * 1024 * 1024 + 123;
    const { agent, streams } = setUp(total);
    const stream = streams.open('h1', { kind: 'dump', snapshot: 'abcd1234', path: '/a', maxBytes: total });
    let got = 0;
    let worstAhead = 0;
    await pipeline(
      stream,
      new Writable({
        highWaterMark: 16 * 1024,
        write(chunk: Buffer, _enc, cb) {
          got += chunk.length;
          worstAhead = Math.max(
            worstAhead,
            agent.sentBytes === Number.POSITIVE_INFINITY ? 0 : agent.sentBytes - got,
          );
          // A slow reader: every chunk takes a turn of the event loop.
          setTimeout(cb, 0);
        },
      }),
    );
    assert.equal(got, total);
    assert.ok(
      worstAhead <= QUERY_WINDOW_BYTES + 64 * 1024,
      `the agent ran ${worstAhead} bytes ahead of the reader (window ${QUERY_WINDOW_BYTES})`,
    );
    const credits = agent.sent.filter((e) => e.type === 'query.credit');
    assert.ok(credits.length >= 40 && credits.length <= 60, `${credits.length} credit messages for 12 MiB`);
    assert.equal(streams.count, 0);
  });

  it('destroying the stream (the client went away) cancels the query once', async () => {
    const { agent, streams } = setUp(64 * 1024 * 1024);
    const stream = streams.open('h1', { kind: 'dump', snapshot: 'abcd1234', path: '/a', maxBytes: 1 << 30 });
    await new Promise((r) => stream.once('readable', r));
    stream.destroy();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      agent.sent.filter((e) => e.type === 'query.cancel').map((e) => e.payload.query_id),
      [agent.queryId],
    );
    assert.equal(streams.count, 0);
  });

  it('an agent error or a closed connection fails the stream with a coded error', async () => {
    const { agent, streams } = setUp(0);
    const s1 = streams.open('h1', { kind: 'ls', snapshot: 'abcd1234', path: '/nope', maxBytes: 100 });
    const failed = new Promise<unknown>((resolve) => s1.once('error', resolve));
    streams.answer(
      agent,
      makeEnvelope('query.error', { query_id: agent.queryId, code: 'not_found', message: 'path not found' }),
    );
    const err = await failed;
    assert.ok(err instanceof AppError && err.code === 'not_found');
    const s2 = streams.open('h1', { kind: 'ls', snapshot: 'abcd1234', path: '/x', maxBytes: 100 });
    const gone = new Promise<unknown>((resolve) => s2.once('error', resolve));
    streams.connectionClosed(agent);
    const err2 = await gone;
    assert.ok(err2 instanceof AppError && err2.code === 'agent_failed');
    assert.equal(agent.sent.filter((e) => e.type === 'query.cancel').length, 0, 'nothing to cancel');
  });

  it('refuses a host that is offline or cannot answer queries', () => {
    const { streams } = setUp(0);
    assert.equal(streams.canQuery('h2'), false);
    assert.throws(
      () => streams.open('h2', { kind: 'ls', snapshot: 'abcd1234', path: '/', maxBytes: 1 }),
      (e: unknown) => e instanceof AppError && e.code === 'unavailable',
    );
  });
});
