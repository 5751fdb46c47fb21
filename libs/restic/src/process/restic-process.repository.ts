import { spawn } from 'node:child_process';
import type { Readable, Stream } from 'node:stream';
import { parseResticLine, ResticLine } from '../parsers/restic-line.parser';
import { processStopper, type ProcessStopper } from './process-stopper';
import { ResticError } from '../restic.errors';
import { ResticVersion } from '../restic-version';
import { waitForExit } from './child-exit';
import { LineSplitter } from './line-splitter';
import { resticCopyEnvironment, resticEnvironment, ResticRepository } from './restic-environment';

export type ResticStream = 'stdout' | 'stderr';

export interface ResticRunOptions {
  bin: string;
  /** Decides how REST credentials are passed; unknown means the form every version accepts. */
  version?: ResticVersion;
  /** Omit only for commands that need no repository (`version`). A copy's destination. */
  repo?: ResticRepository;
  /** `copy` and `init --copy-chunker-params`: the source repository (see resticCopyEnvironment). */
  from?: ResticRepository;
  command: string;
  args: readonly string[];
  cwd?: string;
  /** Aborting interrupts restic (SIGINT; Ctrl+C on Windows), then kills it after `graceMs`. */
  signal?: AbortSignal;
  /** Overall limit; on expiry the run is interrupted like a cancel and `timedOut` is set. */
  timeoutMs: number;
  /** Between the interrupt and the kill (default 10 s). SIGTERM is never used: 0.14 leaves a stale lock on it. */
  graceMs?: number;
  extraEnv?: Record<string, string>;
  /** Called for every non-blank line as it arrives, ANSI codes removed. */
  onLine?: (stream: ResticStream, line: string, parsed: ResticLine) => void;
  /** Keep every stdout line in the result (single-document commands: snapshots, forget, stats, ls). */
  captureStdout?: boolean;
  uid?: number;
  gid?: number;
  /** Called once the process exists (its pid), e.g. to inspect it. */
  onSpawn?: (pid: number) => void;
  /** Lines kept in stdoutTail/stderrTail (default 50). */
  tailLines?: number;
  /**
   * Hands restic's stdout over as it is (bytes, no line splitting, no tail, no onLine): the
   * consumer reads it and pauses it when its reader is slow, so restic blocks on a full pipe
   * instead of anything being buffered (browse queries, docs/browse.md).
   */
  rawStdout?: (stdout: Readable) => void;
  /**
   * restic's stdout is this stream's own descriptor (a socket, POSIX only): restic writes into it
   * directly, nothing passes through this process, and a full socket blocks restic's write. The
   * descriptor is shared, so it turns blocking for this process too (libuv clears O_NONBLOCK on a
   * child's stdio): write nothing into it while restic runs. Excludes rawStdout, onLine's stdout
   * lines and captureStdout.
   */
  stdoutInto?: Stream;
}

export interface ResticRunResult {
  /** null when restic died from a signal or never started. */
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  stdoutTail: string[];
  stderrTail: string[];
  /** Present when captureStdout was set. */
  stdoutLines?: string[];
  cancelled: boolean;
  timedOut: boolean;
  /** restic did not stop within the grace period and was killed: it may have left a stale lock. */
  killed: boolean;
  pid: number | undefined;
}

const TAIL_LINE_CHARS = 4096;

/** Runs one restic command. The only place in the library that starts processes. */
export class ResticProcessRepository {
  constructor(private readonly stopper: ProcessStopper = processStopper()) {}

