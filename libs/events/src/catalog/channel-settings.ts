import { EncryptedSecret } from './encrypted-secret';
import { checkClass, type FieldIssue, isId, isPlainObject, joinPath } from './validation';

/**
 * Notification channel settings (docs/alerts.md). One table of fields per kind
 * serves both forms of the settings: `plain`, as an operator types them (the
 * API validates this form), and `sealed`, as `ChannelConfigured` stores them,
 * where every secret field is an `EncryptedSecret` instead of its text.
 */

export const CHANNEL_KINDS = [
  'webhook',
  'slack',
  'discord',
  'teams',
  'ntfy',
  'gotify',
  'email',
  'healthchecks',
] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];
export const isChannelKind = (v: unknown): v is ChannelKind =>
  typeof v === 'string' && (CHANNEL_KINDS as readonly string[]).includes(v);

export const EMAIL_SECURITY_MODES = ['starttls', 'tls'] as const;
export type EmailSecurity = (typeof EMAIL_SECURITY_MODES)[number];

export type ChannelFieldType =
  'url' | 'host' | 'port' | 'email' | 'emails' | 'topic' | 'token' | 'signing_secret' | 'id' | 'security';

export interface ChannelFieldSpec {
  readonly name: string;
  readonly type: ChannelFieldType;
  /** Sealed at rest, never shown back (only whether it is set). */
  readonly secret: boolean;
  readonly required: boolean;
  /** What the UI shows next to the field. */
  readonly label: string;
}

const field = (
  name: string,
  type: ChannelFieldType,
  label: string,
  o: { secret?: boolean; required?: boolean } = {},
): ChannelFieldSpec => ({ name, type, label, secret: o.secret ?? false, required: o.required ?? true });

/** Incoming-webhook URLs carry their own credential, so they are secrets. */
const secretUrl = (label: string) => field('url', 'url', label, { secret: true });

export const CHANNEL_FIELDS: { readonly [K in ChannelKind]: readonly ChannelFieldSpec[] } = {
  webhook: [
    secretUrl('URL that receives the JSON POST'),
    field('secret', 'signing_secret', 'Signing secret (HMAC-SHA256 key)', { secret: true }),
  ],
  slack: [secretUrl('Slack incoming-webhook URL')],
  discord: [secretUrl('Discord webhook URL')],
  teams: [secretUrl('Teams workflow (incoming webhook) URL')],
  ntfy: [
    field('server', 'url', 'ntfy server (default https://ntfy.sh)', { required: false }),
    field('topic', 'topic', 'Topic'),
    field('token', 'token', 'Access token', { secret: true, required: false }),
  ],
  gotify: [
    field('server', 'url', 'Gotify server URL'),
    field('token', 'token', 'Application token', { secret: true }),
  ],
  email: [
    field('host', 'host', 'SMTP server'),
    field('port', 'port', 'Port (default 587 for STARTTLS, 465 for TLS)', { required: false }),
    field('security', 'security', 'Security: starttls or tls'),
    field('username', 'token', 'User name', { required: false }),
    field('password', 'token', 'Password', { secret: true, required: false }),
    field('from', 'email', 'From address'),
    field('to', 'emails', 'To addresses'),
  ],
  healthchecks: [
    secretUrl('Ping URL of the check (gets /start, success and /fail)'),
    field('host_id', 'id', 'Host whose schedule this check watches'),
    field('schedule_id', 'id', 'Schedule this check watches'),
  ],
};

export const DEFAULT_NTFY_SERVER = 'https://ntfy.sh';
export const MAX_EMAIL_RECIPIENTS = 50;
export const MIN_SIGNING_SECRET_CHARS = 16;

/** Settings as an operator enters them: every value is plain. */
export type PlainChannelSettings = Readonly<Record<string, string | number | readonly string[]>>;
/** Settings as stored: secret fields hold an `EncryptedSecret`. */
export type SealedChannelSettings = Readonly<
  Record<string, string | number | readonly string[] | EncryptedSecret>
>;

// ---------------------------------------------------------------------------
// Value checks, one per field type; each returns the message tail or null.

const HEADER_SAFE = /^[^\0\r\n]+$/;
const EMAIL_RE = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/;
const HOST_RE =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV6_RE = /^\[?[0-9A-Fa-f:.]{2,45}\]?$/;
const TOPIC_RE = /^[-_A-Za-z0-9]{1,64}$/;

