import { tryJsonObject } from './parsers/restic-line.parser';
import { optStr } from './parsers/json-fields';
import { ResticVersion } from './restic-version';

export type ResticOutcomeStatus = 'succeeded' | 'warning' | 'failed' | 'cancelled';
export type ResticOutcomeCode =
  | 'ok'
  | 'partial'
  | 'repo_missing'
  | 'repo_exists'
  | 'locked'
  | 'wrong_password'
  | 'interrupted'
  | 'auth_failed'
  | 'unreachable'
  | 'timeout'
  | 'fatal'
  | 'unknown_exit';

export interface ResticOutcome {
  status: ResticOutcomeStatus;
  code: ResticOutcomeCode;
  exitCode: number | null;
  /** For an operator: what happened and what to do. Contains no secrets (restic masks them). */
  message: string;
}

export interface ClassifyOutcomeInput {
  command: string;
  exitCode: number | null;
  signal?: string | null;
  stderrLines: readonly string[];
  /** Also searched: restic prints some errors (and 0.14 init/check text) on stdout. */
  stdoutLines?: readonly string[];
  version?: ResticVersion;
  /** We asked restic to stop (SIGINT). */
  cancelled?: boolean;
  /** Our overall timeout fired. */
  timedOut?: boolean;
}

const ADVICE: Record<Exclude<ResticOutcomeCode, 'ok' | 'partial' | 'fatal' | 'unknown_exit'>, string> = {
  repo_missing:
    'There is no repository at the configured location. Check the repository URL, or run an Init job to create it.',
  repo_exists:
    'A repository already exists at this location; there is nothing to initialise. Use it as it is, or pick another location.',
  locked:
    'Another restic process holds the lock, or a stale lock remains. If no job is running on this repository, run an Unlock job.',
  wrong_password:
    'The repository password is wrong (or no key matches it). Update the repository password in the host settings.',
  interrupted:
    'restic was stopped before it finished; no snapshot was saved. Leftover data is removed by the next prune.',
  auth_failed:
    'The repository server refused the credentials (HTTP 401/403). Check the repository username and credential.',
  unreachable:
    'The repository server could not be reached. Check that it is running and reachable from this host.',
  timeout:
    'restic ran longer than the job timeout and was stopped. Raise the timeout or check why the run is slow.',
};

interface TextRule {
  code:
    | 'repo_missing'
    | 'repo_exists'
    | 'locked'
    | 'wrong_password'
    | 'auth_failed'
    | 'unreachable'
    | 'interrupted';
  pattern: RegExp;
}

// Text equivalents of the 0.17+ exit codes, for 0.14–0.16 and for rc 1 in general. Order matters:
// the more specific facts first (a locked repo's text mentions neither password nor config).
const TEXT_RULES: TextRule[] = [
  { code: 'interrupted', pattern: /context canceled|signal interrupt received/i },
  { code: 'repo_exists', pattern: /config file already exists/i },
  { code: 'locked', pattern: /repository is already locked|unable to create lock|Fatal: unable to lock/i },
  { code: 'wrong_password', pattern: /wrong password or no key found/i },
  // Before repo_missing: 0.14 follows a 401 or a refused connection with "Is there a repository …?".
  { code: 'auth_failed', pattern: /\b401\b|\bUnauthorized\b|\b403\b|\bForbidden\b/ },
  {
    code: 'unreachable',
    pattern: /connection refused|no such host|i\/o timeout|network is unreachable|no route to host/i,
  },
  {
    code: 'repo_missing',
    pattern:
      /repository does not exist|unable to open config file|Is there a repository at the following location/i,
  },
];

/**
 * The most useful text restic gave us: an exit_error message, else the last
 * Fatal: line, else the last few stderr text lines (0.14's lock message spans
 * four), else the last stdout text line.
 */
export function resticFailureText(
  stderrLines: readonly string[],
  stdoutLines: readonly string[] = [],
): string {
  let exitError: string | undefined;
  let fatal: string | undefined;
  const stderrText: string[] = [];
  let lastStdoutText: string | undefined;
  const scan = (line: string, fromStderr: boolean): void => {
    const obj = tryJsonObject(line);
    if (obj) {
      if (optStr(obj, 'message_type') === 'exit_error') exitError = optStr(obj, 'message') ?? exitError;
      return;
    }
    const t = line.trim();
    if (!t) return;
    if (/^Fatal:/i.test(t)) fatal = t;
    if (fromStderr) stderrText.push(t);
    else lastStdoutText = t;
  };
  for (const line of stdoutLines) scan(line, false);
  for (const line of stderrLines) scan(line, true);
  const tail = stderrText.slice(-4).join('\n');
  return tidy(exitError ?? fatal ?? (tail || lastStdoutText) ?? '');
}

