// `restic-fleet serve` as the benches start it: spawn, poll /readyz from the
// first moment, stop cleanly. Shared by bench:startup and bench:fleet.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { repoRoot } from '../support/control-plane.process';

export interface Started {
  readonly child: ChildProcess;
  readonly readyMs: number;
  readonly output: string[];
}

/** GET `url`; resolves with the status (0 when unreachable), 2 s timeout. */
export function getStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/** Spawns `serve` and polls `/readyz` from the first moment; resolves when it answers 200. */
export async function startServe(
  dataDir: string,
  port: number,
  timeoutMs: number,
  env: Record<string, string> = {},
  nodeArgs: readonly string[] = [],
): Promise<Started> {
  const t0 = process.hrtime.bigint();
  const output: string[] = [];
  const child = spawn(
    process.execPath,
    [...nodeArgs, path.join(repoRoot(), 'bin', 'restic-fleet.js'), 'serve'],
    {
      cwd: dataDir,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? dataDir,
        RF_DATA_DIR: dataDir,
        RF_LISTEN: `127.0.0.1:${port}`,
        RF_ADMIN_USER: 'admin',
        RF_ADMIN_PASSWORD: 'admin-password-for-bench-1',
        RF_LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.on('data', (c: Buffer) => output.push(c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => output.push(c.toString('utf8')));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}:\n${output.join('')}`);
    if ((await getStatus(`http://127.0.0.1:${port}/readyz`)) === 200) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`serve was not ready within ${timeoutMs} ms:\n${output.join('').slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return { child, readyMs: Number(process.hrtime.bigint() - t0) / 1e6, output };
}

/** SIGTERM (clean shutdown: snapshots are saved) and wait; SIGKILL after 30 s. */
export async function stopServe(started: Started): Promise<void> {
  const { child } = started;
  if (child.exitCode !== null) return;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await exited;
  clearTimeout(timer);
  if (code !== 0)
    throw new Error(`serve did not stop cleanly (exit ${code}):\n${started.output.join('').slice(-4000)}`);
}

/** The floor: a bare node process answering HTTP, timed the same way. */
export async function rawNodeHttp(port: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  const child = spawn(
    process.execPath,
    ['-e', `require('http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')`],
    { stdio: 'ignore' },
  );
  try {
    const deadline = Date.now() + 10_000;
    while ((await getStatus(`http://127.0.0.1:${port}/readyz`)) !== 200) {
      if (Date.now() > deadline) throw new Error('the bare node server did not answer');
      await new Promise((r) => setTimeout(r, 5));
    }
    return Number(process.hrtime.bigint() - t0) / 1e6;
  } finally {
    child.kill('SIGKILL');
  }
}

export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = http.createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return Math.round(s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2);
};

/** Resident set size of a process in MB (VmRSS), 0 when it is gone. */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}
