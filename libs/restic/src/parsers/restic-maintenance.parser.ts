import { tryJson } from './json-fields';

export interface UnlockReport {
  /** 0.14 always says it removed locks; 0.18+ only when it did. */
  removedLocks: boolean;
}

export function parseUnlockOutput(stdout: readonly string[]): UnlockReport {
  return { removedLocks: stdout.some((l) => /successfully removed (\d+ )?locks?/i.test(l)) };
}

export interface PruneReport {
  /** `total prune:` line, e.g. `0 blobs / 0 B`. */
  totalPrune: string | undefined;
  /** `remaining:` line, e.g. `11 blobs / 66.815 KiB`. */
  remaining: string | undefined;
  done: boolean;
}

/** `prune` (text in every version), also the text `forget --prune` appends. */
export function parsePruneText(lines: readonly string[]): PruneReport {
  const report: PruneReport = { totalPrune: undefined, remaining: undefined, done: false };
  for (const line of lines) {
    if (tryJson(line) !== undefined) continue;
    const t = line.trim();
    const total = /^total prune:\s+(.+)$/.exec(t);
    if (total) report.totalPrune = total[1];
    const rem = /^remaining:\s+(.+)$/.exec(t);
    if (rem) report.remaining = rem[1];
    if (t === 'done') report.done = true;
  }
  return report;
}
