import { JsonObject, num, optNum, optStr, str } from './json-fields';
import { tryJsonObject } from './restic-line.parser';
import { parseSnapshot, ResticSnapshot } from './restic-snapshots.parser';

export interface LsNode {
  name: string;
  type: string;
  path: string;
  uid: number;
  gid: number;
  size: number;
  mode: number;
  permissions: string;
  mtime: string;
  atime: string;
  ctime: string;
  /** 0.16.1+ */
  inode: number | undefined;
}

export interface LsReport {
  snapshot: ResticSnapshot | undefined;
  nodes: LsNode[];
}

function kindOf(v: JsonObject): string | undefined {
  // ≤0.16 only has struct_type; 0.17+ adds message_type with the same value.
  return optStr(v, 'message_type') ?? optStr(v, 'struct_type');
}

function parseNode(v: JsonObject): LsNode {
  return {
    name: str(v, 'name'),
    type: str(v, 'type'),
    path: str(v, 'path'),
    uid: num(v, 'uid'),
    gid: num(v, 'gid'),
    size: num(v, 'size'),
    mode: num(v, 'mode'),
    permissions: str(v, 'permissions'),
    mtime: str(v, 'mtime'),
    atime: str(v, 'atime'),
    ctime: str(v, 'ctime'),
    inode: optNum(v, 'inode'),
  };
}

/** One line of `ls --json`: the node it describes, or undefined (the snapshot line, text, a blank). */
export function parseLsNodeLine(line: string): LsNode | undefined {
  const v = tryJsonObject(line);
  return v && kindOf(v) === 'node' ? parseNode(v) : undefined;
}

/** `ls --json <snapshot>`: the snapshot line, then one line per node. */
export function parseLsOutput(stdout: readonly string[]): LsReport {
  const report: LsReport = { snapshot: undefined, nodes: [] };
  for (const line of stdout) {
    const v = tryJsonObject(line);
    if (!v) continue;
    const kind = kindOf(v);
    if (kind === 'snapshot') report.snapshot = parseSnapshot(v);
    else if (kind === 'node') report.nodes.push(parseNode(v));
  }
  return report;
}
