import { ResticError } from '../restic.errors';

/** A restic command line without the binary and without any repository or secret. */
export interface ResticInvocation {
  command: string;
  args: string[];
}

export interface BackupOptions {
  paths: string[];
  excludes?: string[];
  tags?: string[];
  host?: string;
  oneFileSystem?: boolean;
  excludeCaches?: boolean;
  /** KiB/s */
  limitUpload?: number;
  /** KiB/s */
  limitDownload?: number;
  dryRun?: boolean;
}

export interface ForgetPolicy {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  /** A restic duration such as `30d` or `1y2m`. */
  keepWithin?: string;
  keepTags?: string[];
}

export interface ForgetOptions extends ForgetPolicy {
  /** Only consider snapshots with these tags. */
  tags?: string[];
  host?: string;
  /** e.g. `host,paths` (restic's default) or `host,tags`. */
  groupBy?: string;
  prune?: boolean;
  dryRun?: boolean;
}

export interface PruneOptions {
  /** e.g. `5%`, `100M`, `unlimited`. */
  maxUnused?: string;
  dryRun?: boolean;
}

export interface CheckOptions {
  /** e.g. `1/5`, `10%`, `500M`. */
  readDataSubset?: string;
}

export interface RestoreOptions {
  snapshotId: string;
  target: string;
  includes?: string[];
  excludes?: string[];
  verify?: boolean;
  /** `--overwrite` (restic ≥ 0.17): always, if-changed, if-newer or never. */
  overwrite?: RestoreOverwrite;
  /** `--dry-run` (restic ≥ 0.17): list what would be restored, write nothing. */
  dryRun?: boolean;
}

export const RESTORE_OVERWRITE_MODES = ['always', 'if-changed', 'if-newer', 'never'] as const;
export type RestoreOverwrite = (typeof RESTORE_OVERWRITE_MODES)[number];

export interface SnapshotsOptions {
  groupBy?: string;
  tags?: string[];
  host?: string;
  paths?: string[];
  latest?: number;
}

export type StatsMode = 'restore-size' | 'files-by-contents' | 'raw-data' | 'blobs-per-file';

export interface StatsOptions {
  mode?: StatsMode;
  snapshotIds?: string[];
}

export interface CopyOptions {
  /** Snapshots of the source to copy (ids, prefixes or `latest`); all when empty. */
  snapshotIds?: string[];
}

export interface LsOptions {
  snapshotId: string;
  paths?: string[];
}

// Every flag value is passed as `--flag=value`, so a value that begins with `-`
// can never be read as another flag; positional values follow `--`.
const flag = (name: string, value: string | number): string => `--${name}=${value}`;
const flags = (name: string, values: readonly string[] | undefined): string[] =>
  (values ?? []).map((v) => flag(name, v));
const opt = (name: string, value: string | number | undefined): string[] =>
  value === undefined || value === '' ? [] : [flag(name, value)];
const sw = (name: string, on: boolean | undefined): string[] => (on ? [`--${name}`] : []);

function snapshotIdArg(id: string, field: string): string {
  if (typeof id !== 'string' || id === '' || id.startsWith('-')) {
    throw new ResticError('invalid_argument', `${field} must be a snapshot id or "latest"`, field);
  }
  return id;
}

export function backupArgs(o: BackupOptions): ResticInvocation {
  if (!Array.isArray(o.paths) || o.paths.length === 0) {
    throw new ResticError('invalid_argument', 'paths must list at least one path to back up', 'paths');
  }
  return {
    command: 'backup',
    args: [
      '--json',
      ...flags('exclude', o.excludes),
      ...flags('tag', o.tags),
      ...opt('host', o.host),
      ...sw('one-file-system', o.oneFileSystem),
      ...sw('exclude-caches', o.excludeCaches),
      ...opt('limit-upload', o.limitUpload),
      ...opt('limit-download', o.limitDownload),
      ...sw('dry-run', o.dryRun),
      '--',
      ...o.paths,
    ],
  };
}

export function initArgs(): ResticInvocation {
  return { command: 'init', args: ['--json'] };
}

