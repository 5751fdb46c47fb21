import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { type JobKind, urlHasCredentials } from '@rf/events';

/**
 * Turns urlencoded form bodies into the command services' inputs, and their
 * coded errors back into per-field messages. Values that do not parse are
 * passed on as they are, so the catalog's validation names the field.
 */

export type FormBody = Readonly<Record<string, unknown>>;

export const text = (body: FormBody, name: string): string => {
  const v = body[name];
  return typeof v === 'string' ? v.trim() : '';
};

/** A typed repository URL as a refused form shows it again: never one with a password in it (those are refused). */
export const urlForDraft = (url: string): string => (urlHasCredentials(url) ? '' : url);

/** One item per line (paths, patterns). */
export const lines = (value: string): string[] =>
  value
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');

/** Comma- or line-separated (tags). */
export const commaList = (value: string): string[] =>
  value
    .split(/[,\r\n]/)
    .map((l) => l.trim())
    .filter((l) => l !== '');

/** A whole number when it is one; otherwise the raw text (validation reports it); undefined when empty. */
export const intOrRaw = (value: string): number | string | undefined => {
  if (value === '') return undefined;
  return /^-?\d+$/.test(value) ? Number(value) : value;
};

const checked = (body: FormBody, name: string): boolean => {
  const v = body[name];
  const last = Array.isArray(v) ? v[v.length - 1] : v;
  return last === 'on' || last === 'true' || last === '1';
};

const KEEP_NUMBERS = ['keep_last', 'keep_hourly', 'keep_daily', 'keep_weekly', 'keep_monthly', 'keep_yearly'];

/** A retention policy from `keep_*` fields; undefined when none is filled in. */
export function retentionOf(body: FormBody): Record<string, unknown> | undefined {
  const policy: Record<string, unknown> = {};
  for (const k of KEEP_NUMBERS) {
    const v = intOrRaw(text(body, k));
    if (v !== undefined) policy[k] = v;
  }
  const within = text(body, 'keep_within');
  if (within) policy['keep_within'] = within;
  const keepTags = commaList(text(body, 'keep_tags'));
  if (keepTags.length) policy['keep_tags'] = keepTags;
  return Object.keys(policy).length ? policy : undefined;
}

/** Job args for a kind from the host page's run forms. */
export function jobArgsFromForm(kind: JobKind, body: FormBody): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  switch (kind) {
    case 'backup': {
      args['paths'] = lines(text(body, 'paths'));
      const excludes = lines(text(body, 'excludes'));
      if (excludes.length) args['excludes'] = excludes;
      const tags = commaList(text(body, 'tags'));
      if (tags.length) args['tags'] = tags;
      break;
    }
    case 'forget': {
      args['policy'] = retentionOf(body) ?? {};
      if (checked(body, 'prune')) args['prune'] = true;
      break;
    }
    case 'restore': {
      args['snapshot_id'] = text(body, 'snapshot_id');
      args['target'] = text(body, 'target');
      const include = lines(text(body, 'include'));
      if (include.length) args['include'] = include;
      const exclude = lines(text(body, 'exclude'));
      if (exclude.length) args['exclude'] = exclude;
      const overwrite = text(body, 'overwrite');
      if (overwrite) args['overwrite'] = overwrite;
      if (checked(body, 'dry_run')) args['dry_run'] = true;
      break;
    }
    case 'check': {
      const subset = text(body, 'read_data_subset');
      if (subset) args['read_data_subset'] = subset;
      break;
    }
    default:
      break;
  }
  return args;
}

/** One schedule row of the editor (`s[i][field]`). */
export interface ScheduleRow {
  readonly [field: string]: unknown;
}

const rowsOf = (body: FormBody): FormBody[] => {
  const raw = body['s'];
  const list = Array.isArray(raw) ? raw : raw && typeof raw === 'object' ? Object.values(raw) : [];
  return list.filter((r): r is FormBody => typeof r === 'object' && r !== null);
};

/**
 * The schedule list from the editor. Rows marked for removal and the blank
 * "new schedule" row are left out; `index` maps list positions back to rows
 * so errors land next to the right row.
 */
export function schedulesFromForm(body: FormBody): { schedules: Record<string, unknown>[]; rowOf: number[] } {
  const schedules: Record<string, unknown>[] = [];
  const rowOf: number[] = [];
  rowsOf(body).forEach((row, i) => {
    if (checked(row, 'remove')) return;
    const id = text(row, 'id');
    const cron = text(row, 'cron');
    if (text(row, 'new') === '1' && id === '' && cron === '') return;
    const kind = text(row, 'kind');
    const s: Record<string, unknown> = { id, kind, cron, enabled: checked(row, 'enabled') };
    const repositoryId = text(row, 'repository_id');
    if (repositoryId) s['repository_id'] = repositoryId;
    const paths = lines(text(row, 'paths'));
    if (paths.length) s['paths'] = paths;
    const excludes = lines(text(row, 'excludes'));
    if (excludes.length) s['excludes'] = excludes;
    const tags = commaList(text(row, 'tags'));
    if (tags.length) s['tags'] = tags;
    const retention = retentionOf(row);
    if (retention) s['retention'] = retention;
    const pre = text(row, 'pre_hook');
    if (pre) s['pre_hook'] = pre;
    const post = text(row, 'post_hook');
    if (post) s['post_hook'] = post;
    const timeout = intOrRaw(text(row, 'hook_timeout_s'));
    if (timeout !== undefined) s['hook_timeout_s'] = timeout;
    schedules.push(s);
    rowOf.push(i);
  });
  return { schedules, rowOf };
}

export interface CodedError {
  readonly code: string;
  readonly message: string;
  readonly details?: { field?: string; fields?: Record<string, string[]> };
}

