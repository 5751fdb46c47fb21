import { ResticError } from '../restic.errors';
import { ResticVersion, versionAtLeast } from '../restic-version';

/** Where a repository lives and how to open it. Secrets travel only through restic's environment. */
export interface ResticRepository {
  url: string;
  password: string;
  /** REST server user (rest:), access key id (s3:), account id (b2:) or account name (azure:). */
  username?: string;
  /** The secret that goes with `username`. */
  credential?: string;
}

// Backends whose credentials restic reads from environment variables under these names.
const CREDENTIAL_ENV: Record<string, [string, string]> = {
  s3: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
  b2: ['B2_ACCOUNT_ID', 'B2_ACCOUNT_KEY'],
  azure: ['AZURE_ACCOUNT_NAME', 'AZURE_ACCOUNT_KEY'],
};

// Variables from the parent environment that could silently change which repository
// or password restic uses; the ones we mean to pass are set explicitly below.
const INHERITED_DROP = /^(RESTIC_|AWS_ACCESS_KEY_ID$|AWS_SECRET_ACCESS_KEY$|B2_ACCOUNT_|AZURE_ACCOUNT_)/;

/**
 * Builds restic's environment for one repository. REST credentials go into the
 * URL for restic < 0.17 (and when the version is unknown, which every version
 * accepts), and into RESTIC_REST_USERNAME/PASSWORD from 0.17.
 */
export function resticEnvironment(
  repo: ResticRepository,
  version: ResticVersion | undefined,
  base: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  if (typeof repo.url !== 'string' || repo.url.trim() === '') {
    throw new ResticError('invalid_argument', 'repo.url is required', 'repo.url');
  }
  if (typeof repo.password !== 'string' || repo.password === '') {
    throw new ResticError(
      'invalid_argument',
      'repo.password is required (restic refuses empty passwords)',
      'repo.password',
    );
  }
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) {
    if (v !== undefined && !INHERITED_DROP.test(k)) env[k] = v;
  }
  env.RESTIC_PASSWORD = repo.password;
  env.RESTIC_REPOSITORY = repo.url;

  const hasUser = typeof repo.username === 'string' && repo.username !== '';
  const hasCredential = typeof repo.credential === 'string' && repo.credential !== '';
  if (!hasUser && !hasCredential) return env;
  const scheme = /^([a-z0-9]+):/i.exec(repo.url)?.[1]?.toLowerCase() ?? '';
  if (scheme === 'rest') {
    if (versionAtLeast(version, 0, 17)) {
      if (hasUser) env.RESTIC_REST_USERNAME = repo.username as string;
      if (hasCredential) env.RESTIC_REST_PASSWORD = repo.credential as string;
    } else {
      env.RESTIC_REPOSITORY = restUrlWithCredentials(repo.url, repo.username ?? '', repo.credential ?? '');
    }
    return env;
  }
  const names = CREDENTIAL_ENV[scheme];
  if (!names) {
    throw new ResticError(
      'invalid_argument',
      `repo.username/repo.credential are supported for rest:, s3:, b2: and azure: repositories, not "${scheme || 'local'}"`,
      hasUser ? 'repo.username' : 'repo.credential',
    );
  }
  if (hasUser) env[names[0]] = repo.username as string;
  if (hasCredential) env[names[1]] = repo.credential as string;
  return env;
}

/**
 * restic's environment for `copy` and `init --copy-chunker-params`: the
 * destination is the repository restic opens (`RESTIC_REPOSITORY`,
 * `RESTIC_PASSWORD`), the source comes from `RESTIC_FROM_REPOSITORY` and
 * `RESTIC_FROM_PASSWORD` (restic 0.14 and later; 0.10–0.13 had `--repo2`
 * with the roles reversed and are refused). Both passwords stay out of argv.
 *
 * REST credentials go into each URL (kept in the environment), because
 * RESTIC_REST_USERNAME/PASSWORD would apply to both repositories alike.
 * s3/b2/azure keys are process-wide variables, so two repositories of one
 * such backend can only be paired when they use the same keys.
 */
export function resticCopyEnvironment(
  destination: ResticRepository,
  source: ResticRepository,
  version: ResticVersion | undefined,
  base: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  if (version !== undefined && !versionAtLeast(version, 0, 14)) {
    throw new ResticError(
      'invalid_argument',
      `copying between repositories needs restic 0.14 or later (this host has ${version.major}.${version.minor}.${version.patch})`,
      'version',
    );
  }
  // `undefined` selects the URL form of REST credentials, which every version accepts.
  const env = resticEnvironment(destination, undefined, base);
  const from = resticEnvironment(source, undefined, {});
  env.RESTIC_FROM_REPOSITORY = from.RESTIC_REPOSITORY;
  env.RESTIC_FROM_PASSWORD = from.RESTIC_PASSWORD;
  for (const [k, v] of Object.entries(from)) {
    if (k.startsWith('RESTIC_')) continue;
    if (env[k] !== undefined && env[k] !== v) {
      throw new ResticError(
        'invalid_argument',
        `the source and destination repositories need different ${k} values; restic reads one per process, so they cannot be paired in one copy`,
        'repo.credential',
      );
    }
    env[k] = v;
  }
  return env;
}

function restUrlWithCredentials(url: string, username: string, password: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url.slice('rest:'.length));
  } catch {
    throw new ResticError(
      'invalid_argument',
      'repo.url is not a valid rest: URL (rest:http://host:port/path)',
      'repo.url',
    );
  }
  parsed.username = encodeURIComponent(username);
  parsed.password = encodeURIComponent(password);
  return `rest:${parsed.toString()}`;
}
