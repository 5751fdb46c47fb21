import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Logger } from '@nestjs/common';
import WebSocket from 'ws';
import type { WireMessage } from '@rf/events';
import type { IngestOutcome } from '../ingest/agent-messages.service';
import { AgentConnection, type ConnectionDeps } from './agent-connection';

/** The part of a `ws` socket AgentConnection uses, recording what it was told. */
class FakeSocket extends EventEmitter {
  readyState: number = WebSocket.OPEN;
  isPaused = false;
  readonly sent: Array<{ type: string; payload: { ids?: string[] } }> = [];
  closedWith: number | undefined;
  send(text: string): void {
    this.sent.push(JSON.parse(text) as { type: string; payload: { ids?: string[] } });
  }
  close(code: number): void {
    this.closedWith = code;
    this.readyState = WebSocket.CLOSING;
  }
  terminate(): void {
    this.readyState = WebSocket.CLOSED;
  }
  pause(): void {
    this.isPaused = true;
  }
  resume(): void {
    this.isPaused = false;
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function logLine(jobId: string, seq: number): string {
  const ts = new Date().toISOString();
  return JSON.stringify({
    v: 1,
    id: randomUUID(),
    type: 'log.stream',
    ts,
    job_id: jobId,
    payload: { job_id: jobId, seq, ts, stream: 'stdout', payload: `line ${seq}` },
  });
}

describe('AgentConnection', () => {
  it('after a batch could not be stored, ingests nothing it had already read on that socket', async () => {
    const jobId = randomUUID();
    const ingested: WireMessage[][] = [];
    const pending: Array<(o: IngestOutcome[]) => void> = [];
    const logger = { warn: () => undefined, error: () => undefined } as unknown as Logger;
    const deps: ConnectionDeps = {
      softCapBytes: 256 * 1024,
      maxInflight: 1000,
      logger,
      traceMessages: false,
      ingest: (_host, messages) => {
        ingested.push([...messages]);
        return new Promise((resolve) => pending.push(resolve));
      },
      hello: () => Promise.resolve(),
      recordDisconnect: () => Promise.resolve(),
      onClosed: () => undefined,
      recordAcked: () => undefined,
      queryAnswer: () => undefined,
    };
    const ws = new FakeSocket();
    const conn = new AgentConnection(ws as unknown as WebSocket, 'host-1', deps);
    conn.helloDone = true;

    // Batch 1 (seq 1) is read and handed to ingest, whose append is still running.
    ws.emit('message', Buffer.from(logLine(jobId, 1)), false);
    await tick();
    assert.equal(ingested.length, 1);
    // Seq 2 is read, and batch 1 then fails with "store unavailable" before batch 2 is handed over.
    ws.emit('message', Buffer.from(logLine(jobId, 2)), false);
    const first = ingested[0]![0]!;
    pending[0]!([
      {
        id: first.id,
        ok: false,
        retry: true,
        error: { code: 'store_unavailable', message: 'event log write failed' },
      },
    ]);
    await tick();
    await tick();

    assert.equal(ws.closedWith, 1013, 'closed with "try again later"');
    assert.equal(conn.closeReason, 'store_unavailable');
    assert.equal(ingested.length, 1, 'seq 2 was not stored ahead of the seq 1 that failed');
    assert.ok(
      ws.sent.every((m) => m.type !== 'ack'),
      'nothing was acked: the agent resends both lines, in order, on its next connection',
    );
  });

  it('hands a query answer to the query, never to ingest, and acks nothing for it', async () => {
    const ingested: WireMessage[] = [];
    const answers: Array<{ type: string; query_id: string }> = [];
    const deps: ConnectionDeps = {
      softCapBytes: 256 * 1024,
      maxInflight: 1000,
      logger: { warn: () => undefined, error: () => undefined } as unknown as Logger,
      traceMessages: false,
      ingest: (_host, messages) => {
        ingested.push(...messages);
        return Promise.resolve([]);
      },
      hello: () => Promise.resolve(),
      recordDisconnect: () => Promise.resolve(),
      onClosed: () => undefined,
      recordAcked: () => undefined,
      queryAnswer: (_c, m) => answers.push({ type: m.type, query_id: m.payload.query_id }),
    };
    const ws = new FakeSocket();
    const conn = new AgentConnection(ws as unknown as WebSocket, 'host-1', deps);
    conn.helloDone = true;
    const queryId = randomUUID();
    const envelope = (type: string, payload: object): Buffer =>
      Buffer.from(JSON.stringify({ v: 1, id: randomUUID(), type, ts: new Date().toISOString(), payload }));
    ws.emit(
      'message',
      envelope('query.end', { query_id: queryId, exit_code: 0, restic_version: '0.14.0' }),
      false,
    );
    ws.emit('message', envelope('query.error', { query_id: queryId, code: 'busy', message: 'busy' }), false);
    await tick();
    assert.deepEqual(answers, [
      { type: 'query.end', query_id: queryId },
      { type: 'query.error', query_id: queryId },
    ]);
    assert.equal(ingested.length, 0);
    assert.ok(
      ws.sent.every((m) => m.type !== 'ack' && m.type !== 'error'),
      JSON.stringify(ws.sent),
    );
  });
});
