import { Type } from 'class-transformer';
import { IsOptional, ValidateNested } from 'class-validator';
import { Cron } from 'croner';
import {
  isPattern,
  isRepoPath,
  isTag,
  JOB_KINDS,
  type JobArgs,
  type JobKind,
  RetentionPolicy,
  validateJobArgs,
} from './job-args';
import {
  type FieldIssue,
  IsArrOf,
  joinPath,
  rebaseIssue,
  IsBool,
  IsId,
  IsObj,
  IsOneOf,
  IsText,
  Rule,
  type UnknownFields,
} from './validation';

/** True when croner accepts the pattern (5 or 6 fields, or a nickname such as `@daily`). */
export function isCronExpression(v: unknown): v is string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 128) return false;
  try {
    new Cron(v, { paused: true });
    return true;
  } catch {
    return false;
  }
}

/** One entry of a host's desired schedule list (SchedulesChanged, schedule.set). */
export class Schedule {
  @IsId() readonly id!: string;
  @IsOneOf(JOB_KINDS) readonly kind!: JobKind;
  /**
   * Since SchedulesChanged v2: the repository the fired job works on. v1 lists
   * are upcast to the host's own repository; absent means the host's only one.
   */
  @IsOptional() @IsId() readonly repository_id?: string;
  @Rule('isCron', isCronExpression, 'must be a cron expression (5 or 6 fields, or @hourly/@daily/…)')
  readonly cron!: string;
  @IsBool() readonly enabled!: boolean;
  @IsOptional()
  @IsArrOf(isRepoPath, 'a non-empty path without NUL that does not start with "-"', { max: 1000 })
  readonly paths?: string[];
  @IsOptional()
  @IsArrOf(isPattern, 'a non-empty pattern without NUL or line breaks', { max: 1000 })
  readonly excludes?: string[];
  @IsOptional()
  @IsArrOf(isTag, 'a tag of 1-128 characters without commas or line breaks', { max: 100 })
  readonly tags?: string[];
  @IsOptional() @IsObj() @ValidateNested() @Type(() => RetentionPolicy) readonly retention?: RetentionPolicy;
  /** Further args of the kind (e.g. `one_file_system` for backup); the top-level fields win over these. */
  @IsOptional() @IsObj() readonly options?: Record<string, unknown>;
  @IsOptional() @IsText(4096) readonly pre_hook?: string;
  @IsOptional() @IsText(4096) readonly post_hook?: string;
  @IsOptional()
  @Rule(
    'isHookTimeout',
    (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= 86_400,
    'must be an integer from 1 to 86400',
  )
  readonly hook_timeout_s?: number;
}

/** The kinds a repository schedules itself: maintenance, once per repository, and copies to another repository. */
export const REPOSITORY_SCHEDULE_KINDS = ['forget', 'prune', 'check', 'stats', 'copy'] as const;
export type RepositoryScheduleKind = (typeof REPOSITORY_SCHEDULE_KINDS)[number];

/**
 * One of a repository's schedules (RepositorySchedulesChanged). The control
 * plane fires it and runs each fire on one online attached host. `forget`
 * keeps `retention` per host and paths unless `options.group_by` says otherwise.
 */
export class RepositorySchedule {
  @IsId() readonly id!: string;
  @IsOneOf(REPOSITORY_SCHEDULE_KINDS) readonly kind!: RepositoryScheduleKind;
  @Rule('isCron', isCronExpression, 'must be a cron expression (5 or 6 fields, or @hourly/@daily/…)')
  readonly cron!: string;
  @IsBool() readonly enabled!: boolean;
  @IsOptional() @IsObj() @ValidateNested() @Type(() => RetentionPolicy) readonly retention?: RetentionPolicy;
  /** copy: the destination repository. */
  @IsOptional() @IsId() readonly to_repository_id?: string;
  /** Further args of the kind (e.g. `prune` for forget, `read_data_subset` for check). */
  @IsOptional() @IsObj() readonly options?: Record<string, unknown>;
}

/** What arg building needs from a host's or a repository's schedule. */
interface ScheduleLike {
  readonly kind: JobKind;
  readonly retention?: RetentionPolicy;
  readonly options?: Record<string, unknown>;
}

const TOP_LEVEL_ARG_FIELDS: Partial<Record<JobKind, readonly string[]>> = {
  backup: ['paths', 'excludes', 'tags'],
  forget: ['tags'],
  copy: ['to_repository_id'],
};

/** Builds the raw (unvalidated) job args a schedule stands for: its options plus the top-level fields of its kind. */
export function rawArgsForSchedule(schedule: ScheduleLike): Record<string, unknown> {
  const args: Record<string, unknown> = { ...(schedule.options ?? {}) };
  for (const f of TOP_LEVEL_ARG_FIELDS[schedule.kind] ?? []) {
    const v = (schedule as unknown as Record<string, unknown>)[f];
    if (v !== undefined && v !== null) args[f] = v;
  }
  if (schedule.kind === 'forget' && schedule.retention) args.policy = schedule.retention;
  return args;
}

/** Validated job args for a schedule, or the issues under the schedule's own field names. */
export function jobArgsForSchedule(
  schedule: ScheduleLike,
  prefix = '',
  unknown: UnknownFields = 'reject',
): { ok: true; value: JobArgs } | { ok: false; issues: FieldIssue[] } {
  const r = validateJobArgs(schedule.kind, rawArgsForSchedule(schedule), { prefix: '', unknown });
  if (r.ok) return r;
  const top = TOP_LEVEL_ARG_FIELDS[schedule.kind] ?? [];
  const fromRetention =
    schedule.kind === 'forget' && schedule.retention !== undefined && schedule.retention !== null;
  const issues = r.issues.map((issue) => {
    const [head, ...rest] = issue.field.split('.');
    let rel: string;
    if (head === 'policy' && (fromRetention || schedule.options?.policy === undefined))
      rel = ['retention', ...rest].join('.');
    else if (top.includes(head)) rel = issue.field;
    else rel = issue.field ? `options.${issue.field}` : 'options';
    return rebaseIssue(issue, joinPath(prefix, rel));
  });
  return { ok: false, issues };
}

/** Checks every schedule's args against its kind and that ids are unique; used by SchedulesChanged and schedule.set. */
export function scheduleListIssues(
  schedules: readonly (ScheduleLike & { readonly id: string })[],
  prefix: string,
  unknown: UnknownFields,
): FieldIssue[] {
  const seen = new Set<string>();
  for (let i = 0; i < schedules.length; i++) {
    const s = schedules[i];
    const p = `${prefix}.${i}`;
    if (seen.has(s.id))
      return [{ field: `${p}.id`, message: `${p}.id duplicates another schedule id (${s.id})` }];
    seen.add(s.id);
    const r = jobArgsForSchedule(s, p, unknown);
    if (!r.ok) return r.issues;
  }
  return [];
}
