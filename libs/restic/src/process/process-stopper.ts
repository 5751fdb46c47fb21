import { spawn } from 'node:child_process';

/**
 * How a running restic (or a hook) is stopped: politely first, so restic
 * removes its lock, then by force after a grace period.
 *
 * POSIX: SIGINT, then SIGKILL (SIGTERM is never used: restic 0.14 leaves a
 * stale lock on it).
 *
 * Windows has no signals: Node's `kill('SIGINT')` terminates the process
 * outright, which leaves restic's lock behind. restic (Go) treats a console
 * Ctrl+C event as its interrupt, and every restic the agent starts has a
 * console of its own (no inherited stdio, hidden window), so a short
 * PowerShell helper attaches to that console and raises Ctrl+C there — it
 * reaches restic and whatever restic started, never the agent. The forced
 * stop is `taskkill /T /F`, which also ends the children a plain
 * TerminateProcess would orphan.
 */
export interface ProcessStopper {
  /** Asks the process to stop and clean up (restic removes its lock). */
  interrupt(pid: number): void;
  /** Ends the process and everything it started. */
  kill(pid: number): void;
}

/** Starts a short helper command and forgets it (bounded: it is killed after `timeoutMs`). */
export type HelperRunner = (file: string, args: readonly string[], timeoutMs: number) => void;

const HELPER_TIMEOUT_MS = 15_000;

const runHelper: HelperRunner = (file, args, timeoutMs) => {
  const child = spawn(file, args, { stdio: 'ignore', windowsHide: true, timeout: timeoutMs });
  child.on('error', () => undefined); // a missing helper leaves the forced stop after the grace period
  child.unref();
};

/** The PowerShell that raises Ctrl+C on the console of `pid` and nowhere else. */
export function windowsCtrlCScript(pid: number): string {
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new Error(`not a process id: ${pid}`);
  return [
    "$ErrorActionPreference = 'Stop'",
    "Add-Type -Namespace RfStop -Name Console -MemberDefinition @'",
    '[DllImport("kernel32.dll", SetLastError = true)] public static extern bool FreeConsole();',
    '[DllImport("kernel32.dll", SetLastError = true)] public static extern bool AttachConsole(uint processId);',
    '[DllImport("kernel32.dll", SetLastError = true)] public static extern bool SetConsoleCtrlHandler(System.IntPtr handler, bool add);',
    '[DllImport("kernel32.dll", SetLastError = true)] public static extern bool GenerateConsoleCtrlEvent(uint ctrlEvent, uint processGroupId);',
    "'@",
    // Leave our own console, join restic's, ignore the event ourselves, raise it for all on that console.
    '[RfStop.Console]::FreeConsole() | Out-Null',
    `if (-not [RfStop.Console]::AttachConsole(${pid})) { exit 2 }`,
    '[RfStop.Console]::SetConsoleCtrlHandler([System.IntPtr]::Zero, $true) | Out-Null',
    'if (-not [RfStop.Console]::GenerateConsoleCtrlEvent(0, 0)) { exit 3 }',
    'exit 0',
  ].join('\n');
}

/** `powershell.exe` arguments running `script` without any quoting to get wrong (UTF-16LE base64). */
export function powershellArgs(script: string): string[] {
  return [
    '-NoProfile',
    '-NonInteractive',
    '-ExecutionPolicy',
    'Bypass',
    '-EncodedCommand',
    Buffer.from(script, 'utf16le').toString('base64'),
  ];
}

export function taskkillArgs(pid: number): string[] {
  return ['/PID', String(pid), '/T', '/F'];
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

export function processStopper(
  platform: NodeJS.Platform = process.platform,
  run: HelperRunner = runHelper,
): ProcessStopper {
  if (platform !== 'win32') {
    return { interrupt: (pid) => signal(pid, 'SIGINT'), kill: (pid) => signal(pid, 'SIGKILL') };
  }
  return {
    interrupt: (pid) => run('powershell.exe', powershellArgs(windowsCtrlCScript(pid)), HELPER_TIMEOUT_MS),
    kill: (pid) => run('taskkill.exe', taskkillArgs(pid), HELPER_TIMEOUT_MS),
  };
}
