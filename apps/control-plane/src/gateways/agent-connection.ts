import { randomUUID } from 'node:crypto';
import type { Logger } from '@nestjs/common';
import WebSocket from 'ws';
import {
  AGENT_TO_SERVER,
  makeEnvelope,
  parseEnvelope,
  SUPPORTED_PROTOCOL_VERSIONS,
  type DisconnectReason,
  type WireMessage,
  type WireMessageOf,
} from '@rf/events';
import type { AgentError, IngestOutcome } from '../ingest/agent-messages.service';
import type { AgentSession } from './agent-sessions';

/** What a connection needs from the gateway; keeps this class free of Nest wiring. */
export interface ConnectionDeps {
  readonly softCapBytes: number;
  readonly maxInflight: number;
  readonly logger: Logger;
  /** Log every envelope in and out (RF_LOG_LEVEL=trace); secrets are hidden by the logger. */
  readonly traceMessages: boolean;
  ingest(hostId: string, messages: readonly WireMessage[], receivedAt: string): Promise<IngestOutcome[]>;
  /** Runs the hello handshake (replace, AgentConnected, register, pushes); resolves when the hello may be acked. */
  hello(connection: AgentConnection, message: WireMessageOf<'hello'>): Promise<void>;
  /** Appends AgentDisconnected for a connection that had said hello. */
  recordDisconnect(connection: AgentConnection, reason: DisconnectReason): Promise<void>;
  onClosed(connection: AgentConnection): void;
  /** `n` envelopes acked; `latencyS` from reading them off the socket to the ack (absent for the hello). */
  recordAcked(n: number, latencyS?: number): void;
  /** `query.end` / `query.error` (docs/browse.md): answers, not events; never stored or acked. */
  queryAnswer(
    connection: AgentConnection,
    message: WireMessageOf<'query.end'> | WireMessageOf<'query.error'>,
  ): void;
}

const CLOSE_CODES: Record<DisconnectReason, number> = {
  closed: 1000,
  server_shutdown: 1001,
  protocol_error: 1002,
  heartbeat_timeout: 4000,
  replaced: 4001,
  revoked: 4003,
  // 1013 "try again later": the agent redials with backoff and resends its outbox in order.
  store_unavailable: 1013,
  // Recorded by another node for a socket this node no longer holds; never a close this node sends.
  node_lost: 1001,
};
const MAX_IDS_PER_ACK = 1000;
const ID_SNIFF = /"id"\s*:\s*"([0-9a-fA-F-]{36})"/;

/**
 * One agent socket. Durable messages that arrive in the same tick form a
 * batch: appended together (group commit), then acked together. The socket
 * is paused while too many envelopes are in flight, so a flooding agent
 * meets TCP backpressure instead of growing our memory.
 */
export class AgentConnection implements AgentSession {
  readonly connectionId = randomUUID();
  readonly connectedAt = Date.now();
  lastSeen = Date.now();
  helloDone = false;
  protocolVersion: number | null = null;
  capabilities: ReadonlySet<string> = new Set();
  closeReason: DisconnectReason | null = null;
  private closing: Promise<void> | undefined;
  private batch: WireMessage[] = [];
  private flushScheduled = false;
  private inflight = 0;
  private handshake: Promise<void> = Promise.resolve();

  constructor(
    readonly ws: WebSocket,
    readonly hostId: string,
    private readonly deps: ConnectionDeps,
  ) {
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('close', () => this.onSocketClosed());
    ws.on('error', (err: Error & { code?: string }) => {
      // ws closes the socket itself (1009 for an oversized frame); we only record why.
      this.deps.logger.warn({ host_id: hostId, code: err.code, message: err.message }, 'agent socket error');
    });
  }