export function isCodedError(err: unknown): err is CodedError {
  return (
    err instanceof Error &&
    typeof (err as unknown as { code?: unknown }).code === 'string' &&
    (err as unknown as { code: string }).code !== 'unavailable'
  );
}

/** Field → messages from a coded error; a message without a field goes under `_form`. */
export function fieldErrors(
  err: CodedError,
  rename: (field: string) => string = (f) => f,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const fields = err.details?.fields;
  if (fields && Object.keys(fields).length) {
    for (const [k, msgs] of Object.entries(fields)) (out[rename(k)] ??= []).push(...msgs);
  } else if (err.details?.field) {
    out[rename(err.details.field)] = [err.message];
  } else {
    out['_form'] = [err.message];
  }
  return out;
}

/** `args.policy.keep_daily` → `keep_daily`, `args.paths.0` → `paths`: the run forms' own field names. */
export const jobFieldName = (field: string): string => {
  const parts = field.replace(/^args\./, '').split('.');
  if (parts[0] === 'policy' && parts[1]) return parts[1];
  return parts[0] ?? field;
};

/** `schedules.2.retention.keep_daily` → row `rowOf[2]`, field `keep_daily`. */
export function scheduleFieldOf(
  field: string,
  rowOf: readonly number[],
): { row: number | null; field: string } {
  const m = /^schedules\.(\d+)\.?(.*)$/.exec(field);
  if (!m) return { row: null, field };
  const row = rowOf[Number(m[1])] ?? null;
  const rest = (m[2] ?? '').split('.');
  const name = rest[0] === 'retention' && rest[1] ? rest[1] : rest[0] || 'id';
  return { row, field: name };
}

/**
 * Per-field messages from the REST route's own DTO (class-validator), so a
 * form and the API refuse the same input with the same words. Empty when valid.
 */
export function dtoFieldErrors(
  dto: new () => object,
  value: Record<string, unknown>,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const issue of validateSync(plainToInstance(dto, value), { whitelist: true }))
    out[issue.property] = Object.values(issue.constraints ?? {});
  return out;
}

/** A checkbox group or multi-select: one value arrives as a string, several as an array. */
export const values = (body: FormBody, name: string): string[] => {
  const v = body[name];
  const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return list.filter((x): x is string => typeof x === 'string' && x.trim() !== '').map((x) => x.trim());
};

/** A bracketed group of fields (`settings[url]`, `rules[job_failed][enabled]`) as its own body. */
export const formGroup = (body: FormBody, name: string): FormBody => {
  const v = body[name];
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as FormBody) : {};
};

/**
 * A notification channel from the Settings → Notifications form
 * (`settings[<field>]`, `routing[…]`): empty fields are left out, so a secret
 * left empty on an edit keeps its stored value. `fieldTypes` says which
 * fields are numbers (`port`) and lists (`emails`).
 */
export function channelFromForm(
  body: FormBody,
  fieldTypes: Readonly<Record<string, string>>,
): {
  input: { kind: string; name: string; settings: Record<string, unknown>; routing?: Record<string, unknown> };
  typed: Record<string, string>;
  routingTyped: { minSeverity: string; rules: string[]; hosts: string[]; reminderHours: string };
} {
  const raw = formGroup(body, 'settings');
  const settings: Record<string, unknown> = {};
  const typed: Record<string, string> = {};
  for (const [name, type] of Object.entries(fieldTypes)) {
    const v = text(raw, name);
    if (v === '') continue;
    typed[name] = v;
    settings[name] = type === 'port' ? intOrRaw(v) : type === 'emails' ? commaList(v) : v;
  }
  const r = formGroup(body, 'routing');
  const routingTyped = {
    minSeverity: text(r, 'min_severity'),
    rules: values(r, 'rules'),
    hosts: values(r, 'hosts'),
    reminderHours: text(r, 'reminder_hours'),
  };
  const routing: Record<string, unknown> = {};
  if (routingTyped.minSeverity) routing['min_severity'] = routingTyped.minSeverity;
  if (routingTyped.rules.length) routing['rules'] = routingTyped.rules;
  if (routingTyped.hosts.length) routing['hosts'] = routingTyped.hosts;
  const reminder = intOrRaw(routingTyped.reminderHours);
  if (reminder !== undefined) routing['reminder_hours'] = reminder;
  return {
    input: {
      kind: text(body, 'kind'),
      name: text(body, 'name'),
      settings,
      ...(Object.keys(routing).length ? { routing } : {}),
    },
    typed,
    routingTyped,
  };
}

/** Longest threshold the rule form takes, in minutes (30 days). */
const MAX_THRESHOLD_MIN = 43_200;

/**
 * One rule's setting from the rule forms (`enabled`: '' | on | off,
 * `severity`: '' or a severity, `threshold_min`: whole minutes); '' means
 * "use the default" and is left out. A threshold that is not whole minutes
 * is reported under `threshold_min`.
 */
export function ruleSettingFromForm(row: FormBody): {
  setting: Record<string, unknown>;
  error: string | null;
} {
  const setting: Record<string, unknown> = {};
  const enabled = text(row, 'enabled');
  if (enabled === 'on' || enabled === 'off') setting['enabled'] = enabled === 'on';
  const severity = text(row, 'severity');
  if (severity) setting['severity'] = severity;
  const threshold = text(row, 'threshold_min');
  if (threshold) {
    const n = /^\d+$/.test(threshold) ? Number(threshold) : NaN;
    if (!(n >= 1 && n <= MAX_THRESHOLD_MIN))
      return { setting, error: `enter whole minutes from 1 to ${MAX_THRESHOLD_MIN}` };
    setting['threshold_s'] = n * 60;
  }
  return { setting, error: null };
}
