import { CHANNEL_FIELDS } from '../catalog/channel-settings';

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

/**
 * Secrets that only a parent key makes secret, as `parent.field`: a
 * notification channel's secret settings, taken from the channel catalog
 * (`secret: true` in CHANNEL_FIELDS), so a new channel kind's secrets are
 * hidden too. A webhook URL carries its own credential, while a repository's
 * `url` (credentials removed) is not secret, hence the parent.
 */
export const SECRET_FIELD_PATHS: readonly string[] = [
  ...new Set(
    Object.values(CHANNEL_FIELDS)
      .flat()
      .filter((f) => f.secret)
      .map((f) => `settings.${f.name}`),
  ),
];

const SECRET_PATHS: ReadonlySet<string> = new Set(SECRET_FIELD_PATHS.map((k) => k.toLowerCase()));

export const REDACTED = '[Redacted]';

/** True when a field of this name (under this parent key, if any) holds a secret. */
export function isSecretFieldName(key: string, parentKey?: string): boolean {
  const k = key.toLowerCase();
  return (
    SECRET_KEYS.has(k) || (parentKey !== undefined && SECRET_PATHS.has(`${parentKey.toLowerCase()}.${k}`))
  );
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
  return walk(value, undefined, 0, new WeakSet()) as T;
}

function walk(value: unknown, ownKey: string | undefined, depth: number, seen: WeakSet<object>): unknown {
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
      !array && isSecretFieldName(key, ownKey) && v !== undefined && v !== null
        ? REDACTED
        : walk(v, array ? ownKey : key, depth + 1, seen);
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
