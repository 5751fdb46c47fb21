import type { ChildProcess } from 'node:child_process';

export interface ChildExit {
  /** null when the process died from a signal or never started. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started (ENOENT, EACCES, …). */
  spawnError?: Error;
}

/**
 * Resolves once a spawned process has exited and its stdio streams have
 * closed, or once it failed to start; never rejects. Plain `node:child_process`
 * keeps the single-file agent small (see apps/agent/README.md, "Memory").
 */
export function waitForExit(child: ChildProcess): Promise<ChildExit> {
  return new Promise((resolve) => {
    let spawnError: Error | undefined;
    child.once('error', (err) => {
      spawnError ??= err;
    });
    child.once('close', (code, signal) => {
      // A process that never started closes with a negative errno as its "code".
      if (spawnError && child.pid === undefined) resolve({ exitCode: null, signal: null, spawnError });
      else resolve({ exitCode: typeof code === 'number' ? code : null, signal });
    });
  });
}
