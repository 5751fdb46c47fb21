/**
 * Test support for the agent's end-to-end specs and benchmark: a scripted
 * control plane (a real `ws` server plus the enrol endpoint on 127.0.0.1,
 * validating with @rf/events exactly like the real one) and a handle on a
 * real agent process. Not a spec file itself.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  AGENT_TO_SERVER,
  encodeEnvelope,
  makeEnvelope,
  makeErrorEnvelope,
  parseEnvelope,
  type WireMessage,
  type WirePayloadMap,
  type WireType,
} from '@rf/events';
import { WebSocket, WebSocketServer } from 'ws';

export function repoRoot(): string {
  if (process.env.RF_REPO_ROOT) return process.env.RF_REPO_ROOT;
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'apps'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error('repository root not found');
}

export async function waitUntil<T>(
  what: string,
  probe: () => T | undefined | false,
  timeoutMs: number,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface ScriptedServerOptions {
  agentId?: string;
  agentSecret?: string;
  enrolToken?: string;
  /** Ack every durable message right after recording it (default true). */
  autoAck?: boolean;
  port?: number;
}

/** A control plane stand-in that records what the agent sends, in arrival order, de-duplicated by envelope id. */
export class ScriptedServer {
  readonly agentId: string;
  readonly agentSecret: string;
  readonly enrolToken: string;
  /** Unique messages (by envelope id) in first-arrival order. */
  readonly received: WireMessage[] = [];
  readonly duplicates: string[] = [];
  readonly invalid: string[] = [];
  /** Every connection's hello, in order. */
  readonly hellos: WireMessage[] = [];
  readonly authFailures: string[] = [];
  connections = 0;
  heartbeats = 0;
  autoAck: boolean;
  rejectAuth = false;
  onHello: ((s: ScriptedServer) => void) | undefined;
  /** Plain GET responses by path (e.g. an agent file offered for update). */
  readonly files = new Map<string, Buffer>();
  /** Paths fetched with GET, in order. */
  readonly fetched: string[] = [];
  private readonly seen = new Set<string>();
  private http: http.Server | undefined;
  private wss: WebSocketServer | undefined;
  private socket: WebSocket | undefined;
  private portNo: number;

  constructor(o: ScriptedServerOptions = {}) {
    this.agentId = o.agentId ?? `agent-${randomUUID().slice(0, 8)}`;
    this.agentSecret = o.agentSecret ?? randomUUID().replace(/-/g, '');
    this.enrolToken = o.enrolToken ?? 'enrol-token-ok';
    this.autoAck = o.autoAck ?? true;
    this.portNo = o.port ?? 0;
  }

  get port(): number {
    return this.portNo;
  }

