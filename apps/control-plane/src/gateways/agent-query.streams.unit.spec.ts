import assert from 'node:assert/strict';
import * as net from 'node:net';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { makeEnvelope } from '@rf/events';
import { AppError } from '../core/app-error';
import { AgentQueryStreams } from './agent-query.streams';
import type { AgentSession, AgentSessions } from './agent-sessions';

/** A fake agent session that records what the control plane sends it. */
class FakeSession implements AgentSession {
  readonly connectionId = 'c1';
  readonly connectedAt = 0;
  lastSeen = 0;
  readonly capabilities = new Set(['query_raw_upload']);
  readonly sent: Array<{ type: string; payload: Record<string, unknown> }> = [];
  constructor(readonly hostId: string) {}

  send(envelope: object): boolean {
    this.sent.push(envelope as { type: string; payload: Record<string, unknown> });
    return true;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  get start(): { query_id: string; upload_token: string } {
    const s = this.sent.find((e) => e.type === 'query.start');
    return { query_id: String(s?.payload.query_id), upload_token: String(s?.payload.upload_token) };
  }
}

const ended = (queryId: string, bytes?: number) =>
  makeEnvelope('query.end', {
    query_id: queryId,
    ...(bytes !== undefined ? { bytes } : {}),
    exit_code: 0,
    restic_version: '0.14.0',
  });

describe('AgentQueryStreams (fake session, real sockets for the upload)', () => {
  let server: net.Server;
  /** The agent's end of each upload; the control plane's end is attached to the stream. */
  const connect = async (streams: AgentQueryStreams, queryId: string): Promise<net.Socket> => {
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    const agentEnd = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    agentEnd.on('error', () => undefined);
    streams.attachUpload(queryId, await accepted, Buffer.alloc(0));
    return agentEnd;
  };
  const setUp = () => {
    const h1 = new FakeSession('h1');
    const sessions = { get: (id: string) => (id === 'h1' ? h1 : undefined) } as unknown as AgentSessions;
    return { h1, streams: new AgentQueryStreams(sessions) };
  };

  before(async () => {
    server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  after(() => server.close());

  it('a slow reader gets every byte while the stream holds no more than its buffer and one read', async () => {
    const { h1, streams } = setUp();
    const total = 12 * 1024 * 1024 + 123;
    const stream = streams.open('h1', { kind: 'dump', snapshot: 'abcd1234', path: '/a', maxBytes: total });
    const agentEnd = await connect(streams, h1.start.query_id);
    const body = Buffer.alloc(total, 7);
    void (async () => {
      for (let at = 0; at < total; at += 64 * 1024)
        if (!agentEnd.write(body.subarray(at, at + 64 * 1024)))
          await new Promise((r) => agentEnd.once('drain', r));
      agentEnd.end();
    })();
    // The answer comes on the socket long before the reader has the bytes: the stream waits for both.
    streams.answer(h1, ended(h1.start.query_id, total));
    let got = 0;
    let worstHeld = 0;
    await pipeline(
      stream,
      new Writable({
        highWaterMark: 16 * 1024,
        write(chunk: Buffer, _enc, cb) {
          got += chunk.length;
          worstHeld = Math.max(worstHeld, stream.readableLength);
          setTimeout(cb, 0);
        },
      }),
    );
    agentEnd.destroy();
    assert.equal(got, total);
    assert.ok(worstHeld <= 256 * 1024 + 128 * 1024, `the stream held ${worstHeld} bytes`);
    assert.equal(streams.count, 0);
  });

  it('ends only with both the end of the upload and query.end (uncounted), from the session the query went to', async () => {
    const { h1, streams } = setUp();
    const stream = streams.open('h1', { kind: 'ls', snapshot: 'abcd1234', path: '/a', maxBytes: 100 });
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    const done = new Promise((r) => stream.once('end', r));
    const agentEnd = await connect(streams, h1.start.query_id);
    agentEnd.end('{"path":"/a"}\n');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(streams.count, 1, 'the upload ended but nothing said it was complete');
    streams.answer(new FakeSession('h1'), ended(h1.start.query_id));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(streams.count, 1, 'an answer from another session is not for this query');
    streams.answer(h1, ended(h1.start.query_id));
    await done;
    assert.equal(Buffer.concat(chunks).toString(), '{"path":"/a"}\n');
    assert.equal(streams.count, 0);
  });

  it('takes the upload once, with the right token, from the host the query went to', async () => {
    const { h1, streams } = setUp();
    const stream = streams.open('h1', { kind: 'ls', snapshot: 'abcd1234', path: '/a', maxBytes: 100 });
    const failed = new Promise((resolve) => stream.once('error', resolve));
    const { query_id, upload_token } = h1.start;
    assert.equal(streams.checkUpload(query_id, 'h2', upload_token)?.status, 404);
    assert.equal(streams.checkUpload(query_id, 'h1', undefined)?.status, 401);
    assert.equal(streams.checkUpload(query_id, 'h1', 'x'.repeat(43))?.status, 401);
    assert.equal(streams.checkUpload(query_id, 'h1', upload_token), null);
    const socket = new net.Socket();
    streams.attachUpload(query_id, socket, Buffer.alloc(0));
    assert.equal(streams.checkUpload(query_id, 'h1', upload_token)?.status, 409);
    socket.destroy();
    assert.ok((await failed) instanceof AppError, 'a socket closed before the answer fails the query');
  });

  it('destroying the stream (the client went away) cancels the query once and cuts the upload', async () => {
    const { h1, streams } = setUp();
    const stream = streams.open('h1', { kind: 'dump', snapshot: 'abcd1234', path: '/a', maxBytes: 1 << 30 });
    const agentEnd = await connect(streams, h1.start.query_id);
    agentEnd.write(Buffer.alloc(1000, 1));
    await new Promise((r) => stream.once('readable', r));
    const closed = new Promise((r) => agentEnd.once('close', r));
    stream.destroy();
    await closed;
    assert.deepEqual(
      h1.sent.filter((e) => e.type === 'query.cancel').map((e) => e.payload.query_id),
      [h1.start.query_id],
    );
    assert.equal(streams.count, 0);
  });

  it('an agent error, a short upload, a cap overrun or a closed connection fail the stream with a coded error', async () => {
    const failure = (s: NodeJS.ReadableStream): Promise<unknown> =>
      new Promise((resolve) => {
        s.once('error', resolve);
        s.resume();
      });
    {
      const { h1, streams } = setUp();
      const s = streams.open('h1', { kind: 'ls', snapshot: 'abcd1234', path: '/nope', maxBytes: 100 });
      const agentEnd = await connect(streams, h1.start.query_id);
      const closed = new Promise((r) => agentEnd.once('close', r));
      streams.answer(
        h1,
        makeEnvelope('query.error', {
          query_id: h1.start.query_id,
          code: 'not_found',
          message: 'path not found',
        }),
      );
      const err = await failure(s);
      assert.ok(err instanceof AppError && err.code === 'not_found', String(err));
      await closed;
    }
    {
      // The agent counted 5 bytes; 4 arrived.
      const { h1, streams } = setUp();
      const s = streams.open('h1', { kind: 'ls', snapshot: 'abcd1234', path: '/a', maxBytes: 100 });
      const agentEnd = await connect(streams, h1.start.query_id);
      agentEnd.end('half');
      streams.answer(h1, ended(h1.start.query_id, 5));
      const err = await failure(s);
      assert.ok(err instanceof AppError && err.code === 'agent_failed' && /incomplete/.test(err.message));
    }
    {
      // restic wrote into the upload itself (no count): a file of a known size that comes short.
      const { h1, streams } = setUp();
      const s = streams.open('h1', {
        kind: 'dump',
        snapshot: 'abcd1234',
        path: '/a',
        maxBytes: 100,
        expectedBytes: 10,
      });
      const agentEnd = await connect(streams, h1.start.query_id);
      agentEnd.end('nine byte');
      streams.answer(h1, ended(h1.start.query_id));
      const err = await failure(s);
      assert.ok(err instanceof AppError && err.code === 'agent_failed' && /incomplete/.test(err.message));
    }
    {
      const { h1, streams } = setUp();
      const s = streams.open('h1', { kind: 'ls', snapshot: 'abcd1234', path: '/a', maxBytes: 100 });
      const agentEnd = await connect(streams, h1.start.query_id);
      const closed = new Promise((r) => agentEnd.once('close', r));
      agentEnd.on('data', () => undefined);
      agentEnd.write(Buffer.alloc(101));
      const err = await failure(s);
      assert.ok(err instanceof AppError && err.code === 'too_large', String(err));
      await closed;
    }
    {
      const { h1, streams } = setUp();
      const s = streams.open('h1', { kind: 'ls', snapshot: 'abcd1234', path: '/x', maxBytes: 100 });
      const gone = failure(s);
      streams.connectionClosed(h1);
      const err = await gone;
      assert.ok(err instanceof AppError && err.code === 'agent_failed', String(err));
    }
  });

  it('fails a query whose upload never comes', async () => {
    const { streams } = setUp();
    streams.uploadWaitMs = 50;
    const s = streams.open('h1', { kind: 'ls', snapshot: 'abcd1234', path: '/x', maxBytes: 100 });
    const err = await new Promise<unknown>((resolve) => s.once('error', resolve));
    assert.ok(err instanceof AppError && err.code === 'agent_failed' && /did not open/.test(err.message));
  });

  it('refuses a host that is offline or cannot answer queries', () => {
    const { streams } = setUp();
    assert.equal(streams.canQuery('h2'), false);
    assert.equal(streams.canQuery('h1'), true);
    assert.throws(
      () => streams.open('h2', { kind: 'ls', snapshot: 'abcd1234', path: '/', maxBytes: 100 }),
      (e: unknown) => e instanceof AppError && e.code === 'unavailable',
    );
  });
});
