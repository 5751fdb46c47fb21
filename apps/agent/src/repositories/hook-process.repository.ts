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

/**
 * Runs a schedule's pre/post hook through the platform shell (sh on POSIX,
 * cmd.exe on Windows), streaming its output line by line. The hook gets no
 * repository secrets: only the job id/kind variables the caller passes.
 */
export class HookProcessRepository {
  async run(command: string, o: HookRunOptions): Promise<HookResult> {
    const child = execa(command, {
      shell: true,
      reject: false,
      timeout: o.timeoutMs,
      killSignal: 'SIGTERM',
      forceKillAfterDelay: 5000,
      cancelSignal: o.signal,
      stdin: 'ignore',
      env: o.env,
      extendEnv: true,
      buffer: false,
      windowsHide: true,
    });
    const pumps: Promise<void>[] = [];
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
      rl.on('line', o.onLine);
      pumps.push(new Promise((resolve) => rl.once('close', () => resolve())));
    }
    const r = await child;
    await Promise.all(pumps);
    if (r.timedOut) {
      return {
        exitCode: r.exitCode,
        timedOut: true,
        cancelled: false,
        error: `timed out after ${o.timeoutMs / 1000} s`,
      };
    }
    if (r.isCanceled) return { exitCode: r.exitCode, timedOut: false, cancelled: true, error: 'cancelled' };
    if (r.failed) {
      const why = r.exitCode !== undefined ? `exited with code ${r.exitCode}` : (r.signal ?? r.shortMessage);
      return { exitCode: r.exitCode, timedOut: false, cancelled: false, error: why };
    }
    return { exitCode: 0, timedOut: false, cancelled: false };
  }
}
