import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { RestClient } from './rest-client';

/** A wire envelope as the tests write and read it (docs/architecture.md, "Wire protocol"). */
export interface WireEnvelope {
  v: number;
  id: string;
  type: string;
  ts: string;
  job_id?: string;
  payload: Record<string, unknown>;
}

export interface AgentIdentity {
  readonly agentId: string;
  readonly agentSecret: string;
  readonly hostname: string;
}

/** Enrols a new host through the REST API, as `restic-fleet-agent enrol` does. */
export async function enrolHost(
  admin: RestClient,
  hostname = `host-${randomUUID().slice(0, 8)}`,
): Promise<AgentIdentity> {
  const tok = await admin.post<{ token: string }>('/api/enrolment-tokens', {});
  if (tok.status >= 300) throw new Error(`enrolment token: ${tok.status} ${JSON.stringify(tok.body)}`);
  const anon = new RestClient(admin.baseUrl);
  const res = await anon.post<{ agent_id: string; agent_secret: string }>('/api/agents/enrol', {
    token: tok.body.token,
    hostname,
    os: 'linux',
    arch: 'amd64',
  });
  if (res.status >= 300) throw new Error(`enrol: ${res.status} ${JSON.stringify(res.body)}`);
  return { agentId: res.body.agent_id, agentSecret: res.body.agent_secret, hostname };
}

/**
 * A freshly enrolled host online on a ScriptedAgent (hello acked) with one job
 * requested for it, dispatched and accepted as the real agent would.
 */
export async function onlineAgentWithJob(
  admin: RestClient,
  wsUrl: string,
  job: Record<string, unknown> = { kind: 'backup', paths: ['/data'] },
): Promise<{ agent: ScriptedAgent; identity: AgentIdentity; jobId: string }> {
  const identity = await enrolHost(admin);
  const agent = new ScriptedAgent(wsUrl, identity);
  await agent.connect();
  await agent.waitForAcks([agent.hello().id]);
  const res = await admin.post<{ job_id: string }>(`/api/hosts/${identity.agentId}/jobs`, job);
  if (res.status !== 202) throw new Error(`job request: ${res.status} ${JSON.stringify(res.body)}`);
  await agent.acceptJob(res.body.job_id);
  return { agent, identity, jobId: res.body.job_id };
}

export class UpgradeRefused extends Error {
  constructor(readonly status: number) {
    super(`WebSocket upgrade refused with HTTP ${status}`);
  }
}

/**
 * A scripted agent over a real WebSocket. Like the real agent's outbox, it
 * keeps every durable envelope until the server acks it, and `resendUnacked`
 * sends them again after a reconnect.
 */
export class ScriptedAgent {
  readonly received: WireEnvelope[] = [];
  readonly acked = new Set<string>();
  readonly unacked = new Map<string, string>();
  private ws: WebSocket | undefined;
  private waiters: Array<{ pred: (e: WireEnvelope) => boolean; resolve: (e: WireEnvelope) => void }> = [];
  private closeInfo: { code: number; reason: string } | undefined;
  private closeWaiters: Array<(info: { code: number; reason: string }) => void> = [];
  /** Called for every ack with its ids; the bench measures latency with it. */
  onAck: ((ids: readonly string[]) => void) | undefined;

  constructor(
    public wsUrl: string,
    readonly identity: AgentIdentity | { agentId: string; agentSecret: string },
  ) {}

