import { processStopper, type ProcessStopper } from '@rf/restic';
import { execa } from 'execa';
import * as readline from 'node:readline';

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
    const child = execa(command, {
      shell: true,
      reject: false,
      detached: POSIX,
      stdin: 'ignore',
      env: o.env,
      extendEnv: true,
      buffer: false,
      windowsHide: true,
    });
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
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', o.onLine);
    }
    try {
      const r = await child;
      if (timedOut) {
        return {
          exitCode: r.exitCode,
          timedOut: true,
          cancelled: false,
          error: `timed out after ${o.timeoutMs / 1000} s`,
        };
      }
      if (cancelled) return { exitCode: r.exitCode, timedOut: false, cancelled: true, error: 'cancelled' };
      if (r.failed) {
        const why =
          r.exitCode !== undefined ? `exited with code ${r.exitCode}` : (r.signal ?? r.shortMessage);
        return { exitCode: r.exitCode, timedOut: false, cancelled: false, error: why };
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