  async run(opts: ResticRunOptions): Promise<ResticRunResult> {
    if (!opts.bin) throw new ResticError('invalid_argument', 'bin is required', 'bin');
    if (typeof opts.command !== 'string' || !/^[a-z][a-z-]*$/.test(opts.command)) {
      throw new ResticError(
        'invalid_argument',
        'command must be a restic command name such as "backup"',
        'command',
      );
    }
    if (!Array.isArray(opts.args) || opts.args.some((a) => typeof a !== 'string')) {
      throw new ResticError('invalid_argument', 'args must be a list of strings', 'args');
    }
    if (!Number.isFinite(opts.timeoutMs) || opts.timeoutMs <= 0) {
      throw new ResticError('invalid_argument', 'timeoutMs must be a positive number', 'timeoutMs');
    }
    if (opts.stdoutInto && (opts.rawStdout || opts.captureStdout)) {
      throw new ResticError(
        'invalid_argument',
        'stdoutInto hands stdout to another stream; it cannot also be read here',
        'stdoutInto',
      );
    }
    if (opts.from && !opts.repo) {
      throw new ResticError('invalid_argument', 'from needs repo (the destination) as well', 'repo');
    }
    const env = opts.repo
      ? opts.from
        ? resticCopyEnvironment(opts.repo, opts.from, opts.version)
        : resticEnvironment(opts.repo, opts.version)
      : withoutResticVars(process.env);
    Object.assign(env, opts.extraEnv ?? {});
    const tailMax = opts.tailLines ?? 50;
    const stdoutTail: string[] = [];
    const stderrTail: string[] = [];
    const stdoutLines: string[] | undefined = opts.captureStdout ? [] : undefined;
    const started = Date.now();

    if (opts.signal?.aborted) {
      return {
        exitCode: null,
        signal: null,
        durationMs: 0,
        stdoutTail,
        stderrTail,
        stdoutLines,
        cancelled: true,
        timedOut: false,
        killed: false,
        pid: undefined,
      };
    }

    const child = spawn(opts.bin, [opts.command, ...opts.args], {
      env,
      cwd: opts.cwd,
      stdio: ['ignore', opts.stdoutInto ?? 'pipe', 'pipe'],
      windowsHide: true,
      ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
      ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
    });
    const exited = waitForExit(child);

    let callbackError: unknown;
    let cancelled = false;
    let timedOut = false;
    let killed = false;
    let killTimer: NodeJS.Timeout | undefined;
    const pid = child.pid;
    const interrupt = (): void => {
      if (killTimer || pid === undefined) return;
      this.stopper.interrupt(pid);
      killTimer = setTimeout(() => {
        killed = true;
        this.stopper.kill(pid);
      }, opts.graceMs ?? 10_000);
    };
    const onAbort = (): void => {
      cancelled = true;
      interrupt();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timeout = setTimeout(() => {
      timedOut = true;
      interrupt();
    }, opts.timeoutMs);

    const lineHandler = (stream: ResticStream, tail: string[]) => (line: string) => {
      tail.push(line.length > TAIL_LINE_CHARS ? line.slice(0, TAIL_LINE_CHARS) : line);
      if (tail.length > tailMax) tail.shift();
      if (stream === 'stdout') stdoutLines?.push(line);
      if (!opts.onLine || callbackError !== undefined) return;
      try {
        opts.onLine(stream, line, parseResticLine(line));
      } catch (err) {
        // A failing consumer stops the run rather than silently losing lines.
        callbackError = err;
        interrupt();
      }
    };
    const out = new LineSplitter(lineHandler('stdout', stdoutTail));
    const err = new LineSplitter(lineHandler('stderr', stderrTail));
    if (opts.rawStdout && child.stdout) opts.rawStdout(child.stdout);
    else child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    if (child.pid !== undefined && opts.onSpawn) {
      try {
        opts.onSpawn(child.pid);
      } catch (e) {
        callbackError = e;
        interrupt();
      }
    }

    try {
      const result = await exited;
      out.end();
      err.end();
      if (callbackError !== undefined) throw callbackError;
      const { exitCode, signal } = result;
      if (result.spawnError || (exitCode === null && signal === null)) {
        throw new ResticError(
          'spawn_failed',
          `could not start ${opts.bin}: ${result.spawnError?.message ?? 'unknown error'}`,
        );
      }
      return {
        exitCode,
        signal,
        durationMs: Date.now() - started,
        stdoutTail,
        stderrTail,
        stdoutLines,
        cancelled,
        timedOut,
        killed,
        pid: child.pid,
      };
    } finally {
      clearTimeout(timeout);
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }
}

function withoutResticVars(base: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined && !k.startsWith('RESTIC_')) env[k] = v;
  return env;
}
