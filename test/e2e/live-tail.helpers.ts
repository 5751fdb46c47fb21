import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { RestClient } from '../support/rest-client';
import { ScriptedAgent, enrolHost, type AgentIdentity } from '../support/scripted-agent';

/** Shared by the live-tail e2e specs and `bench:fanout`: a line-streaming agent and a watching client. */

export interface LiveFrame {
  type: string;
  seq?: number;
  from_seq?: number;
  to_seq?: number;
  reason?: string;
  status?: string;
  payload?: string;
  percent_done?: number;
  [key: string]: unknown;
}

/** An online scripted agent (hello acked). */
export async function onlineAgent(
  cpUrl: string,
  admin: RestClient,
): Promise<{ agent: ScriptedAgent; identity: AgentIdentity }> {
  const identity = await enrolHost(admin);
  const agent = new ScriptedAgent(cpUrl.replace(/^http/, 'ws'), identity);
  await agent.connect();
  const hello = agent.hello();
  await agent.waitForAcks([hello.id], 15_000);
  return { agent, identity };
}

/** Requests a backup over REST, waits for command.run, and reports it accepted and started. */
export async function startedJob(admin: RestClient, agent: ScriptedAgent, hostId: string): Promise<string> {
  const res = await admin.post<{ job_id: string }>(`/api/hosts/${hostId}/jobs`, {
    kind: 'backup',
    paths: ['/srv'],
  });
  if (res.status !== 202) throw new Error(`job request: ${res.status} ${JSON.stringify(res.body)}`);
  const jobId = res.body.job_id;
  await agent.waitFor((e) => e.type === 'command.run' && e.payload.job_id === jobId, 15_000, 'command.run');
  const started = [
    agent.send('command.result', { job_id: jobId, accepted: true }, jobId),
    agent.send(
      'job.started',
      { job_id: jobId, kind: 'backup', started_at: new Date().toISOString(), restic_version: '0.14.0' },
      jobId,
    ),
  ];
  await agent.waitForAcks(
    started.map((e) => e.id),
    15_000,
  );
  return jobId;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * Streams `log.stream` lines as fast as a bounded window of unacked envelopes
 * allows (like the agent's outbox), and records each envelope's ack latency.
 * Payloads start with `t=<performance.now()>` so a watcher can measure
 * agent→browser latency in the same process.
 */
export class LineStreamer {
  readonly ackLatencies: number[] = [];
  private readonly sentAt = new Map<string, number>();

  /** `stamp: false` leaves the timestamp out (lines that are not latency samples). */
  constructor(
    private readonly agent: ScriptedAgent,
    private readonly jobId: string,
    private readonly window = 256,
    private readonly padding = 'x'.repeat(160),
    public nextSeq = 1,
    private readonly stamp = true,
  ) {}

  /** Sends lines `first..first+count-1`; resolves when all are acked (bounded by timeoutMs). */
  run(count: number, timeoutMs: number, ratePerS?: number): Promise<void> {
    const last = this.nextSeq + count - 1;
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`lines not acked within ${timeoutMs} ms (${this.ackLatencies.length} acked)`)),
        timeoutMs,
      );
      let paceTimer: NodeJS.Timeout | undefined;
      const fill = () => {
        const allowed = ratePerS
          ? Math.floor(((performance.now() - started) / 1000) * ratePerS) + 1
          : Infinity;
        let sent = this.nextSeq - (last - count + 1);
        while (this.nextSeq <= last && this.sentAt.size < this.window && sent < allowed) {
          this.send(this.nextSeq++);
          sent++;
        }
        if (this.nextSeq > last && this.sentAt.size === 0) {
          clearTimeout(timer);
          if (paceTimer) clearInterval(paceTimer);
          this.agent.onAck = undefined;
          resolve();
        }
      };
      this.agent.onAck = (ids) => {
        const now = performance.now();
        for (const id of ids) {
          const t = this.sentAt.get(id);
          if (t === undefined) continue;
          this.sentAt.delete(id);
          this.ackLatencies.push(now - t);
        }
        fill();
      };
      if (ratePerS) paceTimer = setInterval(fill, 5);
      fill();
    });
  }

  private send(seq: number): void {
    const ts = new Date().toISOString();
    const env = this.agent.envelope(
      'log.stream',
      {
        job_id: this.jobId,
        seq,
        ts,
        stream: 'stdout',
        payload: this.stamp
          ? `t=${performance.now().toFixed(3)} line ${seq} ${this.padding}`
          : `line ${seq} ${this.padding}`,
      },
      this.jobId,
    );
    this.sentAt.set(env.id, performance.now());
    // Not kept for resend: these specs never reconnect, and 50,000 kept texts would dominate memory.
    this.agent.socket.send(JSON.stringify(env));
  }
}

/** A WebSocket client of `/api/jobs/{id}/stream`. `pause()` stops reading (the stalled browser). */
export class TailWatcher {
  readonly seqs: number[] = [];
  readonly drops: Array<{ from: number; to: number }> = [];
  readonly others: LiveFrame[] = [];
  readonly latencies: number[] = [];
  ended: LiveFrame | null = null;
  closeCode: number | null = null;
  private ws: WebSocket | undefined;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly wsUrl: string,
    private readonly jobId: string,
    private readonly headers: Record<string, string>,
    private readonly measureLatency = false,
  ) {}

  /** Resolves once open; rejects with the HTTP status when the upgrade is refused. */
  connect(timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${this.wsUrl}/api/jobs/${encodeURIComponent(this.jobId)}/stream`, {
        headers: this.headers,
        handshakeTimeout: timeoutMs,
        perMessageDeflate: false,
      });
      this.ws = ws;
      ws.once('unexpected-response', (_req, res) => {
        reject(new Error(`HTTP ${res.statusCode ?? 0}`));
        res.resume();
        ws.terminate();
      });
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.on('message', (data: Buffer) => this.onFrame(data));
      ws.on('close', (code) => {
        this.closeCode = code;
        this.wake();
      });
    });
  }

  pause(): void {
    this.ws?.pause();
  }

  resume(): void {
    this.ws?.resume();
  }

  close(): void {
    this.ws?.terminate();
  }

  /** Highest seq accounted for: received or covered by a drop marker. */
  get covered(): number {
    const lastLine = this.seqs.length ? this.seqs[this.seqs.length - 1]! : 0;
    const lastDrop = this.drops.length ? this.drops[this.drops.length - 1]!.to : 0;
    return Math.max(lastLine, lastDrop);
  }

  /** Waits (bounded) until `pred` holds, re-checked on every frame and on close. */
  async until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private onFrame(data: Buffer): void {
    const frame = JSON.parse(data.toString('utf8')) as LiveFrame;
    if (frame.type === 'log') {
      this.seqs.push(frame.seq!);
      if (this.measureLatency && typeof frame.payload === 'string') {
        const m = /^t=([\d.]+) /.exec(frame.payload);
        if (m) this.latencies.push(performance.now() - Number(m[1]));
      }
    } else if (frame.type === 'dropped') {
      this.drops.push({ from: frame.from_seq!, to: frame.to_seq! });
    } else if (frame.type === 'end') {
      this.ended = frame;
    } else {
      this.others.push(frame);
    }
    this.wake();
  }
}

export async function apiToken(admin: RestClient, role: 'viewer' | 'operator' | 'admin'): Promise<string> {
  const res = await admin.post<{ token: string }>('/api/tokens', {
    name: `live-${role}-${Date.now()}`,
    role,
  });
  if (res.status >= 300) throw new Error(`token: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.token;
}