  get url(): string {
    return `http://127.0.0.1:${this.portNo}`;
  }

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  async start(): Promise<void> {
    const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
    const server = http.createServer((req, res) => void this.onHttp(req, res));
    server.on('upgrade', (req, sock, head) => {
      const auth = req.headers.authorization ?? '';
      if (req.url !== '/agent' || this.rejectAuth || auth !== `Bearer ${this.agentId}.${this.agentSecret}`) {
        this.authFailures.push(req.url ?? '');
        sock.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, sock, head, (ws) => this.onSocket(ws));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.portNo, '127.0.0.1', () => resolve());
    });
    this.portNo = (server.address() as AddressInfo).port;
    this.http = server;
    this.wss = wss;
  }

  /** Goes away: drops the agent's socket and stops listening (the port is kept for `start`). */
  async stop(): Promise<void> {
    this.socket?.terminate();
    this.socket = undefined;
    for (const c of this.wss?.clients ?? []) c.terminate();
    this.wss?.close();
    const server = this.http;
    this.http = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  send<K extends WireType>(type: K, payload: WirePayloadMap[K], jobId?: string): string {
    const msg = makeEnvelope(type, payload, jobId ? { job_id: jobId } : {});
    this.sendRaw(encodeEnvelope(msg));
    return msg.id;
  }

  sendRaw(text: string): void {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) throw new Error('agent is not connected');
    this.socket.send(text);
  }

  /** Acks ids explicitly (for tests with autoAck off). */
  ack(ids: string[]): void {
    for (let i = 0; i < ids.length; i += 1000) this.send('ack', { ids: ids.slice(i, i + 1000) });
  }

  of<K extends WireType>(type: K, jobId?: string): Array<Extract<WireMessage, { type: K }>> {
    return this.received.filter(
      (m): m is Extract<WireMessage, { type: K }> =>
        m.type === type && (jobId === undefined || (m.payload as { job_id?: string }).job_id === jobId),
    );
  }

  forJob(jobId: string): WireMessage[] {
    return this.received.filter((m) => (m.payload as { job_id?: string }).job_id === jobId);
  }

  waitFor<K extends WireType>(
    type: K,
    match: (m: Extract<WireMessage, { type: K }>) => boolean,
    timeoutMs: number,
  ): Promise<Extract<WireMessage, { type: K }>> {
    return waitUntil(`a ${type} message`, () => this.of(type).find(match), timeoutMs);
  }

  /** Sends command.run and waits for its job.finished. */
  async runJob(
    kind: WirePayloadMap['command.run']['kind'],
    args: Record<string, unknown>,
    timeoutMs: number,
    extra: Record<string, unknown> = {},
  ): Promise<{
    jobId: string;
    finished: Extract<WireMessage, { type: 'job.finished' }>;
    messages: WireMessage[];
  }> {
    const jobId = `job-${randomUUID()}`;
    const msg = makeEnvelope('command.run', { job_id: jobId, kind, args } as WirePayloadMap['command.run']);
    const raw = JSON.parse(encodeEnvelope(msg)) as { payload: Record<string, unknown> };
    Object.assign(raw.payload, extra);
    this.sendRaw(JSON.stringify(raw));
    const finished = await this.waitFor('job.finished', (m) => m.payload.job_id === jobId, timeoutMs);
    return { jobId, finished, messages: this.forJob(jobId) };
  }

  configureRepository(repo: { url: string; password: string; username?: string; credential?: string }): void {
    this.send('config.update', {
      repo_url: repo.url,
      repo_password: repo.password,
      ...(repo.username ? { repo_username: repo.username } : {}),
      ...(repo.credential ? { repo_credential: repo.credential } : {}),
    });
  }

  private async onHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method === 'POST' && req.url === '/api/agents/enrol') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"message":"invalid JSON"}');
        return;
      }
      const facts = ['hostname', 'os', 'arch'].every((k) => typeof body[k] === 'string' && body[k] !== '');
      if (!facts) {
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end('{"message":"hostname, os and arch required"}');
        return;
      }
      if (body.token !== this.enrolToken) {
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end('{"message":"token invalid or expired"}');
        return;
      }
      this.enrolled = body;
      res
        .writeHead(201, { 'content-type': 'application/json' })
        .end(JSON.stringify({ agent_id: this.agentId, agent_secret: this.agentSecret }));
      return;
    }
    const file = req.method === 'GET' ? this.files.get(req.url ?? '') : undefined;
    if (file) {
      this.fetched.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'text/javascript', 'content-length': file.length }).end(file);
      return;
    }
    res.writeHead(404).end();
  }

  enrolled: Record<string, unknown> | undefined;

  private onSocket(ws: WebSocket): void {
    this.socket?.terminate();
    this.socket = ws;
    this.connections++;
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const r = parseEnvelope(data.toString(), { accept: AGENT_TO_SERVER });
      if (!r.ok) {
        this.invalid.push(`${r.error.code}: ${r.error.message} (${r.error.field ?? ''})`);
        ws.send(encodeEnvelope(makeErrorEnvelope(r.error)));
        return;
      }
      const m = r.message;
      if (m.type === 'hello') {
        this.hellos.push(m);
        // Like the real control plane: the hello is acked once the connection is recorded.
        ws.send(encodeEnvelope(makeEnvelope('ack', { ids: [m.id] })));
        this.onHello?.(this);
        return;
      }
      if (m.type === 'heartbeat') {
        this.heartbeats++;
        return;
      }
      if (this.seen.has(m.id)) this.duplicates.push(m.id);
      else {
        this.seen.add(m.id);
        this.received.push(m);
      }
      // Ack only after recording, like the real server acks only after appending.
      if (this.autoAck) ws.send(encodeEnvelope(makeEnvelope('ack', { ids: [m.id] })));
    });
  }
}

