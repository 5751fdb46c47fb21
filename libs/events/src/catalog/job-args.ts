import { Type } from 'class-transformer';
import { IsOptional, ValidateNested } from 'class-validator';
import {
  CatalogError,
  checkClass,
  type Checked,
  type ClassOf,
  type FieldIssue,
  hasNoNul,
  IsArrOf,
  IsBool,
  IsId,
  IsObj,
  IsOneOf,
  IsPositiveInt,
  isPlainObject,
  joinPath,
  registerPostCheck,
  registerFastCheck,
  flatFastCheck,
  Rule,
  type UnknownFields,
} from './validation';

/** The operations an agent runs (docs/architecture.md, "External contract"; lock classes in docs/repositories.md). */
export const JOB_KINDS = [
  'backup',
  'init',
  'forget',
  'prune',
  'check',
  'unlock',
  'restore',
  'snapshots',
  'stats',
  'copy',
] as const;
export type JobKind = (typeof JOB_KINDS)[number];
export const isJobKind = (v: unknown): v is JobKind =>
  typeof v === 'string' && (JOB_KINDS as readonly string[]).includes(v);

/**
 * The statuses a job can be reported finished with (JobFinished.status): by the
 * agent, or by the control plane cancelling a queued job. The job lifecycle
 * (job-lifecycle.ts) owns the full status list and the terminal set.
 */
export const JOB_FINAL_STATUSES = ['succeeded', 'warning', 'failed', 'cancelled'] as const;
export type JobFinalStatus = (typeof JOB_FINAL_STATUSES)[number];

// ---------------------------------------------------------------------------
// Field rules shared by args, schedules and snapshots

const MAX_PATH = 4096;
/** A filesystem path for restic: no NUL, and never starting with `-` so it cannot be read as a flag. */
export const isRepoPath = (v: unknown): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= MAX_PATH && hasNoNul(v) && !v.startsWith('-');
/** A restic tag: no comma (restic splits tag lists on commas), no NUL or line breaks. */
export const isTag = (v: unknown): v is string => typeof v === 'string' && /^[^,\0\r\n]{1,128}$/.test(v);
/** An exclude pattern: a non-empty string without NUL or line breaks. */
export const isPattern = (v: unknown): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= MAX_PATH && !/[\0\r\n]/.test(v);
/** restic durations such as `7d`, `1y2m`, `36h` (units y, m, d, h in that order). */
export const isResticDuration = (v: unknown): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= 32 && /^(?:\d+y)?(?:\d+m)?(?:\d+d)?(?:\d+h)?$/.test(v);
/** `check --read-data-subset`: `10%`, `2.5%`, `1/5`, `500M`. */
export const isReadDataSubset = (v: unknown): boolean => {
  if (typeof v !== 'string' || v.length > 32) return false;
  let m = /^(\d+(?:\.\d+)?)%$/.exec(v);
  if (m) return Number(m[1]) > 0 && Number(m[1]) <= 100;
  m = /^(\d+)\/(\d+)$/.exec(v);
  if (m) return Number(m[1]) >= 1 && Number(m[1]) <= Number(m[2]);
  return /^[1-9]\d*[KMGT]$/.test(v);
};
/** `prune --max-unused`: `unlimited`, `5%`, `0`, `100M`. */
export const isMaxUnused = (v: unknown): boolean =>
  typeof v === 'string' && v.length <= 32 && /^(?:unlimited|\d+(?:\.\d+)?%|\d+[KMGT]?)$/.test(v);
/** A snapshot reference: a hex id or prefix (4–64), or `latest`. */
export const isSnapshotRef = (v: unknown): v is string =>
  typeof v === 'string' && /^(?:latest|[0-9a-f]{4,64})$/.test(v);

const PATHS_TEXT = 'a non-empty path without NUL that does not start with "-"';
const TAGS_TEXT = 'a tag of 1-128 characters without commas or line breaks';
const PATTERNS_TEXT = 'a non-empty pattern without NUL or line breaks';

export const GROUP_BY_FIELDS = ['host', 'paths', 'tags'] as const;
export type GroupByField = (typeof GROUP_BY_FIELDS)[number];

// ---------------------------------------------------------------------------
// Args classes, one per kind

