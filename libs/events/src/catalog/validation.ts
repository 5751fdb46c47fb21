import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { ValidateBy, validateSync, type ValidationError, type ValidationOptions } from 'class-validator';

/**
 * Shared validation machinery for events, job args and wire messages.
 *
 * Every rule is a plain predicate plus a decorator built from it, so the
 * hand-written fast paths (hot wire types) and the class-validator classes use
 * the very same checks and report the same field paths.
 */

/** One problem with an input, `field` being a dotted path such as `payload.seq` or `args.paths`. */
export interface FieldIssue {
  readonly field: string;
  readonly message: string;
}

export type Checked<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: FieldIssue[] };

/** `strip`: unknown properties are removed (wire: tolerant of newer peers). `reject`: they are errors (write path, job args). */
export type UnknownFields = 'strip' | 'reject';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- class constructors of any shape
export type ClassOf<T> = new (...args: any[]) => T;

/** Keys that could reach an object's prototype when copied by assignment; rejected anywhere in untrusted input. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
/** Nesting deeper than this is rejected before any validation walks it. */
export const MAX_NESTING_DEPTH = 32;
/** More objects/arrays than this in one value are rejected; bounds the walk even for cyclic in-process objects. */
export const MAX_NESTED_OBJECTS = 100_000;

export const joinPath = (prefix: string, key: string): string => (prefix ? `${prefix}.${key}` : key);

/** The same issue reported under another field path (messages always start with the field). */
export function rebaseIssue(issue: FieldIssue, field: string): FieldIssue {
  const text = issue.message.startsWith(`${issue.field} `)
    ? issue.message.slice(issue.field.length + 1)
    : issue.message.replace(/^value /, '');
  return { field, message: `${field || 'value'} ${text}` };
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Walks a parsed JSON value iteratively; returns an issue for the first forbidden
 * key or for nesting beyond `MAX_NESTING_DEPTH`, else null.
 */
export function scanStructure(root: unknown, prefix = ''): FieldIssue | null {
  if (typeof root !== 'object' || root === null) return null;
  const stack: Array<{ v: object; path: string; depth: number }> = [{ v: root, path: prefix, depth: 1 }];
  let visited = 0;
  while (stack.length > 0) {
    if (++visited > MAX_NESTED_OBJECTS) {
      return {
        field: prefix,
        message: `${prefix || 'value'} holds more than ${MAX_NESTED_OBJECTS} objects and arrays`,
      };
    }
    const { v, path, depth } = stack.pop() as { v: object; path: string; depth: number };
    if (depth > MAX_NESTING_DEPTH) {
      return { field: path, message: `${path || 'value'} is nested deeper than ${MAX_NESTING_DEPTH} levels` };
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const item: unknown = v[i];
        if (typeof item === 'object' && item !== null)
          stack.push({ v: item, path: joinPath(path, String(i)), depth: depth + 1 });
      }
      continue;
    }
    for (const key of Object.keys(v)) {
      if (FORBIDDEN_KEYS.has(key)) {
        const field = joinPath(path, key);
        return { field, message: `${field} is not an allowed property name` };
      }
      const item: unknown = (v as Record<string, unknown>)[key];
      if (typeof item === 'object' && item !== null)
        stack.push({ v: item, path: joinPath(path, key), depth: depth + 1 });
    }
  }
  return null;
}

// ---------------------------------------------------------------------------
// Predicates (used by decorators and by fast paths)

const TIMESTAMP_RE =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const CODE_RE = /^[a-z][a-z0-9_.]{0,63}$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export const isString = (v: unknown): v is string => typeof v === 'string';
export const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
/** ISO-8601 date-time with an explicit zone (RFC 3339, up to nanoseconds as Go writes them). */
export function isTimestamp(v: unknown): v is string {
  if (typeof v !== 'string' || v.length > 40) return false;
  const m = TIMESTAMP_RE.exec(v);
  if (!m) return false;
  // Range checks by hand: Date.parse is several times slower and this runs twice per log line.
  const year = +m[1];
  const month = +m[2];
  const day = +m[3];
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > DAYS_IN_MONTH[month - 1] + (leap ? 1 : 0)) return false;
  if (+m[4] > 23 || +m[5] > 59 || +m[6] > 59) return false;
  return m[7] === undefined || (+m[7] <= 23 && +m[8] <= 59);
}
export const isUuid = (v: unknown): v is string =>
  typeof v === 'string' && v.length === 36 && UUID_RE.test(v);
