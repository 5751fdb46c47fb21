import type Database from 'better-sqlite3';
import {
  groupRows,
  type AnyTable,
  type GroupRows,
  type Row,
  type SqlValue,
  type TableNamer,
  type Tables,
  type UntypedView,
} from './projection.definition';
import { ProjectionError } from './projection.errors';
import { keyString, tableSpec } from './projection.view';

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Rows per multi-row INSERT: few statements per batch, far below SQLite's parameter limit. */
const ROWS_PER_INSERT = 100;

interface TableState {
  readonly spec: AnyTable;
  readonly name: string;
  readonly columns: readonly string[];
  /** keyed: rows read or written in this batch (null: known absent). */
  readonly cache: Map<string, Row | null>;
  /** keyed: rows as this batch read them from the table, to write back only the columns that changed. */
  readonly stored: Map<string, Row>;
  /** keyed: keys written in this batch, in order; deleted ones map to their key values. */
  readonly dirty: Map<string, Row | null>;
  /** append: the values of the rows to insert at the end of the batch, row after row in column order. */
  pending: SqlValue[];
  /** append: keys of the pending rows, built on the first `has` of a batch. */
  pendingKeys: Set<string> | null;
  /** group: the last replacement of each group in this batch. */
  readonly groups: Map<string, { readonly group: Row; readonly rows: GroupRows<Row> }>;
  /** Prepared on first use: `select`, `exists`, `upsert`, `remove`, `insert <rows>`. */
  readonly statements: Map<string, Database.Statement>;
  /** keyed, over a table that started empty: every key this view ever wrote (KeyFilter). */
  readonly written: KeyFilter | null;
}

/**
 * A projection's view over its SQLite tables for one batch: reads go through a
 * per-batch row cache, writes stay in memory until `flush()` writes every
 * changed row (upserts, deletes, multi-row inserts) inside the batch's
 * transaction. `discard()` forgets a batch that was rolled back.
 */
export class SqliteProjectionView implements UntypedView {
  private readonly state = new Map<string, TableState>();

  /**
   * `startsEmpty`: the tables were empty when this view was made and nothing else writes them
   * (a replay's rebuild tables). A row it never wrote is then known absent without a lookup,
   * the first event of every new job or host, say.
   */
  constructor(
    private readonly db: Database.Database,
    readonly tables: Tables,
    table: TableNamer,
    startsEmpty = false,
  ) {
    for (const [name, spec] of Object.entries(tables)) {
      this.state.set(name, {
        spec,
        name: table(name),
        columns: Object.keys(spec.columns),
        cache: new Map(),
        stored: new Map(),
        dirty: new Map(),
        pending: [],
        pendingKeys: null,
        groups: new Map(),
        statements: new Map(),
        written: startsEmpty && spec.kind === 'keyed' ? new KeyFilter() : null,
      });
    }
  }

  get(table: string, key: Row): Row | undefined {
    const t = this.of(table, 'keyed');
    const k = keyString(t.spec.key, key);
    const cached = t.cache.get(k);
    if (cached !== undefined) return cached ?? undefined;
    if (t.written !== null && !t.written.mayHave(k)) {
      t.cache.set(k, null);
      return undefined;
    }
    const row = this.statement(t, 'select').get(keyValues(t.spec.key, key)) as Row | undefined;
    if (row === undefined) {
      t.cache.set(k, null);
      return undefined;
    }
    // The cache holds a copy: `patch` changes it in place, and the stored row must stay as read.
    t.stored.set(k, row);
    const copy = { ...row };
    t.cache.set(k, copy);
    return copy;
  }

  put(table: string, row: Row): void {
    const t = this.of(table, 'keyed');
    const k = keyString(t.spec.key, row);
    // A copy: `patch` may change the cached row in place, never an object the projection holds.
    t.cache.set(k, { ...row });
    t.dirty.set(k, null);
    t.written?.add(k);
  }

  patch(table: string, key: Row, changes: Row): void {
    const t = this.of(table, 'keyed');
    const k = keyString(t.spec.key, key);
    const row = t.cache.get(k) ?? this.get(table, key);
    if (row === undefined || row === null) throw missingRow(table, key);
    Object.assign(row, changes);
    t.dirty.set(k, null);
  }

