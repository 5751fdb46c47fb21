import type { Position } from '@rf/events';

/**
 * Readers for a snapshot body (parsed JSON): each returns the typed value or
 * throws naming the field, which makes the snapshot "unreadable" and the state
 * is replayed from the log instead.
 */
export const snapshotField = {
  record(v: unknown, what: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what} must be an object`);
    return v as Record<string, unknown>;
  },
  list(v: unknown, what: string): unknown[] {
    if (!Array.isArray(v)) throw new Error(`${what} must be an array`);
    return v;
  },
  pair(v: unknown, what: string): [unknown, unknown] {
    const a = snapshotField.list(v, what);
    if (a.length !== 2) throw new Error(`${what} entries must be pairs`);
    return [a[0], a[1]];
  },
  str(v: unknown, what: string): string {
    if (typeof v !== 'string') throw new Error(`${what} must be a string`);
    return v;
  },
  num(v: unknown, what: string): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${what} must be a number`);
    return v;
  },
  bool(v: unknown, what: string): boolean {
    if (typeof v !== 'boolean') throw new Error(`${what} must be a boolean`);
    return v;
  },
  /** `null` or a string, for optional text fields. */
  strOrNull(v: unknown, what: string): string | null {
    return v === null ? null : snapshotField.str(v, what);
  },
  numOrNull(v: unknown, what: string): number | null {
    return v === null ? null : snapshotField.num(v, what);
  },
  /** A position written by `encodePosition`. */
  position(v: unknown, what = 'position'): Position | null {
    if (v === null) return null;
    const [commit, prepare] = snapshotField.pair(v, what);
    return {
      commit: BigInt(snapshotField.str(commit, what)),
      prepare: BigInt(snapshotField.str(prepare, what)),
    };
  },
};

/** A position as JSON (bigints as decimal strings). */
export const encodePosition = (p: Position | null): [string, string] | null =>
  p === null ? null : [p.commit.toString(), p.prepare.toString()];