/** Entity ids: safe inside a stream name (`job-{id}`), 1–128 characters. */
export const isId = (v: unknown): v is string => typeof v === 'string' && ID_RE.test(v);
/** Machine-readable codes such as error codes: lower snake case. */
export const isCode = (v: unknown): v is string => typeof v === 'string' && CODE_RE.test(v);
export const isCount = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
export const isPositiveInt = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
export const isInteger = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
export const isNonNegative = (v: unknown): v is number =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0;
export const isFraction = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= 1;
export const isBase64 = (v: unknown): v is string =>
  typeof v === 'string' && v.length > 0 && BASE64_RE.test(v);
export const hasNoNul = (v: string): boolean => !v.includes('\0');
/** A non-empty text of at most `max` characters without NUL. */
export const isText = (v: unknown, max: number): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= max && hasNoNul(v);
/** Like isText but may be empty. */
export const isOptionalText = (v: unknown, max: number): v is string =>
  typeof v === 'string' && v.length <= max && hasNoNul(v);

// ---------------------------------------------------------------------------
// Decorators

/** A named predicate with its message text ("must be a string"); decorators and fast paths share these. */
export interface RuleSpec {
  readonly name: string;
  readonly check: (v: unknown) => boolean;
  readonly text: string;
}

export const spec = (name: string, check: (v: unknown) => boolean, text: string): RuleSpec => ({
  name,
  check,
  text,
});

export const RULES = {
  string: spec('isStr', isString, 'must be a string'),
  boolean: spec('isBool', isBoolean, 'must be a boolean'),
  timestamp: spec(
    'isTimestamp',
    isTimestamp,
    'must be an ISO-8601 timestamp with a time zone (e.g. 2024-05-01T12:00:00Z)',
  ),
  uuid: spec('isUuid', isUuid, 'must be a UUID'),
  id: spec('isId', isId, 'must be an id of 1-128 characters [A-Za-z0-9._:-]'),
  code: spec('isCode', isCode, 'must be a lower-case code [a-z0-9_.], at most 64 characters'),
  count: spec('isCount', isCount, 'must be a non-negative integer'),
  positiveInt: spec('isPositiveInt', isPositiveInt, 'must be a positive integer'),
  nonNegative: spec('isNonNegative', isNonNegative, 'must be a non-negative number'),
  fraction: spec('isFraction', isFraction, 'must be a number between 0 and 1'),
  base64: spec('isBase64', isBase64, 'must be non-empty base64'),
  object: spec('isObj', isPlainObject, 'must be an object'),
} as const;

export const textRule = (max: number): RuleSpec =>
  spec(
    'isText',
    (v) => isText(v, max),
    `must be a non-empty string of at most ${max} characters without NUL`,
  );
export const optionalTextRule = (max: number): RuleSpec =>
  spec(
    'isOptionalText',
    (v) => isOptionalText(v, max),
    `must be a string of at most ${max} characters without NUL`,
  );
export const oneOfRule = (values: readonly string[]): RuleSpec =>
  spec('isOneOf', (v) => typeof v === 'string' && values.includes(v), `must be one of: ${values.join(', ')}`);

/** Builds a decorator from a rule. `toIssues` prefixes the rule text with the full field path. */
export function FromRule(rule: RuleSpec, options?: ValidationOptions) {
  return ValidateBy(
    {
      name: rule.name,
      validator: { validate: (v: unknown) => rule.check(v), defaultMessage: () => rule.text },
    },
    options,
  );
}
export function Rule(
  name: string,
  check: (v: unknown) => boolean,
  text: string,
  options?: ValidationOptions,
) {
  return FromRule(spec(name, check, text), options);
}

