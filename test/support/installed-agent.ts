/**
 * Support for the agent-delivery end-to-end specs: the single-file agent as a
 * host runs it (`node <dir>/restic-fleet-agent.js run --config <dir>/agent.yaml`,
 * its own process group), builds of it with another version number, and the
 * /proc readings the specs report. Not a spec file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './control-plane.process';
import { killGroup, runNode, type CliResult } from './fleet';

export const sha256File = (file: string): string =>
  createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** The directories from `dir` up to `/` that hold a node_modules (a host must have none). */
export function nodeModulesAbove(dir: string): string[] {
  const found: string[] = [];
  let d = path.resolve(dir);
  for (;;) {
    if (fs.existsSync(path.join(d, 'node_modules'))) found.push(d);
    const up = path.dirname(d);
    if (up === d) return found;
    d = up;
  }
}

/** `scripts/build-agent.js --version V --outdir DIR`: the single-file agent as an older (or newer) release. */
export async function buildAgentVersion(version: string, outdir: string): Promise<string> {
  const r: CliResult = await runNode(
    path.join(repoRoot(), 'scripts', 'build-agent.js'),
    ['--version', version, '--outdir', outdir],
    { PATH: process.env.PATH ?? '', RF_QUIET_BUILD: '1' },
    120_000,
  );
  if (r.code !== 0) throw new Error(`build-agent --version ${version} failed: ${r.stderr}`);
  return path.join(outdir, 'restic-fleet-agent.js');
}

/** VmRSS and VmHWM of a process, in MiB. */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

/** Live child processes of `pid` (from /proc/<n>/stat's ppid). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) === pid && fields[0] !== 'Z') out.push(Number(entry));
  }
  return out;
}

/** An installed single-file agent started with the command install.sh prints. */
export class InstalledAgent {
  readonly logLines: string[] = [];
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> = Promise.resolve(null);

  constructor(
    readonly file: string,
    readonly configPath: string,
    private readonly env: NodeJS.ProcessEnv = {},
  ) {}

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** `node <file> run --config <config>` from the agent's own directory, with nothing but PATH and HOME. */
  start(): void {
    const child = spawn(process.execPath, [this.file, 'run', '--config', this.configPath], {
      cwd: path.dirname(this.file),
      env: { PATH: process.env.PATH ?? '', HOME: path.dirname(this.file), ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
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
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    this.child = child;
  }

  /** Waits (bounded) for the process to exit by itself and returns its exit code. */
  async exitCode(timeoutMs: number): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the agent did not exit within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  logged(re: RegExp): boolean {
    return this.logLines.some((l) => re.test(l));
  }

  /** SIGTERM and wait (bounded); then SIGKILL the group so no child outlives the test. */
  async stop(timeoutMs = 20_000): Promise<number | null> {
    const child = this.child;
    if (!child) return null;
    let code: number | null = null;
    if (this.running) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), timeoutMs);
      code = await this.exited;
      clearTimeout(timer);
    }
    killGroup(child.pid, 'SIGKILL');
    return code;
  }
}
