/**
 * Agent versions (package.json versions: `major.minor.patch`, optionally
 * `-pre.release`). The control plane uses them to decide who gets
 * `agent.update_available`; the agent uses the same rule to refuse anything
 * that is not newer than itself, so an offer can never downgrade it.
 */
const VERSION = /^(\d{1,9})\.(\d{1,9})\.(\d{1,9})(?:-([0-9A-Za-z.-]{1,64}))?$/;

interface ParsedVersion {
  readonly core: readonly [number, number, number];
  readonly pre: readonly string[];
}

function parse(v: string): ParsedVersion | undefined {
  const m = VERSION.exec(v);
  if (!m) return undefined;
  return { core: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] ? m[4].split('.') : [] };
}

export function isAgentVersion(v: unknown): v is string {
  return typeof v === 'string' && parse(v) !== undefined;
}

/** Semver precedence: negative when a < b; a pre-release sorts before its release. Undefined when either is not a version. */
export function compareAgentVersions(a: string, b: string): number | undefined {
  const pa = parse(a);
  const pb = parse(b);
  if (!pa || !pb) return undefined;
  for (let i = 0; i < 3; i++) if (pa.core[i] !== pb.core[i]) return pa.core[i]! - pb.core[i]!;
  if (pa.pre.length === 0 || pb.pre.length === 0) return pb.pre.length - pa.pre.length;
  for (let i = 0; i < Math.min(pa.pre.length, pb.pre.length); i++) {
    const x = pa.pre[i]!;
    const y = pb.pre[i]!;
    if (x === y) continue;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) return Number(x) - Number(y);
    if (nx !== ny) return nx ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return pa.pre.length - pb.pre.length;
}

/** True only when both are versions and `candidate` is strictly newer than `current`. */
export function isNewerAgentVersion(candidate: string, current: string): boolean {
  const c = compareAgentVersions(candidate, current);
  return c !== undefined && c > 0;
}
