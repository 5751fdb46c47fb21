import { isObject, str } from './parsers/json-fields';
import { tryJson } from './parsers/json-fields';

export interface ResticVersion {
  major: number;
  minor: number;
  patch: number;
  /** The text restic printed, e.g. `restic 0.14.0 compiled with go1.19.8 on linux/amd64`. */
  raw: string;
}

const VERSION_TEXT = /restic\s+v?(\d+)\.(\d+)\.(\d+)/;
const BARE_VERSION = /^v?(\d+)\.(\d+)(?:\.(\d+))?/;

/** Reads `restic version` output: text (every version) or `--json` (0.17+). */
export function parseVersionOutput(output: string): ResticVersion | undefined {
  for (const line of output.split(/\r?\n/)) {
    const doc = tryJson(line);
    if (isObject(doc)) {
      const m = BARE_VERSION.exec(str(doc, 'version'));
      if (m) return { major: +m[1], minor: +m[2], patch: +(m[3] ?? 0), raw: line.trim() };
      continue;
    }
    const m = VERSION_TEXT.exec(line);
    if (m) return { major: +m[1], minor: +m[2], patch: +m[3], raw: line.trim() };
  }
  return undefined;
}

/** Negative when a < b, 0 when equal, positive when a > b. */
export function compareVersions(
  a: Pick<ResticVersion, 'major' | 'minor' | 'patch'>,
  b: Pick<ResticVersion, 'major' | 'minor' | 'patch'>,
): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** True when `v` is at least major.minor.patch. */
export function versionAtLeast(
  v: ResticVersion | undefined,
  major: number,
  minor: number,
  patch = 0,
): boolean {
  return v !== undefined && compareVersions(v, { major, minor, patch }) >= 0;
}

export function formatVersion(v: Pick<ResticVersion, 'major' | 'minor' | 'patch'>): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}
