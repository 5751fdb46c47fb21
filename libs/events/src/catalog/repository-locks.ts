import type { JobKind } from './job-args';

/**
 * The lock restic takes on a repository, as observed with restic 0.14, 0.18
 * and 0.19 (docs/repositories.md, "Lock classes"; re-run
 * scripts/observe-restic-locks.sh to check a new version):
 * - `none`: the command writes no lock file and never fails on one;
 * - `shared`: a non-exclusive lock; any number of them coexist;
 * - `exclusive`: fails while any other lock exists, and makes every other
 *   locking command fail while it holds it.
 * Where versions differ the stricter class is recorded, because the control
 * plane does not know which restic a job will meet.
 */
export const REPOSITORY_LOCKS = ['none', 'shared', 'exclusive'] as const;
export type RepositoryLock = (typeof REPOSITORY_LOCKS)[number];

/** The restic commands restic-fleet runs (job kinds, the agent's follow-up reports, and snapshot browsing). */
export const RESTIC_COMMAND_LOCKS = {
  backup: 'shared',
  init: 'none',
  forget: 'exclusive',
  prune: 'exclusive',
  check: 'exclusive',
  unlock: 'none',
  restore: 'shared',
  snapshots: 'shared',
  stats: 'shared',
  /** Both repositories: shared on the source (`--from-repo`) and on the destination (`-r`). */
  copy: 'shared',
  /** 0.14 takes no lock; 0.18 and 0.19 take a shared one. */
  ls: 'shared',
  find: 'shared',
  diff: 'shared',
  dump: 'shared',
} as const satisfies Record<JobKind | 'ls' | 'find' | 'diff' | 'dump', RepositoryLock>;
export type ResticCommandName = keyof typeof RESTIC_COMMAND_LOCKS;

/** What one job holds on one repository while it is dispatched or running. */
export interface RepositoryLockClaim {
  readonly repository_id: string;
  readonly lock: Exclude<RepositoryLock, 'none'>;
}

/** The parts of a job the lock classes depend on. */
export interface LockedJob {
  readonly kind: JobKind;
  readonly repository_id: string;
  readonly args?: unknown;
}

/**
 * The locks a job takes, one claim per repository it touches. A `copy` locks
 * its source and its destination (shared on both; initialising a new
 * destination with `--copy-chunker-params` locks neither). Kinds that take no
 * lock give an empty list: they never wait for, nor hold up, another job.
 */
export function jobLockClaims(job: LockedJob): RepositoryLockClaim[] {
  const lock = RESTIC_COMMAND_LOCKS[job.kind];
  if (lock === 'none') return [];
  const claims: RepositoryLockClaim[] = [{ repository_id: job.repository_id, lock }];
  if (job.kind === 'copy') {
    const to = (job.args as { to_repository_id?: unknown } | undefined)?.to_repository_id;
    if (typeof to === 'string' && to !== job.repository_id)
      claims.push({ repository_id: to, lock: 'shared' });
  }
  return claims;
}

/** True when two locks on one repository can be held at the same time. */
export const locksCompatible = (a: RepositoryLock, b: RepositoryLock): boolean =>
  a === 'none' || b === 'none' || (a === 'shared' && b === 'shared');
