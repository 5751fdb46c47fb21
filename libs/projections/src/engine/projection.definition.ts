import {
  currentSchemaVersion,
  isFleetEventType,
  STREAM_CATEGORIES,
  streamPrefix,
  upcast,
  type FleetEvent,
  type RecordedEvent,
  type StreamCategory,
} from '@rf/events';

/** Maps a table's base name to its physical name (`jobs` or `jobs__rebuild`). */
export type TableNamer = (base: string) => string;

export const liveTables: TableNamer = (base) => base;
export const rebuildTables: TableNamer = (base) => `${base}__rebuild`;

export type SqlValue = string | number | null;
/** One read-model row: column name → value. */
export type Row = { readonly [column: string]: SqlValue };

/**
 * How the generic writer stores a table's rows:
 * - `keyed`: read, changed and written back by primary key (`get`/`put`/`delete`);
 * - `append`: insert-only, the first row with a key wins (`has`/`append`); written
 *   many rows per statement without reading them first;
 * - `group`: replaced as a whole set of rows per group (`replaceGroup`), e.g. a host's snapshots.
 */
export type TableKind = 'keyed' | 'append' | 'group';

/** Every column of a row with its SQL declaration, e.g. `id: 'TEXT PRIMARY KEY'`. */
export type Columns<R> = { readonly [C in keyof R & string]-?: string };

/** A table of a projection, with its row type `R` and the columns `K` that address rows. */
export interface TableSpec<
  R extends Row = Row,
  K extends keyof R & string = keyof R & string,
  Kind extends TableKind = TableKind,
> {
  readonly kind: Kind;
  readonly columns: Columns<R>;
  /** keyed and append: the primary key's columns; group: the columns that name a group. */
  readonly key: readonly K[];
  /** Table constraints after the columns, e.g. `PRIMARY KEY (job_id, seq)`. */
  readonly constraints?: string;
  /** Table options after the column list, e.g. `WITHOUT ROWID`. */
  readonly options?: string;
}
export type KeyedTable<R extends Row, K extends keyof R & string> = TableSpec<R, K, 'keyed'>;
export type AppendTable<R extends Row, K extends keyof R & string> = TableSpec<R, K, 'append'>;
export type GroupTable<R extends Row, K extends keyof R & string> = TableSpec<R, K, 'group'>;

/** What the engine needs to know of any table, whatever its row type. */
export interface AnyTable {
  readonly kind: TableKind;
  readonly columns: { readonly [column: string]: string };
  readonly key: readonly string[];
  readonly constraints?: string;
  readonly options?: string;
}
/** A projection's tables by base name. */
export type Tables = { readonly [table: string]: AnyTable };

type NamesOf<T extends Tables, Kind extends TableKind> = {
  [N in keyof T & string]: T[N]['kind'] extends Kind ? N : never;
}[keyof T & string];
type RowIn<S> = S extends TableSpec<infer R, infer _K, infer _Kind> ? R : never;
type KeyIn<S> = S extends TableSpec<infer R, infer K, infer _Kind> ? Pick<R, K> : never;
type ChangesIn<S> = S extends TableSpec<infer R, infer K, infer _Kind> ? Partial<Omit<R, K>> : never;

/**
 * A projection's only access to its state: its OWN tables, as key-value
 * rows. The writer implements it over SQLite (a per-batch cache, written at
 * the end of the batch); unit specs use an in-memory one. A row from `get`
 * is the view's current row: read it before changing that row.
 */
export interface ProjectionView<T extends Tables> {
  get<N extends NamesOf<T, 'keyed'>>(table: N, key: KeyIn<T[N]>): RowIn<T[N]> | undefined;
  /** Inserts or replaces the row with this row's key. */
  put<N extends NamesOf<T, 'keyed'>>(table: N, row: RowIn<T[N]>): void;
  /** Changes some columns of an existing row, without copying the rest (the hot path of counters). */
  patch<N extends NamesOf<T, 'keyed'>>(table: N, key: KeyIn<T[N]>, changes: ChangesIn<T[N]>): void;
  delete<N extends NamesOf<T, 'keyed'>>(table: N, key: KeyIn<T[N]>): void;
  has<N extends NamesOf<T, 'append'>>(table: N, key: KeyIn<T[N]>): boolean;
  /** Stores the row unless a row with its key exists already (first write wins). */
  append<N extends NamesOf<T, 'append'>>(table: N, row: RowIn<T[N]>): void;
  /**
   * Replaces every row of the group `group` with `rows` (each of which must carry the group's
   * values). `rows` may be a function giving them: it is called at most once, and not at all
   * when a later replacement of the same group in the batch supersedes this one, so a report
   * that repeats a whole list (a host's snapshots) costs its rows only when they are kept.
   */
  replaceGroup<N extends NamesOf<T, 'group'>>(
    table: N,
    group: KeyIn<T[N]>,
    rows: GroupRows<RowIn<T[N]>>,
  ): void;
}

