import { tryJson } from './json-fields';

/*
 * `restic copy` prints text in every version (0.14–0.19 ignore --json):
 *   snapshot 3ea38b6a of [/srv/data] at 2024-… UTC)          (0.18+: "… UTC by root@host")
 *     copy started, this may take a while...
 *   [0:00] 100.00%  2 / 2 packs copied                       (text progress; "[0:00]  0 packs copied" when none)
 *   snapshot dc0123e9 saved                                  (0.14, 0.18: follows its source's block)
 *   snapshot 678646f0 saved, copied from source snapshot 787f266e   (0.19: at the end, one per copy)
 *   skipping source snapshot 99700692, was already copied to snapshot 1c69cb28   (0.14; 0.18+ only with -v)
 */

export type CopyLine =
  | { readonly type: 'source'; readonly source: string }
  | {
      readonly type: 'progress';
      /** 0..1; undefined when restic knows no total yet. */
      readonly percentDone: number | undefined;
      readonly packsDone: number;
      readonly packsTotal: number | undefined;
      readonly secondsElapsed: number;
    }
  | { readonly type: 'saved'; readonly snapshot: string; readonly source: string | undefined }
  | { readonly type: 'skipped'; readonly source: string; readonly snapshot: string }
  | { readonly type: 'other' };

const SOURCE = /^snapshot ([0-9a-f]{8,64}) of \[/;
const SAVED = /^snapshot ([0-9a-f]{8,64}) saved(?:, copied from source snapshot ([0-9a-f]{8,64}))?$/;
const SKIPPED =
  /^skipping source snapshot ([0-9a-f]{8,64}), was already copied to snapshot ([0-9a-f]{8,64})$/;
const PROGRESS =
  /^\[(?:(\d+):)?(\d+):(\d+)\]\s+(?:(\d+(?:\.\d+)?)%\s+)?(\d+)(?:\s*\/\s*(\d+))?\s+packs copied/;

/** One line of `restic copy` output (either stream). */
export function parseCopyLine(line: string): CopyLine {
  const t = line.trim();
  let m = SOURCE.exec(t);
  if (m) return { type: 'source', source: m[1] };
  m = SAVED.exec(t);
  if (m) return { type: 'saved', snapshot: m[1], source: m[2] };
  m = SKIPPED.exec(t);
  if (m) return { type: 'skipped', source: m[1], snapshot: m[2] };
  m = PROGRESS.exec(t);
  if (m) {
    const seconds = Number(m[1] ?? 0) * 3600 + Number(m[2]) * 60 + Number(m[3]);
    return {
      type: 'progress',
      percentDone: m[4] === undefined ? undefined : Math.min(1, Number(m[4]) / 100),
      packsDone: Number(m[5]),
      packsTotal: m[6] === undefined ? undefined : Number(m[6]),
      secondsElapsed: seconds,
    };
  }
  return { type: 'other' };
}

export interface CopiedSnapshot {
  /** The snapshot in the source repository. */
  readonly source: string;
  /** The new snapshot in the destination. */
  readonly snapshot: string;
}

export interface CopyReport {
  readonly copied: CopiedSnapshot[];
  /** Source snapshots the destination already held (reported by 0.14; 0.18+ say nothing about them). */
  readonly skipped: CopiedSnapshot[];
}

/** Folds copy lines into what was copied, pairing each new snapshot with its source. */
export class CopyReportBuilder {
  private current: string | undefined;
  private readonly copied: CopiedSnapshot[] = [];
  private readonly skipped: CopiedSnapshot[] = [];

  add(line: CopyLine): void {
    switch (line.type) {
      case 'source':
        this.current = line.source;
        return;
      case 'saved': {
        const source = line.source ?? this.current;
        if (source !== undefined) this.copied.push({ source, snapshot: line.snapshot });
        this.current = undefined;
        return;
      }
      case 'skipped':
        this.skipped.push({ source: line.source, snapshot: line.snapshot });
        this.current = undefined;
        return;
      case 'progress':
      case 'other':
        return;
      default: {
        const exhaustive: never = line;
        return exhaustive;
      }
    }
  }

  report(): CopyReport {
    return { copied: [...this.copied], skipped: [...this.skipped] };
  }
}

/** The whole output of one `restic copy` (stdout and stderr lines in the order they came). */
export function parseCopyOutput(lines: readonly string[]): CopyReport {
  const b = new CopyReportBuilder();
  for (const line of lines) if (tryJson(line) === undefined) b.add(parseCopyLine(line));
  return b.report();
}