export interface AgentProcessOptions {
  dir: string;
  server: ScriptedServer;
  env?: Record<string, string>;
  config?: Record<string, unknown>;
}

/** Writes an enrolled config for the scripted server (what `enrol` would write) and returns its path. */
export function writeAgentConfig(o: AgentProcessOptions): string {
  const configPath = path.join(o.dir, 'agent.yaml');
  const lines = [
    'schema_version: 1',
    `server: ${o.server.url}`,
    `agent_id: ${o.server.agentId}`,
    `agent_secret: ${o.server.agentSecret}`,
    `state_dir: ${path.join(o.dir, 'state')}`,
    'reconnect_initial_ms: 200',
    'reconnect_max_ms: 1000',
    'cancel_grace_s: 10',
    ...Object.entries(o.config ?? {}).map(([k, v]) => `${k}: ${JSON.stringify(v)}`),
  ];
  fs.writeFileSync(configPath, lines.join('\n') + '\n', { mode: 0o600 });
  return configPath;
}

/** The single-file agent `npm run build` writes (scripts/build-agent.js). */
export function agentBundlePath(): string {
  return path.join(repoRoot(), 'dist', 'agent', 'restic-fleet-agent.js');
}

/**
 * A real agent process with its JSON log captured: `node dist/apps/agent/src/cli.js run`,
 * or `node <script> run` for another build such as the single-file agent.
 */
export class AgentProcess {
  readonly child: ChildProcess;
  readonly logLines: string[] = [];
  private exited: Promise<number | null>;

  constructor(
    configPath: string,
    env: Record<string, string> = {},
    nodeArgs: string[] = [],
    script = path.join(repoRoot(), 'dist', 'apps', 'agent', 'src', 'cli.js'),
  ) {
    this.child = spawn(process.execPath, [...nodeArgs, script, 'run', '--config', configPath], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buf = '';
    const take = (chunk: Buffer): void => {
      buf += chunk.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        this.logLines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    };
    this.child.stdout?.on('data', take);
    this.child.stderr?.on('data', take);
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  logged(re: RegExp): boolean {
    return this.logLines.some((l) => re.test(l));
  }

  /** VmHWM (peak resident set) from /proc, in MiB. */
  peakRssMb(): number {
    const status = fs.readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(status);
    return m ? Number(m[1]) / 1024 : NaN;
  }

  /** SIGTERM and wait (bounded); SIGKILL if it does not exit. */
  async stop(timeoutMs = 20_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }

  kill(): Promise<number | null> {
    this.child.kill('SIGKILL');
    return this.exited;
  }
}

/** A job's log as `stream: text` lines, in the order the agent sent them. */
export function jobLogLines(messages: WireMessage[]): string[] {
  return messages
    .filter((m): m is Extract<WireMessage, { type: 'log.stream' }> => m.type === 'log.stream')
    .map((m) => `${m.payload.stream}: ${m.payload.payload}`);
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** restic binaries available here: 0.14 from Debian, and 0.19 if scripts/fetch-restic.js has run. */
export function resticBinaries(): Array<{ label: string; bin: string }> {
  const out: Array<{ label: string; bin: string }> = [];
  if (fs.existsSync('/usr/bin/restic')) out.push({ label: '0.14', bin: '/usr/bin/restic' });
  const cache = path.join(repoRoot(), '.cache', 'restic');
  if (fs.existsSync(cache)) {
    const found: string[] = [];
    const walk = (d: string, depth: number): void => {
      if (depth > 6) return;
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p, depth + 1);
        else if (e.name === 'restic' && /0\.19/.test(p)) found.push(p);
      }
    };
    walk(cache, 0);
    if (found[0]) out.push({ label: '0.19', bin: found[0] });
  }
  return out;
}