/** The same view without row types, as the engine implements it. */
export interface UntypedView {
  get(table: string, key: Row): Row | undefined;
  put(table: string, row: Row): void;
  patch(table: string, key: Row, changes: Row): void;
  delete(table: string, key: Row): void;
  has(table: string, key: Row): boolean;
  append(table: string, row: Row): void;
  replaceGroup(table: string, group: Row, rows: GroupRows<Row>): void;
}

/** A group's new rows for `replaceGroup`, or a function giving them (called only if they are kept). */
export type GroupRows<R extends Row> = readonly R[] | (() => readonly R[]);

/** The rows of a `replaceGroup`, calling the function that gives them if that is what it got. */
export const groupRows = <R extends Row>(rows: GroupRows<R>): readonly R[] =>
  typeof rows === 'function' ? rows() : rows;

/** A stored event of a catalog type, upcast to the current schema: `switch (event.type)` narrows `event.data`. */
export type ProjectionEvent = Omit<RecordedEvent, 'type' | 'data'> & FleetEvent;

export interface IndexDefinition {
  /**
   * Index name. A rebuild creates its tables' indexes before the swap, under this name or its
   * second one when this is taken by the live table's (`indexNames` in read-model.writer.ts).
   */
  readonly name: string;
  readonly table: string;
  /** e.g. `host_id, requested_at DESC` */
  readonly columns: string;
}

/**
 * A read model: a pure, deterministic `evolve` over the typed event union.
 * Time and ids come only from the event (its data, stream, id and recorded
 * time), state only from the view of its own tables. Its switch over
 * `event.type` is exhaustive, so a new event type does not compile until the
 * projection decides about it. `version` is bumped whenever stored rows could
 * differ; the writer then rebuilds the projection at startup.
 */
export interface Projection<T extends Tables> {
  readonly name: string;
  readonly version: number;
  /**
   * The stream categories whose events this projection handles; absent: every stream. The
   * engine hands `evolve` no event of another stream, live or rebuilding, and a rebuild reads
   * only these streams for it (docs/architecture.md, "Read models").
   */
  readonly streams?: readonly StreamCategory[];
  readonly tables: T;
  readonly indexes: readonly IndexDefinition[];
  evolve(view: ProjectionView<T>, event: ProjectionEvent): void;
}

/** Any projection, as the engine holds it. */
export interface ProjectionDefinition {
  readonly name: string;
  readonly version: number;
  readonly streams?: readonly StreamCategory[];
  readonly tables: Tables;
  readonly indexes: readonly IndexDefinition[];
  evolve(view: UntypedView, event: ProjectionEvent): void;
}

/** Checks a projection against its own table types, then hands it to the engine. */
export const defineProjection = <T extends Tables>(projection: Projection<T>): ProjectionDefinition =>
  // The one place row types are erased: the engine's views check rows against the tables at run time.
  projection as unknown as ProjectionDefinition;

export const tableNames = (projection: ProjectionDefinition): string[] => Object.keys(projection.tables);

/** Every stream category but some, for a projection's `streams`. */
export const streamsExcept = (...left: readonly StreamCategory[]): readonly StreamCategory[] =>
  STREAM_CATEGORIES.filter((c) => !left.includes(c));

/**
 * Whether `projection` handles events of the stream `streamId` (by its `streams`). The one
 * check of that declaration: the engine and the unit-spec harness both go through it.
 */
export function handlesStream(projection: ProjectionDefinition, streamId: string): boolean {
  return handlesCategory(projection, streamCategoryOf(streamId));
}

/** A stream's category: its name up to the first dash (null without one). */
export function streamCategoryOf(streamId: string): string | null {
  const dash = streamId.indexOf('-');
  return dash > 0 ? streamId.slice(0, dash) : null;
}

/** handlesStream for a category already taken from the stream's name (once for every projection). */
export function handlesCategory(projection: ProjectionDefinition, category: string | null): boolean {
  const streams = projection.streams;
  return streams === undefined || (category !== null && (streams as readonly string[]).includes(category));
}

/**
 * The stream-name prefixes a read of the log for these projections needs (`readAll`'s
 * `streamNamePrefixes`), or undefined when one of them handles every stream.
 */
export function streamPrefixesOf(projections: readonly ProjectionDefinition[]): string[] | undefined {
  const categories = new Set<StreamCategory>();
  for (const p of projections) {
    if (p.streams === undefined) return undefined;
    for (const c of p.streams) categories.add(c);
  }
  if (categories.size === 0 || categories.size === STREAM_CATEGORIES.length) return undefined;
  return [...categories].map(streamPrefix);
}

/**
 * The event as projections see it: null for a type this build does not know
 * (written by a newer version); older schema versions are upcast. No copy is
 * made for the usual current-version event.
 */
export function projectionEvent(recorded: RecordedEvent): ProjectionEvent | null {
  const type = recorded.type;
  if (!isFleetEventType(type)) return null;
  const meta = recorded.metadata as { schema_version?: unknown } | null;
  const version = typeof meta?.schema_version === 'number' ? meta.schema_version : 1;
  if (version >= currentSchemaVersion(type)) return recorded as unknown as ProjectionEvent;
  return { ...recorded, data: upcast(type, version, recorded.data) } as unknown as ProjectionEvent;
}
