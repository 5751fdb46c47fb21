import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The repository root: set by scripts/test.js, else found by walking up from here. */
export function repoRoot(): string {
  if (process.env.RF_REPO_ROOT) return process.env.RF_REPO_ROOT;
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'bin'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the repository root');
}

export interface ControlPlaneOptions {
  /** Reuse a data dir (restart after a crash); a fresh temp dir otherwise. */
  readonly dataDir?: string;
  readonly env?: Record<string, string>;
  /** Extra node flags, e.g. `--cpu-prof`. */
  readonly nodeArgs?: readonly string[];
  readonly startTimeoutMs?: number;
  /** A fixed port; 0 (default) lets the OS choose. */
  readonly port?: number;
}

export const ADMIN_USER = 'admin';
export const ADMIN_PASSWORD = 'admin-password-for-tests-1';

/**
 * `restic-fleet serve` as a real child process on a temp data dir. Collects its
 * output (for assertions about logs) and resolves once it prints its URL.
 */
export class ControlPlaneProcess {
  readonly output: string[] = [];
  private exitPromise: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly dataDir: string,
    readonly url: string,
    exit: Promise<number | null>,
    output: string[],
  ) {
    this.exitPromise = exit;
    this.output = output;
  }

  get wsUrl(): string {
    return this.url.replace(/^http/, 'ws');
  }

  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlaneProcess> {
    const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'rf-cp-'));
    const root = repoRoot();
    const output: string[] = [];
    const child = spawn(
      process.execPath,
      [...(options.nodeArgs ?? []), path.join(root, 'bin', 'restic-fleet.js'), 'serve'],
      {
        cwd: dataDir,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? dataDir,
          RF_DATA_DIR: dataDir,
          RF_LISTEN: `127.0.0.1:${options.port ?? 0}`,
          RF_ADMIN_USER: ADMIN_USER,
          RF_ADMIN_PASSWORD: ADMIN_PASSWORD,
          ...options.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `control plane did not start within ${options.startTimeoutMs ?? 20_000} ms:\n${output.join('')}`,
            ),
          ),
        options.startTimeoutMs ?? 20_000,
      );
      const onData = (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        output.push(text);
        const m = /listening on (http:\/\/\S+)/.exec(output.join(''));
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`control plane exited with ${code} before listening:\n${output.join('')}`));
      });
    });
    return new ControlPlaneProcess(child, dataDir, url, exit, output);
  }

  logText(): string {
    return this.output.join('');
  }

  /** SIGTERM and wait (bounded); SIGKILL if it does not stop. Resolves to the exit code. */
  async stop(timeoutMs = 10_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exitPromise;
    clearTimeout(timer);
    return code;
  }

  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exitPromise;
  }

  removeDataDir(): void {
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}