  delete(table: string, key: Row): void {
    const t = this.of(table, 'keyed');
    const k = keyString(t.spec.key, key);
    t.cache.set(k, null);
    t.dirty.set(k, key);
  }

  has(table: string, key: Row): boolean {
    const t = this.of(table, 'append');
    t.pendingKeys ??= pendingKeys(t);
    if (t.pendingKeys.has(keyString(t.spec.key, key))) return true;
    return this.statement(t, 'exists').get(keyValues(t.spec.key, key)) !== undefined;
  }

  append(table: string, row: Row): void {
    const t = this.of(table, 'append');
    // Values, not the row: the row object dies young, and the insert binds them as they are.
    for (const c of t.columns) t.pending.push(row[c] ?? null);
    t.pendingKeys?.add(keyString(t.spec.key, row));
  }

  replaceGroup(table: string, group: Row, rows: GroupRows<Row>): void {
    const t = this.of(table, 'group');
    t.groups.set(keyString(t.spec.key, group), { group, rows });
  }

  /** Writes every change of the batch; call inside its transaction. */
  flush(): void {
    for (const t of this.state.values()) {
      for (const [k, deleted] of t.dirty) {
        if (deleted !== null) this.statement(t, 'remove').run(keyValues(t.spec.key, deleted));
        else this.writeRow(t, t.cache.get(k)!, t.stored.get(k));
      }
      if (t.pending.length > 0) this.insertValues(t, t.pending);
      for (const { group, rows } of t.groups.values()) {
        this.statement(t, 'remove').run(keyValues(t.spec.key, group));
        this.insertValues(
          t,
          groupRows(rows).flatMap((r) => keyValues(t.columns, r)),
        );
      }
    }
    this.discard();
  }

  /** Forgets the batch's cache and changes (after a flush, or when its transaction rolled back). */
  discard(): void {
    for (const t of this.state.values()) {
      t.cache.clear();
      t.stored.clear();
      t.dirty.clear();
      t.pending = [];
      t.pendingKeys = null;
      t.groups.clear();
    }
  }

  private of(table: string, kind: AnyTable['kind']): TableState {
    const t = this.state.get(table);
    if (t === undefined || t.spec.kind !== kind) tableSpec(this.tables, table, kind);
    return t!;
  }

  /**
   * A row this batch read from the table gets an UPDATE of the columns that
   * changed (often none): rewriting every column would also rewrite an entry
   * in every index of the table, on every event. Any other row is upserted.
   */
  private writeRow(t: TableState, row: Row, stored: Row | undefined): void {
    if (stored === undefined) {
      this.statement(t, 'upsert').run(keyValues(t.columns, row));
      return;
    }
    let changed = '';
    const values: SqlValue[] = [];
    for (const c of t.columns) {
      const v = row[c] ?? null;
      if (v === (stored[c] ?? null) || t.spec.key.includes(c)) continue;
      changed += `\0${c}`;
      values.push(v);
    }
    if (changed === '') return;
    for (const c of t.spec.key) values.push(row[c] ?? null);
    this.statement(t, `update ${changed}`).run(values);
  }

  /** Inserts rows given as their values, row after row in column order, many rows per statement. */
  private insertValues(t: TableState, values: readonly SqlValue[]): void {
    const width = t.columns.length;
    const rows = values.length / width;
    for (let r = 0; r < rows; r += ROWS_PER_INSERT) {
      const n = Math.min(ROWS_PER_INSERT, rows - r);
      this.statement(t, `insert ${n}`).run(values.slice(r * width, (r + n) * width));
    }
  }

  private statement(t: TableState, which: string): Database.Statement {
    let st = t.statements.get(which);
    if (st === undefined) {
      st = this.db.prepare(sqlFor(t, which));
      t.statements.set(which, st);
    }
    return st;
  }
}

