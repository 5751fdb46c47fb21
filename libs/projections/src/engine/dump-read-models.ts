import type Database from 'better-sqlite3';
import { tableNames, type ProjectionDefinition } from './projection.definition';
import { ALL_PROJECTIONS } from '../read-models/all.projections';

export type ReadModelDump = Record<string, Array<Record<string, unknown>>>;

/** Columns that hold a log position: they differ between two copies of one history (a migrated log). */
const POSITION_COLUMNS: ReadonlySet<string> = new Set(['commit_pos', 'prepare_pos']);

export interface DumpOptions {
  /** Leave out log positions, to compare read models built from two logs holding the same history. */
  readonly withoutPositions?: boolean;
}

/**
 * Every row of every read-model table, in a canonical order (all columns
 * ascending), so two databases can be compared with deepStrictEqual. Excludes
 * checkpoints and generation, which legitimately differ between a live runner
 * and a rebuild.
 */
export function dumpReadModels(
  db: Database.Database,
  projections: readonly ProjectionDefinition[] = ALL_PROJECTIONS,
  options: DumpOptions = {},
): ReadModelDump {
  const out: ReadModelDump = {};
  for (const p of projections) {
    for (const t of tableNames(p)) {
      const all = db.prepare(`SELECT name FROM pragma_table_info(?)`).all(t) as Array<{ name: string }>;
      const cols = all
        .map((c) => c.name)
        .filter((c) => !options.withoutPositions || !POSITION_COLUMNS.has(c));
      const list = cols.map((c) => `"${c}"`).join(', ');
      const order = cols.map((_, i) => String(i + 1)).join(', ');
      out[t] = db.prepare(`SELECT ${list} FROM "${t}" ORDER BY ${order}`).all() as Array<
        Record<string, unknown>
      >;
    }
  }
  return out;
}
