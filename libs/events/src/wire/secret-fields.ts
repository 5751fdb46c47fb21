/**
 * Field names whose values are secrets wherever they appear — wire payloads
 * (`config.update`), request bodies, notification channel settings, headers.
 * Every log path of the control plane and the agent hides them by name, at
 * any depth (`redactSecrets`), so a new secret field (a channel's token, say)
 * is added here once and is then redacted everywhere. Matching ignores case.
 */
export const SECRET_FIELD_NAMES: readonly string[] = [
  // repositories
  'password',
  'repo_password',
  'credential',
  'repo_credential',
  'password_enc',
  'passwordEnc',
  // agents, users, API and enrolment tokens
  'secret',
  'agent_secret',
  'token',
  'api_token',
  'access_token',
  'refresh_token',
  'new_password',
  'current_password',
  // notification channels (webhook signing secrets, bot tokens, SMTP, URLs that are themselves keys)
  'webhook_secret',
  'signing_secret',
  'smtp_password',
  'api_key',
  'private_key',
  'webhook_url',
  'ping_url',
  // restic's environment, where the agent hands secrets to restic
  'RESTIC_PASSWORD',
  'RESTIC_REST_PASSWORD',
  'AWS_SECRET_ACCESS_KEY',
  'B2_ACCOUNT_KEY',
  'AZURE_ACCOUNT_KEY',
  // HTTP
  'authorization',
  'cookie',
  'set-cookie',
];

const SECRET_KEYS: ReadonlySet<string> = new Set(SECRET_FIELD_NAMES.map((k) => k.toLowerCase()));

export const REDACTED = '[Redacted]';

export function isSecretFieldName(key: string): boolean {
  return SECRET_KEYS.has(key.toLowerCase());
}

/** Nesting deeper than this is cut off rather than walked (log objects are shallow). */
const MAX_DEPTH = 12;

/**
 * A copy of `value` fit for a log: every property named in SECRET_FIELD_NAMES,
 * at any depth of plain objects, data-class instances and arrays, replaced by
 * `[Redacted]`. Other objects (errors, requests, buffers) are returned as they
 * are, for their serializers; values with nothing to hide are returned
 * unchanged (same reference), so logging stays cheap.
 */
export function redactSecrets<T>(value: T): T {
  return walk(value, 0, new WeakSet()) as T;
}

function walk(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const array = Array.isArray(value);
  if (!array && !isPlain(value)) return value;
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Truncated]';
  seen.add(value);
  let copy: Record<string, unknown> | unknown[] | undefined;
  const entries: Array<[string, unknown]> = array
    ? (value as unknown[]).map((v, i) => [String(i), v])
    : Object.entries(value as Record<string, unknown>);
  for (const [key, v] of entries) {
    const next =
      !array && isSecretFieldName(key) && v !== undefined && v !== null ? REDACTED : walk(v, depth + 1, seen);
    if (next !== v) {
      copy ??= array ? [...(value as unknown[])] : { ...(value as Record<string, unknown>) };
      (copy as Record<string, unknown>)[key] = next;
    }
  }
  seen.delete(value);
  return copy ?? value;
}

/**
 * Plain objects, and instances of our own data classes (validated payloads
 * are class instances); not errors, dates, buffers, streams, requests or
 * anything else built in or derived from a built-in.
 */
function isPlain(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as object | null;
  if (proto === null || proto === Object.prototype) return true;
  if (Object.getPrototypeOf(proto) !== Object.prototype) return false;
  const ctor: unknown = (proto as { constructor?: unknown }).constructor;
  return (
    typeof ctor === 'function' && !/\{\s*\[native code\]\s*\}$/.test(Function.prototype.toString.call(ctor))
  );
}