export const IsStr = () => FromRule(RULES.string);
export const IsBool = () => FromRule(RULES.boolean);
export const IsTimestamp = () => FromRule(RULES.timestamp);
export const IsUuidStr = () => FromRule(RULES.uuid);
export const IsId = () => FromRule(RULES.id);
export const IsCode = () => FromRule(RULES.code);
export const IsCount = () => FromRule(RULES.count);
export const IsPositiveInt = () => FromRule(RULES.positiveInt);
export const IsNonNegative = () => FromRule(RULES.nonNegative);
export const IsFraction = () => FromRule(RULES.fraction);
export const IsBase64 = () => FromRule(RULES.base64);
export const IsObj = () => FromRule(RULES.object);
export const IsText = (max: number) => FromRule(textRule(max));
export const IsOptionalText = (max: number) => FromRule(optionalTextRule(max));
export const IsOneOf = <T extends string>(values: readonly T[]) => FromRule(oneOfRule(values));
export const IsArr = (o?: { min?: number; max?: number }) => {
  const min = o?.min ?? 0;
  const max = o?.max ?? 10_000;
  return Rule(
    'isArr',
    (v) => Array.isArray(v) && v.length >= min && v.length <= max,
    min > 0 ? `must be an array of ${min} to ${max} items` : `must be an array of at most ${max} items`,
  );
};
/**
 * An array of objects for `@ValidateNested({ each: true })`. class-validator lets
 * a nested *array* item through unvalidated (`[[]]`), so items must be objects.
 */
export const IsObjArr = (o?: { max?: number }) => {
  const max = o?.max ?? 10_000;
  return Rule(
    'isObjArr',
    (v) => Array.isArray(v) && v.length <= max && v.every(isPlainObject),
    `must be an array of at most ${max} objects`,
  );
};
/** Array whose items all satisfy `check` (one message for the whole array, like class-validator's `each`). */
export const IsArrOf = (check: (v: unknown) => boolean, text: string, o?: { min?: number; max?: number }) => {
  const min = o?.min ?? 0;
  const max = o?.max ?? 10_000;
  return Rule(
    'isArrOf',
    (v) => Array.isArray(v) && v.length >= min && v.length <= max && v.every(check),
    `must be an array of ${min > 0 ? `${min} to ${max}` : `at most ${max}`} items, each ${text}`,
  );
};

// ---------------------------------------------------------------------------
// Running validation

function toIssues(errors: ValidationError[], prefix: string, out: FieldIssue[]): FieldIssue[] {
  for (const e of errors) {
    const field = joinPath(prefix, e.property);
    const constraints = e.constraints ? Object.entries(e.constraints) : [];
    if (constraints.length > 0) {
      const [name, text] = constraints[0];
      out.push({
        field,
        message: name === 'whitelistValidation' ? `${field} is not an allowed property` : `${field} ${text}`,
      });
    }
    if (e.children && e.children.length > 0) toIssues(e.children, field, out);
  }
  return out;
}

/** A hand-written equivalent of a class's decorators; must agree with them (tested). */
export type FastCheck<T> = (
  plain: Record<string, unknown>,
  prefix: string,
  unknown: UnknownFields,
) => Checked<T>;
/** Cross-field rules run after the decorators pass (e.g. job args by kind). */
export type PostCheck<T> = (value: T, prefix: string, unknown: UnknownFields) => FieldIssue[];

const fastChecks = new Map<ClassOf<unknown>, FastCheck<unknown>>();
const postChecks = new Map<ClassOf<unknown>, PostCheck<unknown>>();

export function registerFastCheck<T>(cls: ClassOf<T>, check: FastCheck<T>): void {
  fastChecks.set(cls, check as FastCheck<unknown>);
}
export function registerPostCheck<T>(cls: ClassOf<T>, check: PostCheck<T>): void {
  postChecks.set(cls, check as PostCheck<unknown>);
}

/** One field of a flat class for `flatFastCheck`, in declaration order. */
export interface FlatField {
  readonly name: string;
  readonly rule: RuleSpec;
  readonly optional?: boolean;
}