export class BackupArgs {
  @IsArrOf(isRepoPath, PATHS_TEXT, { min: 1, max: 1000 }) readonly paths!: string[];
  @IsOptional() @IsArrOf(isPattern, PATTERNS_TEXT, { max: 1000 }) readonly excludes?: string[];
  @IsOptional() @IsArrOf(isTag, TAGS_TEXT, { max: 100 }) readonly tags?: string[];
  @IsOptional() @IsBool() readonly one_file_system?: boolean;
  @IsOptional() @IsBool() readonly exclude_caches?: boolean;
  @IsOptional() @IsPositiveInt() readonly limit_upload_kib?: number;
  @IsOptional() @IsPositiveInt() readonly limit_download_kib?: number;
}

export class InitArgs {}

/** restic `forget` keep rules; at least one is required. */
export class RetentionPolicy {
  @IsOptional() @IsPositiveInt() readonly keep_last?: number;
  @IsOptional() @IsPositiveInt() readonly keep_hourly?: number;
  @IsOptional() @IsPositiveInt() readonly keep_daily?: number;
  @IsOptional() @IsPositiveInt() readonly keep_weekly?: number;
  @IsOptional() @IsPositiveInt() readonly keep_monthly?: number;
  @IsOptional() @IsPositiveInt() readonly keep_yearly?: number;
  @IsOptional()
  @Rule('isResticDuration', isResticDuration, 'must be a restic duration such as 7d, 36h or 1y2m')
  readonly keep_within?: string;
  @IsOptional() @IsArrOf(isTag, TAGS_TEXT, { min: 1, max: 100 }) readonly keep_tags?: string[];
}

export const KEEP_RULES = [
  'keep_last',
  'keep_hourly',
  'keep_daily',
  'keep_weekly',
  'keep_monthly',
  'keep_yearly',
  'keep_within',
  'keep_tags',
] as const;

function retentionIssues(policy: RetentionPolicy, field: string): FieldIssue[] {
  return KEEP_RULES.some((k) => policy[k] !== undefined && policy[k] !== null)
    ? []
    : [{ field, message: `${field || 'value'} must set at least one keep rule (${KEEP_RULES.join(', ')})` }];
}
registerPostCheck(RetentionPolicy, (p, prefix) => retentionIssues(p, prefix));

export class ForgetArgs {
  @IsObj() @ValidateNested() @Type(() => RetentionPolicy) readonly policy!: RetentionPolicy;
  @IsOptional() @IsArrOf(isTag, TAGS_TEXT, { max: 100 }) readonly tags?: string[];
  @IsOptional()
  @Rule(
    'isGroupBy',
    (v) =>
      Array.isArray(v) &&
      v.length <= 3 &&
      new Set(v).size === v.length &&
      v.every((x) => (GROUP_BY_FIELDS as readonly unknown[]).includes(x)),
    `must be a list of distinct values from: ${GROUP_BY_FIELDS.join(', ')}`,
  )
  readonly group_by?: GroupByField[];
  @IsOptional() @IsBool() readonly prune?: boolean;
}
registerPostCheck(ForgetArgs, (a, prefix) => retentionIssues(a.policy, joinPath(prefix, 'policy')));

export class PruneArgs {
  @IsOptional()
  @Rule('isMaxUnused', isMaxUnused, 'must be unlimited, a percentage (5%) or a size (100M)')
  readonly max_unused?: string;
}

export class CheckArgs {
  @IsOptional()
  @Rule(
    'isReadDataSubset',
    isReadDataSubset,
    'must be a percentage (10%), a fraction n/m (1/5) or a size (500M)',
  )
  readonly read_data_subset?: string;
}

export class UnlockArgs {}

/** What restore does with a file that already exists at the target (restic ≥ 0.17 `--overwrite`). */
export const RESTORE_OVERWRITE = ['always', 'if-changed', 'if-newer', 'never'] as const;
export type RestoreOverwrite = (typeof RESTORE_OVERWRITE)[number];

/**
 * A restore runs on the host it is dispatched to, which may be another host than
 * the one that made the snapshot (docs/browse.md, "Restore"). `overwrite` and
 * `dry_run` need restic 0.17 or newer on that host; an older one fails the job
 * with a message saying so, without running restic.
 */
export class RestoreArgs {
  @Rule('isSnapshotRef', isSnapshotRef, 'must be a hex snapshot id (prefix of 4-64) or "latest"')
  readonly snapshot_id!: string;
  @Rule('isRepoPath', isRepoPath, `must be ${PATHS_TEXT}`) readonly target!: string;
  @IsOptional() @IsArrOf(isPattern, PATTERNS_TEXT, { max: 1000 }) readonly include?: string[];
  @IsOptional() @IsArrOf(isPattern, PATTERNS_TEXT, { max: 1000 }) readonly exclude?: string[];
  @IsOptional() @IsOneOf(RESTORE_OVERWRITE) readonly overwrite?: RestoreOverwrite;
  @IsOptional() @IsBool() readonly dry_run?: boolean;
}

