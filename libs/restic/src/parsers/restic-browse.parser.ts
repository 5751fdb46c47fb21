import { JsonObject, num, optNum, optStr, str } from './json-fields';
import { tryJsonObject } from './restic-line.parser';

/** A file `restic find --json` matched in one snapshot. */
export interface FindMatch {
  readonly snapshotId: string;
  readonly path: string;
  readonly type: string;
  readonly size: number;
  readonly mtime: string;
}

/**
 * `find --json`: one JSON array (every version from 0.14) of
 * `{matches:[{path,type,size,mtime,…}], hits, snapshot}`, one item per snapshot
 * with hits. Text that is not that array yields no match.
 */
export function parseFindOutput(text: string): FindMatch[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(doc)) return [];
  const out: FindMatch[] = [];
  for (const group of doc) {
    if (typeof group !== 'object' || group === null) continue;
    const g = group as JsonObject;
    const snapshotId = str(g, 'snapshot');
    const matches = g.matches;
    if (!snapshotId || !Array.isArray(matches)) continue;
    for (const m of matches) {
      if (typeof m !== 'object' || m === null) continue;
      const v = m as JsonObject;
      out.push({
        snapshotId,
        path: str(v, 'path'),
        type: str(v, 'type'),
        size: num(v, 'size'),
        mtime: str(v, 'mtime'),
      });
    }
  }
  return out;
}

/** restic diff's modifiers: `+` added, `-` removed, `M` content, `T` type, `U` metadata only, `?` bitrot. */
export type DiffModifier = '+' | '-' | 'M' | 'T' | 'U' | '?';

export interface DiffStats {
  readonly changedFiles: number;
  readonly added: { files: number; dirs: number; others: number; bytes: number };
  readonly removed: { files: number; dirs: number; others: number; bytes: number };
}

export type DiffLine =
  | { readonly type: 'change'; readonly path: string; readonly modifier: DiffModifier }
  | { readonly type: 'statistics'; readonly stats: DiffStats }
  | { readonly type: 'other' };

const MODIFIERS: readonly string[] = ['+', '-', 'M', 'T', 'U', '?'];

function counts(v: JsonObject, key: string): DiffStats['added'] {
  const o = (typeof v[key] === 'object' && v[key] !== null ? v[key] : {}) as JsonObject;
  return {
    files: optNum(o, 'files') ?? 0,
    dirs: optNum(o, 'dirs') ?? 0,
    others: optNum(o, 'others') ?? 0,
    bytes: optNum(o, 'bytes') ?? 0,
  };
}

/** One line of `diff --json` (the same in 0.14 and 0.19): a change, the final statistics, or other. */
export function parseDiffLine(line: string): DiffLine {
  const v = tryJsonObject(line);
  if (!v) return { type: 'other' };
  const kind = optStr(v, 'message_type');
  if (kind === 'change') {
    const modifier = optStr(v, 'modifier') ?? '';
    const path = optStr(v, 'path');
    if (path === undefined || !MODIFIERS.includes(modifier)) return { type: 'other' };
    return { type: 'change', path, modifier: modifier as DiffModifier };
  }
  if (kind === 'statistics') {
    return {
      type: 'statistics',
      stats: {
        changedFiles: optNum(v, 'changed_files') ?? 0,
        added: counts(v, 'added'),
        removed: counts(v, 'removed'),
      },
    };
  }
  return { type: 'other' };
}
