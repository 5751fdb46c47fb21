/**
 * Support for the fleet end-to-end suite: a real `rclone serve restic` on
 * loopback, real agent processes (each in its own process group so a test can
 * kill the agent together with its restic child), a pausable TCP proxy to cut
 * an agent off, and small polling helpers. Not a spec file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import YAML from 'yaml';
import { repoRoot } from './control-plane.process';
import type { RestClient } from './rest-client';

/** Polls `probe` until it returns something other than undefined/false; bounded. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A port the OS just handed out on 127.0.0.1 (closed again before returning). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Sends `signal` to a whole process group (the leader's pid), ignoring "no such process". */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Writes `count` files of incompressible bytes (restic cannot dedupe or compress them away). */
export function writeRandomFiles(dir: string, count: number, bytesEach: number, prefix = 'f'): void {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++)
    fs.writeFileSync(path.join(dir, `${prefix}${i}.bin`), randomBytes(bytesEach));
}

/** `rclone serve restic` on 127.0.0.1 over a local directory: a real REST backend. */
export class RcloneRestServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly root: string,
    readonly port: number,
    private readonly exited: Promise<void>,
    readonly output: string[],
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The restic repository URL of one sub-path (a repository per host). */
  repoUrl(sub: string): string {
    return `rest:${this.url}/${sub}/`;
  }

  /** With `auth`, every request needs that HTTP basic user and password (restic gets them from the URL or RESTIC_REST_*). */
  static async start(
    root: string,
    timeoutMs = 15_000,
    auth?: { user: string; pass: string },
  ): Promise<RcloneRestServer> {
    fs.mkdirSync(root, { recursive: true });
    const port = await freePort();
    const output: string[] = [];
    const authArgs = auth ? ['--user', auth.user, '--pass', auth.pass] : [];
    const child = spawn('rclone', ['serve', 'restic', '--addr', `127.0.0.1:${port}`, ...authArgs, root], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const server = new RcloneRestServer(child, root, port, exited, output);
    await eventually(
      `rclone serve restic to listen on ${port}`,
      async () => {
        if (!alive(child)) throw new Error(`rclone exited: ${output.join('')}`);
        const res = await fetch(`${server.url}/`, { signal: AbortSignal.timeout(2000) }).catch(
          () => undefined,
        );
        return res !== undefined;
      },
      timeoutMs,
      100,
    );
    return server;
  }

  async stop(): Promise<void> {
    if (!alive(this.child)) return;
    killGroup(this.child.pid, 'SIGKILL');
    await this.exited;
  }
}

/**
 * A loopback TCP proxy in front of the control plane. `pause()` drops every
 * open connection and refuses new ones (the agent is cut off); `resume()`
 * accepts again on the same port.
 */
export class PausableProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private targetPort: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  retarget(port: number): void {
    this.targetPort = port;
  }

  async start(port = 0): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      this.sockets.add(client);
      this.sockets.add(upstream);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  get paused(): boolean {
    return this.server === undefined;
  }

  async pause(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async resume(): Promise<void> {
    if (this.server) return;
    await this.start(this.port);
  }

  stop(): Promise<void> {
    return this.pause();
  }
}