/**
 * A fast check for a class whose fields are all scalars: the same rules as its
 * decorators, without class-transformer/class-validator. Reports the first bad
 * field (class-validator order: unknown fields first in `reject` mode, then
 * fields in declaration order) and returns a new object holding only known fields.
 */
export function flatFastCheck<T>(fields: readonly FlatField[]): FastCheck<T> {
  const names = new Set(fields.map((f) => f.name));
  return (plain, prefix, unknown) => {
    if (unknown === 'reject') {
      for (const key of Object.keys(plain)) {
        if (!names.has(key)) {
          const field = joinPath(prefix, key);
          return { ok: false, issues: [{ field, message: `${field} is not an allowed property` }] };
        }
      }
    }
    const out: Record<string, unknown> = {};
    for (const f of fields) {
      const v = plain[f.name];
      if (v === undefined || v === null) {
        if (f.optional) continue;
      } else if (f.rule.check(v)) {
        out[f.name] = v;
        continue;
      }
      const field = joinPath(prefix, f.name);
      return { ok: false, issues: [{ field, message: `${field} ${f.rule.text}` }] };
    }
    return { ok: true, value: out as T };
  };
}

export interface CheckOptions {
  /** Default `reject`. */
  readonly unknown?: UnknownFields;
  /** Skip the forbidden-key/depth scan (the caller already scanned this value). */
  readonly scanned?: boolean;
  /** Use class-validator even when a fast check exists (for agreement tests). */
  readonly slow?: boolean;
}

/**
 * Validates an untrusted plain value as an instance of `cls`. Never throws for
 * bad input. Returns the validated value (unknown fields stripped in `strip` mode).
 */
export function checkClass<T extends object>(
  cls: ClassOf<T>,
  plain: unknown,
  prefix: string,
  options: CheckOptions = {},
): Checked<T> {
  const unknown = options.unknown ?? 'reject';
  if (!isPlainObject(plain))
    return { ok: false, issues: [{ field: prefix, message: `${prefix || 'value'} must be an object` }] };
  if (!options.scanned) {
    const bad = scanStructure(plain, prefix);
    if (bad) return { ok: false, issues: [bad] };
  }
  const fast = options.slow ? undefined : fastChecks.get(cls);
  let result: Checked<T>;
  if (fast) {
    result = fast(plain, prefix, unknown) as Checked<T>;
  } else {
    const instance = plainToInstance(cls, plain, { enableImplicitConversion: false });
    const errors = validateSync(instance, {
      whitelist: true,
      forbidNonWhitelisted: unknown === 'reject',
      forbidUnknownValues: true,
      validationError: { target: false, value: false },
    });
    result =
      errors.length > 0 ? { ok: false, issues: toIssues(errors, prefix, []) } : { ok: true, value: instance };
  }
  if (!result.ok) return result;
  // Post checks of base classes apply to subclasses too (SchedulesChangedData extends ScheduleListFields).
  for (
    let c: unknown = cls;
    typeof c === 'function' && c !== Function.prototype;
    c = Object.getPrototypeOf(c)
  ) {
    const post = postChecks.get(c as ClassOf<unknown>);
    if (!post) continue;
    const issues = post(result.value, prefix, unknown);
    if (issues.length > 0) return { ok: false, issues };
  }
  return result;
}

/** Error thrown by the catalog's throwing helpers (`toEventData`, `assertJobArgs`). */
export type CatalogErrorCode =
  'invalid_event' | 'invalid_job_args' | 'unknown_event_type' | 'invalid_metadata';

export class CatalogError extends Error {
  /** The first bad field, as a dotted path (`data.host_id`). */
  readonly field: string | undefined;
  constructor(
    readonly code: CatalogErrorCode,
    message: string,
    readonly issues: readonly FieldIssue[] = [],
  ) {
    super(message);
    this.name = 'CatalogError';
    this.field = issues[0]?.field;
  }
}

export const isCatalogError = (err: unknown, code?: CatalogErrorCode): err is CatalogError =>
  err instanceof CatalogError && (code === undefined || err.code === code);
