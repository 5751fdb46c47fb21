import { Injectable } from '@nestjs/common';
import { AppError } from '../../core/app-error';
import { baseName, parentOf } from '../../domain/snapshot-path';
import {
  SnapshotBrowseService,
  TREE_PAGE_MAX,
  type DiffResponse,
} from '../../services/snapshot-browse.service';

export type ChangeKind = 'added' | 'removed' | 'changed';

/** One line of the compare view: a change with the file's size on each side and the difference. */
export interface CompareRow {
  readonly kind: ChangeKind;
  readonly path: string;
  readonly type: 'dir' | 'file';
  readonly modifier: string | null;
  /** Size in the older snapshot (null: not there, a folder, or not looked up). */
  readonly before: number | null;
  readonly after: number | null;
  /** after − before for files whose sizes are known; null otherwise. */
  readonly delta: number | null;
}

export interface CompareTotals {
  readonly added: number;
  readonly removed: number;
  readonly changed: number;
  /** Sum of the positive per-file deltas (bytes that appeared). */
  readonly grown: number;
  /** Sum of the negative per-file deltas, as a negative number. */
  readonly shrunk: number;
  readonly net: number;
}

export interface CompareModel {
  readonly diff: DiffResponse;
  readonly rows: readonly CompareRow[];
  readonly totals: CompareTotals;
  /** False when some sizes were not looked up (too many folders); the view says so. */
  readonly sizesComplete: boolean;
}

/** Side of the comparison a size is read from. */
export type Side = 'from' | 'to';

/** At most this many folders are listed per side to find file sizes (each may need an agent). */
export const MAX_SIZE_FOLDERS = 200;

/**
 * Rows and totals from restic's diff and a size lookup. restic's diff gives no
 * per-file sizes (docs/browse.md), so the caller finds them in the two
 * snapshots' folder listings; `sizeOf` answers null when it does not know.
 */
export function compareRows(
  diff: DiffResponse,
  sizeOf: (side: Side, path: string) => number | null,
): { rows: CompareRow[]; totals: CompareTotals } {
  const rows: CompareRow[] = [];
  const file = (side: Side, path: string, type: 'dir' | 'file'): number | null =>
    type === 'file' ? sizeOf(side, path) : null;
  for (const c of diff.added) {
    const after = file('to', c.path, c.type);
    rows.push({
      kind: 'added',
      path: c.path,
      type: c.type,
      modifier: null,
      before: null,
      after,
      delta: after,
    });
  }
  for (const c of diff.removed) {
    const before = file('from', c.path, c.type);
    rows.push({
      kind: 'removed',
      path: c.path,
      type: c.type,
      modifier: null,
      before,
      after: null,
      delta: before === null ? null : -before,
    });
  }
  for (const c of diff.changed) {
    const before = file('from', c.path, c.type);
    const after = file('to', c.path, c.type);
    rows.push({
      kind: 'changed',
      path: c.path,
      type: c.type,
      modifier: c.modifier ?? null,
      before,
      after,
      delta: before === null || after === null ? null : after - before,
    });
  }
  let grown = 0;
  let shrunk = 0;
  for (const r of rows) {
    if (r.delta === null) continue;
    if (r.delta > 0) grown += r.delta;
    else shrunk += r.delta;
  }
  return {
    rows,
    totals: {
      added: diff.added.length,
      removed: diff.removed.length,
      changed: diff.changed.length,
      grown,
      shrunk,
      net: grown + shrunk,
    },
  };
}

/**
 * The compare view (docs/browse.md): restic's diff, with each file's size
 * read from the folder listings of both snapshots (cached by snapshot, so a
 * second look needs no agent).
 */
@Injectable()
export class SnapshotComparePresenter {
  constructor(private readonly browse: SnapshotBrowseService) {}

  async load(repositoryId: string, from: string, to: string, signal?: AbortSignal): Promise<CompareModel> {
    const diff = await this.browse.diff(repositoryId, from, to, signal);
    const wanted: Record<Side, Set<string>> = { from: new Set(), to: new Set() };
    for (const c of diff.added) if (c.type === 'file') wanted.to.add(parentOf(c.path));
    for (const c of diff.removed) if (c.type === 'file') wanted.from.add(parentOf(c.path));
    for (const c of diff.changed)
      if (c.type === 'file') {
        wanted.from.add(parentOf(c.path));
        wanted.to.add(parentOf(c.path));
      }
    let complete = true;
    const sizes: Record<Side, Map<string, Map<string, number>>> = { from: new Map(), to: new Map() };
    for (const side of ['from', 'to'] as const) {
      const folders = [...wanted[side]].sort();
      if (folders.length > MAX_SIZE_FOLDERS) complete = false;
      for (const folder of folders.slice(0, MAX_SIZE_FOLDERS)) {
        const listing = await this.sizesIn(repositoryId, diff[side], folder, signal);
        if (listing) sizes[side].set(folder, listing);
        else complete = false;
      }
    }
    const { rows, totals } = compareRows(
      diff,
      (side, path) => sizes[side].get(parentOf(path))?.get(baseName(path)) ?? null,
    );
    return { diff, rows, totals, sizesComplete: complete };
  }

  /** name → size of the files in one folder of a snapshot; null when the folder cannot be listed. */
  private async sizesIn(
    repositoryId: string,
    snapshotId: string,
    folder: string,
    signal?: AbortSignal,
  ): Promise<Map<string, number> | null> {
    const out = new Map<string, number>();
    let cursor: string | undefined;
    try {
      do {
        const page = await this.browse.tree(
          repositoryId,
          snapshotId,
          folder,
          cursor,
          String(TREE_PAGE_MAX),
          signal,
        );
        for (const e of page.entries) if (e.type === 'file') out.set(e.name, e.size);
        cursor = page.next_cursor;
      } while (cursor);
    } catch (err) {
      // A folder restic cannot list leaves its sizes unknown; the diff itself still shows.
      if (err instanceof AppError && err.code !== 'unavailable') return null;
      throw err;
    }
    return out;
  }
}
