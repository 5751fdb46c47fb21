/** Column readers for query mappers: rows come back as `unknown` and are narrowed here. */
export type Row = Readonly<Record<string, unknown>>;

export const s = (row: Row, key: string): string | null => {
  const v = row[key];
  return typeof v === 'string' ? v : null;
};

export const n = (row: Row, key: string): number | null => {
  const v = row[key];
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : null;
};

export const parsed = (row: Row, key: string): unknown => {
  const v = row[key];
  if (typeof v !== 'string') return null;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return null;
  }
};

export const clampLimit = (limit: number | undefined, fallback: number, max: number): number =>
  limit === undefined || !Number.isFinite(limit) || limit <= 0 ? fallback : Math.min(Math.floor(limit), max);