// exit_error messages span lines and 0.19 sometimes doubles the "Fatal: " prefix.
function tidy(text: string): string {
  return text
    .replace(/^(Fatal:\s*)+/i, 'Fatal: ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' — ');
}

function outcome(
  status: ResticOutcomeStatus,
  code: ResticOutcomeCode,
  exitCode: number | null,
  message: string,
): ResticOutcome {
  return { status, code, exitCode, message };
}

function withDetail(advice: string, detail: string): string {
  return detail ? `${advice} (restic: ${detail})` : advice;
}

/**
 * Decides a run's outcome from the exit code first (RESTIC.md §1, §7): 0 ok,
 * 3 partial, 10/11/12 from 0.17, 130/143 or "context canceled" cancelled; on
 * rc 1 the text tells the older versions' equivalents; unknown codes fail.
 */
export function classifyOutcome(input: ClassifyOutcomeInput): ResticOutcome {
  const { exitCode, command } = input;
  const stdout = input.stdoutLines ?? [];
  const all = [...stdout, ...input.stderrLines];
  const detail = resticFailureText(input.stderrLines, stdout);
  const has = (re: RegExp): boolean => all.some((l) => re.test(l));

  if (exitCode === 0) {
    // 0.14–0.18 return 0 when one of several backup paths is missing; 0.19 returns 3. Report it the same way.
    if (command === 'backup' && has(/does not exist, skipping/)) {
      const skipped = all.filter((l) => /does not exist, skipping/.test(l)).map((l) => l.trim());
      return outcome(
        'warning',
        'partial',
        exitCode,
        `Snapshot saved, but some source paths were skipped: ${skipped.join('; ')}`,
      );
    }
    return outcome('succeeded', 'ok', exitCode, 'Completed successfully.');
  }
  if (input.timedOut) return outcome('failed', 'timeout', exitCode, withDetail(ADVICE.timeout, detail));
  if (input.cancelled)
    return outcome(
      'cancelled',
      'interrupted',
      exitCode,
      'Cancelled on request; no snapshot was saved by this run.',
    );
  if (exitCode === 130 || exitCode === 143 || (exitCode === null && input.signal)) {
    return outcome(
      'cancelled',
      'interrupted',
      exitCode,
      withDetail(ADVICE.interrupted, detail || `signal ${input.signal ?? ''}`.trim()),
    );
  }
  if (exitCode === 3) {
    const message =
      command === 'backup'
        ? 'Snapshot saved, but some files could not be read; see the errors in the log.'
        : 'restic finished with warnings; see the log.';
    return outcome('warning', 'partial', exitCode, withDetail(message, detail));
  }
  if (exitCode === 10)
    return outcome('failed', 'repo_missing', exitCode, withDetail(ADVICE.repo_missing, detail));
  if (exitCode === 11) return outcome('failed', 'locked', exitCode, withDetail(ADVICE.locked, detail));
  if (exitCode === 12)
    return outcome('failed', 'wrong_password', exitCode, withDetail(ADVICE.wrong_password, detail));
  if (exitCode === 1) {
    for (const rule of TEXT_RULES) {
      if (!has(rule.pattern)) continue;
      if (rule.code === 'interrupted')
        return outcome('cancelled', 'interrupted', exitCode, withDetail(ADVICE.interrupted, detail));
      return outcome('failed', rule.code, exitCode, withDetail(ADVICE[rule.code], detail));
    }
    if (command === 'check' && has(/repository contains errors/i)) {
      return outcome(
        'failed',
        'fatal',
        exitCode,
        withDetail(
          "The check found damage in the repository. Read the errors in the log and follow restic's repair advice.",
          detail,
        ),
      );
    }
    return outcome(
      'failed',
      'fatal',
      exitCode,
      detail || 'restic failed (exit code 1) without an error message.',
    );
  }
  if (exitCode === 2)
    return outcome(
      'failed',
      'fatal',
      exitCode,
      withDetail('restic crashed (Go runtime error); see the log.', detail),
    );
  return outcome(
    'failed',
    'unknown_exit',
    exitCode,
    withDetail(`restic exited with unexpected code ${String(exitCode)}.`, detail),
  );
}
