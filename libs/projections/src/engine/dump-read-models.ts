import type Database from 'better-sqlite3';
import { tableNames, type ProjectionDefinition } from './projection.definition';
import { ALL_PROJECTIONS } from '../read-models/all.projections';

export type ReadModelDump = Record<string, Array<Record<string, unknown>>>;

/**
 * Every row of every read-model table, in a canonical order (all columns
 * ascending), so two databases can be compared with deepStrictEqual. Excludes
 * checkpoints and generation, which legitimately differ between a live runner
 * and a rebuild.
 */
export function dumpReadModels(
  db: Database.Database,
  projections: readonly ProjectionDefinition[] = ALL_PROJECTIONS,
): ReadModelDump {
  const out: ReadModelDump = {};
  for (const p of projections) {
    for (const t of tableNames(p)) {
      const cols = db.prepare(`SELECT name FROM pragma_table_info(?)`).all(t) as Array<{ name: string }>;
      const order = cols.map((_, i) => String(i + 1)).join(', ');
      out[t] = db.prepare(`SELECT * FROM "${t}" ORDER BY ${order}`).all() as Array<Record<string, unknown>>;
    }
  }
  return out;
}
