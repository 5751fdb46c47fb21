import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { ResticError } from './restic.errors';
import { parseVersionOutput, ResticVersion } from './restic-version';

export interface LocateResticOptions {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
}

export interface LocatedRestic {
  bin: string;
  version: ResticVersion;
}

/** The places we look, in order. Pure, so it can be checked for any platform. */
export function resticCandidates({
  env = process.env,
  platform = process.platform,
}: LocateResticOptions = {}): string[] {
  const win = platform === 'win32';
  const p = win ? path.win32 : path.posix;
  const exe = win ? 'restic.exe' : 'restic';
  const dirs: string[] = [];
  const pathVar = env.PATH ?? env.Path ?? '';
  dirs.push(...pathVar.split(win ? ';' : ':').filter(Boolean));
  const home = win ? env.USERPROFILE : env.HOME;
  if (win) {
    if (env.ProgramFiles) dirs.push(p.join(env.ProgramFiles, 'restic'));
    if (env.LOCALAPPDATA) dirs.push(p.join(env.LOCALAPPDATA, 'Programs', 'restic'));
    if (home) dirs.push(p.join(home, 'scoop', 'shims'));
    if (env.SCOOP) dirs.push(p.join(env.SCOOP, 'shims'));
    dirs.push(p.join(env.ProgramData ?? 'C:\\ProgramData', 'chocolatey', 'bin'));
    if (home) dirs.push(p.join(home, 'bin'));
  } else {
    dirs.push('/usr/bin', '/usr/local/bin', '/opt/restic', '/opt/restic/bin');
    if (platform === 'darwin') dirs.push('/opt/homebrew/bin');
    if (home) dirs.push(p.join(home, 'bin'), p.join(home, '.local', 'bin'));
  }
  const seen = new Set<string>();
  const out: string[] = [];
  for (const d of dirs) {
    const candidate = p.join(d, exe);
    const key = win ? candidate.toLowerCase() : candidate;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(candidate);
    }
  }
  return out;
}

function installHint(platform: NodeJS.Platform): string {
  if (platform === 'win32')
    return 'Install it with `scoop install restic` or `choco install restic`, or unpack restic.exe into %ProgramFiles%\\restic';
  if (platform === 'darwin') return 'Install it with `brew install restic`';
  return 'Install it with your package manager (e.g. `apt-get install restic`) or put the binary in /usr/local/bin';
}

function isExecutable(file: string, platform: NodeJS.Platform): boolean {
  try {
    fs.accessSync(file, platform === 'win32' ? fs.constants.F_OK : fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Runs `<bin> version` and parses it (text in every version; JSON also understood). */
export async function readResticVersion(bin: string): Promise<ResticVersion> {
  const res = await execa(bin, ['version'], {
    reject: false,
    timeout: 15_000,
    stdin: 'ignore',
    windowsHide: true,
  });
  const version = res.exitCode === 0 ? parseVersionOutput(String(res.stdout)) : undefined;
  if (!version) {
    const why =
      res.exitCode === 0
        ? `unrecognised output "${String(res.stdout).slice(0, 200)}"`
        : (res.shortMessage ?? `exit ${res.exitCode}`);
    throw new ResticError('not_runnable', `${bin} does not behave like restic (\`restic version\`: ${why})`);
  }
  return version;
}

/**
 * Finds restic: RF_RESTIC_BIN when set (and then only there), else PATH and the
 * usual install folders. Fails with the list of places tried and how to install.
 */
export async function locateRestic(opts: LocateResticOptions = {}): Promise<LocatedRestic> {
  const env = opts.env ?? process.env;
  const platform = opts.platform ?? process.platform;
  const forced = env.RF_RESTIC_BIN;
  if (forced) {
    if (!isExecutable(forced, platform)) {
      throw new ResticError(
        'not_found',
        `RF_RESTIC_BIN points to ${forced}, which is not an executable file`,
        'RF_RESTIC_BIN',
      );
    }
    return { bin: forced, version: await readResticVersion(forced) };
  }
  const tried = resticCandidates({ env, platform });
  for (const candidate of tried) {
    if (isExecutable(candidate, platform))
      return { bin: candidate, version: await readResticVersion(candidate) };
  }
  throw new ResticError(
    'not_found',
    `restic not found. Tried: ${tried.join(', ')}. ${installHint(platform)}, or set RF_RESTIC_BIN to its full path.`,
    'RF_RESTIC_BIN',
  );
}