export function forgetArgs(o: ForgetOptions): ResticInvocation {
  return {
    command: 'forget',
    args: [
      '--json',
      ...opt('keep-last', o.keepLast),
      ...opt('keep-hourly', o.keepHourly),
      ...opt('keep-daily', o.keepDaily),
      ...opt('keep-weekly', o.keepWeekly),
      ...opt('keep-monthly', o.keepMonthly),
      ...opt('keep-yearly', o.keepYearly),
      ...opt('keep-within', o.keepWithin),
      ...flags('keep-tag', o.keepTags),
      ...flags('tag', o.tags),
      ...opt('host', o.host),
      ...opt('group-by', o.groupBy),
      ...sw('prune', o.prune),
      ...sw('dry-run', o.dryRun),
    ],
  };
}

export function pruneArgs(o: PruneOptions = {}): ResticInvocation {
  return { command: 'prune', args: [...opt('max-unused', o.maxUnused), ...sw('dry-run', o.dryRun)] };
}

export function checkArgs(o: CheckOptions = {}): ResticInvocation {
  return { command: 'check', args: ['--json', ...opt('read-data-subset', o.readDataSubset)] };
}

/** Plain unlock only removes stale locks; `--remove-all` would break a running job's lock. */
export function unlockArgs(): ResticInvocation {
  return { command: 'unlock', args: [] };
}

export function restoreArgs(o: RestoreOptions): ResticInvocation {
  if (typeof o.target !== 'string' || o.target === '') {
    throw new ResticError('invalid_argument', 'target is required for a restore', 'target');
  }
  return {
    command: 'restore',
    args: [
      '--json',
      flag('target', o.target),
      ...flags('include', o.includes),
      ...flags('exclude', o.excludes),
      ...sw('verify', o.verify),
      ...opt('overwrite', o.overwrite),
      ...sw('dry-run', o.dryRun),
      // A dry run lists each file it would restore (`-vv`), which is the preview.
      ...(o.dryRun ? ['-vv'] : []),
      '--',
      snapshotIdArg(o.snapshotId, 'snapshotId'),
    ],
  };
}

export function snapshotsArgs(o: SnapshotsOptions = {}): ResticInvocation {
  return {
    command: 'snapshots',
    args: [
      '--json',
      ...opt('group-by', o.groupBy),
      ...flags('tag', o.tags),
      ...opt('host', o.host),
      ...flags('path', o.paths),
      ...opt('latest', o.latest),
    ],
  };
}

export function statsArgs(o: StatsOptions = {}): ResticInvocation {
  const ids = (o.snapshotIds ?? []).map((id, i) => snapshotIdArg(id, `snapshotIds[${i}]`));
  return {
    command: 'stats',
    args: ['--json', ...opt('mode', o.mode), ...(ids.length ? ['--', ...ids] : [])],
  };
}

export function lsArgs(o: LsOptions): ResticInvocation {
  return {
    command: 'ls',
    args: ['--json', '--', snapshotIdArg(o.snapshotId, 'snapshotId'), ...(o.paths ?? [])],
  };
}

/** A browse query (docs/browse.md), as the agent receives it (already validated). */
export type ResticQuery =
  | { kind: 'ls'; snapshot: string; path: string }
  | { kind: 'find'; pattern: string; host?: string }
  | { kind: 'diff'; from: string; to: string }
  | { kind: 'dump'; snapshot: string; path: string; archive?: 'tar' | 'zip' };

/**
 * The command line of a browse query. `ls` of a folder prints the folder and its
 * direct children; `find --json` is one JSON document; `diff --json` is a line
 * per change and a statistics line; `dump` writes the file's bytes, or a folder as
 * a tar (zip with `--archive zip`, restic ≥ 0.12). Every form exists from 0.14.
 */