  get socket(): WebSocket {
    if (!this.ws) throw new Error('not connected');
    return this.ws;
  }

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Opens the socket; rejects with `UpgradeRefused` when the server answers the upgrade with an HTTP error. */
  connect(
    authorization = `Bearer ${this.identity.agentId}.${this.identity.agentSecret}`,
    timeoutMs = 10_000,
  ): Promise<void> {
    this.closeInfo = undefined;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${this.wsUrl}/agent`, {
        headers: authorization ? { authorization } : {},
        handshakeTimeout: timeoutMs,
        perMessageDeflate: false,
      });
      this.ws = ws;
      ws.once('unexpected-response', (_req, res) => {
        reject(new UpgradeRefused(res.statusCode ?? 0));
        res.resume();
        ws.terminate();
      });
      ws.once('open', () => resolve());
      ws.once('error', (err) => reject(err));
      ws.on('message', (data: Buffer) => this.onMessage(data));
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString('utf8') };
        for (const w of this.closeWaiters.splice(0)) w(this.closeInfo);
      });
    });
  }

  private onMessage(data: Buffer): void {
    const env = JSON.parse(data.toString('utf8')) as WireEnvelope;
    if (env.type === 'ack') {
      const ids = (env.payload.ids as string[]) ?? [];
      for (const id of ids) {
        this.acked.add(id);
        this.unacked.delete(id);
      }
      this.onAck?.(ids);
      // Acks are frequent; keeping them all would dominate memory in the bench.
    } else {
      this.received.push(env);
    }
    for (const w of [...this.waiters]) {
      if (w.pred(env)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(env);
      }
    }
  }

  envelope(type: string, payload: Record<string, unknown>, jobId?: string): WireEnvelope {
    return {
      v: 1,
      id: randomUUID(),
      type,
      ts: new Date().toISOString(),
      ...(jobId ? { job_id: jobId } : {}),
      payload,
    };
  }

  /** Sends a durable envelope and remembers it until acked. */
  send(type: string, payload: Record<string, unknown>, jobId?: string): WireEnvelope {
    const env = this.envelope(type, payload, jobId);
    this.sendEnvelope(env);
    return env;
  }

  sendEnvelope(env: WireEnvelope): void {
    const text = JSON.stringify(env);
    if (env.type !== 'heartbeat') this.unacked.set(env.id, text);
    this.socket.send(text);
  }

  /** Sends raw text, for malformed-input tests. */
  sendRaw(text: string | Buffer): void {
    this.socket.send(text);
  }

  /** What the real agent's outbox does after a reconnect. */
  resendUnacked(): number {
    for (const text of this.unacked.values()) this.socket.send(text);
    return this.unacked.size;
  }

  hello(extra: Record<string, unknown> = {}): WireEnvelope {
    return this.send('hello', {
      protocol_version: 1,
      protocol_versions: [1],
      agent_version: '0.1.0-test',
      hostname: 'hostname' in this.identity ? this.identity.hostname : 'scripted',
      os: 'linux',
      arch: 'amd64',
      restic_version: '0.14.0',
      ...extra,
    });
  }

  heartbeat(): void {
    this.sendEnvelope(this.envelope('heartbeat', {}));
  }

  /** Resolves with the first received envelope (already received or future) matching `pred`. */
  waitFor(pred: (e: WireEnvelope) => boolean, timeoutMs = 10_000, what = 'envelope'): Promise<WireEnvelope> {
    const existing = this.received.find(pred);
    if (existing) return Promise.resolve(existing);
    return this.waitForNext(pred, timeoutMs, what);
  }

  /** Like `waitFor` but ignores envelopes received before the call. */
  waitForNext(
    pred: (e: WireEnvelope) => boolean,
    timeoutMs = 10_000,
    what = 'envelope',
  ): Promise<WireEnvelope> {
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve: (e: WireEnvelope) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; received: ${this.received.map((e) => e.type).join(', ')}`,
          ),
        );
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  waitForType(type: string, timeoutMs = 10_000): Promise<WireEnvelope> {
    return this.waitFor((e) => e.type === type, timeoutMs, type);
  }

  /** Resolves once every id in `ids` has been acked. */
  /** As the real agent does on dispatch: waits for the job's `command.run`, accepts it, and waits for the ack. */
  async acceptJob(jobId: string, timeoutMs = 10_000): Promise<void> {
    await this.waitFor(
      (e) => e.type === 'command.run' && e.payload.job_id === jobId,
      timeoutMs,
      `command.run for ${jobId}`,
    );
    await this.waitForAcks(
      [this.send('command.result', { job_id: jobId, accepted: true }, jobId).id],
      timeoutMs,
    );
  }

  async waitForAcks(ids: readonly string[], timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ids.every((id) => this.acked.has(id))) {
      if (Date.now() > deadline) {
        const errors = this.received
          .filter((e) => e.type === 'error')
          .map((e) => `${String(e.payload.code)}: ${String(e.payload.message)}`);
        throw new Error(
          `timed out waiting for acks of ${ids.filter((id) => !this.acked.has(id)).length} envelope(s); ` +
            `socket ${this.isOpen ? 'open' : 'closed'}; errors received: ${errors.slice(-5).join(' | ') || 'none'}`,
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  waitForClose(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    if (this.closeInfo) return Promise.resolve(this.closeInfo);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`socket not closed within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.closeWaiters.push((info) => {
        clearTimeout(timer);
        resolve(info);
      });
    });
  }

  close(): void {
    this.ws?.close();
  }

  terminate(): void {
    this.ws?.terminate();
  }
}