export class SnapshotsArgs {}

// class-validator refuses classes without decorators ("unknown value"); argless kinds get an explicit empty schema.
for (const cls of [InitArgs, UnlockArgs, SnapshotsArgs]) registerFastCheck(cls, flatFastCheck([]));

export const STATS_MODES = ['restore-size', 'raw-data'] as const;
export type StatsMode = (typeof STATS_MODES)[number];
export class StatsArgs {
  @IsOptional() @IsOneOf(STATS_MODES) readonly mode?: StatsMode;
}

/**
 * `restic copy` from the job's repository (the source) to another one. A
 * destination that was never initialised is initialised first with the
 * source's chunker parameters (docs/repositories.md).
 */
export class CopyArgs {
  @IsId() readonly to_repository_id!: string;
  /** Snapshot ids (or prefixes) to copy; all of the source's snapshots when absent. */
  @IsOptional()
  @IsArrOf(isSnapshotRef, 'a hex snapshot id (prefix of 4-64) or "latest"', { min: 1, max: 1000 })
  readonly snapshots?: string[];
}

/** Kind → args type. */
export interface JobArgsByKind {
  backup: BackupArgs;
  init: InitArgs;
  forget: ForgetArgs;
  prune: PruneArgs;
  check: CheckArgs;
  unlock: UnlockArgs;
  restore: RestoreArgs;
  snapshots: SnapshotsArgs;
  stats: StatsArgs;
  copy: CopyArgs;
}
export type JobArgs = JobArgsByKind[JobKind];
/** A kind with its args, narrowed together: `switch (job.kind)` types `job.args`. */
export type JobSpec = { [K in JobKind]: { readonly kind: K; readonly args: JobArgsByKind[K] } }[JobKind];

export const JOB_ARGS_CLASSES: { readonly [K in JobKind]: ClassOf<JobArgsByKind[K]> } = {
  backup: BackupArgs,
  init: InitArgs,
  forget: ForgetArgs,
  prune: PruneArgs,
  check: CheckArgs,
  unlock: UnlockArgs,
  restore: RestoreArgs,
  snapshots: SnapshotsArgs,
  stats: StatsArgs,
  copy: CopyArgs,
};

export interface ValidateJobArgsOptions {
  /** Path prefix for field names; default `args`. */
  readonly prefix?: string;
  /** Default `reject`: an unknown arg is an error, because silently ignoring one would change what restic does. */
  readonly unknown?: UnknownFields;
}

/**
 * Validates job args for a kind. Returns typed args, or issues naming fields
 * (`args.paths`, `args.policy.keep_within`). Never throws.
 */
export function validateJobArgs<K extends JobKind>(
  kind: K,
  args: unknown,
  options?: ValidateJobArgsOptions,
): Checked<JobArgsByKind[K]>;
export function validateJobArgs(
  kind: unknown,
  args: unknown,
  options?: ValidateJobArgsOptions,
): Checked<JobArgs>;
export function validateJobArgs(
  kind: unknown,
  args: unknown,
  options: ValidateJobArgsOptions = {},
): Checked<JobArgs> {
  const prefix = options.prefix ?? 'args';
  if (!isJobKind(kind))
    return {
      ok: false,
      issues: [{ field: 'kind', message: `kind must be one of: ${JOB_KINDS.join(', ')}` }],
    };
  const value = args === undefined || args === null ? {} : args;
  if (!isPlainObject(value))
    return { ok: false, issues: [{ field: prefix, message: `${prefix || 'value'} must be an object` }] };
  return checkClass(JOB_ARGS_CLASSES[kind] as ClassOf<JobArgs>, value, prefix, {
    unknown: options.unknown ?? 'reject',
  });
}

/** Throwing variant of validateJobArgs: a `CatalogError` with code `invalid_job_args` naming the field. */
export function assertJobArgs<K extends JobKind>(
  kind: K,
  args: unknown,
  options?: ValidateJobArgsOptions,
): JobArgsByKind[K] {
  const r = validateJobArgs(kind, args, options);
  if (!r.ok) throw new CatalogError('invalid_job_args', r.issues.map((i) => i.message).join('; '), r.issues);
  return r.value as JobArgsByKind[K];
}