export function argsForQuery(q: ResticQuery): ResticInvocation {
  const path = (p: string): string => {
    if (!p.startsWith('/') || p.includes('\0'))
      throw new ResticError('invalid_argument', 'path must be absolute and without NUL', 'path');
    return p;
  };
  switch (q.kind) {
    case 'ls':
      return { command: 'ls', args: ['--json', '--', snapshotIdArg(q.snapshot, 'snapshot'), path(q.path)] };
    case 'find':
      return { command: 'find', args: ['--json', ...opt('host', q.host), '--', q.pattern] };
    case 'diff':
      return {
        command: 'diff',
        args: ['--json', '--', snapshotIdArg(q.from, 'from'), snapshotIdArg(q.to, 'to')],
      };
    case 'dump':
      return {
        command: 'dump',
        args: [...opt('archive', q.archive), '--', snapshotIdArg(q.snapshot, 'snapshot'), path(q.path)],
      };
    default: {
      const exhaustive: never = q;
      throw new ResticError('invalid_argument', `unknown query kind ${JSON.stringify(exhaustive)}`, 'kind');
    }
  }
}

/**
 * `restic copy` into the repository restic opens (`RESTIC_REPOSITORY`, the
 * destination) from `RESTIC_FROM_REPOSITORY` (the source; see
 * resticCopyEnvironment). No `--json`: every version prints text.
 */
export function copyArgs(o: CopyOptions = {}): ResticInvocation {
  const ids = (o.snapshotIds ?? []).map((id, i) => snapshotIdArg(id, `snapshotIds[${i}]`));
  return { command: 'copy', args: ids.length ? ['--', ...ids] : [] };
}

/** Initialises the destination of a copy with the source's chunker parameters, so copied data deduplicates. */
export function initCopyChunkerParamsArgs(): ResticInvocation {
  return { command: 'init', args: ['--json', '--copy-chunker-params'] };
}

/** `cat config`: the cheapest way to ask whether a repository exists (a shared lock, no data read). */
export function catConfigArgs(): ResticInvocation {
  return { command: 'cat', args: ['config'] };
}

export function versionArgs(): ResticInvocation {
  return { command: 'version', args: [] };
}

/** Job kinds with their options, as the agent receives them (already validated). */
export type ResticJob =
  | ({ kind: 'backup' } & BackupOptions)
  | { kind: 'init' }
  | ({ kind: 'forget' } & ForgetOptions)
  | ({ kind: 'prune' } & PruneOptions)
  | ({ kind: 'check' } & CheckOptions)
  | { kind: 'unlock' }
  | ({ kind: 'restore' } & RestoreOptions)
  | ({ kind: 'snapshots' } & SnapshotsOptions)
  | ({ kind: 'stats' } & StatsOptions)
  | ({ kind: 'copy' } & CopyOptions)
  | ({ kind: 'ls' } & LsOptions);

/** The reads that may run without a repository lock (restic's global `--no-lock`, 0.14 through 0.19). */
const LOCK_FREE_READS: ReadonlySet<string> = new Set(['snapshots', 'stats']);

/**
 * The same read without taking restic's shared lock: it can then neither
 * collide with nor delay another process's lock (an exclusive prune on another
 * host). Such a read may fail, or see the repository mid-change, if another
 * process changes it meanwhile, so it is only for reports whose failure is
 * harmless (docs/repositories.md, "Reports after a job").
 */
export function withoutLock(inv: ResticInvocation): ResticInvocation {
  if (!LOCK_FREE_READS.has(inv.command)) {
    throw new ResticError('invalid_argument', `restic ${inv.command} must not run without a lock`, 'command');
  }
  return { command: inv.command, args: ['--no-lock', ...inv.args] };
}

export function argsForJob(job: ResticJob): ResticInvocation {
  switch (job.kind) {
    case 'backup':
      return backupArgs(job);
    case 'init':
      return initArgs();
    case 'forget':
      return forgetArgs(job);
    case 'prune':
      return pruneArgs(job);
    case 'check':
      return checkArgs(job);
    case 'unlock':
      return unlockArgs();
    case 'restore':
      return restoreArgs(job);
    case 'snapshots':
      return snapshotsArgs(job);
    case 'stats':
      return statsArgs(job);
    case 'copy':
      return copyArgs(job);
    case 'ls':
      return lsArgs(job);
    default: {
      const exhaustive: never = job;
      throw new ResticError(
        'invalid_argument',
        `unknown job kind ${String((exhaustive as { kind: unknown }).kind)}`,
        'kind',
      );
    }
  }
}