export const agentCli = (): string => path.join(repoRoot(), 'dist', 'apps', 'agent', 'src', 'cli.js');
export const controlPlaneBin = (): string => path.join(repoRoot(), 'bin', 'restic-fleet.js');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a node CLI asynchronously (never blocks this process's event loop), killed after `timeoutMs`. */
export function runNode(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `restic-fleet <args>` against a data dir, as the real bin. */
export function controlPlaneCli(dataDir: string, args: string[], timeoutMs = 120_000): Promise<CliResult> {
  return runNode(
    controlPlaneBin(),
    args,
    { PATH: process.env.PATH ?? '', HOME: dataDir, RF_DATA_DIR: dataDir },
    timeoutMs,
  );
}

export interface FleetAgentOptions {
  /** The directory holding agent.yaml and its state dir. */
  readonly dir: string;
  readonly resticBin: string;
  /** Extra agent.yaml settings merged after enrolment (e.g. outbox_max_bytes). */
  readonly config?: Record<string, unknown>;
  /** Node options before the agent's script (e.g. `--cpu-prof` in a bench). */
  readonly nodeArgs?: readonly string[];
}

/**
 * A real `restic-fleet-agent`: enrolled through the CLI with a REST enrolment
 * token, then run as its own process group.
 */
export class FleetAgent {
  readonly logLines: string[] = [];
  agentId = '';
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(readonly options: FleetAgentOptions) {
    fs.mkdirSync(options.dir, { recursive: true });
  }

  get configPath(): string {
    return path.join(this.options.dir, 'agent.yaml');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && alive(this.child);
  }

  /** Creates an enrolment token as `admin`, runs `enrol`, and merges the extra settings. */
  async enrol(admin: RestClient, serverUrl: string): Promise<string> {
    const tok = await admin.post<{ token: string }>('/api/enrolment-tokens', {});
    if (tok.status >= 300) throw new Error(`enrolment token: ${tok.status} ${JSON.stringify(tok.body)}`);
    const r = await runNode(
      agentCli(),
      ['enrol', '--server', serverUrl, '--token', tok.body.token, '--config', this.configPath],
      { PATH: process.env.PATH ?? '', HOME: this.options.dir },
      30_000,
    );
    if (r.code !== 0) throw new Error(`agent enrol failed (${r.code}): ${r.stderr}`);
    const doc = YAML.parse(fs.readFileSync(this.configPath, 'utf8')) as Record<string, unknown>;
    Object.assign(doc, { log_level: 'debug', ...this.options.config });
    fs.writeFileSync(this.configPath, YAML.stringify(doc), { mode: 0o600 });
    this.agentId = String(doc.agent_id);
    return this.agentId;
  }

  start(): void {
    if (this.running) throw new Error('agent already running');
    const child = spawn(
      process.execPath,
      [...(this.options.nodeArgs ?? []), agentCli(), 'run', '--config', this.configPath],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: this.options.dir,
          RF_RESTIC_BIN: this.options.resticBin,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    let buf = '';
    const take = (chunk: Buffer): void => {
      buf += chunk.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        this.logLines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    };
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    this.child = child;
  }

  logged(re: RegExp): boolean {
    return this.logLines.some((l) => re.test(l));
  }

  /** SIGKILL the agent process only: its restic child (same group) is left running, orphaned. */
  async killAgentOnly(): Promise<void> {
    if (!this.child || !alive(this.child)) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGKILL the agent's whole process group (agent and restic), like a host crash. */
  async killGroup(): Promise<void> {
    if (!this.child) return;
    killGroup(this.child.pid, 'SIGKILL');
    await this.exited;
  }

  /** SIGTERM and wait (bounded), then SIGKILL the group so no restic child outlives the test. */
  async stop(timeoutMs = 15_000): Promise<void> {
    if (!this.child) return;
    if (alive(this.child)) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => killGroup(this.child?.pid, 'SIGKILL'), timeoutMs);
      await this.exited;
      clearTimeout(timer);
    }
    killGroup(this.child.pid, 'SIGKILL');
  }
}

/** `/proc/<pid>/stat`: comm, state, pgrp and CPU time used (user + system, seconds); undefined once the pid is gone. */
function procStat(
  pid: number | string,
): { comm: string; state: string; pgrp: number; cpuSeconds: number; childrenCpuSeconds: number } | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid pgrp …" — comm may contain spaces, so split after the last ')'.
  const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line, in clock ticks (100 per second on Linux).
  return {
    comm,
    state: fields[0] ?? '',
    pgrp: Number(fields[2]),
    cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100,
    // cutime and cstime (16, 17): children that exited and were waited for.
    childrenCpuSeconds: (Number(fields[13]) + Number(fields[14])) / 100,
  };
}

/** CPU time a process has used so far (user + system, seconds); 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  return procStat(pid)?.cpuSeconds ?? 0;
}

/** CPU time of `pid`'s children that have exited and been reaped (user + system, seconds). */
export function childrenCpuSeconds(pid: number): number {
  return procStat(pid)?.childrenCpuSeconds ?? 0;
}

/** True once `pid` is gone or only a zombie/dead entry waiting to be reaped (containers without an init reap late). */
export function hasExited(pid: number): boolean {
  const st = procStat(pid);
  return st === undefined || st.state === 'Z' || st.state === 'X';
}

/** Pids of live `restic` processes in process group `pgid` (an agent's group; restic does not get its own). */
export function resticPidsInGroup(pgid: number | undefined): number[] {
  if (pgid === undefined) return [];
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const st = procStat(entry);
    if (st && st.comm === 'restic' && st.pgrp === pgid && !hasExited(Number(entry))) out.push(Number(entry));
  }
  return out;
}
