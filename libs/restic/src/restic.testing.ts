import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** A restic build available to the cross-version tests. */
export interface ResticTestBinary {
  /** `major.minor`, e.g. `0.14`. */
  label: string;
  /** Full version, e.g. `0.19.1`; also the fixtures folder name. */
  version: string;
  bin: string;
}

/** The repository root: RF_REPO_ROOT (set by scripts/test.js), else found by walking up. */
export function repoRoot(): string {
  if (process.env.RF_REPO_ROOT) return process.env.RF_REPO_ROOT;
  let dir = __dirname;
  for (let i = 0; i < 12; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'libs', 'restic')))
      return dir;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the repository root; set RF_REPO_ROOT');
}

/** Where the recorded outputs live: libs/restic/fixtures/<version>/. */
export function resticFixturesDir(): string {
  return path.join(repoRoot(), 'libs', 'restic', 'fixtures');
}

/**
 * The system restic (Debian's 0.14 here) plus every build scripts/fetch-restic.js
 * cached in .cache/restic/<version>/ — the binaries cross-version tests run.
 */
export function resticBinariesForTests(): ResticTestBinary[] {
  const out: ResticTestBinary[] = [];
  const add = (bin: string, version: string): void => {
    if (!out.some((b) => b.version === version))
      out.push({ label: version.split('.').slice(0, 2).join('.'), version, bin });
  };
  for (const sys of ['/usr/bin/restic', '/usr/local/bin/restic']) {
    if (!fs.existsSync(sys)) continue;
    const resolved = fs.realpathSync(sys);
    const m = /(\d+\.\d+\.\d+)/.exec(systemVersion(resolved));
    if (m) add(sys, m[1]);
    break;
  }
  const cache = path.join(repoRoot(), '.cache', 'restic');
  if (fs.existsSync(cache)) {
    for (const version of fs
      .readdirSync(cache)
      .filter((d) => /^\d+\.\d+\.\d+$/.test(d))
      .sort()) {
      const bin = path.join(cache, version, 'usr', 'bin', 'restic');
      if (fs.existsSync(bin)) add(bin, version);
    }
  }
  return out;
}

// Debian's binary name carries no version; one `restic version` call tells it.
function systemVersion(bin: string): string {
  const res = spawnSync(bin, ['version'], { encoding: 'utf8', timeout: 15_000 });
  return res.stdout ?? '';
}
