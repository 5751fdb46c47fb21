// Defensive readers for restic's JSON: restic omits zero values, sends null for
// empty lists and adds fields between versions, so every read has a default.

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function num(obj: JsonObject, key: string): number {
  const v = obj[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

export function optNum(obj: JsonObject, key: string): number | undefined {
  const v = obj[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function str(obj: JsonObject, key: string): string {
  const v = obj[key];
  return typeof v === 'string' ? v : '';
}

export function optStr(obj: JsonObject, key: string): string | undefined {
  const v = obj[key];
  return typeof v === 'string' ? v : undefined;
}

export function bool(obj: JsonObject, key: string): boolean {
  return obj[key] === true;
}

export function strList(obj: JsonObject, key: string): string[] {
  const v = obj[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export function objList(obj: JsonObject, key: string): JsonObject[] {
  const v = obj[key];
  return Array.isArray(v) ? v.filter(isObject) : [];
}

/** Parses one line as JSON; undefined when the line is not JSON. */
export function tryJson(line: string): unknown {
  const t = line.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return undefined;
  try {
    return JSON.parse(t) as unknown;
  } catch {
    return undefined;
  }
}

/** The first JSON document among lines (single-document commands print one line, maybe after text). */
export function firstJsonDocument(lines: readonly string[]): unknown {
  for (const line of lines) {
    const v = tryJson(line);
    if (v !== undefined) return v;
  }
  return undefined;
}

/**
 * Snapshot ids are 8 hex chars in 0.14 output and 64 in newer output (short_id
 * stays 8); two ids name the same snapshot when one is a prefix of the other.
 */
export function sameSnapshotId(a: string, b: string): boolean {
  if (!a || !b) return false;
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x.length <= y.length ? y.startsWith(x) : x.startsWith(y);
}
