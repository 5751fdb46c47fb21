import {
  groupRows,
  type AnyTable,
  type GroupRows,
  type ProjectionView,
  type Row,
  type SqlValue,
  type Tables,
  type UntypedView,
} from './projection.definition';
import { ProjectionError } from './projection.errors';

const part = (v: SqlValue | undefined): string =>
  typeof v === 'string' ? v : v === null || v === undefined ? '\u0000null' : `\u0000${v}`;

/** A cache key for the values of `columns` in `row` (a row or a key object). */
export function keyString(columns: readonly string[], row: Row): string {
  if (columns.length === 1) return part(row[columns[0]!]);
  return JSON.stringify(columns.map((c) => row[c] ?? null));
}

/** The table's spec, or a clear error naming the projection's tables. */
export function tableSpec(tables: Tables, table: string, kind: AnyTable['kind']): AnyTable {
  const spec = tables[table];
  if (spec === undefined || spec.kind !== kind) {
    throw new ProjectionError('InvalidArgument', `no ${kind} table "${table}" in this projection`, {
      table,
      tables: Object.keys(tables),
    });
  }
  return spec;
}

/**
 * The view over plain maps: the reference semantics of the SQLite view, for
 * projection unit specs that need no database. Rows must carry exactly their
 * table's columns.
 */
export class InMemoryView implements UntypedView {
  private readonly data = new Map<string, Map<string, Row>>();

  constructor(readonly tables: Tables) {
    for (const name of Object.keys(tables)) this.data.set(name, new Map());
  }

  get(table: string, key: Row): Row | undefined {
    const spec = tableSpec(this.tables, table, 'keyed');
    return this.data.get(table)!.get(keyString(spec.key, key));
  }

  put(table: string, row: Row): void {
    const spec = tableSpec(this.tables, table, 'keyed');
    this.data.get(table)!.set(keyString(spec.key, row), this.checked(table, spec, row));
  }

  patch(table: string, key: Row, changes: Row): void {
    const spec = tableSpec(this.tables, table, 'keyed');
    const rows = this.data.get(table)!;
    const k = keyString(spec.key, key);
    const row = rows.get(k);
    if (row === undefined)
      throw new ProjectionError('InvalidArgument', `patch of a row of "${table}" that does not exist`, {
        key,
      });
    rows.set(k, this.checked(table, spec, { ...row, ...changes }));
  }

  delete(table: string, key: Row): void {
    const spec = tableSpec(this.tables, table, 'keyed');
    this.data.get(table)!.delete(keyString(spec.key, key));
  }

  has(table: string, key: Row): boolean {
    const spec = tableSpec(this.tables, table, 'append');
    return this.data.get(table)!.has(keyString(spec.key, key));
  }

  append(table: string, row: Row): void {
    const spec = tableSpec(this.tables, table, 'append');
    const rows = this.data.get(table)!;
    const k = keyString(spec.key, row);
    if (!rows.has(k)) rows.set(k, this.checked(table, spec, row));
  }

  replaceGroup(table: string, group: Row, rows: GroupRows<Row>): void {
    const spec = tableSpec(this.tables, table, 'group');
    const stored = this.data.get(table)!;
    const g = keyString(spec.key, group);
    for (const [k, row] of stored) if (keyString(spec.key, row) === g) stored.delete(k);
    for (const row of groupRows(rows)) {
      if (keyString(spec.key, row) !== g)
        throw new ProjectionError('InvalidArgument', `a row given for group ${g} of "${table}" is not in it`);
      // Group tables have no key of their own here: each row is stored under its position.
      stored.set(`${g}\u0001${stored.size}`, this.checked(table, spec, row));
    }
  }

  /** Every row of a table, in a canonical order (all columns ascending), as `dumpReadModels` gives them. */
  rows(table: string): Row[] {
    const spec = this.tables[table];
    if (spec === undefined) throw new ProjectionError('InvalidArgument', `no table "${table}"`);
    const cols = Object.keys(spec.columns);
    const cmp = (a: SqlValue, b: SqlValue): number =>
      a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1;
    return [...this.data.get(table)!.values()].sort((a, b) => {
      for (const c of cols) {
        const d = cmp(a[c] ?? null, b[c] ?? null);
        if (d !== 0) return d;
      }
      return 0;
    });
  }

  private checked(table: string, spec: AnyTable, row: Row): Row {
    const cols = Object.keys(spec.columns);
    const extra = Object.keys(row).filter((c) => !(c in spec.columns));
    const missing = cols.filter((c) => row[c] === undefined);
    if (extra.length > 0 || missing.length > 0) {
      throw new ProjectionError('InvalidArgument', `a row of "${table}" does not match its columns`, {
        missing,
        extra,
      });
    }
    return { ...row };
  }
}

/** An in-memory view typed for one projection's tables, plus `rows(table)` to look at them. */
export const inMemoryView = <T extends Tables>(
  tables: T,
): ProjectionView<T> & { rows(table: keyof T & string): Row[] } =>
  new InMemoryView(tables) as unknown as ProjectionView<T> & { rows(table: keyof T & string): Row[] };
