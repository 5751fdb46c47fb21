import { firstJsonDocument, isObject, JsonObject, objList, str, strList, tryJson } from './json-fields';
import { parseSnapshot, ResticSnapshot } from './restic-snapshots.parser';

export interface ForgetReason {
  /** Empty before 0.17 unless it could be matched to a kept snapshot by time. */
  snapshotId: string;
  time: string;
  matches: string[];
}

export interface ForgetGroup {
  host: string;
  paths: string[];
  tags: string[];
  keep: ResticSnapshot[];
  remove: ResticSnapshot[];
  reasons: ForgetReason[];
}

export interface ForgetReport {
  groups: ForgetGroup[];
  keptIds: string[];
  removedIds: string[];
  /** The plain prune text 0.14 and 0.18 print after the JSON with `--prune`. */
  pruneText: string[];
}

function parseGroup(g: JsonObject): ForgetGroup {
  const keep = objList(g, 'keep').map(parseSnapshot);
  const reasons = objList(g, 'reasons').map((r): ForgetReason => {
    const snap = isObject(r['snapshot']) ? parseSnapshot(r['snapshot']) : undefined;
    const time = snap?.time ?? '';
    const id = snap?.id || keep.find((k) => k.time === time)?.id || '';
    return { snapshotId: id, time, matches: strList(r, 'matches') };
  });
  return {
    host: str(g, 'host'),
    paths: strList(g, 'paths'),
    tags: strList(g, 'tags'),
    keep,
    remove: objList(g, 'remove').map(parseSnapshot),
    reasons,
  };
}

/** `forget --json [--prune]` stdout. `forget <id> --json` prints nothing: no groups. */
export function parseForgetOutput(stdout: readonly string[]): ForgetReport {
  const doc = firstJsonDocument(stdout);
  const groups = Array.isArray(doc) ? doc.filter(isObject).map(parseGroup) : [];
  return {
    groups,
    keptIds: groups.flatMap((g) => g.keep.map((s) => s.id)),
    removedIds: groups.flatMap((g) => g.remove.map((s) => s.id)),
    pruneText: stdout.filter((l) => tryJson(l) === undefined && l.trim() !== ''),
  };
}
