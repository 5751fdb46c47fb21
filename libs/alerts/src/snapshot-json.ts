/**
 * Plain data with Maps and Sets as JSON and back, for the alert states'
 * snapshots (docs/alerts.md, "How the rules run"): a Map is written as
 * `{"$map": [[key, value], …]}` and a Set as `{"$set": […]}`, in iteration
 * order, so a restored state iterates as the replayed one would. Object
 * identity is not kept: a state shares objects between its maps only where its
 * own `fromSnapshot` links them again.
 */

export type SnapshotJson = null | boolean | number | string | SnapshotJson[] | { [k: string]: SnapshotJson };

export function toSnapshotJson(value: unknown): SnapshotJson {
  // Undefined only where a list or map holds it; an object's undefined field is left out below.
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`a snapshot holds only finite numbers, not ${value}`);
      return value;
    case 'object':
      break;
    default:
      throw new TypeError(`a snapshot cannot hold a ${typeof value}`);
  }
  if (value instanceof Map)
    return { $map: [...value].map(([k, v]) => [toSnapshotJson(k), toSnapshotJson(v)]) };
  if (value instanceof Set) return { $set: [...value].map(toSnapshotJson) };
  if (Array.isArray(value)) return value.map(toSnapshotJson);
  const out: { [k: string]: SnapshotJson } = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    // An absent optional field and one set to undefined read the same.
    if (v !== undefined) out[k] = toSnapshotJson(v);
  }
  return out;
}

/** The value `toSnapshotJson` wrote (an object's undefined fields stay absent); throws on anything else. */
export function fromSnapshotJson(json: unknown): unknown {
  if (json === null) return null;
  if (typeof json === 'string' || typeof json === 'boolean' || typeof json === 'number') return json;
  if (Array.isArray(json)) return json.map(fromSnapshotJson);
  if (typeof json !== 'object') throw new TypeError(`a snapshot holds no ${typeof json}`);
  const o = json as Record<string, unknown>;
  if ('$map' in o) {
    if (!Array.isArray(o.$map)) throw new TypeError('a snapshot $map must be a list of pairs');
    return new Map(
      o.$map.map((pair: unknown) => {
        if (!Array.isArray(pair) || pair.length !== 2)
          throw new TypeError('a snapshot $map entry must be a pair');
        return [fromSnapshotJson(pair[0]), fromSnapshotJson(pair[1])] as const;
      }),
    );
  }
  if ('$set' in o) {
    if (!Array.isArray(o.$set)) throw new TypeError('a snapshot $set must be a list');
    return new Set(o.$set.map(fromSnapshotJson));
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = fromSnapshotJson(v);
  return out;
}

/** A snapshot's object field, or a clear error naming it. */
export function snapshotObject(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Map)
    throw new TypeError(`${what} in the alerts snapshot is not an object`);
  return value as Record<string, unknown>;
}

export function snapshotMap(value: unknown, what: string): Map<unknown, unknown> {
  if (!(value instanceof Map)) throw new TypeError(`${what} in the alerts snapshot is not a map`);
  return value;
}

export function snapshotList(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new TypeError(`${what} in the alerts snapshot is not a list`);
  return value;
}
