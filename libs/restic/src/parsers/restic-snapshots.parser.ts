import { firstJsonDocument, isObject, JsonObject, num, objList, optStr, str, strList } from './json-fields';
import { BackupCounters, parseBackupCounters } from './restic-backup.parser';

/** The per-snapshot summary restic stores from 0.17 (absent on older snapshots). */
export type SnapshotSummary = BackupCounters;

export interface ResticSnapshot {
  /** Full 64-char id (may be empty in forget reasons before 0.17). */
  id: string;
  shortId: string;
  time: string;
  parent: string | undefined;
  tree: string;
  paths: string[];
  hostname: string;
  username: string;
  uid: number;
  gid: number;
  excludes: string[];
  tags: string[];
  programVersion: string | undefined;
  summary: SnapshotSummary | undefined;
}

export interface SnapshotGroupKey {
  hostname: string;
  paths: string[];
  tags: string[];
}

export interface SnapshotGroup {
  groupKey: SnapshotGroupKey;
  snapshots: ResticSnapshot[];
}

function parseSummary(v: unknown): SnapshotSummary | undefined {
  return isObject(v) ? parseBackupCounters(v) : undefined;
}

export function parseSnapshot(v: JsonObject): ResticSnapshot {
  const id = str(v, 'id');
  return {
    id,
    shortId: optStr(v, 'short_id') ?? id.slice(0, 8),
    time: str(v, 'time'),
    parent: optStr(v, 'parent'),
    tree: str(v, 'tree'),
    paths: strList(v, 'paths'),
    hostname: str(v, 'hostname'),
    username: str(v, 'username'),
    uid: num(v, 'uid'),
    gid: num(v, 'gid'),
    excludes: strList(v, 'excludes'),
    tags: strList(v, 'tags'),
    programVersion: optStr(v, 'program_version'),
    summary: parseSummary(v['summary']),
  };
}

function isGroup(v: unknown): v is JsonObject {
  return isObject(v) && 'group_key' in v && 'snapshots' in v;
}

function groupKeyOf(v: unknown): SnapshotGroupKey {
  const o = isObject(v) ? v : {};
  return { hostname: str(o, 'hostname'), paths: strList(o, 'paths'), tags: strList(o, 'tags') };
}

/**
 * `snapshots --json`, plain or `--group-by`, as groups. A plain list becomes one
 * group with an empty key. Accepts the output lines or the document itself.
 */
export function parseSnapshotGroups(input: readonly string[] | unknown): SnapshotGroup[] {
  const doc =
    Array.isArray(input) && input.every((l) => typeof l === 'string')
      ? firstJsonDocument(input as string[])
      : input;
  if (!Array.isArray(doc)) return [];
  if (doc.length > 0 && doc.every(isGroup)) {
    return (doc as JsonObject[]).map((g) => ({
      groupKey: groupKeyOf(g['group_key']),
      snapshots: objList(g, 'snapshots').map(parseSnapshot),
    }));
  }
  const snapshots = doc.filter(isObject).map(parseSnapshot);
  return snapshots.length ? [{ groupKey: { hostname: '', paths: [], tags: [] }, snapshots }] : [];
}

/** `snapshots --json` as one flat list (groups are flattened). */
export function parseSnapshots(input: readonly string[] | unknown): ResticSnapshot[] {
  return parseSnapshotGroups(input).flatMap((g) => g.snapshots);
}