function sqlFor(t: TableState, which: string): string {
  const name = quoteIdent(t.name);
  const cols = t.columns.map(quoteIdent).join(', ');
  const tuple = `(${t.columns.map(() => '?').join(', ')})`;
  // For a group table the key names a group of rows, not one row.
  const where = t.spec.key.map((c) => `${quoteIdent(c)} = ?`).join(' AND ');
  switch (which) {
    case 'select':
      return `SELECT ${cols} FROM ${name} WHERE ${where}`;
    case 'exists':
      return `SELECT 1 FROM ${name} WHERE ${where}`;
    case 'remove':
      return `DELETE FROM ${name} WHERE ${where}`;
    case 'upsert': {
      const nonKey = t.columns.filter((c) => !t.spec.key.includes(c));
      const update =
        nonKey.length === 0
          ? 'DO NOTHING'
          : `DO UPDATE SET ${nonKey.map((c) => `${quoteIdent(c)} = excluded.${quoteIdent(c)}`).join(', ')}`;
      return `INSERT INTO ${name} (${cols}) VALUES ${tuple} ON CONFLICT (${t.spec.key.map(quoteIdent).join(', ')}) ${update}`;
    }
    default: {
      if (which.startsWith('update ')) {
        const set = which
          .slice('update '.length)
          .split('\0')
          .filter((c) => c !== '');
        return `UPDATE ${name} SET ${set.map((c) => `${quoteIdent(c)} = ?`).join(', ')} WHERE ${where}`;
      }
      const rows = Number(which.slice('insert '.length));
      // append: the first row with a key wins; group: the group was just emptied, a repeated key keeps the last.
      const verb = t.spec.kind === 'append' ? 'INSERT OR IGNORE' : 'INSERT OR REPLACE';
      return `${verb} INTO ${name} (${cols}) VALUES ${Array<string>(rows).fill(tuple).join(', ')}`;
    }
  }
}

/** The keys of an append table's pending rows (read back from their values). */
function pendingKeys(t: TableState): Set<string> {
  const width = t.columns.length;
  const at = t.spec.key.map((c) => t.columns.indexOf(c));
  const keys = new Set<string>();
  for (let r = 0; r < t.pending.length; r += width) {
    const key: Record<string, SqlValue> = {};
    t.spec.key.forEach((c, i) => (key[c] = t.pending[r + at[i]!] ?? null));
    keys.add(keyString(t.spec.key, key));
  }
  return keys;
}

export const missingRow = (table: string, key: Row): ProjectionError =>
  new ProjectionError('InvalidArgument', `patch of a row of "${table}" that does not exist`, { key });

const keyValues = (columns: readonly string[], key: Row): SqlValue[] => columns.map((c) => key[c] ?? null);

/** Bits of a KeyFilter: 1 MiB, about 1 % false "maybe" at 1,000,000 keys. */
const FILTER_BITS = 1 << 23;

/**
 * The keys a view wrote into a table that started empty, as a Bloom filter (two hashes of
 * the key string): `mayHave` is false only for a key never added, so its row is known
 * absent; true may be wrong, and the row is then looked up. Fixed size whatever the history.
 */
export class KeyFilter {
  private readonly bits = new Uint32Array(FILTER_BITS / 32);

  add(key: string): void {
    const [a, b] = hashes(key);
    this.bits[a >>> 5]! |= 1 << (a & 31);
    this.bits[b >>> 5]! |= 1 << (b & 31);
  }

  mayHave(key: string): boolean {
    const [a, b] = hashes(key);
    return (this.bits[a >>> 5]! & (1 << (a & 31))) !== 0 && (this.bits[b >>> 5]! & (1 << (b & 31))) !== 0;
  }
}

/** Two independent bit indexes of a key (FNV-1a and a multiplicative string hash, both 32-bit). */
function hashes(key: string): [number, number] {
  let h1 = 0x811c9dc5;
  let h2 = 0;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = (Math.imul(h2, 31) + c) | 0;
  }
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0x45d9f3b);
  return [(h1 >>> 0) & (FILTER_BITS - 1), ((h2 ^ (h2 >>> 16)) >>> 0) & (FILTER_BITS - 1)];
}
