// One load-generator process of bench:fleet: holds a share of the simulated
// agents over real WebSockets, speaking the agent wire protocol
// (docs/architecture.md, "Wire protocol"): hello, a heartbeat on the real
// interval, and for every job the control plane orders (`command.run`) the
// agent's answer, then log lines and progress at a steady rate. Several of
// these run at once so the load generator is not what limits the figures.
// Driven by its parent over the IPC channel (see FleetAgentsCommand).
import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { progressFigures } from './fleet-history';

export type FleetAgentsCommand =
  | {
      readonly cmd: 'connect';
      readonly url: string;
      readonly agents: ReadonlyArray<{
        readonly hostId: string;
        readonly secret: string;
        readonly hostname: string;
      }>;
      readonly heartbeatS: number;
      readonly concurrency: number;
    }
  | {
      readonly cmd: 'stream';
      readonly linesPerS: number;
      readonly progressEveryS: number;
      /** Against the raw ack server, which orders no jobs: every n-th agent streams for a made-up job. */
      readonly selfAssignEvery?: number;
      /** Every agent of the client sends in the same tick (a worst-case burst) instead of on its own phase. */
      readonly lockstep?: boolean;
    }
  | { readonly cmd: 'measure' }
  | { readonly cmd: 'report' }
  | { readonly cmd: 'close' };

export type FleetAgentsReport =
  | {
      readonly evt: 'connected';
      readonly connected: number;
      readonly failed: number;
      readonly firstError: string;
    }
  | {
      readonly evt: 'report';
      readonly open: number;
      readonly streaming: number;
      readonly heartbeats: number;
      readonly sent: number;
      readonly acked: number;
      readonly latencies: number[];
      readonly errors: number;
      readonly loopDelayP99Ms: number;
      readonly cpuS: number;
    }
  | { readonly evt: 'closed' };

interface Agent {
  readonly hostId: string;
  ws: WebSocket | undefined;
  jobId: string | undefined;
  seq: number;
}

const agents: Agent[] = [];
const sentAt = new Map<string, number>();
let measuring = false;
let latencies: number[] = [];
let heartbeats = 0;
let sent = 0;
let acked = 0;
let errors = 0;
let streamPlan: Extract<FleetAgentsCommand, { cmd: 'stream' }> | undefined;
const timers: NodeJS.Timeout[] = [];
const loopDelay = monitorEventLoopDelay({ resolution: 5 });

const post = (m: FleetAgentsReport): void => {
  process.send?.(m);
};

function envelope(type: string, payload: object, jobId?: string): { id: string; text: string } {
  const id = randomUUID();
  const ts = new Date().toISOString();
  const job = jobId ? `,"job_id":"${jobId}"` : '';
  return {
    id,
    text: `{"v":1,"id":"${id}","type":"${type}","ts":"${ts}"${job},"payload":${JSON.stringify(payload)}}`,
  };
}

function sendDurable(a: Agent, type: string, payload: object, jobId?: string): void {
  if (a.ws?.readyState !== WebSocket.OPEN) return;
  const e = envelope(type, payload, jobId);
  sentAt.set(e.id, performance.now());
  sent++;
  a.ws.send(e.text);
}

function onMessage(a: Agent, data: Buffer): void {
  const msg = JSON.parse(data.toString('utf8')) as {
    type?: string;
    payload?: { ids?: unknown; job_id?: unknown };
  };
  if (msg.type === 'ack' && Array.isArray(msg.payload?.ids)) {
    const now = performance.now();
    for (const id of msg.payload.ids) {
      const t = typeof id === 'string' ? sentAt.get(id) : undefined;
      if (t === undefined) continue;
      sentAt.delete(id as string);
      acked++;
      if (measuring && a.jobId !== undefined) latencies.push(now - t);
    }
  } else if (msg.type === 'command.run' && typeof msg.payload?.job_id === 'string') {
    const jobId = msg.payload.job_id;
    a.jobId = jobId;
    a.seq = 0;
    sendDurable(a, 'command.result', { job_id: jobId, accepted: true }, jobId);
    sendDurable(
      a,
      'job.started',
      { job_id: jobId, kind: 'backup', started_at: new Date().toISOString(), restic_version: '0.17.3' },
      jobId,
    );
  } else if (msg.type === 'error') {
    errors++;
  }
}

