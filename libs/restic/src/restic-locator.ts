import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { waitForExit } from './process/child-exit';
import { ResticError } from './restic.errors';
import { parseVersionOutput, ResticVersion } from './restic-version';

const VERSION_TIMEOUT_MS = 15_000;

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
  const child = spawn(bin, ['version'], { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
  const exited = waitForExit(child);
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    if (stdout.length < 64 * 1024) stdout += d;
  });
  child.stderr.resume();
  const timer = setTimeout(() => child.kill('SIGKILL'), VERSION_TIMEOUT_MS);
  const res = await exited.finally(() => clearTimeout(timer));
  const version = res.exitCode === 0 ? parseVersionOutput(stdout) : undefined;
  if (!version) {
    const why =
      res.exitCode === 0
        ? `unrecognised output "${stdout.slice(0, 200)}"`
        : res.spawnError
          ? res.spawnError.message
          : res.signal === 'SIGKILL'
            ? `no answer within ${VERSION_TIMEOUT_MS / 1000} s`
            : `exit ${res.exitCode ?? res.signal}`;
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
