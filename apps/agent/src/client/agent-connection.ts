import WebSocket from 'ws';
import type { AgentLogger } from '../logger';

export interface BackoffOptions {
  /** First retry ceiling; doubles per failed attempt. */
  initialMs: number;
  /** Ceiling for the exponential part. */
  maxMs: number;
  /** A connection that stayed up this long resets the backoff. */
  stableMs: number;
  /** Retry period after the server refused the credential (401/403). */
  unauthorizedMs: number;
  /** Retry period after the server said our protocol version is not supported. */
  protocolMismatchMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  initialMs: 1000,
  maxMs: 60_000,
  stableMs: 30_000,
  unauthorizedMs: 10 * 60_000,
  protocolMismatchMs: 30 * 60_000,
};

/** Full jitter: a uniform delay in [0, min(max, initial * 2^attempt)). */
export function backoffDelay(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(o.maxMs, o.initialMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

export interface ConnectionHandlers {
  /** The socket is open; send the handshake and resend the outbox. */
  onOpen(conn: AgentConnection): void;
  onMessage(text: string): void;
  onClose(): void;
}

export interface AgentConnectionOptions {
  /** Control-plane URLs in order of preference (`servers:` in agent.yaml). */
  serverUrls: readonly string[];
  agentId: string;
  agentSecret: string;
  backoff: BackoffOptions;
  maxMessageBytes?: number;
  logger: AgentLogger;
  handlers: ConnectionHandlers;
  random?: () => number;
}

/** `http://host:8080/base` → `ws://host:8080/base/agent`. */
export function agentSocketUrl(server: string): string {
  const u = new URL(server);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = u.pathname.replace(/\/+$/, '') + '/agent';
  return u.toString();
}

/**
 * Which control-plane URL to dial: the first that answers. A failed dial moves
 * on to the next URL (after the usual backoff delay); a connection that was up
 * and dropped starts again from the first, so a recovered primary is preferred.
 */
export class ServerRotation {
  private index = 0;

  constructor(readonly urls: readonly string[]) {
    if (urls.length === 0) throw new Error('at least one control-plane URL is required');
  }

  get current(): string {
    return this.urls[this.index]!;
  }

  dialFailed(): void {
    this.index = (this.index + 1) % this.urls.length;
  }

  connectionDropped(): void {
    this.index = 0;
  }
}

/**
 * The agent's single outbound WebSocket. It owns dialling and re-dialling
 * (exponential backoff with full jitter, reset after a stable connection);
 * it knows nothing about envelopes beyond passing text in and out.
 */
export class AgentConnection {
  private ws: WebSocket | undefined;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private nextDelayOverride: number | undefined;
  private readonly rotation: ServerRotation;
  private connectedTo: string | undefined;

  constructor(private readonly o: AgentConnectionOptions) {
    this.rotation = new ServerRotation(o.serverUrls);
  }

  /** The control-plane URL (as configured) of the open connection, if any. */
  get serverUrl(): string | undefined {
    return this.isOpen ? this.connectedTo : undefined;
  }

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Bytes queued in the socket but not yet handed to the kernel (flow control). */
  get bufferedAmount(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  start(): void {
    this.stopped = false;
    this.dial();
  }

  stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.stableTimer) clearTimeout(this.stableTimer);
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 2000);
      ws.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      ws.close(1001, 'agent stopping');
    });
  }

  send(text: string, cb?: (err?: Error) => void): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(text, cb);
    return true;
  }

  /** Close the current socket and wait `delayMs` before the next dial (server told us to back off). */
  backOff(delayMs: number, reason: string): void {
    this.nextDelayOverride = delayMs;
    this.o.logger.warn({ delay_s: Math.round(delayMs / 1000), reason }, 'agent: backing off');
    this.ws?.close(1000, reason);
  }

  private dial(): void {
    if (this.stopped) return;
    const server = this.rotation.current;
    const url = agentSocketUrl(server);
    const ws = new WebSocket(url, {
      headers: { Authorization: `Bearer ${this.o.agentId}.${this.o.agentSecret}` },
      handshakeTimeout: 15_000,
      maxPayload: this.o.maxMessageBytes ?? 16 * 1024 * 1024,
    });
    this.ws = ws;
    let opened = false;
    ws.on('open', () => {
      opened = true;
      this.connectedTo = server;
      this.o.logger.info({ url }, 'agent: connected to control plane');
      this.stableTimer = setTimeout(() => {
        this.attempt = 0;
      }, this.o.backoff.stableMs);
      this.o.handlers.onOpen(this);
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.o.logger.warn({}, 'agent: ignoring a binary frame');
        return;
      }
      this.o.handlers.onMessage(data.toString());
    });
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      if (status === 401 || status === 403) {
        this.nextDelayOverride = this.o.backoff.unauthorizedMs;
        this.o.logger.error(
          { status, retry_in_s: Math.round(this.o.backoff.unauthorizedMs / 1000) },
          "agent: the control plane refused this agent's credential (revoked or unknown agent). Re-enrol with a new token from the UI; retrying slowly",
        );
      } else {
        this.o.logger.warn({ status }, 'agent: control plane rejected the WebSocket upgrade');
      }
      res.resume();
      ws.terminate();
    });
    ws.on('error', (err) => {
      this.o.logger.warn({ err: err.message, url }, 'agent: connection error');
    });
    ws.on('close', (code) => {
      if (this.stableTimer) clearTimeout(this.stableTimer);
      if (this.ws === ws) this.ws = undefined;
      if (opened) {
        this.o.logger.warn({ code, url }, 'agent: disconnected from control plane');
        this.rotation.connectionDropped();
        this.o.handlers.onClose();
      } else {
        this.rotation.dialFailed();
      }
      this.scheduleRedial();
    });
  }

  private scheduleRedial(): void {
    if (this.stopped) return;
    let delay: number;
    if (this.nextDelayOverride !== undefined) {
      delay = this.nextDelayOverride;
      this.nextDelayOverride = undefined;
    } else {
      delay = backoffDelay(this.attempt, this.o.backoff, this.o.random);
      this.attempt++;
    }
    this.o.logger.debug({ delay_ms: delay, attempt: this.attempt }, 'agent: reconnecting');
    this.timer = setTimeout(() => this.dial(), delay);
  }
}
