import { spawn } from 'node:child_process';
import { LineSplitter, processStopper, waitForExit, type ProcessStopper } from '@rf/restic';

export interface HookResult {
  exitCode: number | undefined;
  timedOut: boolean;
  cancelled: boolean;
  /** Set when the hook could not start or did not exit 0; operator-facing. */
  error?: string;
}

export interface HookRunOptions {
  timeoutMs: number;
  onLine: (line: string) => void;
  signal?: AbortSignal;
  env?: Record<string, string>;
}

const POSIX = process.platform !== 'win32';
const KILL_AFTER_MS = 5000;
/** A hook printing one endless line cannot exhaust the agent's memory. */
const MAX_LINE_CHARS = 64 * 1024;

/**
 * Runs a schedule's pre/post hook through the platform shell (sh on POSIX,
 * cmd.exe on Windows), streaming its output line by line. The hook gets no
 * repository secrets: only the job variables the caller passes. On POSIX the
 * hook gets its own process group, so a timeout or cancel stops everything it
 * started (`sh -c 'sleep 30'` keeps the pipes open through its child otherwise);
 * on Windows the whole tree is ended with taskkill, since ending cmd.exe
 * alone would orphan what it started.
 */
export class HookProcessRepository {
  constructor(private readonly stopper: ProcessStopper = processStopper()) {}

  async run(command: string, o: HookRunOptions): Promise<HookResult> {
    const child = spawn(command, {
      shell: true,
      detached: POSIX,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...o.env },
      windowsHide: true,
    });
    const exited = waitForExit(child);
    let timedOut = false;
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;
    let stopping = false;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      if (!POSIX) {
        // A shell tree on Windows has no polite stop that reaches every child.
        if (child.pid !== undefined) this.stopper.kill(child.pid);
        return;
      }
      signalTree(child.pid, 'SIGTERM', () => child.kill('SIGTERM'));
      killTimer = setTimeout(
        () => signalTree(child.pid, 'SIGKILL', () => child.kill('SIGKILL')),
        KILL_AFTER_MS,
      );
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, o.timeoutMs);
    const onAbort = (): void => {
      cancelled = true;
      stop();
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    if (o.signal?.aborted) onAbort();
    const splitters = [child.stdout, child.stderr].map((stream) => {
      const lines = new LineSplitter(o.onLine, MAX_LINE_CHARS);
      stream.on('data', (chunk: Buffer) => lines.push(chunk));
      return lines;
    });
    try {
      const r = await exited;
      for (const lines of splitters) lines.end();
      const exitCode = r.exitCode ?? undefined;
      if (timedOut) {
        return {
          exitCode,
          timedOut: true,
          cancelled: false,
          error: `timed out after ${o.timeoutMs / 1000} s`,
        };
      }
      if (cancelled) return { exitCode, timedOut: false, cancelled: true, error: 'cancelled' };
      if (r.spawnError) return { exitCode, timedOut: false, cancelled: false, error: r.spawnError.message };
      if (r.exitCode !== 0) {
        const why =
          r.exitCode !== null ? `exited with code ${r.exitCode}` : `killed by ${r.signal ?? 'a signal'}`;
        return { exitCode, timedOut: false, cancelled: false, error: why };
      }
      return { exitCode: 0, timedOut: false, cancelled: false };
    } finally {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      o.signal?.removeEventListener('abort', onAbort);
    }
  }
}

function signalTree(pid: number | undefined, signal: NodeJS.Signals, fallback: () => void): void {
  if (pid === undefined) {
    fallback();
    return;
  }
  try {
    process.kill(-pid, signal);
  } catch {
    fallback(); // the group is already gone
  }
}