function open(url: string, spec: { hostId: string; secret: string; hostname: string }): Promise<Agent> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/agent`, {
      headers: { authorization: `Bearer ${spec.hostId}.${spec.secret}` },
      perMessageDeflate: false,
      handshakeTimeout: 60_000,
    });
    const a: Agent = { hostId: spec.hostId, ws, jobId: undefined, seq: 0 };
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      reject(new Error(`upgrade refused: HTTP ${res.statusCode ?? 0}`));
    });
    ws.once('error', reject);
    ws.once('open', () => {
      ws.on('message', (d: Buffer) => onMessage(a, d));
      ws.on('error', () => errors++);
      sendDurable(a, 'hello', {
        protocol_version: 1,
        protocol_versions: [1],
        agent_version: '0.1.0-bench',
        hostname: spec.hostname,
        os: 'linux',
        arch: 'amd64',
        restic_version: '0.17.3',
      });
      resolve(a);
    });
  });
}

/**
 * The agent's heartbeat on the real interval from the moment it is connected (the control
 * plane drops an agent that stays silent), each agent at its own phase: hosts do not beat in
 * lockstep.
 */
function startHeartbeat(a: Agent, periodMs: number): void {
  const beat = (): void => {
    if (a.ws?.readyState !== WebSocket.OPEN) return;
    heartbeats++;
    a.ws.send(envelope('heartbeat', { sent_at: new Date().toISOString() }).text);
  };
  timers.push(
    setTimeout(() => {
      beat();
      timers.push(setInterval(beat, periodMs));
    }, Math.random() * periodMs),
  );
}

async function connect(c: Extract<FleetAgentsCommand, { cmd: 'connect' }>): Promise<void> {
  let next = 0;
  let failed = 0;
  let firstError = '';
  const lane = async (): Promise<void> => {
    while (next < c.agents.length) {
      const spec = c.agents[next++]!;
      try {
        const a = await open(c.url, spec);
        agents.push(a);
        startHeartbeat(a, c.heartbeatS * 1000);
      } catch (err) {
        failed++;
        if (!firstError) firstError = err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: c.concurrency }, lane));
  loopDelay.enable();
  post({ evt: 'connected', connected: agents.length, failed, firstError });
}

/**
 * The streaming agents' lines and progress. `lockstep` (the bench's default) sends for every
 * agent of this client in the same 100 ms tick, a worst-case burst; otherwise each agent sends
 * on its own phase at the same rates, as real agents do (their restic prints when it prints, and
 * jobs do not start in the same millisecond).
 */
function startStreaming(plan: Extract<FleetAgentsCommand, { cmd: 'stream' }>): void {
  streamPlan = plan;
  if (plan.selfAssignEvery)
    agents.forEach((a, i) => i % plan.selfAssignEvery! === 0 && (a.jobId = randomUUID()));
  if (plan.lockstep) return startLockstep(plan);
  const lineMs = 1000 / plan.linesPerS;
  const progressMs = plan.progressEveryS * 1000;
  for (const a of agents) {
    if (a.jobId === undefined) continue;
    everyAtOwnPhase(lineMs, () => sendLine(a));
    everyAtOwnPhase(progressMs, () => sendProgress(a));
  }
}

function everyAtOwnPhase(periodMs: number, send: () => void): void {
  timers.push(
    setTimeout(() => {
      send();
      timers.push(setInterval(send, periodMs));
    }, Math.random() * periodMs),
  );
}

function startLockstep(plan: Extract<FleetAgentsCommand, { cmd: 'stream' }>): void {
  const tickMs = 100;
  let credit = 0;
  let lastProgress = performance.now();
  timers.push(
    setInterval(() => {
      credit += (plan.linesPerS * tickMs) / 1000;
      const lines = Math.floor(credit);
      credit -= lines;
      const progress = performance.now() - lastProgress >= plan.progressEveryS * 1000;
      if (progress) lastProgress = performance.now();
      for (const a of agents) {
        for (let i = 0; i < lines; i++) sendLine(a);
        if (progress) sendProgress(a);
      }
    }, tickMs),
  );
}

function sendLine(a: Agent): void {
  const jobId = a.jobId;
  if (jobId === undefined) return;
  const seq = ++a.seq;
  sendDurable(
    a,
    'log.stream',
    {
      job_id: jobId,
      seq,
      ts: new Date().toISOString(),
      stream: 'stdout',
      payload: `modified  /srv/app/data/${seq}.db, saved in 0.310s (2.113 MiB added)`,
    },
    jobId,
  );
}

function sendProgress(a: Agent): void {
  const jobId = a.jobId;
  if (jobId === undefined) return;
  const done = Math.min(0.99, a.seq / 10_000);
  sendDurable(
    a,
    'job.progress',
    {
      job_id: jobId,
      ...progressFigures(done),
      eta_seconds: 600,
    },
    jobId,
  );
}

let cpuMark = process.cpuUsage();

process.on('message', (raw: unknown) => {
  const m = raw as FleetAgentsCommand;
  switch (m.cmd) {
    case 'connect':
      void connect(m);
      return;
    case 'stream':
      if (streamPlan === undefined) startStreaming(m);
      return;
    case 'measure':
      latencies = [];
      heartbeats = 0;
      sent = 0;
      acked = 0;
      loopDelay.reset();
      cpuMark = process.cpuUsage();
      measuring = true;
      return;
    case 'report': {
      const cpu = process.cpuUsage(cpuMark);
      post({
        evt: 'report',
        open: agents.filter((a) => a.ws?.readyState === WebSocket.OPEN).length,
        streaming: agents.filter((a) => a.jobId !== undefined).length,
        heartbeats,
        sent,
        acked,
        latencies,
        errors,
        loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
        cpuS: (cpu.user + cpu.system) / 1e6,
      });
      measuring = false;
      latencies = [];
      return;
    }
    case 'close':
      for (const t of timers) clearInterval(t);
      for (const a of agents) a.ws?.terminate();
      post({ evt: 'closed' });
      setTimeout(() => process.exit(0), 100);
      return;
  }
});