  send(envelope: object): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    if (this.deps.traceMessages)
      this.deps.logger.verbose({ host_id: this.hostId, envelope }, 'agent message out');
    this.ws.send(JSON.stringify(envelope));
    return true;
  }

  sendError(error: AgentError): void {
    this.send(
      makeEnvelope('error', {
        code: error.code,
        message: error.message.slice(0, 4096),
        ...(error.ref_id !== undefined ? { ref_id: error.ref_id.slice(0, 128) } : {}),
        ...(error.field ? { field: error.field.slice(0, 256) } : {}),
      }),
    );
  }

  /** Closes once; a later call resolves with the first one, once its AgentDisconnected is recorded. */
  close(reason: DisconnectReason, message: string): Promise<void> {
    this.closing ??= this.closeOnce(reason, message);
    return this.closing;
  }

  private async closeOnce(reason: DisconnectReason, message: string): Promise<void> {
    this.closeReason = reason;
    this.deps.onClosed(this);
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(CLOSE_CODES[reason], message.slice(0, 120));
    }
    // A hard stop if the peer never completes the closing handshake.
    setTimeout(() => this.ws.terminate(), 5000).unref();
    if (this.helloDone) await this.deps.recordDisconnect(this, reason);
  }

  private onSocketClosed(): void {
    if (this.closeReason) return;
    void this.close('closed', 'socket closed');
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    this.lastSeen = Date.now();
    if (this.closeReason) return;
    if (data.length > this.deps.softCapBytes) {
      const ref = ID_SNIFF.exec(data.subarray(0, 1024).toString('latin1'))?.[1];
      this.sendError({
        code: 'too_large',
        message: `message of ${data.length} bytes exceeds the limit of ${this.deps.softCapBytes} bytes`,
        ...(ref ? { ref_id: ref } : {}),
      });
      return;
    }
    const parsed = parseEnvelope(isBinary ? data : data.toString('utf8'), {
      maxBytes: this.deps.softCapBytes,
      accept: AGENT_TO_SERVER,
    });
    if (!parsed.ok) {
      if (!this.helloDone && parsed.error.code === 'unsupported_version') {
        this.refuseProtocol(
          `protocol version not supported; this control plane speaks ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}`,
          parsed.error.ref_id,
        );
        return;
      }
      this.sendError(parsed.error);
      return;
    }
    const message = parsed.message;
    if (this.deps.traceMessages)
      this.deps.logger.verbose({ host_id: this.hostId, envelope: message }, 'agent message in');
    if (message.type === 'heartbeat') return;
    if (message.type === 'hello') {
      this.onHello(message);
      return;
    }
    if (!this.helloDone) {
      this.sendError({
        code: 'hello_required',
        message: 'send hello before any other message',
        ref_id: message.id,
        field: 'type',
      });
      return;
    }
    if (message.type === 'query.end' || message.type === 'query.error') {
      this.deps.queryAnswer(this, message);
      return;
    }
    this.enqueue(message);
  }

  private onHello(message: WireMessageOf<'hello'>): void {
    const version = message.payload.protocol_version;
    if (!SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      this.refuseProtocol(
        `protocol_version ${version} is not supported; this control plane speaks ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}`,
        message.id,
      );
      return;
    }
    const first = !this.helloDone;
    this.helloDone = true;
    this.capabilities = new Set(message.payload.capabilities ?? []);
    this.protocolVersion = version;
    this.inflight++;
    // Messages after the hello wait for the handshake, so nothing is acked before AgentConnected is in the log.
    this.handshake = (first ? this.deps.hello(this, message) : Promise.resolve()).then(
      () => {
        this.inflight--;
        this.ack([message.id]);
      },
      (err: unknown) => {
        this.inflight--;
        this.deps.logger.error({ err, host_id: this.hostId }, 'hello handshake failed; closing');
        void this.close('protocol_error', 'handshake failed');
      },
    );
  }

  private refuseProtocol(message: string, refId: string | undefined): void {
    this.sendError({
      code: 'unsupported_protocol',
      message,
      field: 'payload.protocol_version',
      ...(refId ? { ref_id: refId } : {}),
    });
    void this.close('protocol_error', 'unsupported protocol');
  }

  private enqueue(message: WireMessage): void {
    this.batch.push(message);
    this.inflight++;
    if (this.inflight > this.deps.maxInflight && !this.ws.isPaused) this.ws.pause();
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const messages = this.batch;
    this.batch = [];
    if (messages.length === 0) return;
    if (this.closeReason) {
      // Read before the close was decided, never acked: the agent resends them on its next connection.
      // Storing them now could put a later log line in before an earlier one that failed (store
      // unavailable), and lines are deduplicated by seq, so the earlier one would then look old.
      this.inflight -= messages.length;
      return;
    }
    const receivedAt = new Date().toISOString();
    const readAt = performance.now();
    void this.handshake
      .then(() => this.deps.ingest(this.hostId, messages, receivedAt))
      .then(
        (outcomes) => {
          const ids: string[] = [];
          let retry = false;
          for (const o of outcomes) {
            if (o.ok) ids.push(o.id);
            else if (o.retry) retry = true;
            else this.sendError(o.error);
          }
          this.ack(ids, readAt);
          // An agent resends unacked envelopes only on a new connection: without this, what could
          // not be stored would wait for the next disconnect, and the job's log would stall.
          if (retry)
            void this.close('store_unavailable', 'could not store your messages; reconnect and resend');
        },
        (err: unknown) => {
          this.deps.logger.error({ err, host_id: this.hostId }, 'batch ingest failed; the agent will resend');
          void this.close('store_unavailable', 'could not store your messages; reconnect and resend');
        },
      )
      .finally(() => {
        this.inflight -= messages.length;
        if (this.ws.isPaused && this.inflight <= this.deps.maxInflight / 2) this.ws.resume();
      });
  }

  private ack(ids: readonly string[], readAt?: number): void {
    if (ids.length === 0) return;
    for (let i = 0; i < ids.length; i += MAX_IDS_PER_ACK) {
      const chunk = ids.slice(i, i + MAX_IDS_PER_ACK);
      // Built by hand: this is the hot path and every id came from a validated envelope.
      this.send({
        v: 1,
        id: randomUUID(),
        type: 'ack',
        ts: new Date().toISOString(),
        payload: { ids: chunk },
      });
    }
    this.deps.recordAcked(ids.length, readAt === undefined ? undefined : (performance.now() - readAt) / 1000);
  }
}
