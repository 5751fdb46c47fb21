import { bool, num, optStr, strList } from './json-fields';
import { exitErrorOf, ResticExitError, tryJsonObject } from './restic-line.parser';

export interface CheckReport {
  /** From the 0.18+ summary; for 0.14 text, the stderr lines before `Fatal: repository contains errors`. */
  numErrors: number;
  errors: string[];
  brokenPacks: string[];
  suggestRepairIndex: boolean;
  suggestPrune: boolean;
  /** True when restic said the repository is fine (JSON summary with 0 errors, or 0.14 text). */
  clean: boolean;
  /** 0.18+ prints a summary even when check could not run at all (locked: num_errors 1, then exit 11). */
  exitError: ResticExitError | undefined;
}

const CONTAINS_ERRORS = /repository contains errors/i;

/** `check --json`: a summary and `error` lines (0.18+), or text (0.14). */
export function parseCheckOutput(stdout: readonly string[], stderr: readonly string[]): CheckReport {
  const report: CheckReport = {
    numErrors: 0,
    errors: [],
    brokenPacks: [],
    suggestRepairIndex: false,
    suggestPrune: false,
    clean: false,
    exitError: undefined,
  };
  let sawSummary = false;
  let sawCleanText = false;
  let sawContainsErrors = false;
  // 0.14 prints findings as free text on stderr, closed by `Fatal: repository contains errors`.
  const stderrText: string[] = [];
  for (const line of stdout)
    if (!tryJsonObject(line) && /no errors were found/i.test(line)) sawCleanText = true;
  for (const line of stderr) {
    if (tryJsonObject(line)) continue;
    if (CONTAINS_ERRORS.test(line)) sawContainsErrors = true;
    else if (line.trim()) stderrText.push(line.trim());
  }
  for (const line of [...stdout, ...stderr]) {
    const v = tryJsonObject(line);
    if (!v) continue;
    switch (optStr(v, 'message_type')) {
      case 'summary':
        sawSummary = true;
        report.numErrors = num(v, 'num_errors');
        report.brokenPacks = strList(v, 'broken_packs');
        report.suggestRepairIndex = bool(v, 'suggest_repair_index');
        report.suggestPrune = bool(v, 'suggest_prune');
        break;
      case 'error':
        report.errors.push(optStr(v, 'message') ?? 'unknown error');
        break;
      case 'exit_error':
        report.exitError = exitErrorOf(v);
        break;
      default:
        break;
    }
  }
  if (!sawSummary && sawContainsErrors) {
    report.errors.push(...stderrText);
    report.numErrors = Math.max(1, stderrText.length);
  }
  report.clean = report.exitError === undefined && (sawSummary ? report.numErrors === 0 : sawCleanText);
  return report;
}