export function urlProblem(v: unknown): string | null {
  if (typeof v !== 'string' || v.length === 0) return 'must be a URL such as https://example.com/hook';
  if (v.length > 2048) return 'must be at most 2048 characters';
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return 'must be a URL such as https://example.com/hook';
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return 'must start with https:// or http://';
  if (u.username || u.password)
    return 'must not contain a user name or password (use the token fields instead)';
  if (u.hash) return 'must not contain a #fragment';
  return null;
}

function valueProblem(type: ChannelFieldType, v: unknown): string | null {
  switch (type) {
    case 'url':
      return urlProblem(v);
    case 'host':
      return typeof v === 'string' && v.length <= 253 && (HOST_RE.test(v) || IPV6_RE.test(v))
        ? null
        : 'must be a host name or IP address such as smtp.example.com';
    case 'port':
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= 65_535
        ? null
        : 'must be a port number from 1 to 65535';
    case 'email':
      return typeof v === 'string' && v.length <= 254 && EMAIL_RE.test(v)
        ? null
        : 'must be an e-mail address such as backups@example.com';
    case 'emails':
      if (!Array.isArray(v) || v.length === 0 || v.length > MAX_EMAIL_RECIPIENTS)
        return `must be a list of 1 to ${MAX_EMAIL_RECIPIENTS} e-mail addresses`;
      for (const item of v) {
        if (typeof item !== 'string' || item.length > 254 || !EMAIL_RE.test(item))
          return `must hold only e-mail addresses; ${JSON.stringify(String(item).slice(0, 80))} is not one`;
      }
      return null;
    case 'topic':
      return typeof v === 'string' && TOPIC_RE.test(v) ? null : 'must be 1-64 characters [A-Za-z0-9_-]';
    case 'token':
      return typeof v === 'string' && v.length <= 1024 && HEADER_SAFE.test(v)
        ? null
        : 'must be a non-empty text of at most 1024 characters without line breaks';
    case 'signing_secret':
      return typeof v === 'string' &&
        v.length >= MIN_SIGNING_SECRET_CHARS &&
        v.length <= 1024 &&
        HEADER_SAFE.test(v)
        ? null
        : `must be ${MIN_SIGNING_SECRET_CHARS} to 1024 characters without line breaks`;
    case 'id':
      return isId(v) ? null : 'must be an id of 1-128 characters [A-Za-z0-9._:-]';
    case 'security':
      return typeof v === 'string' && (EMAIL_SECURITY_MODES as readonly string[]).includes(v)
        ? null
        : `must be one of: ${EMAIL_SECURITY_MODES.join(', ')}`;
    default: {
      const _exhaustive: never = type;
      return _exhaustive;
    }
  }
}

/**
 * Checks channel settings field by field. `plain` is what an operator sends;
 * `sealed` is what `ChannelConfigured` stores (secrets as `EncryptedSecret`).
 * In `plain` form with `keep`, a missing secret is allowed when `keep` says the
 * stored settings already hold it (an edit that leaves the secret unchanged).
 */
export function channelSettingsIssues(
  kind: ChannelKind,
  settings: unknown,
  prefix: string,
  form: 'plain' | 'sealed',
  keep: ReadonlySet<string> = new Set(),
): FieldIssue[] {
  const issue = (name: string, text: string): FieldIssue => {
    const f = joinPath(prefix, name);
    return { field: f, message: `${f} ${text}` };
  };
  if (!isPlainObject(settings))
    return [{ field: prefix, message: `${prefix || 'settings'} must be an object` }];
  const specs = CHANNEL_FIELDS[kind];
  const issues: FieldIssue[] = [];
  for (const key of Object.keys(settings)) {
    if (!specs.some((s) => s.name === key))
      issues.push(
        issue(key, `is not a setting of a ${kind} channel (known: ${specs.map((s) => s.name).join(', ')})`),
      );
  }
  for (const s of specs) {
    const v = settings[s.name];
    if (v === undefined || v === null || v === '') {
      if (s.required && !(form === 'plain' && s.secret && keep.has(s.name)))
        issues.push(issue(s.name, 'is required'));
      continue;
    }
    if (s.secret && form === 'sealed') {
      const sealed = checkClass(EncryptedSecret, v, joinPath(prefix, s.name));
      if (!sealed.ok) issues.push(...sealed.issues);
      continue;
    }
    const problem = valueProblem(s.type, v);
    if (problem !== null) issues.push(issue(s.name, problem));
  }
  return issues;
}
